"""Turns raw stack config into `Settings`, validating every key before any resource exists.

`parse_settings` is pure (raw strings in, settings out); `load_settings` is the one place in the
program that reads `pulumi.Config`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from components.logs import CLOUDWATCH_RETENTION_DAYS
from components.node_template import (
    ACCELERATOR_LABEL,
    GPU_LABEL,
    LIFECYCLE_LABEL,
    POOL_LABEL,
    TAINT_EFFECTS,
    Taint,
)
from components.pool_spec import SPOT_ALLOCATION_STRATEGIES, NodePoolSpec
from components.settings import (
    EXPANDERS,
    ClusterAutoscalerSettings,
    ClusterSettings,
    DevicePluginSettings,
    NetworkSettings,
    Settings,
    TerminationHandlerSettings,
)

from .errors import ConfigError, reject_unknown
from .versions import (
    CLUSTER_AUTOSCALER_IMAGE_REPOSITORY,
    CLUSTER_AUTOSCALER_TAGS,
    DEFAULT_KUBERNETES_VERSION,
    NODE_TERMINATION_HANDLER_IMAGE,
    NVIDIA_DEVICE_PLUGIN_IMAGE,
    SUPPORTED_KUBERNETES_VERSIONS,
)

PROJECT = "eks-gpu-spot"

EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NAT_MODES = ("single", "perAz")
MANAGED_ADDONS = ("vpcCni", "kubeProxy", "coredns", "podIdentityAgent")
MAX_AZ_COUNT = 6  # the default subnet layout carves at most six private /19s out of a /16

DEFAULT_GENERAL_INSTANCE_TYPES = ("m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge")
DEFAULT_GPU_INSTANCE_TYPES = ("g4dn.xlarge", "g5.xlarge", "g6.xlarge")
RESERVED_LABELS = (POOL_LABEL, LIFECYCLE_LABEL, GPU_LABEL, ACCELERATOR_LABEL)

# Top-level keys and how their raw string is decoded.
TOP_LEVEL_KEYS: dict[str, str] = {
    "clusterName": "string",
    "kubernetesVersion": "string",
    "tags": "object",
    "endpointPublicAccess": "boolean",
    "publicAccessCidrs": "array",
    "clusterLogTypes": "array",
    "serviceCidr": "string",
    "deletionProtection": "boolean",
    "managedAddonVersions": "object",
    "vpcCidr": "string",
    "availabilityZoneCount": "integer",
    "natGateways": "string",
    "privateSubnetCidrs": "array",
    "publicSubnetCidrs": "array",
    "existingVpcId": "string",
    "existingPrivateSubnetIds": "array",
    "existingPublicSubnetIds": "array",
    "generalPool": "object",
    "gpuPools": "objects",
    "nvidiaDevicePlugin": "object",
    "clusterAutoscaler": "object",
    "nodeTerminationHandler": "object",
    "clusterLogRetentionDays": "integer",
    "vpcFlowLogs": "object",
}

_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(\d*(nano|micro|small|medium|large|xlarge)|metal(-\d+xl)?)$"
)
_K8S_VERSION = re.compile(r"^1\.\d{2}$")
_DURATION = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_POOL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$")
_RESOURCE_ID = {"vpc": re.compile(r"^vpc-[0-9a-f]{8,17}$"), "subnet": re.compile(r"^subnet-[0-9a-f]{8,17}$")}

T = TypeVar("T")


class _Fields:
    """Typed reads from one config object; `finish` rejects keys nobody read."""

    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}{name}" if self.where.endswith(":") else f"{self.where}.{name}"

    def value(self, name: str, default: T, kind: type, allowed: str) -> T:
        self.read.add(name)
        value = self.raw.get(name, default)
        if value is None:
            return default
        # bool is a subclass of int: `true` is no integer here.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(self.key(name), value, allowed)
        return value  # type: ignore[return-value]

    def string(self, name: str, default: str, *, check: Callable[[str], bool] | None = None,
               allowed: str = "must be a string") -> str:
        value = self.value(name, default, str, allowed)
        if check is not None and not check(value):
            raise ConfigError(self.key(name), value, allowed)
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        return self.string(name, default, check=lambda v: v in choices,
                           allowed="must be one of: " + ", ".join(choices))

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        allowed = f"must be a whole number >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        value = self.value(name, default, int, allowed)
        if value < minimum or (maximum is not None and value > maximum):
            raise ConfigError(self.key(name), value, allowed)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        return self.value(name, default, bool, "must be true or false")

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        allowed = "must be a list of strings"
        value = self.value(name, list(default), list, allowed)
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(self.key(name), value, allowed)
        return tuple(value)

    def string_map(self, name: str) -> dict[str, str]:
        allowed = "must be an object of string values"
        value = self.value(name, {}, dict, allowed)
        if not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(self.key(name), value, allowed)
        return dict(value)

    def nested(self, name: str) -> _Fields:
        return _Fields(self.value(name, {}, dict, "must be an object"), self.key(name))

    def finish(self) -> None:
        reject_unknown(self.where, sorted(set(self.raw) - self.read), self.read)


def _decode(key: str, raw: str, kind: str) -> Any:
    if kind == "string":
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(key, raw, f"must be JSON of type {kind}") from None
    expected = {"integer": int, "boolean": bool, "array": list, "objects": list, "object": dict}[kind]
    if not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool)):
        raise ConfigError(key, value, f"must be of type {kind}")
    return value


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    return True


def _check_image(fields: _Fields, name: str, default: str) -> str:
    return fields.string(
        name, default, check=lambda v: bool(_IMAGE.match(v)) and not v.endswith(":latest"),
        allowed="must be an image reference with an explicit tag or digest (not 'latest')",
    )


def _check_duration(fields: _Fields, name: str, default: str) -> str:
    return fields.string(name, default, check=lambda v: bool(_DURATION.match(v)),
                         allowed="must be a duration such as '10m', '90s' or '1h30m'")


def _parse_labels(fields: _Fields, name: str) -> dict[str, str]:
    labels = fields.string_map(name)
    for key, value in labels.items():
        if not _LABEL_NAME.match(key) or not _LABEL_VALUE.match(value):
            raise ConfigError(f"{fields.key(name)}.{key}", value,
                              "must be a valid Kubernetes label name and value (63 characters at most)")
        if key in RESERVED_LABELS:
            raise ConfigError(f"{fields.key(name)}.{key}", value,
                              f"is set by the project (reserved label keys: {', '.join(RESERVED_LABELS)}; "
                              "a GPU pool sets its accelerator label with 'acceleratorLabel')")
    return labels


def _parse_taints(fields: _Fields, name: str) -> tuple[Taint, ...]:
    raw = fields.value(name, [], list, "must be a list of taints 'key=value:Effect'")
    taints = []
    for index, item in enumerate(raw):
        key = f"{fields.key(name)}[{index}]"
        match = re.match(r"^([^=:]+)=([^=:]*):([A-Za-z]+)$", item) if isinstance(item, str) else None
        if not match or not _LABEL_NAME.match(match[1]) or not _LABEL_VALUE.match(match[2]):
            raise ConfigError(key, item, "must be a taint 'key=value:Effect'")
        if match[3] not in TAINT_EFFECTS:
            raise ConfigError(key, item, "the effect must be one of: " + ", ".join(TAINT_EFFECTS))
        taints.append(Taint(match[1], match[2], match[3]))
    return tuple(taints)


def _parse_instance_types(fields: _Fields, default: tuple[str, ...]) -> tuple[str, ...]:
    types = fields.strings("instanceTypes", default)
    key = fields.key("instanceTypes")
    if not types:
        raise ConfigError(key, list(types), "must list at least one instance type")
    for instance_type in types:
        if not _INSTANCE_TYPE.match(instance_type):
            raise ConfigError(key, instance_type, "each entry must be an EC2 instance type such as 'g5.xlarge'")
    duplicates = sorted({t for t in types if types.count(t) > 1})
    if duplicates:
        raise ConfigError(key, list(types), f"must not repeat an instance type (repeated: {', '.join(duplicates)})")
    return types


def _parse_sizes(fields: _Fields, names: tuple[str, str, str | None], defaults: tuple[int, int, int]) -> tuple[int, int, int]:
    min_name, max_name, desired_name = names
    minimum = fields.integer(min_name, defaults[0])
    maximum = fields.integer(max_name, defaults[1], minimum=1)
    if minimum > maximum:
        raise ConfigError(fields.key(min_name), minimum, f"must not exceed {max_name} ({maximum})")
    desired = defaults[2] if desired_name is None else fields.integer(desired_name, max(defaults[2], minimum))
    if desired_name is not None and not minimum <= desired <= maximum:
        raise ConfigError(fields.key(desired_name), desired, f"must lie between {min_name} ({minimum}) and {max_name} ({maximum})")
    return minimum, maximum, desired


def _parse_pool_common(fields: _Fields, name: str, gpu: bool, sizes: tuple[int, int, int],
                       default_types: tuple[str, ...], default_root: int, default_scale_down: str) -> NodePoolSpec:
    instance_types = _parse_instance_types(fields, default_types)
    spec = NodePoolSpec(
        name=name,
        instance_types=instance_types,
        gpu=gpu,
        min_size=sizes[0],
        max_size=sizes[1],
        desired_size=sizes[2],
        root_volume_gib=fields.integer("rootVolumeGiB", default_root, minimum=20, maximum=16384),
        on_demand_base_capacity=fields.integer("onDemandBaseCapacity", 0),
        on_demand_percentage_above_base=fields.integer("onDemandPercentageAboveBase", 0, maximum=100),
        spot_allocation_strategy=fields.choice("spotAllocationStrategy", NodePoolSpec.spot_allocation_strategy,
                                               SPOT_ALLOCATION_STRATEGIES),
        labels=_parse_labels(fields, "labels"),
        taints=_parse_taints(fields, "taints"),
        scale_down_unneeded_time=_check_duration(fields, "scaleDownUnneededTime", default_scale_down)
        if default_scale_down or "scaleDownUnneededTime" in fields.raw else "",
        accelerator=fields.string("acceleratorLabel", "", check=lambda v: bool(_LABEL_VALUE.match(v)),
                                  allowed="must be a valid Kubernetes label value") if gpu else "",
    )
    fields.finish()
    return spec


def _parse_general_pool(top: _Fields) -> NodePoolSpec:
    fields = top.nested("generalPool")
    sizes = _parse_sizes(fields, ("minSize", "maxSize", "desiredSize"), (2, 20, 2))
    return _parse_pool_common(fields, "general", False, sizes, DEFAULT_GENERAL_INSTANCE_TYPES, 50, "")


def _parse_gpu_pools(top: _Fields) -> tuple[NodePoolSpec, ...]:
    default = [{"name": "gpu"}]
    raw_pools = top.value("gpuPools", default, list, "must be a list of GPU pool objects")
    pools = []
    for index, raw in enumerate(raw_pools):
        where = f"{top.key('gpuPools')}[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(where, raw, "must be an object with at least 'name'")
        fields = _Fields(raw, where)
        name = fields.string("name", "", check=lambda v: bool(_POOL_NAME.match(v)) and v != "general",
                             allowed="must be 2-32 lowercase letters, digits or '-', start with a letter, and not be 'general'")
        if name in {p.name for p in pools}:
            raise ConfigError(fields.key("name"), name, "must be unique among gpuPools")
        sizes = _parse_sizes(fields, ("minSizePerAz", "maxSizePerAz", None), (0, 2, 0))
        pools.append(_parse_pool_common(fields, name, True, sizes, DEFAULT_GPU_INSTANCE_TYPES, 100, "10m"))
    return tuple(pools)


def _subnet_layout(vpc: ipaddress.IPv4Network, az_count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Private subnets: the first `az_count` eighths; public: small slices of the last eighth."""
    eighths = list(vpc.subnets(prefixlen_diff=3))
    publics = list(eighths[-1].subnets(prefixlen_diff=3))
    return tuple(str(n) for n in eighths[:az_count]), tuple(str(n) for n in publics[:az_count])


def _check_subnets(key: str, cidrs: tuple[str, ...], vpc: ipaddress.IPv4Network, az_count: int,
                   taken: list[ipaddress.IPv4Network]) -> None:
    if len(cidrs) != az_count:
        raise ConfigError(key, list(cidrs), f"must list one CIDR per Availability Zone ({az_count})")
    for cidr in cidrs:
        if not _is_cidr(cidr):
            raise ConfigError(key, cidr, "each entry must be an IPv4 CIDR such as '10.0.0.0/19'")
        network = ipaddress.IPv4Network(cidr)
        if not network.subnet_of(vpc):
            raise ConfigError(key, cidr, f"each subnet must lie inside vpcCidr {vpc}")
        if network.prefixlen > 28:
            raise ConfigError(key, cidr, "each subnet must be /28 or larger")
        clash = next((t for t in taken if t.overlaps(network)), None)
        if clash is not None:
            raise ConfigError(key, cidr, f"subnets must not overlap (overlaps {clash})")
        taken.append(network)


def _retention_days(fields: _Fields, name: str, default: int) -> int:
    allowed = "must be a CloudWatch Logs retention in days: " + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
    value = fields.value(name, default, int, allowed)
    if value not in CLOUDWATCH_RETENTION_DAYS:
        raise ConfigError(fields.key(name), value, allowed)
    return value


def _parse_flow_logs(top: _Fields, creates_vpc: bool) -> tuple[bool, int]:
    fields = top.nested("vpcFlowLogs")
    enabled = fields.boolean("enabled", NetworkSettings.flow_logs)
    retention = _retention_days(fields, "retentionDays", NetworkSettings.flow_log_retention_days)
    fields.finish()
    if enabled and not creates_vpc:
        raise ConfigError(fields.key("enabled"), enabled,
                          "applies only to a VPC this program creates; with existingVpcId leave it off "
                          "(an existing VPC's flow logs belong to whoever owns that VPC)")
    return enabled, retention


def _parse_network(top: _Fields) -> NetworkSettings:
    vpc_id = top.string("existingVpcId", "", check=lambda v: v == "" or bool(_RESOURCE_ID["vpc"].match(v)),
                        allowed="must be empty (create a VPC) or a VPC ID such as 'vpc-0abc1234'")
    private_ids = top.strings("existingPrivateSubnetIds", ())
    public_ids = top.strings("existingPublicSubnetIds", ())
    vpc_cidr = top.string("vpcCidr", NetworkSettings.vpc_cidr, check=_is_cidr,
                          allowed="must be an IPv4 CIDR such as '10.0.0.0/16' (host bits zero)")
    az_count = top.integer("availabilityZoneCount", NetworkSettings.az_count, minimum=2, maximum=MAX_AZ_COUNT)
    nat_mode = top.choice("natGateways", NetworkSettings.nat_mode, NAT_MODES)
    private_cidrs = top.strings("privateSubnetCidrs", ())
    public_cidrs = top.strings("publicSubnetCidrs", ())
    flow_logs, flow_log_retention_days = _parse_flow_logs(top, creates_vpc=not vpc_id)

    if not vpc_id:
        if private_ids or public_ids:
            which = "existingPrivateSubnetIds" if private_ids else "existingPublicSubnetIds"
            raise ConfigError(top.key(which), list(private_ids or public_ids),
                              "subnet IDs need existingVpcId too; leave both unset to create a VPC")
        vpc = ipaddress.IPv4Network(vpc_cidr)
        if not 16 <= vpc.prefixlen <= 22:
            raise ConfigError(top.key("vpcCidr"), vpc_cidr, "must be between /16 and /22 so that its subnets fit")
        default_private, default_public = _subnet_layout(vpc, az_count)
        taken: list[ipaddress.IPv4Network] = []
        _check_subnets(top.key("privateSubnetCidrs"), private_cidrs or default_private, vpc, az_count, taken)
        _check_subnets(top.key("publicSubnetCidrs"), public_cidrs or default_public, vpc, az_count, taken)
        return NetworkSettings(vpc_cidr=vpc_cidr, az_count=az_count, nat_mode=nat_mode,
                               private_subnet_cidrs=private_cidrs or default_private,
                               public_subnet_cidrs=public_cidrs or default_public,
                               flow_logs=flow_logs, flow_log_retention_days=flow_log_retention_days)

    for key, ids in (("existingPrivateSubnetIds", private_ids), ("existingPublicSubnetIds", public_ids)):
        for subnet_id in ids:
            if not _RESOURCE_ID["subnet"].match(subnet_id):
                raise ConfigError(top.key(key), subnet_id, "each entry must be a subnet ID such as 'subnet-0abc1234'")
        if len(set(ids)) != len(ids):
            raise ConfigError(top.key(key), list(ids), "must not repeat a subnet ID")
    if len(private_ids) < 2:
        raise ConfigError(top.key("existingPrivateSubnetIds"), list(private_ids),
                          "an existing VPC needs at least 2 private subnets, in different Availability Zones")
    return NetworkSettings(existing_vpc_id=vpc_id, existing_private_subnet_ids=private_ids,
                           existing_public_subnet_ids=public_ids, az_count=len(private_ids))


def _parse_cluster(top: _Fields, project: str, stack: str) -> ClusterSettings:
    version = top.string("kubernetesVersion", DEFAULT_KUBERNETES_VERSION, check=lambda v: bool(_K8S_VERSION.match(v)),
                         allowed="must be a Kubernetes minor version such as '1.35'")
    if version not in SUPPORTED_KUBERNETES_VERSIONS:
        raise ConfigError(top.key("kubernetesVersion"), version,
                          "must be one of the supported versions: " + ", ".join(SUPPORTED_KUBERNETES_VERSIONS))
    public_cidrs = top.strings("publicAccessCidrs", ClusterSettings.public_access_cidrs)
    for cidr in public_cidrs:
        if not _is_cidr(cidr):
            raise ConfigError(top.key("publicAccessCidrs"), cidr, "each entry must be an IPv4 CIDR such as '203.0.113.0/24'")
    log_types = top.strings("clusterLogTypes", ClusterSettings.log_types)
    for log_type in log_types:
        if log_type not in EKS_LOG_TYPES:
            raise ConfigError(top.key("clusterLogTypes"), log_type, "each entry must be one of: " + ", ".join(EKS_LOG_TYPES))
    addon_fields = top.nested("managedAddonVersions")
    addon_versions = {name: addon_fields.string(name, "", check=lambda v: v == "" or bool(re.match(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$", v)),
                                                allowed="must be an EKS add-on version such as 'v1.19.2-eksbuild.1', or empty for the EKS default")
                      for name in MANAGED_ADDONS}
    addon_fields.finish()
    endpoint_public_access = top.boolean("endpointPublicAccess", True)
    return ClusterSettings(
        name=top.string("clusterName", f"{project}-{stack}", check=lambda v: bool(_CLUSTER_NAME.match(v)),
                        allowed="must be 1-100 letters, digits, '-' or '_', starting with a letter or digit"),
        kubernetes_version=version,
        tags=top.string_map("tags"),
        endpoint_public_access=endpoint_public_access,
        public_access_cidrs=public_cidrs if endpoint_public_access else (),
        log_types=log_types,
        service_cidr=top.string("serviceCidr", ClusterSettings.service_cidr, check=_is_cidr,
                                allowed="must be an IPv4 CIDR such as '172.20.0.0/16'"),
        deletion_protection=top.boolean("deletionProtection", False),
        managed_addon_versions={k: v for k, v in addon_versions.items() if v},
        log_retention_days=_retention_days(top, "clusterLogRetentionDays", ClusterSettings.log_retention_days),
    )


def _parse_device_plugin(top: _Fields) -> DevicePluginSettings:
    fields = top.nested("nvidiaDevicePlugin")
    settings = DevicePluginSettings(enabled=fields.boolean("enabled", True),
                                    image=_check_image(fields, "image", NVIDIA_DEVICE_PLUGIN_IMAGE))
    fields.finish()
    return settings


def _parse_cluster_autoscaler(top: _Fields, kubernetes_version: str) -> ClusterAutoscalerSettings:
    fields = top.nested("clusterAutoscaler")
    tags = {**CLUSTER_AUTOSCALER_TAGS, **fields.string_map("imageTags")}
    for minor, tag in tags.items():
        if not re.match(rf"^v{re.escape(minor)}\.\d+$", tag):
            raise ConfigError(f"{fields.key('imageTags')}.{minor}", tag,
                              f"must be a Cluster Autoscaler tag of the same minor, such as 'v{minor}.0'")
    enabled = fields.boolean("enabled", True)
    image_override = fields.string("image", "")
    if image_override:
        image = _check_image(fields, "image", "")
    elif kubernetes_version in tags:
        image = f"{CLUSTER_AUTOSCALER_IMAGE_REPOSITORY}:{tags[kubernetes_version]}"
    else:
        raise ConfigError(fields.key("imageTags"), kubernetes_version,
                          "needs a Cluster Autoscaler tag for this Kubernetes minor")
    threshold = fields.string("scaleDownUtilizationThreshold", "0.5",
                              check=lambda v: bool(re.match(r"^(0(\.\d+)?|1(\.0+)?)$", v)),
                              allowed="must be a number from 0 to 1 written as a string, such as '0.5'")
    settings = ClusterAutoscalerSettings(
        enabled=enabled,
        image=image,
        expander=fields.choice("expander", EXPANDERS[0], EXPANDERS),
        scale_down_unneeded_time=_check_duration(fields, "scaleDownUnneededTime", "10m"),
        scale_down_delay_after_add=_check_duration(fields, "scaleDownDelayAfterAdd", "10m"),
        scale_down_utilization_threshold=threshold,
        max_node_provision_time=_check_duration(fields, "maxNodeProvisionTime", "15m"),
    )
    fields.finish()
    return settings


def _parse_termination_handler(top: _Fields) -> TerminationHandlerSettings:
    fields = top.nested("nodeTerminationHandler")
    settings = TerminationHandlerSettings(
        enabled=fields.boolean("enabled", True),
        image=_check_image(fields, "image", NODE_TERMINATION_HANDLER_IMAGE),
        heartbeat_timeout_seconds=fields.integer("heartbeatTimeoutSeconds", 300, minimum=30, maximum=7200),
    )
    fields.finish()
    return settings


def parse_settings(raw: Mapping[str, str], *, project: str = PROJECT, stack: str, region: str) -> Settings:
    """Validate raw stack config (`{'<project>:<key>': '<string>'}`, other namespaces ignored)."""
    if not region:
        raise ConfigError("aws:region", region, "must be set, for example 'pulumi config set aws:region us-east-1'")
    prefix = f"{project}:"
    decoded: dict[str, Any] = {}
    for full_key, value in raw.items():
        if not full_key.startswith(prefix):
            continue
        name = full_key[len(prefix):]
        reject_unknown(prefix, [name], TOP_LEVEL_KEYS)
        decoded[name] = _decode(full_key, value, TOP_LEVEL_KEYS[name])
    top = _Fields(decoded, prefix)
    cluster = _parse_cluster(top, project, stack)
    settings = Settings(
        project=project,
        stack=stack,
        region=region,
        cluster=cluster,
        network=_parse_network(top),
        general_pool=_parse_general_pool(top),
        gpu_pools=_parse_gpu_pools(top),
        device_plugin=_parse_device_plugin(top),
        cluster_autoscaler=_parse_cluster_autoscaler(top, cluster.kubernetes_version),
        termination_handler=_parse_termination_handler(top),
    )
    top.finish()
    return settings


def config_strings(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values as Pulumi hands them to a program: strings, with objects and lists as JSON."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def load_settings() -> Settings:
    """Read this stack's config through Pulumi and validate it."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    region = pulumi.Config("aws").get("region") or ""
    return parse_settings(
        config_strings(raw),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=region,
    )
