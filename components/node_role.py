"""The IAM role and instance profile of a node group's EC2 instances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .iam import NODE_MANAGED_POLICIES, ec2_trust_policy, managed_policy_arn, to_json


@dataclass(frozen=True)
class NodeRoleArgs:
    """`partition`: the AWS partition of the managed policies ("aws", "aws-cn", "aws-us-gov")."""

    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)


class NodeRole(pulumi.ComponentResource):
    """An EC2 role for EKS nodes with only what a node needs, and its instance profile.

    Attaches AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryReadOnly
    and AmazonSSMManagedInstanceCore (shell access through SSM instead of SSH). Add-on permissions
    never go here: add-ons get their own roles through EKS Pod Identity.

    Outputs: `role` (its `arn`), `instance_profile`.
    """

    def __init__(self, name: str, args: NodeRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:nodegroup:NodeRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=to_json(ec2_trust_policy()),
                                 description="EKS self-managed node role", tags=dict(args.tags), opts=child)
        for policy in NODE_MANAGED_POLICIES:
            aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=self.role.name,
                                         policy_arn=managed_policy_arn(args.partition, policy), opts=child)
        self.instance_profile = aws.iam.InstanceProfile(f"{name}-profile", role=self.role.name,
                                                        tags=dict(args.tags), opts=child)
        self.arn = self.role.arn
        self.register_outputs({"role_arn": self.role.arn, "instance_profile_arn": self.instance_profile.arn})
