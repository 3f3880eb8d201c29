"""Pinned defaults for versions and images. Each can be overridden from stack config.

Every tag below was checked against the upstream repository's git tags (late 2026):
kubernetes/autoscaler `cluster-autoscaler-1.36.1` (2026-07-22, and the other minors' tags listed),
NVIDIA/k8s-device-plugin `v0.20.0` (2026-08-19; its static manifest uses this image),
aws/aws-node-termination-handler `v1.25.6` (Helm chart 0.27.6, appVersion 1.25.6).
The pause image is the one the EKS AL2023 AMIs cache for their sandboxes (awslabs/amazon-eks-ami
templates/al2023/variables-default.json `pause_container_image` at v20260724).
"""

from __future__ import annotations

# Kubernetes minors this project is tested against (AL2023 AMIs, CA images, schemas).
# EKS support in late 2026: 1.34, 1.35 and 1.36 in standard support; 1.32 and 1.33 in extended
# (paid) support. The README says the same.
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")
DEFAULT_KUBERNETES_VERSION = "1.35"

# The Cluster Autoscaler minor must match the cluster's Kubernetes minor.
CLUSTER_AUTOSCALER_IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"
CLUSTER_AUTOSCALER_TAGS = {
    "1.31": "v1.31.5",
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}

# The EKS AL2023 AMI release every pool runs unless `amiReleaseVersion` says otherwise: pinned, so an
# AWS release changes no plan. Bumped deliberately, in a commit whose preview shows each launch
# template's new imageId (docs/upgrades.md). Checked in awslabs/amazon-eks-ami: tag v20260714, whose
# CHANGELOG.md entry lists amazon-eks-node-al2023-{x86_64,arm64}-{standard,nvidia}-<k8s>-v20260714 for
# every minor from 1.30 to 1.36, which covers SUPPORTED_KUBERNETES_VERSIONS; it is newer than
# userdata.MAX_PODS_EXPRESSION_SINCE. (The later tag v20260724 had no CHANGELOG entry yet.)
DEFAULT_AMI_RELEASE_VERSION = "v20260714"

NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"
NODE_TERMINATION_HANDLER_IMAGE = "public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.25.6"

# Warm-node placeholders (addons/warm_nodes.py) run this and nothing else; it runs as uid 65535 since 3.5.
PAUSE_IMAGE = "public.ecr.aws/eks-distro/kubernetes/pause:3.10"
