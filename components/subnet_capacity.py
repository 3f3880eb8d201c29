"""Will the node subnets hold the pools at their maximum? (pure; a warning at preview, not a refusal)

Without prefix delegation the VPC CNI gives every pod a secondary address of its node's subnet and
keeps whole ENIs of addresses attached (WARM_ENI_TARGET=1), so a node may hold up to ENIs x IPv4
addresses per ENI of its subnet. A subnet that runs out leaves new pods in ContainerCreating, which
the autoscaler never answers with a node. It deploys, so preview warns rather than refuses: the
pools may never reach their maximum.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .node_template import InstanceShape
from .pool_spec import NodePoolSpec

# Addresses AWS keeps in every subnet (network, VPC router, DNS, future use, broadcast).
AWS_RESERVED_PER_SUBNET = 5
# EKS puts control-plane ENIs in the cluster's subnets and recommends at least 16 free addresses each
# (EKS user guide, "VPC and subnet requirements").
EKS_CONTROL_PLANE_ADDRESSES = 16


@dataclass(frozen=True)
class ZoneSubnet:
    """A node subnet: its zone, CIDR, and the stack key that sets it (named in the warning)."""

    zone: str
    cidr: str
    key: str


def addresses_per_node(shapes: Sequence[InstanceShape]) -> int:
    """The most addresses a node of these types may take from its subnet: every ENI of its default
    network card, full."""
    return max(shape.default_card_enis * shape.ipv4_per_eni for shape in shapes)


def zone_demand(pools: Sequence[NodePoolSpec], shapes: Mapping[str, InstanceShape],
                pool_zones: Mapping[str, Sequence[str]], zone: str) -> list[tuple[str, int, int]]:
    """(pool, nodes, addresses per node) in `zone` with every pool at its maximum
    (`NodePoolSpec.max_nodes_in_zone`)."""
    demand = []
    for pool in pools:
        zones = pool_zones.get(pool.name, ())
        if zone not in zones:
            continue
        demand.append((pool.name, pool.max_nodes_in_zone(len(zones)),
                       addresses_per_node([shapes[t] for t in pool.instance_types])))
    return demand


def subnet_warnings(subnets: Sequence[ZoneSubnet], pools: Sequence[NodePoolSpec],
                    shapes: Mapping[str, InstanceShape], pool_zones: Mapping[str, Sequence[str]]) -> list[str]:
    """One line per node subnet too small for its zone's pools at their maximum."""
    warnings = []
    for subnet in subnets:
        usable = ipaddress.IPv4Network(subnet.cidr).num_addresses - AWS_RESERVED_PER_SUBNET - EKS_CONTROL_PLANE_ADDRESSES
        demand = zone_demand(pools, shapes, pool_zones, subnet.zone)
        need = sum(nodes * per_node for _, nodes, per_node in demand)
        if need > usable:
            parts = ", ".join(f"{pool} {nodes} x {per_node}" for pool, nodes, per_node in demand)
            warnings.append(
                f"config {subnet.key}: the node subnet {subnet.cidr} in {subnet.zone} has {usable} addresses for "
                f"nodes and pods, but the pools at their maximum may take {need} there ({parts}: nodes x "
                "addresses per node); pods past that wait for an address forever. Give the zone a larger subnet "
                "or lower the pools' maximum sizes.")
    return warnings
