"""Frozen, typed settings of a whole GPU Spot cluster.

Each type refuses invalid values when it is constructed (`InvalidValueError` names the field, the
value and what is allowed), so library users get the same protection as stack users; the
project's `config/` maps stack config keys onto these types and rewords their errors with the
stack key. Checks that need facts only AWS knows (zones, instance shapes, an existing VPC) run in
`plan.py` when `GpuSpotCluster` is created, before its first resource. Every default lives here
or in `pool_spec.py` and `versions.py`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import validation, zones
from .ami import check_ami_release_version, is_pinned_before
from .errors import Checks, InvalidValueError
from .logs import DEFAULT_LOG_RETENTION_DAYS, check_retention_days
from .pool_spec import NodePoolSpec
from .userdata import MAX_PODS_EXPRESSION_SINCE
from .versions import (
    CLUSTER_AUTOSCALER_IMAGE_REPOSITORY,
    CLUSTER_AUTOSCALER_TAGS,
    DEFAULT_AMI_RELEASE_VERSION,
    DEFAULT_KUBERNETES_VERSION,
    NODE_TERMINATION_HANDLER_IMAGE,
    NVIDIA_DEVICE_PLUGIN_IMAGE,
    SUPPORTED_KUBERNETES_VERSIONS,
)

DEFAULT_PUBLIC_ACCESS_CIDRS = ("0.0.0.0/0",)
# EKS service quota "Public endpoint access CIDR ranges per cluster": 40, not adjustable.
MAX_PUBLIC_ACCESS_CIDRS = 40
# Tag keys the program sets itself, for the autoscaler (discovery and node templates), Kubernetes
# (cluster ownership, load-balancer subnets), EKS, the termination handler and the project: a user tag
# under one of them on every resource would fake node-template labels or subnet roles everywhere.
MANAGED_TAG_PREFIXES = ("k8s.io/cluster-autoscaler/", "kubernetes.io/", "eks:", "aws-node-termination-handler/",
                        "eks-gpu-spot/")
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
DEFAULT_LOG_TYPES = ("api", "audit", "authenticator")
DEFAULT_SERVICE_CIDR = "172.20.0.0/16"
DEFAULT_VPC_CIDR = "10.0.0.0/16"
DEFAULT_AZ_COUNT = 3
MAX_AZ_COUNT = 6  # the most standard zones a region has (us-east-1)
NAT_MODES = ("single", "perAz")
# The EKS name of each managed add-on, by its `managed_addon_versions` key.
MANAGED_ADDON_NAMES = {"vpcCni": "vpc-cni", "kubeProxy": "kube-proxy", "coredns": "coredns",
                       "podIdentityAgent": "eks-pod-identity-agent"}
MANAGED_ADDONS = tuple(MANAGED_ADDON_NAMES)
# Cluster Autoscaler expanders this project configures (the first is the default).
EXPANDERS = ("priority,least-waste", "least-waste", "priority")
# Tags the program adds to every resource besides the user's (see platform.py).
PROJECT_TAG = "eks-gpu-spot/cluster"
# On each managed add-on: the Kubernetes minor its build was chosen for (addon_versions.py), so an
# upgrade that stopped after the control plane moved still moves the add-ons at the next `pulumi up`.
ADDON_MINOR_TAG = "eks-gpu-spot/kubernetes-version"

CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
_ADDON_VERSION = re.compile(r"v\d+\.\d+\.\d+-eksbuild\.\d+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_RESOURCE_ID = {"vpc": re.compile(r"vpc-[0-9a-f]{8,17}"), "subnet": re.compile(r"subnet-[0-9a-f]{8,17}")}
_THRESHOLD = re.compile(r"0(\.\d+)?|1(\.0+)?")


# An unset field whose default depends on another one (resolved in __post_init__).
UNSET: Any = None


def _tuple(name: str, value: object, what: str) -> tuple[str, ...]:
    return validation.string_list(name, value, what)


@dataclass(frozen=True)
class ClusterSettings:
    """The control plane. `public_access_cidrs` applies only with the public endpoint on (default
    0.0.0.0/0 then). The service CIDR must be private (10/8, 172.16/12, 192.168/16) and /12 to /24,
    as EKS requires; that it does not overlap the VPC is checked with the network."""

    name: str
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    tags: Mapping[str, str] = field(default_factory=dict)
    endpoint_public_access: bool = True
    public_access_cidrs: Sequence[str] = UNSET
    log_types: Sequence[str] = DEFAULT_LOG_TYPES
    service_cidr: str = DEFAULT_SERVICE_CIDR
    deletion_protection: bool = False
    managed_addon_versions: Mapping[str, str] = field(default_factory=dict)
    # The EKS AL2023 AMI release of every pool, such as "v20260714", or "recommended" to follow SSM;
    # unset: the package's pinned release (DEFAULT_AMI_RELEASE_VERSION).
    ami_release_version: str = UNSET
    # Days CloudWatch keeps control-plane logs (one of logs.CLOUDWATCH_RETENTION_DAYS).
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    # Whether `ami_release_version` was given (False: it follows the package's pin, whose bumps move
    # the stack). Not an argument: set from `ami_release_version`.
    ami_release_from_config: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        checks = Checks()
        object.__setattr__(self, "ami_release_from_config", self.ami_release_version is not UNSET)
        if self.ami_release_version is UNSET:
            object.__setattr__(self, "ami_release_version", DEFAULT_AMI_RELEASE_VERSION)
        with checks.check():
            check_ami_release_version(self.ami_release_version)
        with checks.check():
            check_retention_days("log_retention_days", self.log_retention_days)
        with checks.check():
            validation.string("name", self.name, pattern=CLUSTER_NAME,
                              allowed="must be 1-100 letters, digits, '-' or '_', starting with a letter or digit")
        with checks.check():
            validation.choice("kubernetes_version", self.kubernetes_version, SUPPORTED_KUBERNETES_VERSIONS)
        with checks.check():
            tags = validation.string_map("tags", self.tags)
            for key, value in tags.items():
                with checks.check():
                    validation.tag(f"tags.{key}", key, value)
                    managed = next((p for p in MANAGED_TAG_PREFIXES if key.lower().startswith(p)), None)
                    if managed:
                        raise InvalidValueError(f"tags.{key}", key, f"the program manages the tags under '{managed}' "
                                                                    "(autoscaler discovery and node templates, "
                                                                    "Kubernetes cluster and subnet roles, EKS, the "
                                                                    "termination handler); choose another key")
            object.__setattr__(self, "tags", tags)
        with checks.check():
            object.__setattr__(self, "public_access_cidrs", self._public_access_cidrs())
        with checks.check():
            log_types = _tuple("log_types", self.log_types, "log types")
            for index, log_type in enumerate(log_types):
                with checks.check():
                    validation.choice(f"log_types[{index}]", log_type, EKS_LOG_TYPES)
            validation.unique("log_types", log_types)
            object.__setattr__(self, "log_types", log_types)
        with checks.check():
            service = validation.cidr("service_cidr", self.service_cidr, "172.20.0.0/16")
            if not validation.is_private(service) or not 12 <= service.prefixlen <= 24:
                raise InvalidValueError("service_cidr", self.service_cidr,
                                        "EKS needs a private range (inside 10.0.0.0/8, 172.16.0.0/12 or "
                                        "192.168.0.0/16) from /12 to /24")
        with checks.check():
            validation.boolean("deletion_protection", self.deletion_protection)
        with checks.check():
            versions = validation.string_map("managed_addon_versions", self.managed_addon_versions)
            for name, version in versions.items():
                with checks.check():
                    validation.choice("managed_addon_versions", name, MANAGED_ADDONS)
                    validation.string(f"managed_addon_versions.{name}", version, pattern=_ADDON_VERSION,
                                      allowed="must be an EKS add-on version such as 'v1.19.2-eksbuild.1'")
            object.__setattr__(self, "managed_addon_versions", versions)
        checks.done()

    def _public_access_cidrs(self) -> tuple[str, ...]:
        """Who may reach the public endpoint: the given CIDRs, the default with the endpoint on, none without."""
        public = validation.boolean("endpoint_public_access", self.endpoint_public_access)
        if self.public_access_cidrs is None:
            return DEFAULT_PUBLIC_ACCESS_CIDRS if public else ()
        cidrs = _tuple("public_access_cidrs", self.public_access_cidrs, "CIDRs")
        if not public:
            raise InvalidValueError("public_access_cidrs", list(cidrs),
                                    "applies only while the public endpoint is on; remove it, or turn the "
                                    "public endpoint on")
        if not 1 <= len(cidrs) <= MAX_PUBLIC_ACCESS_CIDRS:
            raise InvalidValueError("public_access_cidrs", list(cidrs),
                                    f"must list 1 to {MAX_PUBLIC_ACCESS_CIDRS} CIDRs (EKS accepts at most "
                                    f"{MAX_PUBLIC_ACCESS_CIDRS} per cluster)")
        checks = Checks()
        for index, cidr in enumerate(cidrs):
            with checks.check():
                network = validation.cidr(f"public_access_cidrs[{index}]", cidr, "203.0.113.0/24")
                if validation.is_private(network) or network.is_loopback or network.is_link_local:
                    raise InvalidValueError(f"public_access_cidrs[{index}]", cidr,
                                            "the public endpoint sees public source addresses only (private ones "
                                            "reach it through NAT), so a private (10/8, 172.16/12, 192.168/16), "
                                            "loopback or link-local range never matches; reach the API from inside "
                                            "the VPC through the private endpoint")
        checks.done()
        return cidrs

    @property
    def resource_tags(self) -> dict[str, str]:
        """The tags of every AWS resource of the cluster: the user's and the project's own."""
        return {**self.tags, PROJECT_TAG: self.name}

    @property
    def service_network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.service_cidr)


@dataclass(frozen=True)
class NewVpcSettings:
    """A VPC to create: /16 to /22, in 2 to 6 zones, one private and one public subnet per zone, and
    optional flow logs to CloudWatch kept for a CloudWatch retention value.

    Zones: `availability_zone_ids` (zone IDs such as 'use1-az1', each once, none EKS refuses), or
    `az_count` of them chosen at preview (`plan.py`; not both). Subnets: carved from the VPC by zone
    (`zones.py`) unless given; given lists pair with `availability_zone_ids` in its order (without
    it, with the chosen zones by name), lie inside the VPC, are /28 or larger and do not overlap."""

    vpc_cidr: str = DEFAULT_VPC_CIDR
    az_count: int = UNSET
    nat_mode: str = "single"
    private_subnet_cidrs: Sequence[str] = ()
    public_subnet_cidrs: Sequence[str] = ()
    flow_logs: bool = False
    flow_log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    availability_zone_ids: Sequence[str] = ()

    creates_vpc = True

    def __post_init__(self) -> None:
        checks = Checks()
        with checks.check():
            validation.boolean("flow_logs", self.flow_logs)
        with checks.check():
            check_retention_days("flow_log_retention_days", self.flow_log_retention_days)
        with checks.check():
            vpc = validation.cidr("vpc_cidr", self.vpc_cidr)
            if not 16 <= vpc.prefixlen <= 22:
                raise InvalidValueError("vpc_cidr", self.vpc_cidr, "must be between /16 and /22 so that its subnets fit")
        with checks.check():
            self._zone_ids()
        with checks.check():
            count = DEFAULT_AZ_COUNT if self.az_count is None else self.az_count
            validation.whole_number("az_count", count, 2, MAX_AZ_COUNT)
            if checks.ok("availability_zone_ids"):
                object.__setattr__(self, "az_count", len(self.availability_zone_ids) or count)
        with checks.check():
            validation.choice("nat_mode", self.nat_mode, NAT_MODES)
        if checks.ok("vpc_cidr", "az_count", "availability_zone_ids"):
            with checks.check():
                self._subnets()
        checks.done()

    def _zone_ids(self) -> None:
        """Zone IDs, each once, none EKS refuses, 2 to MAX_AZ_COUNT of them, and no count besides."""
        zone_ids = _tuple("availability_zone_ids", self.availability_zone_ids, "zone IDs")
        object.__setattr__(self, "availability_zone_ids", zone_ids)
        if zone_ids and self.az_count is not None:
            raise InvalidValueError("availability_zone_ids", list(zone_ids),
                                    "sets the zones and so their number: leave the zone count "
                                    "(availabilityZoneCount) unset")
        checks = Checks()
        for index, zone_id in enumerate(zone_ids):
            with checks.check(f"availability_zone_ids[{index}]"):
                validation.string("", zone_id, pattern=zones.ZONE_ID,
                                  allowed="must be a zone ID such as 'use1-az1' (`aws ec2 describe-availability-zones "
                                          "--query 'AvailabilityZones[].[ZoneName,ZoneId]'`), not a zone name")
                if zone_id in zones.EKS_UNSUPPORTED_ZONE_IDS:
                    raise InvalidValueError("", zone_id, "EKS does not allow control-plane subnets in this zone ("
                                            + ", ".join(sorted(zones.EKS_UNSUPPORTED_ZONE_IDS)) + "); choose another")
        with checks.check():
            validation.unique("availability_zone_ids", zone_ids)
            if zone_ids and not 2 <= len(zone_ids) <= MAX_AZ_COUNT:
                raise InvalidValueError("availability_zone_ids", list(zone_ids),
                                        f"must list 2 to {MAX_AZ_COUNT} zone IDs (EKS needs subnets in at least 2 zones)")
        checks.done()

    def _subnets(self) -> None:
        """Each given subnet list: one CIDR per zone, inside the VPC, /28 or larger, none overlapping
        another. Lists left empty are carved by zone at plan time (`plan.py`)."""
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        taken: list[ipaddress.IPv4Network] = []
        checks = Checks()
        for name in ("private_subnet_cidrs", "public_subnet_cidrs"):
            with checks.check():
                cidrs = _tuple(name, getattr(self, name), "CIDRs")
                if cidrs and len(cidrs) != self.az_count:
                    raise InvalidValueError(name, list(cidrs),
                                            f"must list one CIDR per Availability Zone ({self.az_count})")
                for index, text in enumerate(cidrs):
                    with checks.check():
                        where = f"{name}[{index}]"
                        network = validation.cidr(where, text, "10.0.0.0/19")
                        if not network.subnet_of(vpc):
                            raise InvalidValueError(where, text, f"each subnet must lie inside the VPC CIDR {vpc}")
                        if network.prefixlen > 28:
                            raise InvalidValueError(where, text, "each subnet must be /28 or larger")
                        clash = next((t for t in taken if t.overlaps(network)), None)
                        if clash is not None:
                            raise InvalidValueError(where, text, f"subnets must not overlap (overlaps {clash})")
                        taken.append(network)
                object.__setattr__(self, name, cidrs)
        checks.done()


@dataclass(frozen=True)
class ExistingVpcSettings:
    """A VPC that exists already: its ID, at least 2 private node subnets (in different zones,
    checked with AWS), and optional public subnets; none may be both."""

    vpc_id: str
    private_subnet_ids: Sequence[str]
    public_subnet_ids: Sequence[str] = ()

    creates_vpc = False

    def __post_init__(self) -> None:
        checks = Checks()
        with checks.check():
            validation.string("vpc_id", self.vpc_id, pattern=_RESOURCE_ID["vpc"],
                              allowed="must be a VPC ID such as 'vpc-0abc1234'")
        for name in ("private_subnet_ids", "public_subnet_ids"):
            with checks.check():
                ids = _tuple(name, getattr(self, name), "subnet IDs")
                for index, subnet_id in enumerate(ids):
                    with checks.check():
                        validation.string(f"{name}[{index}]", subnet_id, pattern=_RESOURCE_ID["subnet"],
                                          allowed="must be a subnet ID such as 'subnet-0abc1234'")
                validation.unique(name, ids)
                object.__setattr__(self, name, ids)
        if checks.ok("private_subnet_ids") and len(self.private_subnet_ids) < 2:
            with checks.check():
                raise InvalidValueError("private_subnet_ids", list(self.private_subnet_ids),
                                        "an existing VPC needs at least 2 private subnets, in different "
                                        "Availability Zones")
        if checks.ok("private_subnet_ids", "public_subnet_ids"):
            both = sorted(set(self.private_subnet_ids) & set(self.public_subnet_ids))
            if both:
                with checks.check():
                    raise InvalidValueError("public_subnet_ids", list(self.public_subnet_ids),
                                            f"a subnet cannot be both private and public ({', '.join(both)})")
        checks.done()

    @property
    def az_count(self) -> int:
        return len(self.private_subnet_ids)


NetworkSettings = NewVpcSettings | ExistingVpcSettings


@dataclass(frozen=True)
class DevicePluginSettings:
    enabled: bool = True
    image: str = NVIDIA_DEVICE_PLUGIN_IMAGE

    def __post_init__(self) -> None:
        checks = Checks()
        with checks.check():
            validation.boolean("enabled", self.enabled)
        with checks.check():
            validation.image("image", self.image)
        checks.done()


@dataclass(frozen=True)
class ClusterAutoscalerSettings:
    """`image` empty: the pinned tag of the cluster's minor (`image_tags` overrides the table).
    A set image must carry a tag `vX.Y.Z` whose minor is the cluster's (a digest may follow)."""

    enabled: bool = True
    image: str = ""
    image_tags: Mapping[str, str] = field(default_factory=dict)
    expander: str = EXPANDERS[0]
    scale_down_unneeded_time: str = "10m"
    # 5m, the GPU pools' default unneeded time, so the cooldown after a scale-up never holds an
    # idle GPU node longer than that (docs/autoscaling.md, section 5). 10m is CA's own default.
    scale_down_delay_after_add: str = "5m"
    scale_down_utilization_threshold: str = "0.5"
    max_node_provision_time: str = "15m"

    def __post_init__(self) -> None:
        checks = Checks()
        with checks.check():
            validation.boolean("enabled", self.enabled)
        if self.image:
            with checks.check():
                validation.image("image", self.image)
        with checks.check():
            tags = validation.string_map("image_tags", self.image_tags)
            for minor, tag in tags.items():
                if not re.fullmatch(rf"v{re.escape(minor)}\.\d+", tag):
                    with checks.check():
                        raise InvalidValueError(f"image_tags.{minor}", tag, "must be a Cluster Autoscaler tag of the "
                                                                            f"same minor, such as 'v{minor}.0'")
        with checks.check():
            validation.choice("expander", self.expander, EXPANDERS)
        with checks.check():
            validation.duration("scale_down_unneeded_time", self.scale_down_unneeded_time, 60, 24 * 3600)
        with checks.check():
            validation.duration("scale_down_delay_after_add", self.scale_down_delay_after_add, 0, 24 * 3600)
        with checks.check():
            validation.string("scale_down_utilization_threshold", self.scale_down_utilization_threshold,
                              pattern=_THRESHOLD,
                              allowed="must be a number from 0 to 1 written as a string, such as '0.5'")
        with checks.check():
            validation.duration("max_node_provision_time", self.max_node_provision_time, 60, 3600)
        checks.done()

    def image_for(self, kubernetes_version: str) -> str:
        """The image to run on a cluster of `kubernetes_version`; refuses another minor."""
        if not self.image:
            tags = {**CLUSTER_AUTOSCALER_TAGS, **self.image_tags}
            if kubernetes_version not in tags:
                raise InvalidValueError("image_tags", dict(self.image_tags),
                                        f"needs a Cluster Autoscaler tag for Kubernetes {kubernetes_version}")
            return f"{CLUSTER_AUTOSCALER_IMAGE_REPOSITORY}:{tags[kubernetes_version]}"
        tag = validation.image("image", self.image)["tag"] or ""
        if not re.match(rf"v{re.escape(kubernetes_version)}\.\d+", tag):
            raise InvalidValueError("image", self.image,
                                    f"its tag must be a Cluster Autoscaler release of the cluster's minor, "
                                    f"such as ':v{kubernetes_version}.0' (a digest may follow '@'): the "
                                    "autoscaler's minor must equal the cluster's Kubernetes minor")
        return self.image


@dataclass(frozen=True)
class TerminationHandlerSettings:
    enabled: bool = True
    image: str = NODE_TERMINATION_HANDLER_IMAGE
    heartbeat_timeout_seconds: int = 300

    def __post_init__(self) -> None:
        checks = Checks()
        with checks.check():
            validation.boolean("enabled", self.enabled)
        with checks.check():
            validation.image("image", self.image)
        with checks.check():
            # The limits of an Auto Scaling lifecycle hook's heartbeat.
            validation.whole_number("heartbeat_timeout_seconds", self.heartbeat_timeout_seconds, 30, 7200)
        checks.done()


def default_gpu_pools() -> tuple[NodePoolSpec, ...]:
    return (NodePoolSpec(name="gpu", gpu=True),)


@dataclass(frozen=True)
class Settings:
    """Everything one GPU Spot cluster needs. Besides each part's own checks: the general pool has
    no GPUs and the GPU pools do, pool names are unique, the service CIDR does not overlap a new
    VPC, the autoscaler image's minor is the cluster's, and a pool's `replace_busy_nodes` or
    `drain_timeout` has the termination handler to drain its nodes."""

    project: str
    stack: str
    region: str
    cluster: ClusterSettings
    network: NetworkSettings = field(default_factory=NewVpcSettings)
    general_pool: NodePoolSpec = field(default_factory=lambda: NodePoolSpec(name="general"))
    gpu_pools: Sequence[NodePoolSpec] = field(default_factory=default_gpu_pools)
    device_plugin: DevicePluginSettings = field(default_factory=DevicePluginSettings)
    cluster_autoscaler: ClusterAutoscalerSettings = field(default_factory=ClusterAutoscalerSettings)
    termination_handler: TerminationHandlerSettings = field(default_factory=TerminationHandlerSettings)

    def __post_init__(self) -> None:
        validation.string("region", self.region, pattern=_REGION,
                          allowed="must be an AWS region such as 'us-east-1'")
        for name, kind in (("cluster", ClusterSettings), ("network", (NewVpcSettings, ExistingVpcSettings)),
                           ("general_pool", NodePoolSpec), ("device_plugin", DevicePluginSettings),
                           ("cluster_autoscaler", ClusterAutoscalerSettings),
                           ("termination_handler", TerminationHandlerSettings)):
            if not isinstance(getattr(self, name), kind):
                raise validation.wrong_kind(name, getattr(self, name), f"a {name} settings object")
        if self.general_pool.gpu:
            raise InvalidValueError("general_pool.gpu", True, "the general pool has no GPUs; GPU pools go in gpu_pools")
        pools = tuple(self.gpu_pools) if isinstance(self.gpu_pools, Sequence) else self.gpu_pools
        if not isinstance(pools, tuple) or not all(isinstance(p, NodePoolSpec) for p in pools):
            raise validation.wrong_kind("gpu_pools", self.gpu_pools, "a list of GPU pools")
        object.__setattr__(self, "gpu_pools", pools)
        checks = Checks()
        if self.general_pool.min_size == 0:
            with checks.check():
                raise InvalidValueError("general_pool.min_size", 0,
                                        "must be at least 1: CoreDNS, the Cluster Autoscaler and the termination "
                                        "handler run on the general pool (GPU nodes are tainted), so with no general "
                                        "node nothing could ever scale the cluster up")
        names = [self.general_pool.name]
        for index, pool in enumerate(pools):
            with checks.check(f"gpu_pools[{index}]"):
                if not pool.gpu:
                    raise InvalidValueError("gpu", False, "a GPU pool must have gpu=True")
                if pool.name in names:
                    raise InvalidValueError("name", pool.name, "must be unique among the pools")
            names.append(pool.name)
        release = self.cluster.ami_release_version
        for path, pool in self.pool_paths():
            if pool.max_pods and is_pinned_before(release, MAX_PODS_EXPRESSION_SINCE):
                with checks.check():
                    raise InvalidValueError(f"{path}.max_pods", pool.max_pods,
                                            "reaches nodeadm as maxPodsExpression, which nodeadm has only since AMI "
                                            f"release {MAX_PODS_EXPRESSION_SINCE}; the pinned release {release} "
                                            "would ignore it (pin a newer amiReleaseVersion)")
        if not self.termination_handler.enabled:
            for path, pool in self.pool_paths():
                for field_name in ("replace_busy_nodes", "drain_timeout"):
                    if getattr(pool, field_name):
                        with checks.check():
                            raise InvalidValueError(f"{path}.{field_name}", getattr(pool, field_name),
                                                    "needs the termination handler (nodeTerminationHandler.enabled): "
                                                    "without it no lifecycle hook holds a node and nothing drains "
                                                    "it, so a replaced node's pods would be killed where they run")
        restored: dict[str, str] = {}
        for path, pool in self.pool_paths():
            cache = pool.image_cache
            if cache is not None and cache.fast_snapshot_restore:
                if cache.snapshot_id in restored:
                    with checks.check():
                        raise InvalidValueError(f"{path}.image_cache.fast_snapshot_restore", True,
                                                f"{restored[cache.snapshot_id]} already enables fast snapshot restore "
                                                f"for {cache.snapshot_id}: it is one setting per snapshot and zone for "
                                                "the whole account, so enable it on one pool only")
                restored.setdefault(cache.snapshot_id, path)
            if pool.warm_nodes and not (self.cluster_autoscaler.enabled and self.device_plugin.enabled):
                with checks.check():
                    raise InvalidValueError(f"{path}.warm_nodes", pool.warm_nodes,
                                            "needs the Cluster Autoscaler (which adds a node for each pending "
                                            "placeholder) and the NVIDIA device plugin (which advertises the GPUs the "
                                            "placeholders request): enable both, or set warm_nodes 0")
        if "priority" not in self.cluster_autoscaler.expander.split(","):
            for index, pool in enumerate(pools):
                if pool.on_demand_fallback:
                    with checks.check():
                        raise InvalidValueError(f"gpu_pools[{index}].on_demand_fallback", True,
                                                "needs the autoscaler's priority expander (expander 'priority' or "
                                                "'priority,least-waste'): without it Spot and On-Demand groups tie, "
                                                "and On-Demand may be bought while Spot is available")
        if isinstance(self.network, NewVpcSettings):
            vpc = ipaddress.IPv4Network(self.network.vpc_cidr)
            if self.cluster.service_network.overlaps(vpc):
                with checks.check():
                    raise InvalidValueError("cluster.service_cidr", self.cluster.service_cidr,
                                            f"must not overlap the VPC CIDR {vpc}")
        with checks.check("cluster_autoscaler"):
            object.__setattr__(self, "cluster_autoscaler", replace(
                self.cluster_autoscaler, image=self.cluster_autoscaler.image_for(self.cluster.kubernetes_version)))
        checks.done()

    @property
    def pools(self) -> tuple[NodePoolSpec, ...]:
        return (self.general_pool, *self.gpu_pools)

    def pool_paths(self) -> list[tuple[str, NodePoolSpec]]:
        """Each pool with its field path in these settings (`general_pool`, `gpu_pools[1]`), for errors."""
        return [("general_pool", self.general_pool),
                *((f"gpu_pools[{index}]", pool) for index, pool in enumerate(self.gpu_pools))]
