"""Checks that need facts only AWS knows, made before the first resource exists (pure).

`plan_cluster` picks the zones, checks an existing VPC, each pool's instance shapes and where its
types are offered, and counts the tags every resource will carry. It raises `InvalidValueError`
with the `Settings` field at fault, or returns what the components need.
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
from .settings import ExistingVpcSettings, Settings

# EKS refuses control-plane subnets in these zone IDs (EKS network requirements); use1-az3 also
# lacks most current instance families.
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


@dataclass(frozen=True)
class ClusterPlan:
    """`zones`: the node subnets' zones, in subnet order; `pool_zones`: pool name -> the zone names
    whose subnets get an Auto Scaling group of it; `notes`: what to tell at preview."""

    zones: tuple[Zone, ...]
    pool_zones: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()


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
    """Zones, shapes, offerings and tag counts checked; fields are those of `Settings`."""
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
    return ClusterPlan(zones=zones, pool_zones=pool_zones, notes=tuple(notes))
