"""nodeadm user data for EKS-optimized Amazon Linux 2023 nodes (pure functions).

AL2023 has no bootstrap.sh: nodeadm reads a MIME multipart document whose
`application/node.eks.aws` parts hold `NodeConfig` objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import yaml

from .allocatable import max_pods_expression

NODECONFIG_CONTENT_TYPE = "application/node.eks.aws"
# The first EKS AL2023 AMI release whose nodeadm reads KubeletOptions.maxPodsExpression (older ones
# decode NodeConfig leniently and drop it without a word).
MAX_PODS_EXPRESSION_SINCE = "v20251007"
NODECONFIG_API_VERSION = "node.eks.aws/v1alpha1"

# nodeadm feature gate (api/v1alpha1/nodeconfig_types.go, `spec.featureGates`): containerd pulls and
# unpacks image layers in parallel (the SOCI snapshotter's parallel pull mode). nodeadm applies it
# only with at least 4 vCPUs and 7 GiB of memory online (internal/containerd/config.go,
# UseSOCISnapshotter) and ignores it below. It costs CPU, memory and EBS bandwidth during a pull,
# which a GPU node spends on exactly that before its one big workload starts; its docs ask for
# at least 600 MiB/s of root volume throughput (see pool_spec.py). Experimental upstream.
FAST_IMAGE_PULL = "FastImagePull"


def feature_gates(gpu: bool) -> dict[str, bool]:
    """The nodeadm feature gates of a pool's nodes: fast image pull on GPU nodes."""
    return {FAST_IMAGE_PULL: True} if gpu else {}


# nodeadm's threshold for FastImagePull (UseSOCISnapshotter): online memory, which is a little less
# than the type's (a 16 GiB c6a.2xlarge shows 15.75 GiB there); no GPU type has under 8 GiB.
FAST_IMAGE_PULL_MIN_VCPUS = 4
FAST_IMAGE_PULL_MIN_MEMORY_MIB = 7 * 1024
SOCI_SNAPSHOTTER, OVERLAYFS_SNAPSHOTTER = "soci", "overlayfs"


def snapshotter(gates: Mapping[str, bool], vcpus: int, memory_mib: int) -> str:
    """containerd's snapshotter on a node with these feature gates and this shape: SOCI where nodeadm
    applies FastImagePull, else containerd's overlayfs (nodeadm/internal/containerd/config.go)."""
    fast = gates.get(FAST_IMAGE_PULL) and vcpus >= FAST_IMAGE_PULL_MIN_VCPUS and memory_mib >= FAST_IMAGE_PULL_MIN_MEMORY_MIB
    return SOCI_SNAPSHOTTER if fast else OVERLAYFS_SNAPSHOTTER


@dataclass(frozen=True)
class ClusterBootstrap:
    """What a node must know to join a cluster without calling the EKS API."""

    name: str
    endpoint: str
    certificate_authority: str
    service_cidr: str


@dataclass(frozen=True)
class LocalStorage:
    """NodeConfig `spec.instance.localStorage`: nodeadm's strategy (RAID0 or Mount) and the image
    store directories to keep off the instance store (`disabledMounts`, local_storage.py)."""

    strategy: str
    disabled_mounts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"strategy": self.strategy}
        if self.disabled_mounts:
            found["disabledMounts"] = list(self.disabled_mounts)
        return found


def node_config(cluster: ClusterBootstrap, kubelet_flags: Sequence[str],
                gates: Mapping[str, bool] | None = None, max_pods: int = 0,
                local_storage: LocalStorage | None = None) -> dict[str, Any]:
    """The NodeConfig. `max_pods` (0 = nodeadm's ENI rule) goes in as `spec.kubelet.maxPodsExpression`
    (nodeadm api/v1alpha1/nodeconfig_types.go, KubeletOptions.MaxPodsExpression, since v20251007),
    never as `spec.kubelet.config.maxPods`: only through the expression does nodeadm size its
    kubeReserved memory for the same pods, which the autoscaler's template assumes (allocatable.py).
    `local_storage`: `spec.instance.localStorage` (InstanceOptions.LocalStorage)."""
    spec: dict[str, Any] = {
        "cluster": {
            "name": cluster.name,
            "apiServerEndpoint": cluster.endpoint,
            "certificateAuthority": cluster.certificate_authority,
            "cidr": cluster.service_cidr,
        },
        "kubelet": {"flags": list(kubelet_flags)},
    }
    if max_pods:
        spec["kubelet"]["maxPodsExpression"] = max_pods_expression(max_pods)
    if gates:
        spec["featureGates"] = dict(gates)
    if local_storage is not None:
        spec["instance"] = {"localStorage": local_storage.to_json()}
    return {"apiVersion": NODECONFIG_API_VERSION, "kind": "NodeConfig", "spec": spec}


def render_user_data(cluster: ClusterBootstrap, kubelet_flags: Sequence[str],
                     gates: Mapping[str, bool] | None = None, max_pods: int = 0,
                     local_storage: LocalStorage | None = None, scripts: Sequence[str] = ()) -> str:
    """The MIME multipart user data (not yet base64-encoded) for a launch template: the NodeConfig,
    then each of `scripts` as a `text/x-shellscript` part, which cloud-init runs after nodeadm has
    written its configuration and before it starts containerd and kubelet (nodeadm-run.service
    starts after cloud-final.service)."""
    document = MIMEMultipart(boundary="//eks-gpu-spot//")
    config = node_config(cluster, kubelet_flags, gates, max_pods, local_storage)
    part = MIMEText(yaml.safe_dump(config, sort_keys=False))
    # nodeadm selects parts by exact content type; MIMEText would label it text/plain.
    part.replace_header("Content-Type", f'{NODECONFIG_CONTENT_TYPE}; charset="us-ascii"')
    document.attach(part)
    for script in scripts:
        document.attach(MIMEText(script, "x-shellscript"))
    return document.as_string()
