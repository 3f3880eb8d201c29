"""Where the EKS-optimized Amazon Linux 2023 AMI IDs are published in SSM (pure)."""

from __future__ import annotations


def ami_parameter_name(kubernetes_version: str, gpu: bool, architecture: str = "x86_64") -> str:
    variant = "nvidia" if gpu else "standard"
    return (
        f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/"
        f"{architecture}/{variant}/recommended/image_id"
    )
