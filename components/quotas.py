"""EC2 vCPU quotas the node pools draw on, and the warnings when they are too low (pure).

EC2 counts running instances against per-Region vCPU quotas, one per group of instance families
and purchase option (Amazon EC2 User Guide, "Amazon EC2 instance type quotas" and "Spot Instance
quotas"). A new account has 0 vCPUs of Spot for G and VT instances: an Auto Scaling group of
`g4dn.xlarge` then never launches, and the Cluster Autoscaler backs off with no word to the user.
`aws_facts.read` reads the values (`quotas_to_read`); `quota_warnings` compares them with what the
pools need, at preview, so the user learns it before the first GPU pod waits forever.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .node_template import InstanceShape
from .pool_spec import NodePoolSpec

SPOT = "Spot"
ON_DEMAND = "On-Demand"


@dataclass(frozen=True)
class Quota:
    """An EC2 vCPU quota: its Service Quotas code (service code `ec2`) and name."""

    code: str
    name: str


# Quota names and codes as the Service Quotas console and the EC2 User Guide ("Amazon EC2 instance
# type quotas") list them. The standard group is instance families starting A, C, D, H, I, M, R, T, Z
# (but not DL, HPC, Inf: groups of their own). Spot P instances are split by generation: P2-P4 share
# one quota, P5 has its own.
STANDARD_SPOT = Quota("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests")
G_VT_SPOT = Quota("L-3819A6DF", "All G and VT Spot Instance Requests")
P2_P4_SPOT = Quota("L-7212CCBC", "All P4, P3 and P2 Spot Instance Requests")
P5_SPOT = Quota("L-C4BD4855", "All P5 Spot Instance Requests")
STANDARD_ON_DEMAND = Quota("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
G_VT_ON_DEMAND = Quota("L-DB2E81BA", "Running On-Demand G and VT instances")
P_ON_DEMAND = Quota("L-417A185B", "Running On-Demand P instances")

# Purchase option -> family group -> quota. Groups the pools cannot use (GPU pools take NVIDIA G and P
# types only; the general pool no accelerators) are still listed, so a general pool of X or
# high-memory types is checked too.
QUOTAS: Mapping[str, Mapping[str, Quota]] = {
    SPOT: {
        "standard": STANDARD_SPOT, "g": G_VT_SPOT, "p2-p4": P2_P4_SPOT, "p5": P5_SPOT,
        "x": Quota("L-E3A00192", "All X Spot Instance Requests"),
        "f": Quota("L-88CF9481", "All F Spot Instance Requests"),
        "inf": Quota("L-B5D1601B", "All Inf Spot Instance Requests"),
        "trn": Quota("L-6B0D517C", "All Trn Spot Instance Requests"),
        "dl": Quota("L-85EED4F7", "All DL Spot Instance Requests"),
    },
    ON_DEMAND: {
        "standard": STANDARD_ON_DEMAND, "g": G_VT_ON_DEMAND, "p2-p4": P_ON_DEMAND, "p5": P_ON_DEMAND,
        "p": P_ON_DEMAND,
        "x": Quota("L-7295265B", "Running On-Demand X instances"),
        "f": Quota("L-74FC7D96", "Running On-Demand F instances"),
        "inf": Quota("L-1945791B", "Running On-Demand Inf instances"),
        "trn": Quota("L-2C3B7624", "Running On-Demand Trn instances"),
        "dl": Quota("L-6E869C2A", "Running On-Demand DL instances"),
        "hpc": Quota("L-F7808C92", "Running On-Demand HPC instances"),
        "u": Quota("L-43DA4232", "Running On-Demand High Memory instances"),
    },
}
STANDARD_LETTERS = frozenset("acdhimrtz")
# Family prefixes that are groups of their own although they start with a standard letter.
OWN_GROUPS = ("dl", "hpc", "inf", "trn")
FAMILY = re.compile(r"([a-z]+)(\d*)")


def family_group(instance_type: str) -> str | None:
    """The quota group of an instance type, by its family's letters (`g4dn.xlarge` -> `g`,
    `vt1.3xlarge` -> `g`, `p5en.48xlarge` -> `p5`, `inf2.xlarge` -> `inf`, `m6i.large` ->
    `standard`); None for a family this table does not know (e.g. `mac`)."""
    match = FAMILY.match(instance_type)
    if not match:
        return None
    letters, generation = match.groups()
    if letters == "mac":  # Mac instances run on Dedicated Hosts only, counted by host, not vCPU
        return None
    if letters in OWN_GROUPS:
        return letters
    if letters.startswith("vt") or letters.startswith("g"):  # g4dn, g5g, gr6: G and VT
        return "g"
    if letters.startswith("p"):
        if generation and 2 <= int(generation) <= 4:
            return "p2-p4"
        # P6 and later: On-Demand counts them as P; which Spot quota they draw on is not listed.
        return "p5" if generation == "5" else "p"
    if letters[0] in ("x", "f", "u"):
        return letters[0]
    if letters[0] in STANDARD_LETTERS:
        return "standard"
    return None


def quota_for(instance_type: str, purchase: str) -> Quota | None:
    """The vCPU quota an instance of `instance_type` bought as `purchase` (SPOT or ON_DEMAND) draws
    on; None when unknown."""
    group = family_group(instance_type)
    return QUOTAS[purchase].get(group) if group else None


def nodes_by_purchase(max_size: int, on_demand_base_capacity: int, on_demand_percentage_above_base: int,
                      on_demand_fallback: bool = False) -> dict[str, int]:
    """At most how many of one Auto Scaling group's `max_size` nodes can be Spot and On-Demand.

    The MixedInstancesPolicy buys the first `on_demand_base_capacity` nodes On-Demand and the given
    percentage of the rest (EC2 rounds On-Demand up). With `on_demand_fallback` a second, all
    On-Demand group of the same maximum stands beside it, so the On-Demand quota must hold that too."""
    base = min(on_demand_base_capacity, max_size)
    on_demand = base + math.ceil((max_size - base) * on_demand_percentage_above_base / 100)
    spot = max_size - on_demand
    return {SPOT: spot, ON_DEMAND: on_demand + (max_size if on_demand_fallback else 0)}


def pool_purchases(pool: NodePoolSpec, groups: int) -> dict[str, int]:
    """Purchase option -> the most nodes of `pool` it can buy, over its `groups` Auto Scaling groups
    (one per zone for a GPU pool, one for the general pool)."""
    # A pool with an On-Demand fallback may draw on both its Spot and its On-Demand quota.
    per_group = nodes_by_purchase(pool.max_size, pool.on_demand_base_capacity, pool.on_demand_percentage_above_base,
                                  pool.on_demand_fallback)
    return {purchase: nodes * groups for purchase, nodes in per_group.items() if nodes}


@dataclass(frozen=True)
class PoolNeed:
    """What one pool asks of one quota: `node_vcpus` per node, `max_nodes` at its maximum."""

    pool: str
    gpu: bool
    quota: Quota
    purchase: str
    instance_type: str
    node_vcpus: int
    max_nodes: int

    @property
    def label(self) -> str:
        return f"{'GPU pool' if self.gpu else 'general pool'} '{self.pool}'"

    @property
    def max_vcpus(self) -> int:
        return self.node_vcpus * self.max_nodes


@dataclass(frozen=True)
class UnknownQuota:
    pool: str
    instance_type: str
    purchase: str


def pool_needs(pools: Sequence[NodePoolSpec], shapes: Mapping[str, InstanceShape],
               groups: Mapping[str, int]) -> tuple[list[PoolNeed], list[UnknownQuota]]:
    """Each pool's need of each quota its types draw on; `groups`: pool name -> its Auto Scaling
    groups (zones of a GPU pool; 1 for the general pool). All types of a pool have one vCPU count."""
    needs: list[PoolNeed] = []
    unknown: list[UnknownQuota] = []
    for pool in pools:
        for purchase, nodes in pool_purchases(pool, groups.get(pool.name, 1)).items():
            seen: set[str] = set()
            for instance_type in pool.instance_types:
                quota = quota_for(instance_type, purchase)
                if quota is None:
                    unknown.append(UnknownQuota(pool.name, instance_type, purchase))
                elif quota.code not in seen:
                    seen.add(quota.code)
                    needs.append(PoolNeed(pool.name, pool.gpu, quota, purchase, instance_type,
                                          shapes[instance_type].vcpus, nodes))
    return needs, unknown


def quotas_to_read(pools: Sequence[NodePoolSpec]) -> list[Quota]:
    """Every quota the pools may draw on (any purchase option they use), in a stable order."""
    found: dict[str, Quota] = {}
    for pool in pools:
        for purchase in pool_purchases(pool, 1):
            for instance_type in pool.instance_types:
                quota = quota_for(instance_type, purchase)
                if quota is not None:
                    found.setdefault(quota.code, quota)
    return list(found.values())


def increase_command(code: str, desired: int, region: str) -> str:
    return (f"aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {code} "
            f"--desired-value {desired} --region {region}")


def _vcpus(value: float) -> str:
    return f"{value:g} vCPUs"


def quota_warnings(needs: Iterable[PoolNeed], unknown: Iterable[UnknownQuota], values: Mapping[str, float | None],
                   region: str, read_errors: Mapping[str, str] | None = None) -> list[str]:
    """The lines to warn at preview: a quota below one node of a pool, a quota below the sum of the
    maximums of the pools that share it, a quota that could not be read (`values[code]` None or
    missing, `read_errors[code]` why), and an instance type whose quota is unknown."""
    by_quota: dict[str, list[PoolNeed]] = {}
    for need in needs:
        by_quota.setdefault(need.quota.code, []).append(need)
    lines: list[str] = []
    for code, sharing in by_quota.items():
        quota = sharing[0].quota
        total = sum(n.max_vcpus for n in sharing)
        named = f"quota {code} ({quota.name}) in {region}"
        request = f"Request an increase: `{increase_command(code, total, region)}`"
        value = values.get(code)
        if value is None:
            why = (read_errors or {}).get(code, "no value")
            for need in sharing:
                lines.append(f"{need.label}: could not read {named} ({why}); the pool needs {need.node_vcpus} "
                             f"vCPUs for one {need.instance_type} node ({need.purchase}) and {need.max_vcpus} at its "
                             f"maximum of {need.max_nodes} nodes. Check it with `aws service-quotas get-service-quota "
                             f"--service-code ec2 --quota-code {code} --region {region}`; if it is lower: {request}")
            continue
        for need in sharing:
            if value < need.node_vcpus:
                lines.append(f"{need.label}: {named} is {_vcpus(value)}, below the {need.node_vcpus} vCPUs one "
                             f"{need.instance_type} node ({need.purchase}) needs: no node of this pool can launch "
                             f"and its pods wait forever. {request}")
        if value < total:
            parts = ", ".join(f"{n.label} {n.max_nodes} nodes x {n.node_vcpus} vCPUs" for n in sharing)
            lines.append(f"{named} is {_vcpus(value)}, below the {total} vCPUs the maximum of the pools drawing on "
                         f"it needs ({parts}): past the quota no more nodes launch. {request}")
    for item in unknown:
        lines.append(f"pool '{item.pool}': which {item.purchase} vCPU quota {item.instance_type} draws on is not "
                     f"known to this program, so it is not checked; see the Service Quotas console for EC2 in "
                     f"{region}")
    return lines
