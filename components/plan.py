"""Checks that need facts only AWS knows, made before the first resource exists (pure).

`plan_cluster` checks the Kubernetes version step against the running cluster, picks the zones,
checks an existing VPC, each pool's instance shapes and where its types are offered, and counts the
tags every resource will carry. It raises `InvalidValueError` with the `Settings` field at fault, or
returns what the components need and what preview should say about rollouts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from . import validation
from .aws_facts import AwsFacts, Zone
from .errors import Checks, InvalidValueError
from .network import subnet_tags
from .nodegroup import check_node_group_tags
from .pool_spec import NodePoolSpec, check_pool_shapes
from .rollout import refresh_policy, rollout_minutes
from .settings import ExistingVpcSettings, Settings
from .versions import SUPPORTED_KUBERNETES_VERSIONS

# EKS refuses control-plane subnets in these zone IDs (EKS network requirements); use1-az3 also
# lacks most current instance families.
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


@dataclass(frozen=True)
class ClusterPlan:
    """`zones`: the node subnets' zones, in subnet order; `pool_zones`: pool name -> the zone names
    whose subnets get an Auto Scaling group of it; `notes` and `warnings`: what to tell at preview."""

    zones: tuple[Zone, ...]
    pool_zones: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def check_version_step(requested: str, deployed: str | None) -> None:
    """EKS moves a running control plane one minor per update and never back (UpdateClusterVersion):
    refuse (`kubernetes_version`) anything else before `pulumi up` fails halfway. No cluster yet
    (`deployed` None) or no change: nothing to check."""
    if deployed is None or requested == deployed:
        return
    have, want = _minor(deployed), _minor(requested)
    following = f"{have[0]}.{have[1] + 1}"
    if following not in SUPPORTED_KUBERNETES_VERSIONS:
        step = (f"{following} is not a minor this project supports ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)}): "
                f"move the control plane to it outside this program (aws eks update-cluster-version), then here")
    else:
        step = f"set {following} and run `pulumi up`"
    if want < have:
        raise InvalidValueError("kubernetes_version", requested,
                                f"the cluster runs {deployed} and EKS never downgrades a cluster: keep {deployed}"
                                + (f", or upgrade to {following}" if following in SUPPORTED_KUBERNETES_VERSIONS else ""))
    if want != (have[0], have[1] + 1):
        raise InvalidValueError("kubernetes_version", requested,
                                f"the cluster runs {deployed} and EKS upgrades one minor per update: the next "
                                f"allowed version is {following}; {step}, then go on one minor at a time to {requested}")


def rollout_notes(settings: Settings, deployed: str | None) -> tuple[list[str], list[str]]:
    """What preview says (notes, warnings) about how a changed launch template reaches each pool's
    nodes, and which nodes an upgrade from `deployed` leaves behind."""
    notes: list[str] = []
    warnings: list[str] = []
    handler = settings.termination_handler
    upgrade = deployed is not None and deployed != settings.cluster.kubernetes_version
    for pool in settings.pools:
        policy = refresh_policy(pool.gpu, pool.replace_busy_nodes)
        drain = pool.drain_timeout or f"{handler.heartbeat_timeout_seconds}s"
        if policy is not None and not pool.gpu:
            desired = pool.desired_size
            notes.append(f"pool '{pool.name}': a new launch template version rolls onto its nodes by instance "
                         f"refresh, one canary node and a {policy.checkpoint_delay_seconds // 60}-minute pause, then "
                         f"{policy.nodes_at_once(desired)} at a time, each launched before an old one is drained: "
                         f"about {rollout_minutes(policy, desired):.0f} minutes at its desired size {desired}")
        elif policy is not None:
            notes.append(f"GPU pool '{pool.name}': a new launch template version replaces its nodes one at a time, "
                         f"busy or not, each drained for up to {drain} (replaceBusyNodes)")
        elif pool.min_size > 0:
            notes.append(f"GPU pool '{pool.name}': its {pool.min_size} node(s) per zone (minSizePerAz) keep the "
                         "launch template they started with when it changes: the autoscaler never removes a "
                         "pool's minimum and the pool has no instance refresh (set replaceBusyNodes: true, or "
                         "replace them by hand)")
            if upgrade:
                warnings.append(f"GPU pool '{pool.name}': after this upgrade from {deployed} to "
                                f"{settings.cluster.kubernetes_version} its minSizePerAz node(s) keep kubelet "
                                f"{deployed}; kubelet may be at most 3 minors older than the control plane: replace "
                                "them (replaceBusyNodes: true, or by hand) before the third upgrade")
        if not handler.enabled and policy is not None:
            warnings.append(f"pool '{pool.name}': the termination handler is off, so an instance refresh "
                            "terminates its nodes without draining them")
    return notes, warnings


def _offers(facts: AwsFacts, zone: Zone, pool: NodePoolSpec) -> bool:
    return bool(facts.offerings.get(zone.zone_id, frozenset()) & set(pool.instance_types))


def _new_vpc_zones(settings: Settings, facts: AwsFacts) -> tuple[Zone, ...]:
    general = settings.general_pool
    eligible = [z for z in facts.zones if z.zone_id not in EKS_UNSUPPORTED_ZONE_IDS and _offers(facts, z, general)]
    count = settings.network.az_count
    if count > len(eligible):
        left_out = [f"{z.name} ({z.zone_id})" for z in facts.zones if z not in eligible]
        raise InvalidValueError("network.az_count", count,
                                f"must be from 2 to {len(eligible)}: region {settings.region} has {len(eligible)} "
                                "Availability Zones that EKS supports and that offer the general pool's types"
                                + (f" (left out: {', '.join(left_out)})" if left_out else ""))
    # Zones serving more GPU pools first, then by name: the choice stays put from one preview to the
    # next, and a GPU pool whose types only some zones offer still gets them.
    gpu_pools = settings.gpu_pools
    ranked = sorted(eligible, key=lambda z: (-sum(_offers(facts, z, pool) for pool in gpu_pools), z.name))
    chosen = set(ranked[:count])
    return tuple(z for z in eligible if z in chosen)


def _existing_vpc_zones(network: ExistingVpcSettings, facts: AwsFacts) -> tuple[Zone, ...]:
    zones = []
    for name in ("private_subnet_ids", "public_subnet_ids"):
        for index, subnet_id in enumerate(getattr(network, name)):
            subnet = facts.subnets[subnet_id]
            if subnet.vpc_id != network.vpc_id:
                raise InvalidValueError(f"network.{name}[{index}]", subnet_id,
                                        f"belongs to {subnet.vpc_id}, not to the existing VPC {network.vpc_id}")
            if subnet.zone.zone_id in EKS_UNSUPPORTED_ZONE_IDS:
                raise InvalidValueError(f"network.{name}[{index}]", subnet_id,
                                        f"is in zone {subnet.zone.name} ({subnet.zone.zone_id}), where EKS does not "
                                        "allow control-plane subnets; choose subnets in other zones")
            if name == "private_subnet_ids":
                zones.append(subnet.zone)
    if len(set(zones)) < 2:
        raise InvalidValueError("network.private_subnet_ids", list(network.private_subnet_ids),
                                "must span at least 2 Availability Zones (all are in "
                                f"{', '.join(sorted({z.name for z in zones}))})")
    return tuple(zones)


def plan_cluster(settings: Settings, facts: AwsFacts, propagated_tags: Mapping[str, str]) -> ClusterPlan:
    """Version step, zones, shapes, offerings and tag counts checked; fields are those of `Settings`."""
    network = settings.network
    notes: list[str] = []
    if isinstance(network, ExistingVpcSettings):
        zones = _existing_vpc_zones(network, facts)
        service = settings.cluster.service_network
        for cidr in facts.vpc_cidrs:
            if service.overlaps(ipaddress.IPv4Network(cidr)):
                raise InvalidValueError("cluster.service_cidr", settings.cluster.service_cidr,
                                        f"must not overlap the CIDR {cidr} of the existing VPC {network.vpc_id}")
    else:
        zones = _new_vpc_zones(settings, facts)
    # Each pool is checked on its own, so that one run reports every pool at fault.
    checks = Checks()
    with checks.check("cluster"):
        check_version_step(settings.cluster.kubernetes_version, facts.deployed_kubernetes_version)
    for path, pool in settings.pool_paths():
        with checks.check(path):
            check_pool_shapes(pool, facts.shapes)

    pool_zones: dict[str, tuple[str, ...]] = {settings.general_pool.name: tuple(dict.fromkeys(z.name for z in zones))}
    for path, pool in settings.pool_paths()[1:]:
        offered = tuple(dict.fromkeys(z.name for z in zones if _offers(facts, z, pool)))
        if not offered:
            with checks.check():
                raise InvalidValueError(f"{path}.instance_types", list(pool.instance_types),
                                        "none of these types is offered in any of the cluster's zones ("
                                        + ", ".join(f"{z.name} ({z.zone_id})" for z in zones) + ")")
            continue
        skipped = [z.name for z in zones if z.name not in offered]
        if skipped:
            notes.append(f"GPU pool '{pool.name}': no Auto Scaling group in {', '.join(skipped)}, which offers none "
                         f"of {', '.join(pool.instance_types)}")
        pool_zones[pool.name] = offered

    user_tags = settings.cluster.resource_tags
    for public in (True, False):
        tags = [*user_tags.items(), ("Name", "x"), *subnet_tags(settings.cluster.name, public).items()]
        with checks.check():
            validation.tags_as_sent("cluster.tags", dict(settings.cluster.tags), tags, "each subnet")
    for path, pool in settings.pool_paths():
        if checks.ok(path) and pool.name in pool_zones:
            with checks.check():
                check_node_group_tags(settings.cluster.name, pool, [facts.shapes[t] for t in pool.instance_types],
                                      pool_zones[pool.name], propagated_tags, user_tags,
                                      labels_field=f"{path}.labels", tags_field="cluster.tags")
    checks.done()
    rollouts, warnings = rollout_notes(settings, facts.deployed_kubernetes_version)
    return ClusterPlan(zones=zones, pool_zones=pool_zones, notes=(*notes, *rollouts), warnings=tuple(warnings))
