"""The whole program under mocks with Pulumi.prod.yaml, the production-shaped stack."""

from __future__ import annotations

import ipaddress

import pytest

from tests.harness import ROOT, ProgramRun, run_program, stack_config

PROD = stack_config(ROOT / "Pulumi.prod.yaml")
DEV = stack_config(ROOT / "Pulumi.dev.yaml")
# The region has four zones; the stack uses three.
ZONES = ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d")
USED_ZONES = list(ZONES[:3])
ALL_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return run_program(PROD, stack="prod", zones=ZONES)


def test_prod_stack_file_targets_its_own_region_and_network() -> None:
    assert PROD["aws:region"] == "us-west-2"
    assert PROD["eks-gpu-spot:natGateways"] == "perAz"
    assert PROD["eks-gpu-spot:endpointPublicAccess"] is False
    assert PROD["eks-gpu-spot:deletionProtection"] is True
    assert "eks-gpu-spot:publicAccessCidrs" not in PROD


def test_one_nat_gateway_per_zone_and_each_zone_routes_through_its_own(prod: ProgramRun) -> None:
    vpc = prod.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.64.0.0/16"
    subnets = prod.of_type("aws:ec2/subnet:Subnet")
    assert all(ipaddress.IPv4Network(s.inputs["cidrBlock"]).subnet_of(ipaddress.IPv4Network("10.64.0.0/16"))
               for s in subnets)
    public = [s for s in subnets if "kubernetes.io/role/elb" in s.inputs["tags"]]
    private = [s for s in subnets if "kubernetes.io/role/internal-elb" in s.inputs["tags"]]
    assert sorted(s.inputs["availabilityZone"] for s in private) == USED_ZONES

    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3
    assert len(prod.of_type("aws:ec2/eip:Eip")) == 3
    zone_of_public = {f"{s.name}-id": s.inputs["availabilityZone"] for s in public}
    nat_zones = {f"{n.name}-id": zone_of_public[n.inputs["subnetId"]] for n in nats}
    assert sorted(nat_zones.values()) == USED_ZONES

    routes = {r.inputs["routeTableId"]: r.inputs for r in prod.of_type("aws:ec2/route:Route")}
    associations = {a.inputs["subnetId"]: a.inputs["routeTableId"]
                    for a in prod.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    for subnet in private:
        route = routes[associations[f"{subnet.name}-id"]]
        assert nat_zones[route["natGatewayId"]] == subnet.inputs["availabilityZone"]


def test_api_endpoint_is_private_only(prod: ProgramRun) -> None:
    inputs = prod.one("eks:index:Cluster").inputs
    assert inputs["endpointPublicAccess"] is False
    assert inputs["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in inputs


def test_control_plane_has_deletion_protection_and_pulumi_protect(prod: ProgramRun) -> None:
    cluster = prod.one("eks:index:Cluster")
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.protect is True
    assert cluster.inputs["name"] == "eks-gpu-spot-prod"
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["enabledClusterLogTypes"] == ALL_LOG_TYPES


def test_general_pool_is_larger_than_dev(prod: ProgramRun) -> None:
    general = prod.one("aws:autoscaling/group:Group", "general")
    overrides = general.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == [
        "m6i.4xlarge", "m6a.4xlarge", "m5.4xlarge", "m5a.4xlarge", "m7i.4xlarge"]
    assert (general.inputs["minSize"], general.inputs["maxSize"]) == (3, 30)
    assert general.inputs["maxSize"] > DEV["eks-gpu-spot:generalPool"]["maxSize"]
    assert sorted(general.inputs["vpcZoneIdentifiers"]) == sorted(
        f"{s.name}-id" for s in prod.of_type("aws:ec2/subnet:Subnet")
        if "kubernetes.io/role/internal-elb" in s.inputs["tags"])


def test_gpu_pools_have_one_spot_asg_per_zone_from_zero(prod: ProgramRun) -> None:
    pools = PROD["eks-gpu-spot:gpuPools"]
    dev_max_per_az = max(p["maxSizePerAz"] for p in DEV["eks-gpu-spot:gpuPools"])
    gpu_groups = [g for g in prod.of_type("aws:autoscaling/group:Group") if g.name != "general"]
    assert len(gpu_groups) == len(pools) * len(USED_ZONES) == 6
    for pool in pools:
        groups = [g for g in gpu_groups if g.inputs["name"].startswith(f"eks-gpu-spot-prod-{pool['name']}-")]
        assert sorted(g.inputs["name"] for g in groups) == [
            f"eks-gpu-spot-prod-{pool['name']}-{zone}" for zone in USED_ZONES]
        for group in groups:
            assert group.inputs["minSize"] == 0
            assert group.inputs["maxSize"] == pool["maxSizePerAz"]
            assert len(group.inputs["vpcZoneIdentifiers"]) == 1
            distribution = group.inputs["mixedInstancesPolicy"]["instancesDistribution"]
            assert distribution["onDemandPercentageAboveBaseCapacity"] == 0
            overrides = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
            assert [o["instanceType"] for o in overrides] == pool["instanceTypes"]
    assert max(p["maxSizePerAz"] for p in pools) > dev_max_per_az


def test_gpu_node_templates_advertise_their_gpus(prod: ProgramRun) -> None:
    templates = {name: group["template"] for name, group in prod.outputs["nodeGroups"].items()}
    assert set(templates) == {"general", "gpu-1x", "gpu-4x"}
    assert templates["gpu-1x"]["capacity"]["nvidia.com/gpu"] == "1"
    assert templates["gpu-4x"]["capacity"]["nvidia.com/gpu"] == "4"
    # Allocatable: nodeadm reserves 190m of 48 vCPUs and 110m of 16 (components/allocatable.py).
    assert templates["gpu-4x"]["capacity"]["cpu"] == "47810m"
    assert templates["general"]["capacity"]["cpu"] == "15890m"


def test_tags_and_secret_kubeconfig(prod: ProgramRun) -> None:
    vpc = prod.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["environment"] == "prod"
    assert "kubeconfig" in prod.secret_outputs
    assert prod.outputs["clusterName"] == "eks-gpu-spot-prod"
