"""The network component: subnets, zones, tags, NAT modes, and existing-VPC mode."""

from __future__ import annotations

import ipaddress

import pytest

from components.offline import US_EAST_1_ZONE_IDS
from components.zones import zone_id_order
from tests.harness import ZONES, run_program

VPC_TYPES = {
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip", "aws:ec2/routeTable:RouteTable",
    "aws:ec2/route:Route", "aws:ec2/routeTableAssociation:RouteTableAssociation",
}


@pytest.mark.parametrize("az_count", [2, 3, 4])
@pytest.mark.parametrize("nat_mode", ["single", "perAz"])
def test_new_vpc_spreads_subnets_over_the_zones(az_count: int, nat_mode: str) -> None:
    run = run_program({"availabilityZoneCount": az_count, "natGateways": nat_mode, "clusterName": "ml"},
                      zones=ZONES[:5])
    # The first zones by ID (use1-az1, az2, az4, az5: us-east-1b, c, d, f), in name order.
    zones = sorted(sorted(ZONES[:5], key=lambda z: zone_id_order(US_EAST_1_ZONE_IDS[z]))[:az_count])
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True

    subnets = run.of_type("aws:ec2/subnet:Subnet")
    public = [s for s in subnets if "kubernetes.io/role/elb" in s.inputs["tags"]]
    private = [s for s in subnets if "kubernetes.io/role/internal-elb" in s.inputs["tags"]]
    assert len(subnets) == 2 * az_count and len(public) == len(private) == az_count
    assert sorted(s.inputs["availabilityZone"] for s in public) == zones
    assert sorted(s.inputs["availabilityZone"] for s in private) == zones
    for subnet in public:
        assert subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    for subnet in private:
        assert subnet.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in subnet.inputs["tags"]
    for subnet in subnets:
        assert subnet.inputs["tags"]["kubernetes.io/cluster/ml"] == "shared"
        assert ipaddress.IPv4Network(subnet.inputs["cidrBlock"]).subnet_of(ipaddress.IPv4Network("10.0.0.0/16"))
    networks = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in subnets]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1:])

    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (az_count if nat_mode == "perAz" else 1)
    assert len(run.of_type("aws:ec2/eip:Eip")) == len(nats)
    public_ids = {f"{s.name}-id" for s in public}
    assert all(nat.inputs["subnetId"] in public_ids for nat in nats)
    assert run.one("aws:ec2/internetGateway:InternetGateway").inputs["vpcId"] == "network-vpc-id"

    # Each private subnet routes 0.0.0.0/0 to a NAT gateway: its own zone's when there is one per zone.
    routes = {r.inputs["routeTableId"]: r.inputs for r in run.of_type("aws:ec2/route:Route")}
    associations = {a.inputs["subnetId"]: a.inputs["routeTableId"]
                    for a in run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    nat_zone = {f"{n.name}-id": n.name.rsplit("nat-", 1)[1] for n in nats}
    for subnet in private:
        route = routes[associations[f"{subnet.name}-id"]]
        assert route["destinationCidrBlock"] == "0.0.0.0/0"
        zone = nat_zone[route["natGatewayId"]]
        assert zone == (subnet.inputs["availabilityZone"] if nat_mode == "perAz" else zones[0])
    for subnet in public:
        route = routes[associations[f"{subnet.name}-id"]]
        assert route["gatewayId"] == "network-igw-id"


def test_existing_vpc_registers_no_vpc_resources() -> None:
    subnets = {"subnet-0a1b2c3d4e5f6a7b8": "us-east-1a", "subnet-0a1b2c3d4e5f6a7b9": "us-east-1b",
               "subnet-0a1b2c3d4e5f6a7ba": "us-east-1c"}
    run = run_program({
        "existingVpcId": "vpc-0a1b2c3d4e5f67890",
        "existingPrivateSubnetIds": list(subnets),
        "existingPublicSubnetIds": ["subnet-0f1e2d3c4b5a69788"],
    }, subnet_zones={**subnets, "subnet-0f1e2d3c4b5a69788": "us-east-1a"})
    assert [r for r in run.resources if r.type in VPC_TYPES] == []
    network = run.one("eks-gpu-spot:network:Network")
    assert run.children_of(network) == []
    cluster = run.one("eks:index:Cluster")
    assert cluster.inputs["vpcId"] == "vpc-0a1b2c3d4e5f67890"
    assert cluster.inputs["privateSubnetIds"] == list(subnets)
    assert cluster.inputs["publicSubnetIds"] == ["subnet-0f1e2d3c4b5a69788"]
    assert run.outputs["privateSubnets"] == [{"availabilityZone": z, "subnetId": s} for s, z in subnets.items()]
    # GPU groups follow the existing subnets' zones.
    gpu_groups = [g for g in run.of_type("aws:autoscaling/group:Group") if g.name.startswith("gpu-")]
    assert sorted(g.inputs["vpcZoneIdentifiers"][0] for g in gpu_groups) == sorted(subnets)


def test_network_outputs_carry_each_private_subnets_zone() -> None:
    run = run_program({"availabilityZoneCount": 2})
    assert [s["availabilityZone"] for s in run.outputs["privateSubnets"]] == ["us-east-1b", "us-east-1c"]
    assert len(run.outputs["publicSubnetIds"]) == 2
    assert run.outputs["vpcId"] == "network-vpc-id"
