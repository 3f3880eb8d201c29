"""What nodes need from a cluster, whether built by this project or elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from . import validation
from .ami import check_ami_release_version
from .settings import CLUSTER_NAME, DEFAULT_SERVICE_CIDR
from .versions import DEFAULT_AMI_RELEASE_VERSION, SUPPORTED_KUBERNETES_VERSIONS


@dataclass(frozen=True)
class ClusterConnection:
    """`name`, `kubernetes_version` and `service_cidr` are plain strings (checked); `endpoint`,
    `certificate_authority` (base64 PEM) and `node_security_group_id` may be outputs;
    `ami_release_version`: the nodes' AMI release (default: the package's pinned release;
    `recommended` follows SSM's recommended AMI).
"""

    name: str
    kubernetes_version: str
    endpoint: pulumi.Input[str]
    certificate_authority: pulumi.Input[str]
    node_security_group_id: pulumi.Input[str]
    service_cidr: str = DEFAULT_SERVICE_CIDR
    ami_release_version: str = DEFAULT_AMI_RELEASE_VERSION

    def __post_init__(self) -> None:
        check_ami_release_version(self.ami_release_version)
        validation.string("name", self.name, pattern=CLUSTER_NAME,
                          allowed="must be 1-100 letters, digits, '-' or '_', starting with a letter or digit")
        validation.choice("kubernetes_version", self.kubernetes_version, SUPPORTED_KUBERNETES_VERSIONS)
        validation.cidr("service_cidr", self.service_cidr, DEFAULT_SERVICE_CIDR)
