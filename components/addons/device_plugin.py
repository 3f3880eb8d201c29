"""The NVIDIA device plugin: a DaemonSet on GPU nodes that advertises `nvidia.com/gpu` to kubelet.

The EKS AL2023 NVIDIA AMI ships the driver and container toolkit but not this plugin; without it a
GPU node never has allocatable GPUs and GPU pods stay pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ..node_template import GPU_LABEL, GPU_TAINT, Taint
from .common import KUBE_SYSTEM, kubernetes_object, labels, metadata, selector_labels

APP = "nvidia-device-plugin"
DAEMONSET_NAME = "nvidia-device-plugin"
DEVICE_PLUGINS_DIR = "/var/lib/kubelet/device-plugins"
# The Cluster Autoscaler counts DaemonSet requests into a template node; the preflight tool
# subtracts them from node capacity.
REQUESTS = {"cpu": "50m", "memory": "64Mi"}
LIMITS = {"memory": "256Mi"}


def tolerations(extra_taints: Sequence[Taint]) -> list[dict[str, str]]:
    """The GPU taint plus every extra taint of the GPU pools, each once, whatever its value."""
    found: list[dict[str, str]] = []
    for taint in (GPU_TAINT, *extra_taints):
        toleration = {"key": taint.key, "operator": "Exists", "effect": taint.effect}
        if toleration not in found:
            found.append(toleration)
    return found


def device_plugin_daemonset_manifest(image: str, extra_tolerations: Sequence[Taint]) -> dict[str, Any]:
    """The complete apps/v1 DaemonSet of the device plugin, in Kubernetes field names."""
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": metadata(DAEMONSET_NAME, APP),
        "spec": {
            "selector": {"matchLabels": selector_labels(APP)},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels(APP)},
                "spec": {
                    # Only GPU nodes: kubelet registers this label on them (never an instance-type list,
                    # which goes stale with every new GPU family).
                    "nodeSelector": {GPU_LABEL: "true"},
                    "tolerations": tolerations(extra_tolerations),
                    "priorityClassName": "system-node-critical",
                    # It talks to kubelet over its socket only, never to the Kubernetes API: no token.
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "nvidia-device-plugin",
                        "image": image,
                        "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
                        # Root, to create its socket in kubelet's directory; nothing else is needed:
                        # no escalation, no capabilities, and it writes only to that hostPath.
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "volumeMounts": [{"name": "device-plugins", "mountPath": DEVICE_PLUGINS_DIR}],
                    }],
                    "volumes": [{"name": "device-plugins",
                                 "hostPath": {"path": DEVICE_PLUGINS_DIR, "type": "Directory"}}],
                },
            },
        },
    }


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    """Inputs of `NvidiaDevicePlugin`.

    - `image`: the device plugin image, pinned (v0.17 or later).
    - `provider`: the Kubernetes provider of the cluster.
    - `gpu_pool_taints`: the taints of the GPU pools besides the GPU taint; the plugin tolerates each.
    """

    image: str
    provider: pulumi.ProviderResource
    gpu_pool_taints: Sequence[Taint] = ()


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """The NVIDIA device plugin DaemonSet in kube-system, on GPU nodes only.

    Creates one `apps/v1` DaemonSet (`device_plugin_daemonset_manifest`): node selector on the GPU
    label, tolerations for the GPU taint and the pools' extra taints, system-node-critical priority,
    resource requests, no service-account token (it never calls the Kubernetes API), the runtime's
    default seccomp profile, no privilege escalation, no capabilities, and the kubelet
    device-plugins hostPath. It needs no AWS permissions.

    Outputs: `daemonset`.
    """

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:addons:NvidiaDevicePlugin", name, None, opts)
        manifest = device_plugin_daemonset_manifest(args.image, args.gpu_pool_taints)
        self.daemonset = kubernetes_object(
            f"{name}-daemonset", manifest, pulumi.ResourceOptions(parent=self, provider=args.provider))
        self.register_outputs({"namespace": KUBE_SYSTEM, "daemonset": DAEMONSET_NAME})
