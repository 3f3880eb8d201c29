"""The template's allocatable equals what nodeadm makes kubelet report, computed by hand from its source.

nodeadm (awslabs/amazon-eks-ami v20260724, nodeadm/internal/kubelet/config.go and eni_max_pods.go):
  maxPods         = ENIs of the default network card x (IPv4 per ENI - 1) + 2
  kubeReserved    cpu: 6% of core 1 + 1% of core 2 + 0.5% of cores 3-4 + 0.25% of the rest
                  memory: 11 MiB x maxPods + 255 MiB; ephemeral-storage 1Gi
  evictionHard    memory.available 100Mi, nodefs.available 10%
and the project's estimate of memory the OS does not report: 7.5% of nominal, rounded up.
Karpenter's generated instance-type reference (same rules) lists the same three figures for each
type below (aws/karpenter-provider-aws website/content/en/docs/reference/instance-types.md).
"""

from __future__ import annotations

import pytest

from components.allocatable import (
    Allocatable,
    check_max_pods,
    check_memory_overhead_percent,
    filesystem_overhead_mib,
    kube_reserved_cpu_millicores,
    kube_reserved_memory_mib,
    max_pods_expression,
    memory_capacity_mib,
    node_allocatable,
    node_max_pods,
    pool_allocatable,
    raid0_filesystem_mib,
)
from components.errors import InvalidValueError
from components.instance_catalog import KNOWN_SHAPES, default_card_enis, max_pods
from components.node_template import InstanceShape
from components.pool_spec import NodePoolSpec, build_node_template


def shape(instance_type: str) -> InstanceShape:
    return KNOWN_SHAPES[instance_type].instance_shape(instance_type)


def test_g4dn_xlarge() -> None:
    pods = 3 * (10 - 1) + 2  # 3 ENIs of 10 IPv4 addresses
    cpu = 4000 - (60 + 10 + 2 * 1000 * 50 // 10000)  # 80m reserved
    memory = 16384 - 1229 - (11 * pods + 255) - 100  # 1229 = ceil(16384 x 7.5%)
    assert (pods, cpu, memory) == (29, 3920, 14481)
    allocatable = node_allocatable(shape("g4dn.xlarge"), 100).quantities()
    assert (allocatable["cpu"], allocatable["memory"], allocatable["pods"]) == ("3920m", "14481Mi", "29")


def test_g5_12xlarge() -> None:
    pods = 15 * (50 - 1) + 2  # 15 ENIs of 50 IPv4 addresses; no 250 cap on AL2023
    cpu = 48000 - (60 + 10 + 10 + 44 * 1000 * 25 // 10000)  # 60 + 10 + 10 + 110 = 190m reserved
    memory = 196608 - 14746 - (11 * pods + 255) - 100  # 14746 = ceil(196608 x 7.5%); 8362 reserved
    assert (pods, cpu, memory) == (737, 47810, 173400)
    allocatable = node_allocatable(shape("g5.12xlarge"), 100).quantities()
    assert (allocatable["cpu"], allocatable["memory"], allocatable["pods"]) == ("47810m", "173400Mi", "737")


def test_p4d_24xlarge_counts_the_default_network_card_only() -> None:
    # 4 network cards of 15 ENIs (60 in all); nodeadm reads the default card's 15.
    pods = 15 * (50 - 1) + 2
    cpu = 96000 - (60 + 10 + 10 + 92 * 1000 * 25 // 10000)  # 310m reserved
    memory = 1179648 - 88474 - (11 * pods + 255) - 100  # 1152 GiB; 88474 = ceil(1179648 x 7.5%)
    assert (pods, cpu, memory) == (737, 95690, 1082712)
    p4d = shape("p4d.24xlarge")
    assert (p4d.vcpus, p4d.memory_mib, p4d.gpu_count, p4d.gpu_memory_mib) == (96, 1152 * 1024, 8, 40960)
    assert KNOWN_SHAPES["p4d.24xlarge"].enis == 60 and p4d.default_card_enis == 15
    allocatable = node_allocatable(p4d, 100).quantities()
    assert (allocatable["cpu"], allocatable["memory"], allocatable["pods"]) == ("95690m", "1082712Mi", "737")


@pytest.mark.parametrize(("instance_type", "cpu", "memory", "pods"), [
    ("g4dn.xlarge", "3920m", "14481Mi", "29"),
    ("g5.12xlarge", "47810m", "173400Mi", "737"),
    ("p4d.24xlarge", "95690m", "1082712Mi", "737"),
])
def test_the_gpu_pool_template_and_its_tags_carry_these_figures(instance_type: str, cpu: str, memory: str,
                                                                pods: str) -> None:
    pool = NodePoolSpec(name="gpu", instance_types=(instance_type,), gpu=True, root_volume_gib=100)
    template = build_node_template(pool, [shape(instance_type)])
    assert (template.capacity["cpu"], template.capacity["memory"], template.capacity["pods"]) == (cpu, memory, pods)
    tags = template.autoscaler_tags("ml")
    prefix = "k8s.io/cluster-autoscaler/node-template/resources/"
    assert (tags[f"{prefix}cpu"], tags[f"{prefix}memory"], tags[f"{prefix}pods"]) == (cpu, memory, pods)
    assert tags[f"{prefix}ephemeral-storage"] == template.capacity["ephemeral-storage"]


def test_cpu_reservation_ranges() -> None:
    assert [kube_reserved_cpu_millicores(n) for n in (1, 2, 4, 8, 16, 96)] == [60, 70, 80, 90, 110, 310]


def test_ephemeral_storage_is_the_filesystem_less_reservation_and_eviction_threshold() -> None:
    # 100 GiB = 102400 MiB; filesystem overhead 128 + ceil(102.4) = 231 MiB -> 102169 MiB;
    # less kubeReserved 1024 MiB and nodefs.available 10% (ceil 10216.9 = 10217 MiB).
    assert node_allocatable(shape("g4dn.xlarge"), 100).ephemeral_storage_mib == 102169 - 1024 - 10217
    # 20 GiB: 20480 - (128 + 21) = 20331 MiB; - 1024 - 2034 (ceil 2033.1) = 17273 MiB.
    assert node_allocatable(shape("g4dn.xlarge"), 20).quantities()["ephemeral-storage"] == "17273Mi"


def test_memory_overhead_is_overridable() -> None:
    # 16384 - ceil(16384 x 5%) = 15564; less 574 and 100.
    assert node_allocatable(shape("g4dn.xlarge"), 100, memory_overhead_percent=5).memory_mib == 15564 - 574 - 100
    assert node_allocatable(shape("g4dn.xlarge"), 100, memory_overhead_percent=0).memory_mib == 16384 - 574 - 100


def test_max_pods_override_moves_the_memory_reservation_with_it() -> None:
    # nodeadm sizes kubeReserved memory from maxPodsExpression's result: 11 x 110 + 255 = 1465 MiB.
    allocatable = node_allocatable(shape("g5.12xlarge"), 100, max_pods=110)
    assert allocatable.pods == 110
    assert allocatable.memory_mib == 196608 - 14746 - 1465 - 100
    assert max_pods_expression(110) == "110"
    pool = NodePoolSpec(name="gpu", instance_types=("g5.12xlarge",), gpu=True, max_pods=110)
    assert build_node_template(pool, [shape("g5.12xlarge")]).capacity["pods"] == "110"


def test_max_pods_rule_has_no_cap_and_reads_the_default_card() -> None:
    assert max_pods(3, 10) == 29
    assert max_pods(15, 50) == 737
    assert default_card_enis([(0, 15), (1, 15), (2, 15), (3, 15)], 0, 60) == 15
    assert default_card_enis([(0, 2), (1, 4)], 1, 6) == 4
    assert default_card_enis([], 0, 4) == 4
    with pytest.raises(ValueError, match="cannot compute max pods"):
        max_pods(0, 10)


@pytest.mark.parametrize("bad", [-1, 2**31, True, 1.5, "110"])
def test_bad_max_pods_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="max pods must be a whole number from 1 to 2147483647"):
        check_max_pods(bad)


@pytest.mark.parametrize("bad", [-0.1, 50.5, True, "7.5", None])
def test_bad_memory_overhead_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="memory overhead must be a number of percent from 0 to 50"):
        check_memory_overhead_percent(bad)


def test_a_node_with_nothing_left_is_refused() -> None:
    tiny = InstanceShape("t.tiny", 1, 512, default_card_enis=2, ipv4_per_eni=2)
    with pytest.raises(ValueError, match="leaves nothing allocatable"):
        node_allocatable(tiny, 20, max_pods=100)


def test_a_mixed_pool_promises_the_least_of_its_types() -> None:
    # Same vCPU and memory, different ENIs: g4dn.xlarge 29 pods / 14481Mi, g5.xlarge 58 pods / 14162Mi.
    pool = NodePoolSpec(name="gpu", instance_types=("g4dn.xlarge", "g5.xlarge"), gpu=True, root_volume_gib=100)
    capacity = build_node_template(pool, [shape("g4dn.xlarge"), shape("g5.xlarge")]).capacity
    assert (capacity["memory"], capacity["pods"]) == ("14162Mi", "29")


def test_the_program_reads_the_default_network_card_from_ec2() -> None:
    # Under mocks, aws.ec2.get_instance_type answers p4d.24xlarge with 60 ENIs over 4 cards of 15
    # (tests/harness.py); the program must count the default card's 15, like nodeadm.
    from tests.addon_helpers import dev_run

    run = dev_run(gpuPools=[{"name": "gpu-a100", "instanceTypes": ["p4d.24xlarge"]}])
    capacity = run.outputs["nodeGroups"]["gpu-a100"]["template"]["capacity"]
    assert (capacity["cpu"], capacity["memory"], capacity["pods"], capacity["nvidia.com/gpu"]) == (
        "95690m", "1082712Mi", "737", "8")
    labels = run.outputs["nodeGroups"]["gpu-a100"]["template"]["labels"]
    assert labels["k8s.amazonaws.com/accelerator"] == "nvidia-tesla-a100"
    assert labels["nvidia.com/gpu.memory"] == "40960"


# --- every limit at its edge -------------------------------------------------------------------------

def test_quantities_are_in_kubelets_units() -> None:
    assert Allocatable(cpu_millicores=3920, memory_mib=14481, pods=29, ephemeral_storage_mib=90928).quantities() == {
        "cpu": "3920m", "memory": "14481Mi", "pods": "29", "ephemeral-storage": "90928Mi"}


def test_cpu_reservation_at_each_range_edge() -> None:
    # 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% above, each range
    # rounded down on its own: 197 cores above the fourth reserve 492.5m, taken as 492m.
    assert [kube_reserved_cpu_millicores(n) for n in (1, 2, 3, 4, 5, 6, 201)] == [60, 70, 75, 80, 82, 85, 572]


def test_memory_reservation_and_capacity_arithmetic() -> None:
    assert [kube_reserved_memory_mib(p) for p in (0, 1, 29)] == [255, 266, 574]
    assert memory_capacity_mib(16384, 7.5) == 16384 - 1229  # 1228.8 rounded up
    assert memory_capacity_mib(1000, 0.1) == 999
    assert memory_capacity_mib(1000, 0) == 1000
    assert memory_capacity_mib(1001, 50) == 500  # 500.5 lost, rounded up


def test_filesystem_overhead() -> None:
    assert [filesystem_overhead_mib(v) for v in (1, 20, 100, 1000)] == [130, 149, 231, 1152]


@pytest.mark.parametrize("good", [0, 0.0, 50, 50.0, 7.5])
def test_memory_overhead_limits_are_inclusive(good: float) -> None:
    assert check_memory_overhead_percent(good) == good
    assert isinstance(check_memory_overhead_percent(good), float)


@pytest.mark.parametrize("bad", [-0.01, 50.01, 51])
def test_memory_overhead_one_past_either_limit_is_refused_naming_the_field(bad: float) -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_memory_overhead_percent(bad)
    assert str(raised.value) == (f"memory_overhead_percent: got {bad}; memory overhead must be a number of percent "
                                 "from 0 to 50 (default 7.5, Karpenter's)")


@pytest.mark.parametrize("good", [0, 1, 2**31 - 1])
def test_max_pods_limits_are_inclusive(good: int) -> None:
    assert check_max_pods(good) == good


def test_max_pods_one_past_either_limit_is_refused_naming_the_field() -> None:
    for bad in (-1, 2**31):
        with pytest.raises(InvalidValueError) as raised:
            check_max_pods(bad)
        assert str(raised.value) == (f"max_pods: got {bad}; max pods must be a whole number from 1 to 2147483647 "
                                     "(0 or unset: nodeadm's ENI rule)")


def test_node_max_pods_prefers_the_override_then_the_eni_rule_then_the_shape() -> None:
    g4dn = shape("g4dn.xlarge")
    assert node_max_pods(g4dn) == 29
    assert node_max_pods(g4dn, 110) == 110
    assert node_max_pods(InstanceShape("x.large", 4, 16384, max_pods=42)) == 42
    assert node_max_pods(InstanceShape("x.large", 4, 16384, max_pods=42, default_card_enis=3)) == 42
    assert node_max_pods(InstanceShape("x.large", 4, 16384, max_pods=42, ipv4_per_eni=10)) == 42
    with pytest.raises(InvalidValueError):
        node_max_pods(g4dn, -1)


def test_a_node_left_with_exactly_one_mib_of_memory_is_accepted_and_none_is_refused() -> None:
    # No OS overhead, 1 pod: kubelet keeps 11 + 255 MiB reserved and 100 MiB for eviction.
    assert node_allocatable(InstanceShape("t.one", 1, 367), 20, memory_overhead_percent=0, max_pods=1).memory_mib == 1
    with pytest.raises(InvalidValueError) as raised:
        node_allocatable(InstanceShape("t.zero", 1, 366), 20, memory_overhead_percent=0, max_pods=1)
    assert (raised.value.field, raised.value.value) == ("max_pods", 1)
    assert raised.value.allowed == ("t.zero with a 20 GiB root volume and 1 pods leaves nothing allocatable "
                                    "(cpu 940m, memory 0Mi, ephemeral-storage 17273Mi)")


def test_a_root_volume_too_small_for_kubelets_reservation_is_refused_naming_the_volume() -> None:
    # 2 GiB: 2048 - 131 = 1917 MiB of filesystem, less 1024 reserved and 192 (10%) = 701 MiB left.
    assert node_allocatable(shape("g4dn.xlarge"), 2).ephemeral_storage_mib == 701
    with pytest.raises(InvalidValueError) as raised:
        node_allocatable(shape("g4dn.xlarge"), 1)
    assert (raised.value.field, raised.value.value) == ("root_volume_gib", 1)
    assert raised.value.allowed == ("g4dn.xlarge with a 1 GiB root volume and 29 pods leaves nothing allocatable "
                                    "(cpu 3920m, memory 14481Mi, ephemeral-storage -220Mi)")
    # Memory left at exactly 1 MiB is not the fault: the volume is named, not the pods.
    with pytest.raises(InvalidValueError) as raised:
        node_allocatable(InstanceShape("t.one", 1, 378), 1, memory_overhead_percent=0, max_pods=2)
    assert (raised.value.field, raised.value.value) == ("root_volume_gib", 1)


def test_the_memory_overhead_is_checked_before_any_arithmetic() -> None:
    with pytest.raises(InvalidValueError, match="^memory_overhead_percent: got 51;"):
        node_allocatable(shape("g4dn.xlarge"), 100, memory_overhead_percent=51)


def test_a_pool_offers_the_least_of_each_resource_over_its_types() -> None:
    small_cpu = InstanceShape("a.x", 2, 32768, max_pods=10)
    small_memory = InstanceShape("b.x", 8, 16384, max_pods=20)
    least = pool_allocatable([small_cpu, small_memory], 50)
    each = [node_allocatable(s, 50) for s in (small_cpu, small_memory)]
    assert least == Allocatable(cpu_millicores=each[0].cpu_millicores, memory_mib=each[1].memory_mib, pods=10,
                                ephemeral_storage_mib=each[0].ephemeral_storage_mib)
    assert pool_allocatable([small_memory], 50, memory_overhead_percent=0, max_pods=5) == node_allocatable(
        small_memory, 50, memory_overhead_percent=0, max_pods=5)
    with pytest.raises(ValueError) as raised:
        pool_allocatable([], 50)
    assert str(raised.value) == "a pool needs at least one instance type"


def test_a_large_raid0_array_loses_mdadms_share_and_the_xfs_allowance_of_its_size() -> None:
    # p5.48xlarge: 8 x 3800 GB = 30400 GB = 28991699 MiB; mdadm 0.5% = 144959 MiB; the XFS allowance of
    # the 28170 GiB left is 128 MiB + 0.1% = 28975 MiB.
    assert raid0_filesystem_mib(30400) == 28991699 - 144959 - 28975
