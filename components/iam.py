"""IAM policy documents and managed-policy ARNs (pure data)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
)


def partition_for_region(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def cluster_asgs_arn(partition: str, region: str, account: str, cluster_name: str) -> str:
    """The ARNs of every ASG named `<cluster>-...`, whatever its id (ASG ARNs embed a generated
    UUID). One pattern instead of a list keeps a policy's size independent of the group count."""
    return (f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:"
            f"autoScalingGroupName/{cluster_name}-*")


def managed_policy_arn(partition: str, policy: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{policy}"


def service_trust_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": list(actions) if len(actions) > 1 else actions[0],
        }],
    }


def ec2_trust_policy() -> dict[str, Any]:
    return service_trust_policy("ec2.amazonaws.com")


def pod_identity_trust_policy() -> dict[str, Any]:
    """EKS Pod Identity needs both AssumeRole and TagSession."""
    return service_trust_policy("pods.eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)
