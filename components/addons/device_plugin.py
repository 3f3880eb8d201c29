"""The NVIDIA device plugin: a DaemonSet on GPU nodes that advertises `nvidia.com/gpu` to kubelet.

The EKS AL2023 NVIDIA AMI ships the driver and container toolkit but not this plugin; without it a
GPU node never has allocatable GPUs and GPU pods stay pending.

GPU time-slicing per pool (docs/autoscaling.md): the plugin reads its sharing settings from a
config file (`--config-file`, env `CONFIG_FILE`; NVIDIA/k8s-device-plugin v0.20.0
cmd/nvidia-device-plugin/main.go). Upstream picks a file per node with a config-manager sidecar
that watches the node's `nvidia.com/device-plugin.config` label through the API. Here each
distinct config gets its own DaemonSet instead, selecting the nodes that registered that label
value and mounting its ConfigMap key as the file: no API access, no restarts, and a node's config
is fixed at boot by its pool, like the autoscaler's template.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from ..gpu import DEVICE_PLUGIN_CONFIG_LABEL, MIN_SHARED_REPLICAS, time_slicing_config_name
from ..node_template import GPU_LABEL, GPU_RESOURCE, GPU_TAINT, Taint
from .common import KUBE_SYSTEM, kubernetes_object, labels, metadata, selector_labels, tolerations_for

APP = "nvidia-device-plugin"
DAEMONSET_NAME = "nvidia-device-plugin"
DEVICE_PLUGINS_DIR = "/var/lib/kubelet/device-plugins"
# The Cluster Autoscaler counts DaemonSet requests into a template node; the preflight tool
# subtracts them from node capacity.
REQUESTS = {"cpu": "50m", "memory": "64Mi"}
LIMITS = {"memory": "256Mi"}
CONFIG_MAP_NAME = "nvidia-device-plugin-configs"
CONFIG_DIR = "/etc/nvidia-device-plugin"
CONFIG_FILE = f"{CONFIG_DIR}/config.yaml"
CONFIG_CHECKSUM_ANNOTATION = "eks-gpu-spot/device-plugin-config-sha256"


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
                    # The GPU taint and every extra taint of the GPU pools, whatever its value.
                    "tolerations": tolerations_for((GPU_TAINT, *extra_tolerations), any_value=True),
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


def time_slicing_config(replicas: int) -> dict[str, Any]:
    """The plugin's config (api/config/v1, version v1) sharing every GPU `replicas` ways by time-slicing.

    - `renameByDefault: false`: shared GPUs stay `nvidia.com/gpu`, the resource the autoscaler's
      template and the workloads use (true would rename them `nvidia.com/gpu.shared`).
    - `failRequestsGreaterThanOne: true`: a pod asking for 2 slices would get no more GPU time than
      one (often both on the same GPU), so the plugin refuses it at admission instead.
    The plugin refuses replicas below 2 ("number of replicas must be >= 2", api/config/v1/replicas.go).
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < MIN_SHARED_REPLICAS:
        raise ValueError(f"a time-slicing config needs at least {MIN_SHARED_REPLICAS} replicas, got {replicas!r}")
    return {
        "version": "v1",
        "sharing": {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": GPU_RESOURCE, "replicas": replicas}],
            },
        },
    }


def time_slicing_config_file(replicas: int) -> str:
    """The config file's text (YAML, which the plugin parses with sigs.k8s.io/yaml)."""
    return yaml.safe_dump(time_slicing_config(replicas), sort_keys=False)


def shared_replica_counts(replicas_of_pools: Iterable[int]) -> list[int]:
    """The distinct replica counts above 1, ascending: one config and one DaemonSet each."""
    return sorted({r for r in replicas_of_pools if r > 1})


def device_plugin_config_map_manifest(replicas_of_pools: Iterable[int]) -> dict[str, Any]:
    """The ConfigMap holding one key `<config name>.yaml` per distinct time-slicing config."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(CONFIG_MAP_NAME, APP),
        "data": {f"{time_slicing_config_name(r)}.yaml": time_slicing_config_file(r)
                 for r in shared_replica_counts(replicas_of_pools)},
    }


def time_sliced_daemonset_manifest(image: str, extra_tolerations: Sequence[Taint], replicas: int) -> dict[str, Any]:
    """The plugin for nodes labelled `nvidia.com/device-plugin.config=time-slicing-<replicas>`.

    The default DaemonSet with: its own name and app label (selectors of DaemonSets must not
    overlap), the config label in its node selector, the ConfigMap key mounted read-only as
    `CONFIG_FILE`, and the file's checksum on the pod template so a changed config rolls the pods.
    """
    config_name = time_slicing_config_name(replicas)
    file_text = time_slicing_config_file(replicas)
    app = f"{APP}-{config_name}"
    manifest = device_plugin_daemonset_manifest(image, extra_tolerations)
    manifest["metadata"] = metadata(f"{DAEMONSET_NAME}-{config_name}", app)
    spec = manifest["spec"]
    spec["selector"] = {"matchLabels": selector_labels(app)}
    template = spec["template"]
    template["metadata"] = {
        "labels": labels(app),
        "annotations": {CONFIG_CHECKSUM_ANNOTATION: hashlib.sha256(file_text.encode()).hexdigest()},
    }
    pod = template["spec"]
    pod["nodeSelector"] = {**pod["nodeSelector"], DEVICE_PLUGIN_CONFIG_LABEL: config_name}
    (container,) = pod["containers"]
    container["env"] = [*container.get("env", []), {"name": "CONFIG_FILE", "value": CONFIG_FILE}]
    container["volumeMounts"] = [*container["volumeMounts"],
                                 {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}]
    pod["volumes"] = [*pod["volumes"], {"name": "config", "configMap": {
        "name": CONFIG_MAP_NAME, "items": [{"key": f"{config_name}.yaml", "path": "config.yaml"}]}}]
    return manifest


def device_plugin_manifests(image: str, extra_tolerations: Sequence[Taint],
                            replicas_of_pools: Iterable[int] = ()) -> list[dict[str, Any]]:
    """Every object of the plugin: the default DaemonSet, and with time-slicing the ConfigMap and a DaemonSet per config.

    The default DaemonSet then keeps off nodes that carry the config label, so no node runs two
    plugins advertising the same resource.
    """
    counts = shared_replica_counts(replicas_of_pools)
    default = device_plugin_daemonset_manifest(image, extra_tolerations)
    if not counts:
        return [default]
    default["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": DEVICE_PLUGIN_CONFIG_LABEL, "operator": "DoesNotExist"}]}],
    }}}
    return [device_plugin_config_map_manifest(counts), default,
            *(time_sliced_daemonset_manifest(image, extra_tolerations, r) for r in counts)]


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    """Inputs of `NvidiaDevicePlugin`.

    - `image`: the device plugin image, pinned (v0.17 or later).
    - `provider`: the Kubernetes provider of the cluster.
    - `gpu_pool_taints`: the taints of the GPU pools besides the GPU taint; the plugin tolerates each.
    - `time_slicing_replicas`: the GPU pools' `time_slicing_replicas`; each distinct value above 1
      gets a config and a DaemonSet.
    """

    image: str
    provider: pulumi.ProviderResource
    gpu_pool_taints: Sequence[Taint] = ()
    time_slicing_replicas: Sequence[int] = ()


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """The NVIDIA device plugin DaemonSet in kube-system, on GPU nodes only.

    Creates one `apps/v1` DaemonSet (`device_plugin_daemonset_manifest`): node selector on the GPU
    label, tolerations for the GPU taint and the pools' extra taints, system-node-critical priority,
    resource requests, no service-account token (it never calls the Kubernetes API), the runtime's
    default seccomp profile, no privilege escalation, no capabilities, and the kubelet
    device-plugins hostPath. It needs no AWS permissions.

    With time-slicing pools it also creates the ConfigMap of their configs and one DaemonSet per
    distinct replica count (`device_plugin_manifests`).

    Outputs: `daemonset` (the default one), `time_sliced_daemonsets`.
    """

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:addons:NvidiaDevicePlugin", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        manifests = device_plugin_manifests(args.image, args.gpu_pool_taints, args.time_slicing_replicas)
        config_maps = [kubernetes_object(f"{name}-configs", m, child) for m in manifests if m["kind"] == "ConfigMap"]
        daemonsets = [m for m in manifests if m["kind"] == "DaemonSet"]
        self.daemonset = kubernetes_object(f"{name}-daemonset", daemonsets[0], child)
        # The ConfigMap first: until it exists, pods mounting it would wait in ContainerCreating.
        after_config = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=config_maps)
        self.time_sliced_daemonsets = [
            kubernetes_object(f"{name}-{m['metadata']['name'].removeprefix(DAEMONSET_NAME + '-')}", m, after_config)
            for m in daemonsets[1:]
        ]
        self.register_outputs({"namespace": KUBE_SYSTEM, "daemonset": DAEMONSET_NAME,
                               "time_sliced_daemonsets": [m["metadata"]["name"] for m in daemonsets[1:]]})
