"""EC2 vCPU quotas: which quota a pool draws on, the warnings when it is too low or unreadable, and
that the program warns at preview and still deploys."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pulumi
import pytest

from components.node_template import InstanceShape
from components.pool_spec import NodePoolSpec
from components.quotas import (
    G_VT_ON_DEMAND,
    G_VT_SPOT,
    ON_DEMAND,
    P2_P4_SPOT,
    P5_SPOT,
    P_ON_DEMAND,
    SPOT,
    STANDARD_ON_DEMAND,
    STANDARD_SPOT,
    UnknownQuota,
    family_group,
    nodes_by_purchase,
    pool_needs,
    quota_for,
    quota_warnings,
    quotas_to_read,
)
from tests.harness import QUOTA_UNREADABLE, ROOT, ProgramRun, run_program, stack_config

REGION = "us-east-1"
G4DN = InstanceShape("g4dn.xlarge", vcpus=4, memory_mib=16384, gpu_count=1)
G5_12 = InstanceShape("g5.12xlarge", vcpus=48, memory_mib=196608, gpu_count=4)
M6I = InstanceShape("m6i.xlarge", vcpus=4, memory_mib=16384)
SHAPES = {s.instance_type: s for s in (G4DN, G5_12, M6I)}


@pytest.mark.parametrize(("instance_type", "spot", "on_demand"), [
    ("g4dn.xlarge", G_VT_SPOT, G_VT_ON_DEMAND),
    ("g5g.xlarge", G_VT_SPOT, G_VT_ON_DEMAND),
    ("gr6.4xlarge", G_VT_SPOT, G_VT_ON_DEMAND),
    ("vt1.3xlarge", G_VT_SPOT, G_VT_ON_DEMAND),
    ("p3.2xlarge", P2_P4_SPOT, P_ON_DEMAND),
    ("p4d.24xlarge", P2_P4_SPOT, P_ON_DEMAND),
    ("p5en.48xlarge", P5_SPOT, P_ON_DEMAND),
    ("m6i.xlarge", STANDARD_SPOT, STANDARD_ON_DEMAND),
    ("c7gn.large", STANDARD_SPOT, STANDARD_ON_DEMAND),
    ("d3en.xlarge", STANDARD_SPOT, STANDARD_ON_DEMAND),
    ("h1.2xlarge", STANDARD_SPOT, STANDARD_ON_DEMAND),
    ("im4gn.large", STANDARD_SPOT, STANDARD_ON_DEMAND),
    ("t3.medium", STANDARD_SPOT, STANDARD_ON_DEMAND),
    ("z1d.large", STANDARD_SPOT, STANDARD_ON_DEMAND),
])
def test_each_family_draws_on_its_spot_and_on_demand_quota(instance_type: str, spot: Any, on_demand: Any) -> None:
    assert quota_for(instance_type, SPOT) == spot
    assert quota_for(instance_type, ON_DEMAND) == on_demand


@pytest.mark.parametrize(("instance_type", "group", "spot_code", "on_demand_code"), [
    # Families with a standard first letter but a group of their own (EC2 User Guide, instance type quotas).
    ("inf2.xlarge", "inf", "L-B5D1601B", "L-1945791B"),
    ("trn1.2xlarge", "trn", "L-6B0D517C", "L-2C3B7624"),
    ("dl1.24xlarge", "dl", "L-85EED4F7", "L-6E869C2A"),
    ("hpc7a.96xlarge", "hpc", None, "L-F7808C92"),  # HPC instances are On-Demand only
    ("x2idn.16xlarge", "x", "L-E3A00192", "L-7295265B"),
    ("u-6tb1.metal", "u", None, "L-43DA4232"),
    ("f1.2xlarge", "f", "L-88CF9481", "L-74FC7D96"),
    ("p2.xlarge", "p2-p4", "L-7212CCBC", "L-417A185B"),
    ("p4de.24xlarge", "p2-p4", "L-7212CCBC", "L-417A185B"),
    ("p5.48xlarge", "p5", "L-C4BD4855", "L-417A185B"),
    ("p6-b200.48xlarge", "p", None, "L-417A185B"),  # P6: On-Demand P; its Spot quota is not listed
    ("mac2.metal", None, None, None),
    ("1x.large", None, None, None),
    ("q9.large", None, None, None),
])
def test_own_groups_are_not_taken_for_standard(instance_type: str, group: str | None, spot_code: str | None,
                                               on_demand_code: str | None) -> None:
    assert family_group(instance_type) == group
    assert getattr(quota_for(instance_type, SPOT), "code", None) == spot_code
    assert getattr(quota_for(instance_type, ON_DEMAND), "code", None) == on_demand_code


@pytest.mark.parametrize(("args", "expected"), [
    ((2, 0, 0, False), {SPOT: 2, ON_DEMAND: 0}),            # the default: all Spot
    ((2, 0, 100, False), {SPOT: 0, ON_DEMAND: 2}),          # all On-Demand
    ((5, 1, 50, False), {SPOT: 2, ON_DEMAND: 3}),           # base 1, then half of 4, EC2 rounds On-Demand up
    ((3, 5, 0, False), {SPOT: 0, ON_DEMAND: 3}),            # a base above the maximum
    ((2, 0, 0, True), {SPOT: 2, ON_DEMAND: 2}),             # with a fallback any node may be On-Demand
    ((101, 0, 1, False), {SPOT: 99, ON_DEMAND: 2}),         # 1% of 101 is 1.01 nodes: 2 On-Demand
    ((100, 0, 1, False), {SPOT: 99, ON_DEMAND: 1}),
])
def test_nodes_by_purchase(args: tuple[int, int, int, bool], expected: dict[str, int]) -> None:
    assert nodes_by_purchase(*args) == expected


def test_no_fallback_unless_asked() -> None:
    assert nodes_by_purchase(2, 0, 0) == {SPOT: 2, ON_DEMAND: 0}


def gpu_pool(**fields: Any) -> NodePoolSpec:
    return NodePoolSpec(**{"name": "gpu", "gpu": True, "instance_types": ["g4dn.xlarge"], "max_size": 2, **fields})


def warnings(pools: list[NodePoolSpec], values: dict[str, float | None], zones: int = 3,
             errors: dict[str, str] | None = None) -> list[str]:
    needs, unknown = pool_needs(pools, SHAPES, {p.name: zones if p.gpu else 1 for p in pools})
    return quota_warnings(needs, unknown, values, REGION, errors)


def test_g_spot_quota_of_zero_warns_for_one_node_and_for_the_maximum() -> None:
    one_node, maximum = warnings([gpu_pool()], {G_VT_SPOT.code: 0.0})
    assert one_node.startswith("GPU pool 'gpu': quota L-3819A6DF (All G and VT Spot Instance Requests) in us-east-1")
    assert "is 0 vCPUs, below the 4 vCPUs one g4dn.xlarge node (Spot) needs" in one_node
    # 2 nodes per zone x 3 zones x 4 vCPUs
    assert "below the 24 vCPUs" in maximum and "GPU pool 'gpu' 6 nodes x 4 vCPUs" in maximum
    for line in (one_node, maximum):
        assert ("`aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF "
                "--desired-value 24 --region us-east-1`") in line


def test_enough_for_one_node_but_not_the_maximum_warns_for_the_maximum_only() -> None:
    (line,) = warnings([gpu_pool()], {G_VT_SPOT.code: 8.0})
    assert "is 8 vCPUs, below the 24 vCPUs the maximum" in line and "one g4dn.xlarge node" not in line


def test_enough_quota_warns_nothing() -> None:
    assert warnings([gpu_pool()], {G_VT_SPOT.code: 24.0}) == []


def test_pools_sharing_a_quota_sum_their_maximums() -> None:
    big = gpu_pool(name="gpu-big", instance_types=["g5.12xlarge"], max_size=1)
    # 24 (gpu) + 1 x 3 zones x 48 (gpu-big) = 168; 100 holds each pool alone, not both.
    pools = [gpu_pool(), big]
    (line,) = warnings(pools, {G_VT_SPOT.code: 100.0})
    assert "below the 168 vCPUs" in line and "GPU pool 'gpu' 6 nodes" in line and "GPU pool 'gpu-big' 3 nodes" in line
    assert "--desired-value 168" in line
    assert warnings(pools, {G_VT_SPOT.code: 168.0}) == []
    # 40 vCPUs hold a g4dn.xlarge but not one g5.12xlarge node.
    one_node = [w for w in warnings(pools, {G_VT_SPOT.code: 40.0}) if "one g5.12xlarge node" in w]
    assert len(one_node) == 1 and one_node[0].startswith("GPU pool 'gpu-big'")


def test_on_demand_pools_draw_on_on_demand_quotas() -> None:
    pool = gpu_pool(on_demand_percentage_above_base=100)
    assert [q.code for q in quotas_to_read([pool])] == [G_VT_ON_DEMAND.code]
    (one_node, maximum) = warnings([pool], {G_VT_ON_DEMAND.code: 0.0, G_VT_SPOT.code: 0.0})
    assert "L-DB2E81BA (Running On-Demand G and VT instances)" in one_node and "(On-Demand)" in one_node
    assert "L-DB2E81BA" in maximum and "L-3819A6DF" not in one_node + maximum


def test_a_mixed_pool_draws_on_both_quotas() -> None:
    pool = gpu_pool(on_demand_base_capacity=1)
    assert {q.code for q in quotas_to_read([pool])} == {G_VT_SPOT.code, G_VT_ON_DEMAND.code}
    lines = warnings([pool], {G_VT_ON_DEMAND.code: 4.0, G_VT_SPOT.code: 4.0})
    # 3 zones: 1 On-Demand node each (12 vCPUs) and 1 Spot node each (12 vCPUs); 4 holds one node of each.
    assert len(lines) == 2 and all("below the 12 vCPUs the maximum" in line for line in lines)


def test_a_pool_with_on_demand_fallback_is_checked_against_both_quotas() -> None:
    pool = gpu_pool()
    # The `on_demand_fallback` field is being added to NodePoolSpec alongside; set it as it will be.
    object.__setattr__(pool, "on_demand_fallback", True)
    assert {q.code for q in quotas_to_read([pool])} == {G_VT_SPOT.code, G_VT_ON_DEMAND.code}
    lines = warnings([pool], {G_VT_SPOT.code: 24.0, G_VT_ON_DEMAND.code: 8.0})
    (line,) = lines
    assert line.startswith("quota L-DB2E81BA") and "below the 24 vCPUs" in line


def test_general_pool_of_standard_types_draws_on_the_standard_quotas() -> None:
    general = NodePoolSpec(name="general", instance_types=["m6i.xlarge"], min_size=2, max_size=3,
                           on_demand_base_capacity=2)
    needs, _ = pool_needs([general], SHAPES, {"general": 1})
    assert {(n.quota.code, n.max_nodes) for n in needs} == {(STANDARD_ON_DEMAND.code, 2), (STANDARD_SPOT.code, 1)}
    (line,) = quota_warnings(needs, [], {STANDARD_ON_DEMAND.code: 5.0, STANDARD_SPOT.code: 5.0}, REGION)
    assert line.startswith("quota L-1216C47A") and "below the 8 vCPUs" in line and "general pool 'general'" in line


def test_an_unreadable_quota_is_a_warning_with_the_reason() -> None:
    (line,) = warnings([gpu_pool()], {G_VT_SPOT.code: None}, errors={G_VT_SPOT.code: "AccessDeniedException"})
    assert line.startswith("GPU pool 'gpu': could not read quota L-3819A6DF") and "(AccessDeniedException)" in line
    assert "4 vCPUs for one g4dn.xlarge node (Spot) and 24 at its maximum" in line
    assert "aws service-quotas get-service-quota --service-code ec2 --quota-code L-3819A6DF" in line
    # A code that was never read is unreadable too, not enough.
    assert len(warnings([gpu_pool()], {})) == 1


def test_a_family_with_no_known_quota_is_said_not_to_be_checked() -> None:
    pool = gpu_pool(instance_types=["p6-b200.48xlarge"])
    shapes = {"p6-b200.48xlarge": InstanceShape("p6-b200.48xlarge", vcpus=192, memory_mib=2097152, gpu_count=8)}
    needs, unknown = pool_needs([pool], shapes, {"gpu": 1})
    assert [n.quota.code for n in needs] == []
    (line,) = quota_warnings(needs, unknown, {}, REGION)
    assert "which Spot vCPU quota p6-b200.48xlarge draws on is not known" in line


def test_a_pool_without_a_group_count_has_one_group() -> None:
    needs, unknown = pool_needs([gpu_pool(max_size=5)], SHAPES, {})
    assert [(n.pool, n.quota, n.purchase, n.instance_type, n.node_vcpus, n.max_nodes) for n in needs] == [
        ("gpu", G_VT_SPOT, SPOT, "g4dn.xlarge", 4, 5)]
    assert unknown == []


def test_an_unknown_family_is_listed_with_its_pool_and_purchase() -> None:
    pool = gpu_pool(instance_types=["g4dn.xlarge", "p6-b200.48xlarge"], on_demand_base_capacity=1)
    p6 = InstanceShape("p6-b200.48xlarge", vcpus=192, memory_mib=2097152, gpu_count=8)
    _, unknown = pool_needs([pool], {**SHAPES, p6.instance_type: p6}, {"gpu": 1})
    assert unknown == [UnknownQuota("gpu", "p6-b200.48xlarge", SPOT)]


def test_a_quota_that_was_never_read_says_so() -> None:
    (line,) = warnings([gpu_pool()], {})
    assert "could not read quota L-3819A6DF (All G and VT Spot Instance Requests) in us-east-1 (no value)" in line


def test_an_unreadable_quota_does_not_hide_the_next_one() -> None:
    general = NodePoolSpec(name="general", instance_types=["m6i.xlarge"], min_size=1, max_size=1)
    unread, one_node, maximum = warnings([gpu_pool(), general], {G_VT_SPOT.code: None, STANDARD_SPOT.code: 0.0})
    assert unread.startswith("GPU pool 'gpu': could not read quota L-3819A6DF")
    assert one_node.startswith("general pool 'general': quota L-34B43A08")
    assert maximum.startswith("quota L-34B43A08")


def test_the_pools_sharing_a_quota_are_listed_each() -> None:
    big = gpu_pool(name="gpu-big", instance_types=["g5.12xlarge"], max_size=1)
    (line,) = warnings([gpu_pool(), big], {G_VT_SPOT.code: 100.0})
    assert "needs (GPU pool 'gpu' 6 nodes x 4 vCPUs, GPU pool 'gpu-big' 3 nodes x 48 vCPUs): past the quota" in line


def test_the_program_reads_only_the_quotas_its_pools_draw_on() -> None:
    run = dev_run({})
    read = [args for token, args in run.invokes if token == "aws:servicequotas/getServiceQuota:getServiceQuota"]
    assert {a["serviceCode"] for a in read} == {"ec2"}
    # The dev stack: an all-Spot general pool of m*.2xlarge and an all-Spot GPU pool of g*.xlarge; each read once.
    assert sorted(a["quotaCode"] for a in read) == sorted([STANDARD_SPOT.code, G_VT_SPOT.code])


# Under mocks: the warnings reach `pulumi.log.warn`, and the program still deploys.

DEV = stack_config(ROOT / "Pulumi.dev.yaml")


def dev_run(quotas: dict[str, float | str]) -> ProgramRun:
    return run_program(DEV, stack="dev", quotas=quotas)


def quota_warnings_logged(quotas: dict[str, float | str]) -> tuple[list[str], ProgramRun]:
    with mock.patch.object(pulumi.log, "warn") as warn:
        run = dev_run(quotas)
    return [str(c.args[0]) for c in warn.call_args_list if "quota" in str(c.args[0])], run


def test_preview_warns_with_the_quota_code_and_still_deploys() -> None:
    lines, run = quota_warnings_logged({G_VT_SPOT.code: 0})
    assert len(lines) == 2 and all("L-3819A6DF" in line for line in lines)
    assert run.error is None and run.of_type("aws:autoscaling/group:Group")


def test_an_unreadable_quota_warns_and_still_deploys() -> None:
    lines, run = quota_warnings_logged({G_VT_SPOT.code: QUOTA_UNREADABLE})
    (line,) = lines
    assert "could not read quota L-3819A6DF" in line and "AccessDeniedException" in line
    assert run.error is None and run.of_type("aws:autoscaling/group:Group")


def test_default_quotas_warn_nothing() -> None:
    assert quota_warnings_logged({})[0] == []


def test_the_docs_list_every_quota_and_the_readme_says_preview_warns() -> None:
    from components.quotas import QUOTAS

    quotas_doc = (ROOT / "docs" / "quotas.md").read_text()
    for by_group in QUOTAS.values():
        for quota in by_group.values():
            assert quota.code in quotas_doc, quota.code
    readme = (ROOT / "README.md").read_text()
    assert "(docs/quotas.md)" in readme
    assert "request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF" in readme
