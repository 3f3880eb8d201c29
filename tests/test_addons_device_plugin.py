"""The NVIDIA device plugin DaemonSet: the pure manifest, and what the program registers."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from components.addons import device_plugin_daemonset_manifest
from components.node_template import Taint
from components.versions import NVIDIA_DEVICE_PLUGIN_IMAGE, SUPPORTED_KUBERNETES_VERSIONS
from tests.addon_helpers import cluster_provider_ref, component, dev_run, k8s_child

IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"
EXTRA = (Taint("team", "ml", "NoSchedule"), Taint("dedicated", "training", "NoExecute"))


def test_manifest_is_a_complete_kube_system_daemonset() -> None:
    manifest = device_plugin_daemonset_manifest(IMAGE, ())
    assert (manifest["apiVersion"], manifest["kind"]) == ("apps/v1", "DaemonSet")
    assert manifest["metadata"] == {
        "name": "nvidia-device-plugin", "namespace": "kube-system",
        "labels": {"app.kubernetes.io/name": "nvidia-device-plugin", "app.kubernetes.io/part-of": "eks-gpu-spot"},
    }
    spec = manifest["spec"]
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "nvidia-device-plugin"}}
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "nvidia-device-plugin"
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}


def test_runs_only_on_gpu_nodes_by_label_never_by_instance_type() -> None:
    pod = device_plugin_daemonset_manifest(IMAGE, ())["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu": "true"}
    text = json.dumps(pod)
    assert "instance-type" not in text and "g4dn" not in text and "affinity" not in pod


def test_tolerates_the_gpu_taint_and_every_extra_taint_once() -> None:
    pod = device_plugin_daemonset_manifest(IMAGE, EXTRA + EXTRA[:1])["spec"]["template"]["spec"]
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"},
    ]


def test_critical_unprivileged_with_requests_and_the_device_plugins_hostpath() -> None:
    pod = device_plugin_daemonset_manifest(IMAGE, ())["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-node-critical"
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert "privileged" not in json.dumps(pod)
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert container["volumeMounts"] == [{"name": "device-plugins", "mountPath": "/var/lib/kubelet/device-plugins"}]
    assert pod["volumes"] == [{"name": "device-plugins",
                               "hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": "Directory"}}]


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
def test_manifest_is_valid_for_every_supported_kubernetes(version: str) -> None:
    kubernetes_validate.validate(device_plugin_daemonset_manifest(IMAGE, EXTRA), version, strict=True)


def test_default_image_is_pinned_v0_17_or_later() -> None:
    repository, tag = NVIDIA_DEVICE_PLUGIN_IMAGE.rsplit(":", 1)
    assert repository == "nvcr.io/nvidia/k8s-device-plugin"
    major, minor, _ = (int(part) for part in tag.removeprefix("v").split("."))
    assert (major, minor) >= (0, 17)


def test_program_registers_the_manifest_through_the_cluster_provider() -> None:
    run = dev_run()
    daemonset = k8s_child(run, "device plugin", "DaemonSet")
    assert daemonset.type == "kubernetes:apps/v1:DaemonSet"
    assert daemonset.parent == component(run, "device plugin").urn
    assert daemonset.provider == cluster_provider_ref(run)
    assert daemonset.inputs == device_plugin_daemonset_manifest(NVIDIA_DEVICE_PLUGIN_IMAGE, ())


def test_program_tolerates_the_gpu_pools_extra_taints_and_uses_the_configured_image() -> None:
    run = dev_run(
        nvidiaDevicePlugin={"image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.4"},
        gpuPools=[{"name": "gpu-small", "instanceTypes": ["g5.xlarge", "g6.xlarge"],
                   "taints": ["team=ml:NoSchedule"]},
                  {"name": "gpu-quad", "instanceTypes": ["g4dn.12xlarge"], "taints": ["dedicated=train:NoExecute"]}],
    )
    daemonset = k8s_child(run, "device plugin", "DaemonSet")
    pod = daemonset.inputs["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "nvcr.io/nvidia/k8s-device-plugin:v0.17.4"
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"},
    ]
    assert len(run.of_type("kubernetes:apps/v1:DaemonSet")) == 1
