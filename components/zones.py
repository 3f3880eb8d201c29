"""Availability Zones of a new VPC and the subnet CIDRs of each zone (pure).

Zone names (`us-east-1a`) map to zone IDs (`use1-az6`) differently in each account; an ID names the
same physical zone in every account. Zones are chosen by ID, and each zone's subnets are keyed by the
zone itself, never by its position among the others (docs/upgrades.md, "Subnet CIDRs"):

- the private subnet of zone `<region>x` is the VPC's eighth number `x` (a = 0, b = 1, ... g = 6);
- its public subnet is slice number `x` of the last eighth, cut into eighths again.

So adding, removing or reordering zones leaves every other zone's subnets as they are, and a VPC
created before this rule, in zones a, b and c (the first three eighths by position), keeps its CIDRs.
"""

from __future__ import annotations

import ipaddress
import re

# A standard zone's ID: the region's code and the zone's number, such as use1-az1 or apse2-az3.
ZONE_ID = re.compile(r"[a-z]{2,}\d+-az\d+")
# EKS refuses control-plane subnets in these zone IDs (EKS network requirements); use1-az3 also
# lacks most current instance families.
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
# The private subnets take the VPC's first seven eighths; the last one holds the public subnets.
SUBNET_SLOTS = 7


def zone_id_order(zone_id: str) -> tuple[str, int]:
    """Sort key of zone IDs: by region code, then by number (use1-az2 before use1-az10)."""
    region, _, number = zone_id.rpartition("-az")
    return region, int(number) if number.isdigit() else 0


def zone_slot(zone_name: str) -> int:
    """The zone's slot: the position of its letter in the alphabet (us-east-1c -> 2)."""
    letter = zone_name[-1:]
    return ord(letter) - ord("a") if "a" <= letter <= "z" else SUBNET_SLOTS


def slot_cidrs(vpc_cidr: str, zone_name: str) -> tuple[str, str] | None:
    """(private, public) CIDRs of the zone's subnets in `vpc_cidr`, or None when its slot is past the
    last one (a zone letter after g)."""
    slot = zone_slot(zone_name)
    if slot >= SUBNET_SLOTS:
        return None
    eighths = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=3))
    publics = list(eighths[-1].subnets(prefixlen_diff=3))
    return str(eighths[slot]), str(publics[slot])
