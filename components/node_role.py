"""The IAM role, instance profile and EKS access entry of a node group's EC2 instances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .iam import NODE_MANAGED_POLICIES, ec2_trust_policy, managed_policy_arn, to_json


@dataclass(frozen=True)
class NodeRoleArgs:
    """Inputs of `NodeRole`.

    - `cluster_name`: the EKS cluster the nodes join. Pass an output of the control plane when it is
      created in the same program, so the access entry waits for it (an output carries that wait).
    - `partition`: the AWS partition of the managed policies ("aws", "aws-cn", "aws-us-gov").
    - `access_entry_aliases`: earlier URNs of this role's access entry, so an existing stack moves
      the entry instead of creating a second one for the same principal (EKS refuses that).
    - `tags`: the tags of every resource.
    """

    cluster_name: pulumi.Input[str]
    partition: str = "aws"
    access_entry_aliases: Sequence[pulumi.Input[str]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class NodeRole(pulumi.ComponentResource):
    """An EC2 role for EKS nodes with only what a node needs, its instance profile, and the
    `EC2_LINUX` access entry that lets instances with the role register as nodes.

    Attaches AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryReadOnly
    and AmazonSSMManagedInstanceCore (shell access through SSM instead of SSH). Add-on permissions
    never go here: add-ons get their own roles through EKS Pod Identity. The access entry has no
    Kubernetes groups or access policies: `EC2_LINUX` gives the node identity (system:nodes) itself.
    Instances must not launch before the entry exists, or kubelet cannot register: a group that
    launches them waits for `access_entry`.

    Outputs: `role` (its `arn`), `instance_profile`, `access_entry`.
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
        self.access_entry = aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=args.cluster_name,
            principal_arn=self.role.arn,
            type="EC2_LINUX",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, aliases=list(args.access_entry_aliases)),
        )
        self.arn = self.role.arn
        self.register_outputs({"role_arn": self.role.arn, "instance_profile_arn": self.instance_profile.arn,
                               "access_entry_arn": self.access_entry.access_entry_arn})
