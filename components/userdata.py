"""nodeadm user data for EKS-optimized Amazon Linux 2023 nodes (pure functions).

AL2023 has no bootstrap.sh: nodeadm reads a MIME multipart document whose
`application/node.eks.aws` parts hold `NodeConfig` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import yaml

NODECONFIG_CONTENT_TYPE = "application/node.eks.aws"
NODECONFIG_API_VERSION = "node.eks.aws/v1alpha1"


@dataclass(frozen=True)
class ClusterBootstrap:
    """What a node must know to join a cluster without calling the EKS API."""

    name: str
    endpoint: str
    certificate_authority: str
    service_cidr: str


def node_config(cluster: ClusterBootstrap, kubelet_flags: Sequence[str]) -> dict[str, Any]:
    return {
        "apiVersion": NODECONFIG_API_VERSION,
        "kind": "NodeConfig",
        "spec": {
            "cluster": {
                "name": cluster.name,
                "apiServerEndpoint": cluster.endpoint,
                "certificateAuthority": cluster.certificate_authority,
                "cidr": cluster.service_cidr,
            },
            "kubelet": {"flags": list(kubelet_flags)},
        },
    }


def render_user_data(cluster: ClusterBootstrap, kubelet_flags: Sequence[str]) -> str:
    """The MIME multipart user data (not yet base64-encoded) for a launch template."""
    document = MIMEMultipart(boundary="//eks-gpu-spot//")
    part = MIMEText(yaml.safe_dump(node_config(cluster, kubelet_flags), sort_keys=False), "plain")
    # nodeadm selects parts by exact content type; MIMEText would label it text/plain.
    part.replace_header("Content-Type", f'{NODECONFIG_CONTENT_TYPE}; charset="us-ascii"')
    document.attach(part)
    return document.as_string()
