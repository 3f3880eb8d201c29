"""Config that AWS or EKS would refuse, or that deploys but cannot work: refused by key, or warned
at preview naming the key. Each tested both ways: the trap, and the nearest value that deploys."""

from __future__ import annotations

import pytest

from components.instance_catalog import KNOWN_SHAPES, KnownShape
from components.pool_spec import NodePoolSpec
from components.subnet_capacity import (
    AWS_RESERVED_PER_SUBNET,
    EKS_CONTROL_PLANE_ADDRESSES,
    ZoneSubnet,
    subnet_warnings,
)
from tests.harness import ProgramRun, assert_refused, run_program

PREFIX = "eks-gpu-spot:"


def warnings(run: ProgramRun, about: str) -> list[str]:
    return [message for severity, message in run.logs if severity == "warning" and about in message]


# --- global tags under the keys the program manages --------------------------------------------------

@pytest.mark.parametrize("key", [
    "k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu",
    "k8s.io/cluster-autoscaler/enabled",
    "kubernetes.io/cluster/eks-gpu-spot-test",
    "kubernetes.io/role/elb",
    "eks:nodegroup-name",
    "aws-node-termination-handler/managed",
    "eks-gpu-spot/cluster",
])
def test_tags_the_program_manages_are_refused(key: str) -> None:
    run = run_program({"tags": {key: "true"}}, expect_error=True)
    assert_refused(run, f"{PREFIX}tags.{key}", "the program manages the tags under")


def test_the_nearest_own_tag_keys_deploy_on_every_resource() -> None:
    tags = {"example.com/cluster-autoscaler": "x", "k8s.io-team": "ml", "kubernetes.io": "not-a-prefix"}
    run = run_program({"tags": tags})
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert {k: vpc.inputs["tags"][k] for k in tags} == tags


# --- publicAccessCidrs ------------------------------------------------------------------------------

def cidrs(count: int) -> list[str]:
    return [f"198.51.{index}.0/24" for index in range(count)]


def test_eks_takes_at_most_40_public_access_cidrs() -> None:
    run = run_program({"publicAccessCidrs": cidrs(41)}, expect_error=True)
    assert_refused(run, f"{PREFIX}publicAccessCidrs", "must list 1 to 40 CIDRs (EKS accepts at most 40 per cluster)")
    run = run_program({"publicAccessCidrs": cidrs(40)})
    assert run.one("eks:index:Cluster").inputs["publicAccessCidrs"] == cidrs(40)


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "172.16.5.0/24", "192.168.1.1/32", "127.0.0.0/8", "169.254.0.0/16"])
def test_a_range_the_public_endpoint_never_sees_is_refused(cidr: str) -> None:
    run = run_program({"publicAccessCidrs": ["203.0.113.0/24", cidr]}, expect_error=True)
    assert_refused(run, f"{PREFIX}publicAccessCidrs[1]", "the public endpoint sees public source addresses only")


@pytest.mark.parametrize("cidr", ["172.32.0.0/16", "11.0.0.0/8", "192.169.0.0/16", "100.64.0.0/10", "0.0.0.0/0"])
def test_public_ranges_next_to_the_private_ones_deploy(cidr: str) -> None:
    run = run_program({"publicAccessCidrs": [cidr]})
    assert run.one("eks:index:Cluster").inputs["publicAccessCidrs"] == [cidr]


# --- a general pool that can reach zero ---------------------------------------------------------------

def test_a_general_pool_of_zero_nodes_is_refused() -> None:
    run = run_program({"generalPool": {"minSize": 0, "maxSize": 3}}, expect_error=True)
    assert_refused(run, f"{PREFIX}generalPool.minSize", "must be at least 1: CoreDNS, the Cluster Autoscaler and the "
                                                        "termination handler run on the general pool")
    run = run_program({"generalPool": {"minSize": 1, "maxSize": 3}})
    assert run.one("aws:autoscaling/group:Group", "general").inputs["minSize"] == 1


def test_a_gpu_pool_of_zero_nodes_is_the_point() -> None:
    run = run_program({"gpuPools": [{"name": "gpu", "minSizePerAz": 0}]})
    assert {g.inputs["minSize"] for g in run.of_type("aws:autoscaling/group:Group") if g.name.startswith("gpu")} == {0}


# --- subnets too small for the pools at their maximum -------------------------------------------------

# The default pools: general m6i.xlarge family (4 ENIs x 15 = 60 addresses a node), max 20 over 3 zones
# = 7 a zone; GPU g5.xlarge/g6.xlarge (4 x 15 = 60), max 2 a zone. 7 x 60 + 2 x 60 = 540 a zone.
DEFAULT_NEED = 7 * 60 + 2 * 60
OVERHEAD = AWS_RESERVED_PER_SUBNET + EKS_CONTROL_PLANE_ADDRESSES


def test_the_figures_behind_the_default_need() -> None:
    assert KNOWN_SHAPES["m6i.xlarge"].default_card_enis * KNOWN_SHAPES["m6i.xlarge"].ipv4_per_eni == 60
    assert KNOWN_SHAPES["g5.xlarge"].default_card_enis * KNOWN_SHAPES["g5.xlarge"].ipv4_per_eni == 60


def test_subnets_carved_from_a_small_vpc_get_a_warning_naming_vpc_cidr() -> None:
    # /20: each zone's eighth is a /23 of 512 addresses, 491 for nodes: less than 540.
    run = run_program({"vpcCidr": "10.0.0.0/20"})
    found = warnings(run, "node subnet")
    assert len(found) == 3
    assert found[0].startswith("config vpcCidr: the node subnet 10.0.0.0/23 in us-east-1a has "
                               f"{512 - OVERHEAD} addresses for nodes and pods, but the pools at their maximum may "
                               f"take {DEFAULT_NEED} there (general 7 x 60, gpu 2 x 60")
    # /19: /22 subnets of 1024 addresses hold them.
    assert warnings(run_program({"vpcCidr": "10.0.0.0/19"}), "node subnet") == []


def test_given_subnets_are_named_by_their_key() -> None:
    run = run_program({"vpcCidr": "10.0.0.0/16", "privateSubnetCidrs": ["10.0.0.0/22", "10.0.4.0/23", "10.0.8.0/22"]})
    (found,) = warnings(run, "node subnet")
    assert found.startswith("config privateSubnetCidrs[1]: the node subnet 10.0.4.0/23 in us-east-1b")


def test_existing_subnets_are_read_and_named_by_their_key() -> None:
    subnets = {"subnet-0a1b2c3d4e5f6a7b8": "us-east-1a", "subnet-0a1b2c3d4e5f6a7b9": "us-east-1b"}
    config = {"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": list(subnets)}
    # Two zones: the general pool's 20 spread 10 a zone, 10 x 60 + 2 x 60 = 720.
    run = run_program(config, subnet_zones=subnets,
                      subnet_cidrs={"subnet-0a1b2c3d4e5f6a7b8": "10.50.0.0/22", "subnet-0a1b2c3d4e5f6a7b9": "10.50.4.0/24"})
    (found,) = warnings(run, "node subnet")
    assert found.startswith(f"config existingPrivateSubnetIds[1]: the node subnet 10.50.4.0/24 in us-east-1b has "
                            f"{256 - OVERHEAD} addresses")
    assert "may take 720 there" in found


def test_the_limit_is_exact() -> None:
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_size=3)
    shapes = {"g5.xlarge": KNOWN_SHAPES["g5.xlarge"].instance_shape("g5.xlarge")}
    # A /24 holds 256 - 21 = 235; three g5.xlarge nodes take 180, a fourth 240.
    subnet = [ZoneSubnet("z1", "10.0.0.0/24", "k")]
    assert subnet_warnings(subnet, [pool], shapes, {"gpu": ["z1"]}) == []
    four = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_size=4)
    assert len(subnet_warnings(subnet, [four], shapes, {"gpu": ["z1"]})) == 1
    # 235 exactly is enough; 236 is not (one node of 5 x 47 = 235 addresses, or of 4 x 59 = 236).
    assert 256 - OVERHEAD == 235
    one = NodePoolSpec(name="one", gpu=True, instance_types=("x1.large",), min_size=0, max_size=1)
    for enis, per_eni, warned in ((5, 47, False), (4, 59, True)):
        shape = KnownShape(4, 16384, enis, per_eni, 1, "T4", 16384).instance_shape("x1.large")
        assert bool(subnet_warnings(subnet, [one], {"x1.large": shape}, {"one": ["z1"]})) is warned
    # A pool without a group in the zone takes nothing there; the fallback doubles a GPU pool's share.
    assert subnet_warnings(subnet, [four], shapes, {"gpu": ["z2"]}) == []
    fallback = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_size=2, on_demand_fallback=True)
    assert subnet_warnings(subnet, [fallback], shapes, {"gpu": ["z1"]}) != []


def test_one_rule_for_the_most_nodes_of_a_pool_in_a_zone() -> None:
    # The general pool's one group balances its zones: 5 over 3 zones is at most 2 in one, 5 in all.
    general = NodePoolSpec(name="general", max_size=5)
    assert [general.max_nodes_in_zone(n) for n in (1, 2, 3)] == [5, 3, 2]
    assert general.max_nodes(3) == 5
    # A GPU pool's maximum is per zone, and its On-Demand fallback group stands beside it there.
    gpu = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_size=2)
    fallback = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_size=2, on_demand_fallback=True)
    assert (gpu.max_nodes_in_zone(3), gpu.max_nodes(3)) == (2, 6)
    assert (fallback.max_nodes_in_zone(3), fallback.max_nodes(3)) == (4, 12)
