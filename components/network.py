"""The network the cluster runs in: a new multi-AZ VPC, or an existing VPC adopted as it is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .iam import to_json
from .logs import DEFAULT_LOG_RETENTION_DAYS, check_retention_days, flow_log_group_name

ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"


def cluster_tag(cluster_name: str) -> str:
    return f"kubernetes.io/cluster/{cluster_name}"


def subnet_tags(cluster_name: str, public: bool) -> dict[str, str]:
    """Tags the AWS Load Balancer Controller uses to choose subnets."""
    role = ELB_ROLE_TAG if public else INTERNAL_ELB_ROLE_TAG
    return {role: "1", cluster_tag(cluster_name): "shared"}


@dataclass(frozen=True)
class PrivateSubnet:
    """A node subnet and its Availability Zone (known at plan time, for per-AZ node groups)."""

    availability_zone: str
    subnet_id: pulumi.Input[str]


@dataclass(frozen=True)
class NewVpcArgs:
    """A VPC to create: one private and one public subnet per zone, in zone order."""

    cluster_name: str
    cidr: str
    availability_zones: Sequence[str]
    private_subnet_cidrs: Sequence[str]
    public_subnet_cidrs: Sequence[str]
    nat_per_az: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    # VPC flow logs (all traffic) to a CloudWatch log group kept `flow_log_retention_days` days.
    flow_logs: bool = False
    flow_log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS


@dataclass(frozen=True)
class ExistingVpcArgs:
    """A VPC that exists already; nothing of it is created or changed."""

    vpc_id: str
    private_subnets: Sequence[PrivateSubnet]
    public_subnet_ids: Sequence[str] = ()


class Network(pulumi.ComponentResource):
    """A VPC for EKS.

    With `NewVpcArgs` it creates the VPC (DNS support and hostnames on), an internet gateway, per
    zone a public subnet (tagged for internet-facing load balancers) and a private node subnet
    (tagged for internal ones), NAT gateways (one shared, or one per zone) with Elastic IPs, and
    route tables. It adopts the VPC's default security group and removes all its rules (nothing
    may use it by accident), and with `flow_logs` sends the VPC's flow logs to a CloudWatch log
    group with a retention, through a role that may write to that group only.
    With `ExistingVpcArgs` it creates no resources and only passes the IDs on.

    Outputs: `vpc_id`, `private_subnets` (each with its zone), `public_subnet_ids`.
    """

    vpc_id: pulumi.Output[str]
    private_subnets: list[PrivateSubnet]
    public_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NewVpcArgs | ExistingVpcArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:network:Network", name, None, opts)
        if isinstance(args, ExistingVpcArgs):
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.private_subnets = list(args.private_subnets)
            self.public_subnet_ids = [pulumi.Output.from_input(s) for s in args.public_subnet_ids]
        else:
            self._create(name, args)
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "private_subnet_ids": [s.subnet_id for s in self.private_subnets],
            "public_subnet_ids": self.public_subnet_ids,
        })

    def _create(self, name: str, args: NewVpcArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        if args.flow_logs:
            check_retention_days("flow_log_retention_days", args.flow_log_retention_days)

        def tags(resource_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
            return {**args.tags, "Name": resource_name, **(extra or {})}

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags=tags(f"{name}-vpc"), opts=child)
        # Adopting the default group with no ingress or egress blocks strips the rules AWS created
        # (all traffic within the group, all egress): a resource launched without a group is isolated.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id,
                                     tags=tags(f"{name}-default-sg-unused"), opts=child)
        if args.flow_logs:
            self._flow_logs(name, args, vpc, tags(f"{name}-flow-logs"))
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags(f"{name}-igw"), opts=child)
        public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=tags(f"{name}-public"), opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_routes.id,
                      destination_cidr_block="0.0.0.0/0", gateway_id=gateway.id, opts=child)

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for zone, public_cidr, private_cidr in zip(
            args.availability_zones, args.public_subnet_cidrs, args.private_subnet_cidrs, strict=True
        ):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}", vpc_id=vpc.id, cidr_block=public_cidr, availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tags(f"{name}-public-{zone}", subnet_tags(args.cluster_name, public=True)), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id,
                                          route_table_id=public_routes.id, opts=child)
            public_subnets.append(public)
            private_subnets.append(aws.ec2.Subnet(
                f"{name}-private-{zone}", vpc_id=vpc.id, cidr_block=private_cidr, availability_zone=zone,
                tags=tags(f"{name}-private-{zone}", subnet_tags(args.cluster_name, public=False)), opts=child))

        # One NAT gateway is cheap but a single point of failure for every zone's egress.
        nat_zones = list(args.availability_zones) if args.nat_per_az else [args.availability_zones[0]]
        nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for zone in nat_zones:
            public = public_subnets[list(args.availability_zones).index(zone)]
            address = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags=tags(f"{name}-nat-{zone}"), opts=child)
            nat_gateways[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}", subnet_id=public.id, allocation_id=address.id,
                tags=tags(f"{name}-nat-{zone}"), opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))

        for zone, private in zip(args.availability_zones, private_subnets, strict=False):
            nat = nat_gateways.get(zone, nat_gateways[nat_zones[0]])
            routes = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id,
                                        tags=tags(f"{name}-private-{zone}"), opts=child)
            aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=routes.id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=private.id,
                                          route_table_id=routes.id, opts=child)

        self.vpc_id = vpc.id
        self.private_subnets = [PrivateSubnet(zone, subnet.id)
                                for zone, subnet in zip(args.availability_zones, private_subnets, strict=False)]
        self.public_subnet_ids = [subnet.id for subnet in public_subnets]

    def _flow_logs(self, name: str, args: NewVpcArgs, vpc: aws.ec2.Vpc, tags: Mapping[str, str]) -> None:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", name=flow_log_group_name(args.cluster_name),
                                        retention_in_days=args.flow_log_retention_days, tags=dict(tags), opts=child)
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=pulumi.Output.all(account, partition, region).apply(
                lambda values: to_json(flow_logs_trust_policy(*values))),
            description=f"VPC flow logs of EKS cluster {args.cluster_name} to CloudWatch Logs",
            tags=dict(tags), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id,
                                    policy=group.arn.apply(lambda arn: to_json(flow_logs_policy(arn))), opts=child)
        aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL",
                        log_destination_type="cloud-watch-logs", log_destination=group.arn,
                        iam_role_arn=role.arn, tags=dict(tags),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))


def flow_logs_trust_policy(account: str, partition: str, region: str) -> dict[str, Any]:
    """Only the flow-logs service, and only for flow logs of this account and region (confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*"},
            },
        }],
    }


def flow_logs_policy(log_group_arn: str) -> dict[str, Any]:
    """What flow-log delivery does, on this one log group and its streams.

    No logs:CreateLogGroup: the group exists (with its retention) before the flow log.
    logs:DescribeLogGroups is in AWS's documented flow-log role; it is List-level and has no
    resource-level permission, so it is the one action on `*`.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteThisLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            },
            {"Sid": "FindLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
        ],
    }
