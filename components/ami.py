"""Where the EKS-optimized Amazon Linux 2023 AMI IDs are published in SSM (pure)."""

from __future__ import annotations

import re

from . import validation
from .errors import InvalidValueError

# AMI releases are named by date, e.g. v20260714 (awslabs/amazon-eks-ami tags and CHANGELOG.md).
_RELEASE_VERSION = re.compile(r"^v20\d{6}$")


def check_ami_release_version(release_version: object) -> str:
    """Refuse (`ami_release_version`) anything but an EKS AMI release such as 'v20260714' or empty."""
    allowed = ("must be an EKS AMI release such as 'v20260714' (see the amazon-eks-ami releases), "
               "or empty for the recommended AMI")
    text = validation.string("ami_release_version", release_version, allowed=allowed)
    if text and not _RELEASE_VERSION.match(text):
        raise InvalidValueError("ami_release_version", release_version, allowed)
    return text


def ami_parameter_name(kubernetes_version: str, gpu: bool, architecture: str = "x86_64",
                       release_version: str = "") -> str:
    """The SSM parameter holding the AMI ID.

    Without `release_version`: the `recommended` parameter, which moves to each new AMI release.
    With one: that release's own parameter, which never changes. Its name is the AMI's name,
    `amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<release>` (the names in amazon-eks-ami's
    CHANGELOG.md; the same path as Karpenter's `al2023@<version>` alias, aws/karpenter-provider-aws
    pkg/providers/amifamily/al2023.go), for example
    `/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.35-v20260714/image_id`.
    """
    # Kubernetes says amd64 where the AMI paths say x86_64.
    architecture = {"amd64": "x86_64"}.get(architecture, architecture)
    variant = "nvidia" if gpu else "standard"
    leaf = (f"amazon-eks-node-al2023-{architecture}-{variant}-{kubernetes_version}-{release_version}"
            if release_version else "recommended")
    return f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{architecture}/{variant}/{leaf}/image_id"
