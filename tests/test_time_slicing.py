"""GPU time-slicing per pool: the template, the node label, the device plugin's config and DaemonSets, refused values."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.addons.device_plugin import (
    CONFIG_FILE,
    device_plugin_config_map_manifest,
    device_plugin_daemonset_manifest,
    device_plugin_manifests,
    time_sliced_daemonset_manifest,
    time_slicing_config,
    time_slicing_config_file,
)
from components.errors import InvalidValueError
from components.gpu import check_time_slicing_replicas
from components.instance_catalog import KNOWN_SHAPES
from components.node_template import InstanceShape, Taint
from components.pool_spec import NodePoolSpec, build_node_template
from components.versions import SUPPORTED_KUBERNETES_VERSIONS
from tests.harness import ROOT, run_program

IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"
EXTRA = (Taint("team", "ml", "NoSchedule"),)
CONFIG_LABEL = "nvidia.com/device-plugin.config"
TAG = "k8s.io/cluster-autoscaler/node-template"


def shape(instance_type: str) -> InstanceShape:
    return KNOWN_SHAPES[instance_type].instance_shape(instance_type)


def gpu_pool(instance_type: str, replicas: int) -> NodePoolSpec:
    return NodePoolSpec(name="shared", instance_types=(instance_type,), gpu=True, time_slicing_replicas=replicas)


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]["spec"]


# --- the template and the node label ---------------------------------------------------------------

@pytest.mark.parametrize(("instance_type", "replicas", "gpus"), [
    ("g4dn.xlarge", 4, "4"), ("g4dn.12xlarge", 4, "16"), ("g5.xlarge", 2, "2"), ("g5.xlarge", 1, "1"),
])
def test_template_advertises_gpus_times_replicas(instance_type: str, replicas: int, gpus: str) -> None:
    template = build_node_template(gpu_pool(instance_type, replicas), [shape(instance_type)])
    assert template.capacity["nvidia.com/gpu"] == gpus
    assert template.autoscaler_tags("ml")[f"{TAG}/resources/nvidia.com/gpu"] == gpus


def test_shared_nodes_register_the_config_label_and_the_tags_say_so() -> None:
    template = build_node_template(gpu_pool("g4dn.xlarge", 4), [shape("g4dn.xlarge")])
    assert template.labels[CONFIG_LABEL] == "time-slicing-4"
    assert f"{CONFIG_LABEL}=time-slicing-4" in template.kubelet_flags()[0].removeprefix("--node-labels=").split(",")
    assert template.autoscaler_tags("ml")[f"{TAG}/label/{CONFIG_LABEL}"] == "time-slicing-4"


def test_unshared_nodes_carry_no_config_label() -> None:
    template = build_node_template(gpu_pool("g4dn.xlarge", 1), [shape("g4dn.xlarge")])
    assert CONFIG_LABEL not in template.labels


# --- the config file and the ConfigMap ---------------------------------------------------------------

def test_config_file_is_the_plugins_v1_time_slicing_format() -> None:
    assert yaml.safe_load(time_slicing_config_file(4)) == {
        "version": "v1",
        "sharing": {"timeSlicing": {
            "renameByDefault": False,
            "failRequestsGreaterThanOne": True,
            "resources": [{"name": "nvidia.com/gpu", "replicas": 4}],
        }},
    }


def test_config_map_has_one_key_per_distinct_replica_count() -> None:
    manifest = device_plugin_config_map_manifest([1, 4, 2, 4])
    assert (manifest["apiVersion"], manifest["kind"]) == ("v1", "ConfigMap")
    assert manifest["metadata"]["name"] == "nvidia-device-plugin-configs"
    assert manifest["metadata"]["namespace"] == "kube-system"
    assert sorted(manifest["data"]) == ["time-slicing-2.yaml", "time-slicing-4.yaml"]
    assert yaml.safe_load(manifest["data"]["time-slicing-2.yaml"]) == time_slicing_config(2)


# --- the DaemonSets -----------------------------------------------------------------------------------

def test_time_sliced_daemonset_reads_its_config_file() -> None:
    manifest = time_sliced_daemonset_manifest(IMAGE, EXTRA, 4)
    pod = pod_spec(manifest)
    (container,) = pod["containers"]
    assert {"name": "CONFIG_FILE", "value": CONFIG_FILE} in container["env"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "config"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "config"]
    assert mount["readOnly"] is True
    assert volume["configMap"]["name"] == "nvidia-device-plugin-configs"
    (item,) = volume["configMap"]["items"]
    assert item["key"] == "time-slicing-4.yaml"
    # The file the plugin opens is the mounted ConfigMap key.
    assert f"{mount['mountPath']}/{item['path']}" == CONFIG_FILE
    assert pod["nodeSelector"] == {"nvidia.com/gpu": "true", CONFIG_LABEL: "time-slicing-4"}
    # Still the hardened plugin: same image, kubelet socket directory, tolerations, no privilege.
    assert container["image"] == IMAGE
    assert {"name": "device-plugins", "mountPath": "/var/lib/kubelet/device-plugins"} in container["volumeMounts"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"key": "team", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]


def test_a_config_change_rolls_the_pods() -> None:
    annotations = [time_sliced_daemonset_manifest(IMAGE, (), r)["spec"]["template"]["metadata"]["annotations"]
                   for r in (2, 4)]
    assert annotations[0] != annotations[1]


def test_without_time_slicing_only_the_default_daemonset_exists_unchanged() -> None:
    assert device_plugin_manifests(IMAGE, EXTRA, [1, 1]) == [device_plugin_daemonset_manifest(IMAGE, EXTRA)]


def test_with_time_slicing_no_node_runs_two_plugins() -> None:
    config_map, default, *shared = device_plugin_manifests(IMAGE, EXTRA, [1, 4, 2, 4])
    assert config_map["kind"] == "ConfigMap"
    assert [m["metadata"]["name"] for m in shared] == ["nvidia-device-plugin-time-slicing-2",
                                                       "nvidia-device-plugin-time-slicing-4"]
    # The default plugin keeps off every node that selects a config.
    terms = pod_spec(default)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchExpressions": [{"key": CONFIG_LABEL, "operator": "DoesNotExist"}]}]}
    # No DaemonSet's selector matches another's pods.
    daemonsets = [default, *shared]
    for owner in daemonsets:
        selector = owner["spec"]["selector"]["matchLabels"]
        for other in daemonsets:
            pod_labels = other["spec"]["template"]["metadata"]["labels"]
            matches = all(pod_labels.get(k) == v for k, v in selector.items())
            assert matches == (owner is other), (owner["metadata"]["name"], other["metadata"]["name"])


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
def test_manifests_are_valid_for_every_supported_kubernetes(version: str) -> None:
    for manifest in device_plugin_manifests(IMAGE, EXTRA, [2, 8]):
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_component_registers_the_config_map_before_the_time_sliced_daemonsets() -> None:
    run = run_program({}, main=ROOT / "tests" / "programs" / "time_sliced_device_plugin.py")
    (config_map,) = run.of_type("kubernetes:core/v1:ConfigMap")
    assert sorted(config_map.inputs["data"]) == ["time-slicing-2.yaml", "time-slicing-4.yaml"]
    daemonsets = {d.inputs["metadata"]["name"]: d for d in run.of_type("kubernetes:apps/v1:DaemonSet")}
    assert sorted(daemonsets) == ["nvidia-device-plugin", "nvidia-device-plugin-time-slicing-2",
                                  "nvidia-device-plugin-time-slicing-4"]
    for name in ("nvidia-device-plugin-time-slicing-2", "nvidia-device-plugin-time-slicing-4"):
        assert config_map.urn in daemonsets[name].depends_on
        assert daemonsets[name].inputs == time_sliced_daemonset_manifest(IMAGE, EXTRA, int(name[-1]))


# --- refused values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -2, True, 2.0, "4", None])
def test_replicas_that_are_not_whole_numbers_of_at_least_one_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="time-slicing replicas must be a whole number"):
        check_time_slicing_replicas(bad, gpu_pool=True, gpus_per_node=1)


def test_time_slicing_on_a_general_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="applies to GPU pools only"):
        check_time_slicing_replicas(2, gpu_pool=False)
    # Refused when the pool is constructed, before any shape is known.
    with pytest.raises(InvalidValueError, match="^time_slicing_replicas: got 2; .*applies to GPU pools only"):
        NodePoolSpec(name="general", instance_types=("m5.xlarge",), time_slicing_replicas=2)


def test_more_shared_gpus_than_pod_slots_is_refused() -> None:
    # g4dn.xlarge: 1 GPU, 29 pods. 29 replicas fit; 30 could never all be used.
    assert build_node_template(gpu_pool("g4dn.xlarge", 29), [shape("g4dn.xlarge")]).capacity["nvidia.com/gpu"] == "29"
    with pytest.raises(ValueError, match="30 schedulable GPUs, more than the node's 29 pods"):
        build_node_template(gpu_pool("g4dn.xlarge", 30), [shape("g4dn.xlarge")])


@pytest.mark.parametrize("bad", [1, 0, True])
def test_the_plugin_config_refuses_fewer_than_two_replicas_like_the_plugin(bad: int) -> None:
    with pytest.raises(ValueError, match="at least 2 replicas"):
        time_slicing_config(bad)
