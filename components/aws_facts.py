"""Facts read from AWS at preview time: zones with their IDs, what each zone offers, instance
shapes, an existing VPC's CIDRs and subnets, the EC2 vCPU quotas the pools draw on, the stack's
cluster as deployed (its Kubernetes version, subnets, Auto Scaling groups, role and managed add-ons'
builds, with the builds EKS publishes for the configured minor on a minor step), and the recommended
AMI releases. `read` gathers all the program needs; the checks against them are pure (`plan.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi_aws as aws

from . import ami
from . import instance_catalog as catalog
from . import quotas as ec2_quotas
from .errors import Checks, InvalidValueError
from .network import cluster_tag
from .node_template import InstanceShape, ca_cluster_tag
from .settings import ADDON_MINOR_TAG, MANAGED_ADDON_NAMES, ExistingVpcSettings, Settings


@dataclass(frozen=True)
class Zone:
    """An Availability Zone: its name differs per account, its ID (`use1-az1`) does not."""

    name: str
    zone_id: str


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    zone: Zone
    cidr_block: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeployedCluster:
    """The stack's EKS cluster as it runs now: its Kubernetes `version`; `subnets`, those of its
    control plane (the private and public subnets of the zones it was created in); `vpc_subnets`,
    every subnet of its VPC tagged for the cluster (`kubernetes.io/cluster/<name>`: the node and
    public subnets of a VPC this program creates, in every zone); `groups`, the names of the Auto
    Scaling groups tagged for its autoscaler (`k8s.io/cluster-autoscaler/<name>`); `role_arn`, the
    control plane's IAM role; `addon_versions`: EKS add-on name -> the build it runs, for the managed
    add-ons that exist; `addon_minors`: add-on name -> the Kubernetes minor its build was chosen for
    (its `ADDON_MINOR_TAG`), for those that carry it."""

    name: str
    version: str
    vpc_id: str = ""
    subnets: tuple[Subnet, ...] = ()
    vpc_subnets: tuple[Subnet, ...] = ()
    groups: frozenset[str] = frozenset()
    role_arn: str = ""
    addon_versions: Mapping[str, str] = field(default_factory=dict)
    addon_minors: Mapping[str, str] = field(default_factory=dict)

    def addon_minor(self, addon_name: str) -> str:
        """The Kubernetes minor the add-on's build was chosen for: its tag, else (an add-on from before
        the tag) the cluster's own minor."""
        return self.addon_minors.get(addon_name, self.version)


@dataclass(frozen=True)
class AddonBuilds:
    """What EKS publishes of one add-on for one Kubernetes minor: its `default` build
    (`aws.eks.get_addon_version`, most_recent false) and its `newest`."""

    default: str
    newest: str


@dataclass(frozen=True)
class AwsFacts:
    """`zones`: the region's standard zones; `offerings`: zone ID -> the pools' instance types it
    offers; `vpc_cidrs`, `subnets`: of an existing VPC (empty for a new one); `quotas`: EC2 vCPU
    quota code -> its value, None when it could not be read (`quota_read_errors` says why);
    `deployed_cluster`: the cluster of this name as it runs (None before the first `pulumi up`);
    `recommended_ami_releases`: the `recommended/release_version` parameter of each AMI the pools
    use -> its value (such as '1.35.6-20260714'), or None when it could not be read (read only to
    compare with a pinned release)."""

    region: str
    zones: tuple[Zone, ...]
    shapes: Mapping[str, InstanceShape]
    offerings: Mapping[str, frozenset[str]]
    vpc_cidrs: tuple[str, ...] = ()
    subnets: Mapping[str, Subnet] = field(default_factory=dict)
    quotas: Mapping[str, float | None] = field(default_factory=dict)
    quota_read_errors: Mapping[str, str] = field(default_factory=dict)
    deployed_cluster: DeployedCluster | None = None
    recommended_ami_releases: Mapping[str, str | None] = field(default_factory=dict)
    # EBS snapshot ID -> its size in GiB, None when AWS does not find it (the pools' image caches),
    # and the tags of each it finds.
    snapshots: Mapping[str, int | None] = field(default_factory=dict)
    snapshot_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # On a minor step: each running managed add-on's builds for the configured minor (by EKS name).
    addon_builds: Mapping[str, AddonBuilds] = field(default_factory=dict)

    @property
    def deployed_kubernetes_version(self) -> str | None:
        """What the cluster of this name runs, None while there is none."""
        return self.deployed_cluster.version if self.deployed_cluster else None


def instance_shape(instance_type: str) -> InstanceShape:
    result = aws.ec2.get_instance_type(instance_type=instance_type)
    return catalog.instance_shape(
        instance_type, vcpus=result.default_vcpus, memory_mib=result.memory_size,
        gpus=[catalog.Gpu(g.count, g.name, g.manufacturer, g.memory_size) for g in result.gpuses or []],
        cards=[(card.index, card.maximum_interfaces) for card in result.network_cards or []],
        default_card_index=result.default_network_card_index or 0, total_enis=result.maximum_network_interfaces,
        ipv4_per_eni=result.maximum_ipv4_addresses_per_interface,
        architectures=result.supported_architectures or [],
        other_accelerators=[*(a.name for a in result.inference_accelerators or []),
                            *(d.name for d in result.neuron_devices or [])],
        hypervisor=result.hypervisor or "", instance_store_supported=result.instance_storage_supported,
        instance_store_gb=result.total_instance_storage,
    )


def instance_shapes(instance_types: Iterable[str]) -> dict[str, InstanceShape]:
    return {t: instance_shape(t) for t in dict.fromkeys(instance_types)}


def availability_zones() -> list[Zone]:
    """The region's available zones (standard zones only, not Local or Wavelength Zones)."""
    result = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    return [Zone(name, zone_id) for name, zone_id in zip(result.names, result.zone_ids, strict=True)]


def offerings(instance_types: Sequence[str]) -> dict[str, frozenset[str]]:
    """Zone ID -> which of `instance_types` it offers."""
    result = aws.ec2.get_instance_type_offerings(
        location_type="availability-zone-id",
        filters=[aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=list(instance_types))],
    )
    offered: dict[str, set[str]] = {}
    for instance_type, location in zip(result.instance_types, result.locations, strict=True):
        offered.setdefault(location, set()).add(instance_type)
    return {zone_id: frozenset(types) for zone_id, types in offered.items()}


def subnet(subnet_id: str) -> Subnet:
    found = aws.ec2.get_subnet(id=subnet_id)
    return Subnet(subnet_id, found.vpc_id, Zone(found.availability_zone, found.availability_zone_id),
                  found.cidr_block, dict(found.tags or {}))


def deployed_cluster(name: str) -> DeployedCluster | None:
    """The EKS cluster `name` (its Kubernetes minor, its control plane's subnets, the subnets and
    Auto Scaling groups tagged for it, its role and managed add-ons' builds), or None when the region
    has none of that name (a first `pulumi up`)."""
    if name not in (aws.eks.get_clusters().names or []):
        return None
    found = aws.eks.get_cluster(name=name)
    vpc_config = found.vpc_config
    versions, minors = live_addons(name, MANAGED_ADDON_NAMES.values())
    control_plane = tuple(subnet(s) for s in vpc_config.subnet_ids or [])
    tagged = aws.ec2.get_subnets(filters=[
        aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_config.vpc_id]),
        aws.ec2.GetSubnetsFilterArgs(name="tag-key", values=[cluster_tag(name)]),
    ]).ids or []
    read_already = {s.subnet_id: s for s in control_plane}
    # pulumi-aws names DescribeAutoScalingGroups' data source getAmiIds (terraform's aws_autoscaling_groups).
    groups = aws.autoscaling.get_ami_ids(filters=[
        aws.autoscaling.GetAmiIdsFilterArgs(name="tag-key", values=[ca_cluster_tag(name)])]).names or []
    return DeployedCluster(name, found.version, vpc_config.vpc_id, control_plane,
                           tuple(read_already.get(s) or subnet(s) for s in tagged), frozenset(groups),
                           role_arn=found.role_arn, addon_versions=versions, addon_minors=minors)


def live_addons(cluster_name: str, addon_names: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The build each of the cluster's managed add-ons runs, and the Kubernetes minor it was chosen
    for (its `ADDON_MINOR_TAG`, where it has one); an add-on that does not exist is left out (the
    invoke fails: the data source finds no such add-on)."""
    versions: dict[str, str] = {}
    minors: dict[str, str] = {}
    for addon_name in addon_names:
        try:
            found = aws.eks.get_addon(addon_name=addon_name, cluster_name=cluster_name)
        except Exception:  # noqa: BLE001 a failed invoke raises a plain Exception (pulumi.runtime.invoke)
            continue
        versions[addon_name] = found.addon_version
        if (found.tags or {}).get(ADDON_MINOR_TAG):
            minors[addon_name] = found.tags[ADDON_MINOR_TAG]
    return versions, minors


def addon_builds(kubernetes_version: str, addon_names: Iterable[str]) -> dict[str, AddonBuilds]:
    """Each add-on's default and newest build for a Kubernetes minor; one EKS has none for is left
    out (the invoke fails), and then takes the default that `Cluster` reads itself."""
    found: dict[str, AddonBuilds] = {}
    for addon_name in addon_names:
        try:
            default, newest = (aws.eks.get_addon_version(addon_name=addon_name, kubernetes_version=kubernetes_version,
                                                         most_recent=most_recent).version
                               for most_recent in (False, True))
        except Exception:  # noqa: BLE001 a failed invoke raises a plain Exception (pulumi.runtime.invoke)
            continue
        found[addon_name] = AddonBuilds(default, newest)
    return found


def recommended_ami_releases(settings: Settings, shapes: Mapping[str, InstanceShape]) -> dict[str, str | None]:
    """The recommended release of each AMI the pools use, when a release is pinned (with
    `recommended` there is nothing to compare). Like a quota, only advice: a failed read is None."""
    if settings.cluster.ami_release_version == ami.RECOMMENDED:
        return {}
    names = dict.fromkeys(
        ami.release_parameter_name(settings.cluster.kubernetes_version, pool.gpu,
                                   shapes[pool.instance_types[0]].architecture)
        for pool in settings.pools)
    releases: dict[str, str | None] = {}
    for name in names:
        try:
            releases[name] = aws.ssm.get_parameter(name=name).insecure_value
        except Exception:  # noqa: BLE001 a failed invoke raises a plain Exception (pulumi.runtime.invoke)
            releases[name] = None
    return releases


def service_quotas(quotas: Iterable[ec2_quotas.Quota]) -> tuple[dict[str, float | None], dict[str, str]]:
    """Each EC2 quota's current value (code -> vCPUs), and why a quota could not be read. A quota is
    only advice at preview: a reader without `servicequotas:GetServiceQuota`, or a Region Service
    Quotas does not answer in, gets a warning (`quotas.quota_warnings`), never a failed preview."""
    values: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for quota in quotas:
        try:
            values[quota.code] = aws.servicequotas.get_service_quota(service_code="ec2", quota_code=quota.code).value
        except Exception as error:  # noqa: BLE001 a failed invoke raises a plain Exception (pulumi.runtime.invoke)
            values[quota.code] = None
            errors[quota.code] = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
    return values, errors


def snapshots(snapshot_ids: Iterable[str]) -> tuple[dict[str, int | None], dict[str, dict[str, str]]]:
    """Each snapshot's size in GiB, or None when AWS does not find it in the region (the invoke fails:
    no such snapshot, or one this account may not read); and the tags of each it finds."""
    sizes: dict[str, int | None] = {}
    tags: dict[str, dict[str, str]] = {}
    for snapshot_id in dict.fromkeys(snapshot_ids):
        try:
            found = aws.ebs.get_snapshot(snapshot_ids=[snapshot_id])
        except Exception:  # noqa: BLE001 a failed invoke raises a plain Exception (pulumi.runtime.invoke)
            sizes[snapshot_id] = None
            continue
        sizes[snapshot_id], tags[snapshot_id] = found.volume_size, dict(found.tags or {})
    return sizes, tags


def read(settings: Settings) -> AwsFacts:
    """Everything `plan_cluster` checks. An instance type no zone of the region offers (unknown or
    unavailable) is refused here, naming the pool setting, before its shape is asked for."""
    types = list(dict.fromkeys(t for pool in settings.pools for t in pool.instance_types))
    offered = offerings(types)
    anywhere = set().union(*offered.values()) if offered else set()
    checks = Checks()
    for path, pool in settings.pool_paths():
        for index, instance_type in enumerate(pool.instance_types):
            if instance_type not in anywhere:
                with checks.check():
                    raise InvalidValueError(f"{path}.instance_types[{index}]", instance_type,
                                            f"no Availability Zone of {settings.region} offers this instance type "
                                            "(unknown, or not available in this region)")
    checks.done()
    network = settings.network
    vpc_cidrs: tuple[str, ...] = ()
    subnets: dict[str, Subnet] = {}
    if isinstance(network, ExistingVpcSettings):
        vpc = aws.ec2.get_vpc(id=network.vpc_id)
        vpc_cidrs = tuple(dict.fromkeys([vpc.cidr_block, *(a.cidr_block for a in vpc.cidr_block_associations or [])]))
        for subnet_id in (*network.private_subnet_ids, *network.public_subnet_ids):
            subnets[subnet_id] = subnet(subnet_id)
    quota_values, quota_errors = service_quotas(ec2_quotas.quotas_to_read(settings.pools))
    shapes = instance_shapes(types)
    snapshot_gib, snapshot_tags = snapshots(p.image_cache.snapshot_id for p in settings.pools if p.image_cache)
    deployed = deployed_cluster(settings.cluster.name)
    minor = settings.cluster.kubernetes_version
    # The new minor's builds, read only when some add-on's build was chosen for another minor.
    stepping = [a for a in deployed.addon_versions if deployed.addon_minor(a) != minor] if deployed else []
    builds = addon_builds(minor, stepping) if stepping else {}
    return AwsFacts(region=settings.region, zones=tuple(availability_zones()), shapes=shapes,
                    offerings=offered, vpc_cidrs=vpc_cidrs, subnets=subnets, quotas=quota_values,
                    quota_read_errors=quota_errors, deployed_cluster=deployed,
                    recommended_ami_releases=recommended_ami_releases(settings, shapes),
                    snapshots=snapshot_gib, snapshot_tags=snapshot_tags, addon_builds=builds)
