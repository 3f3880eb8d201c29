"""Issue 11 wired end to end: the GPU pool keys (refused values, nearest good values), maxPods in
the NodeConfig, time-slicing from config to node label, ConfigMap and template, the Spot to
On-Demand fallback groups with truthful lifecycle labels, and the short GPU idle tail."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from components.node_template import template_from_tags
from config import ConfigError
from tests.harness import ZONES, ProgramRun, Registered, assert_refused, run_program
from tests.test_nodegroup import launch_template_of
from tests.test_userdata import parse_node_configs

GPU = {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"]}
CA = "k8s.io/cluster-autoscaler/node-template"
ASG = "aws:autoscaling/group:Group"

REFUSED = [
    pytest.param({"gpuPools": [{**GPU, "timeSlicingReplicas": 0}]},
                 "eks-gpu-spot:gpuPools[0].timeSlicingReplicas", "1 (no sharing) or at least 2", id="replicas-zero"),
    pytest.param({"gpuPools": [{**GPU, "timeSlicingReplicas": "4"}]},
                 "eks-gpu-spot:gpuPools[0].timeSlicingReplicas", "must be a whole number", id="replicas-string"),
    pytest.param({"gpuPools": [{**GPU, "memoryOverheadPercent": 51}]},
                 "eks-gpu-spot:gpuPools[0].memoryOverheadPercent", "from 0 to 50", id="overhead-above-50"),
    pytest.param({"generalPool": {"memoryOverheadPercent": -1}},
                 "eks-gpu-spot:generalPool.memoryOverheadPercent", "from 0 to 50", id="overhead-negative"),
    pytest.param({"gpuPools": [{**GPU, "maxPods": -1}]},
                 "eks-gpu-spot:gpuPools[0].maxPods", "from 1 to 2147483647", id="max-pods-negative"),
    pytest.param({"generalPool": {"maxPods": 2**31}},
                 "eks-gpu-spot:generalPool.maxPods", "from 1 to 2147483647", id="max-pods-beyond-nodeadm"),
    pytest.param({"gpuPools": [{**GPU, "maxPods": 110.5}]},
                 "eks-gpu-spot:gpuPools[0].maxPods", "must be a whole number", id="max-pods-fraction"),
    pytest.param({"gpuPools": [{**GPU, "scaleDownGpuUtilizationThreshold": 1.5}]},
                 "eks-gpu-spot:gpuPools[0].scaleDownGpuUtilizationThreshold", "from 0 to 1", id="gpu-threshold-above-1"),
    pytest.param({"gpuPools": [{**GPU, "scaleDownGpuUtilizationThreshold": "0.5"}]},
                 "eks-gpu-spot:gpuPools[0].scaleDownGpuUtilizationThreshold", "from 0 to 1", id="gpu-threshold-string"),
    pytest.param({"gpuPools": [{**GPU, "onDemandFallback": "yes"}]},
                 "eks-gpu-spot:gpuPools[0].onDemandFallback", "must be true or false", id="fallback-not-bool"),
    pytest.param({"gpuPools": [{**GPU, "onDemandFallback": True, "onDemandPercentageAboveBase": 100}]},
                 "eks-gpu-spot:gpuPools[0].onDemandFallback", "already all On-Demand", id="fallback-of-on-demand-pool"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_refused_before_any_resource_with_one_line_naming_the_key(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


@pytest.mark.parametrize("key", ["timeSlicingReplicas", "scaleDownGpuUtilizationThreshold", "onDemandFallback"])
def test_gpu_only_keys_are_unknown_on_the_general_pool(key: str) -> None:
    run = run_program({"generalPool": {key: 2}}, expect_error=True)
    assert isinstance(run.error, ConfigError), run.error
    assert key in str(run.error) and "\n" not in str(run.error)
    assert run.resources == []


AWS_REFUSED = [
    # T4 (16384 MiB) with A10G (22888 MiB): the old dev pool.
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"]}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "GPU memory differs by more than 10%", id="t4-with-a10g"),
    # g5.xlarge allows 58 pods: 59 shared GPUs could never all be used.
    pytest.param({"gpuPools": [{**GPU, "timeSlicingReplicas": 59}]},
                 "eks-gpu-spot:gpuPools[0].timeSlicingReplicas", "59 schedulable GPUs, more than the node's 58 pods",
                 id="replicas-beyond-pods"),
    pytest.param({"gpuPools": [{**GPU, "maxPods": 3, "timeSlicingReplicas": 4}]},
                 "eks-gpu-spot:gpuPools[0].timeSlicingReplicas", "more than the node's 3 pods", id="replicas-beyond-max-pods"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), AWS_REFUSED)
def test_refused_against_the_shapes_before_any_resource(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


NEAREST_GOOD = [
    pytest.param({"gpuPools": [{**GPU, "timeSlicingReplicas": 1}]}, id="replicas-1"),
    pytest.param({"gpuPools": [{**GPU, "timeSlicingReplicas": 58}]}, id="replicas-58"),
    pytest.param({"gpuPools": [{**GPU, "memoryOverheadPercent": 50}]}, id="overhead-50"),
    pytest.param({"generalPool": {"memoryOverheadPercent": 0}}, id="overhead-0"),
    pytest.param({"gpuPools": [{**GPU, "maxPods": 1}]}, id="max-pods-1"),
    pytest.param({"generalPool": {"maxPods": 0}}, id="max-pods-0-is-nodeadms-rule"),
    pytest.param({"gpuPools": [{**GPU, "scaleDownGpuUtilizationThreshold": 1}]}, id="gpu-threshold-1"),
    pytest.param({"gpuPools": [{**GPU, "scaleDownGpuUtilizationThreshold": 0}]}, id="gpu-threshold-0"),
    pytest.param({"gpuPools": [{**GPU, "onDemandFallback": True, "onDemandPercentageAboveBase": 99}]},
                 id="fallback-of-mostly-on-demand-pool"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"]}]}, id="a10g-with-l4"),
]


@pytest.mark.parametrize("config", NEAREST_GOOD)
def test_the_nearest_good_value_deploys(config: dict[str, Any]) -> None:
    run = run_program(config)
    assert run.of_type(ASG)


# --- maxPods reaches nodeadm -------------------------------------------------------------------


def node_config(run: ProgramRun, group: Registered) -> dict[str, Any]:
    (config,) = parse_node_configs(base64.b64decode(launch_template_of(run, group).inputs["userData"]).decode())
    return config


def tags_of(group: Registered) -> dict[str, str]:
    return {t["key"]: t["value"] for t in group.inputs["tags"]}


def groups_of(run: ProgramRun, pool: str) -> list[Registered]:
    return sorted((g for g in run.of_type(ASG) if tags_of(g).get(f"{CA}/label/node-pool") == pool),
                  key=lambda g: g.inputs["name"])


def test_a_pools_max_pods_reaches_nodeadm_and_the_template() -> None:
    # Fewer pods than g5.xlarge's network interfaces allow (58): more would never get an IP.
    run = run_program({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "maxPods": 20}]})
    for group in groups_of(run, "gpu"):
        assert node_config(run, group)["spec"]["kubelet"]["maxPodsExpression"] == "20"
        tags = tags_of(group)
        assert tags[f"{CA}/resources/pods"] == "20"
        # 16384 MiB less 7.5% (1229) = 15155; kubeReserved 11 x 20 + 255 = 475; eviction 100.
        assert tags[f"{CA}/resources/memory"] == f"{15155 - 475 - 100}Mi"
    # Without maxPods nodeadm's own rule stands: no expression at all.
    (general,) = groups_of(run, "general")
    assert "maxPodsExpression" not in node_config(run, general)["spec"]["kubelet"]


# --- time-slicing end to end -------------------------------------------------------------------

SHARED = {"gpuPools": [{**GPU, "timeSlicingReplicas": 4},
                       {"name": "gpu-whole", "instanceTypes": ["g6e.xlarge"]}]}


@pytest.fixture(scope="module")
def shared_run() -> ProgramRun:
    return run_program(SHARED)


def test_time_sliced_nodes_register_the_config_label_and_advertise_gpus_times_replicas(shared_run: ProgramRun) -> None:
    for group in groups_of(shared_run, "gpu"):
        flags = node_config(shared_run, group)["spec"]["kubelet"]["flags"]
        assert "nvidia.com/device-plugin.config=time-slicing-4" in flags[0]
        tags = tags_of(group)
        assert tags[f"{CA}/label/nvidia.com/device-plugin.config"] == "time-slicing-4"
        assert tags[f"{CA}/resources/nvidia.com/gpu"] == "4"  # 1 GPU x 4 replicas
    for group in groups_of(shared_run, "gpu-whole"):
        assert "device-plugin.config" not in node_config(shared_run, group)["spec"]["kubelet"]["flags"][0]
        assert f"{CA}/label/nvidia.com/device-plugin.config" not in tags_of(group)
        assert tags_of(group)[f"{CA}/resources/nvidia.com/gpu"] == "1"


def test_the_platform_passes_the_replicas_to_the_device_plugin(shared_run: ProgramRun) -> None:
    (config_map,) = [c for c in shared_run.of_type("kubernetes:core/v1:ConfigMap")
                     if c.inputs["metadata"]["name"] == "nvidia-device-plugin-configs"]
    assert list(config_map.inputs["data"]) == ["time-slicing-4.yaml"]
    assert "replicas: 4" in config_map.inputs["data"]["time-slicing-4.yaml"]
    daemonsets = {d.inputs["metadata"]["name"]: d for d in shared_run.of_type("kubernetes:apps/v1:DaemonSet")}
    shared = daemonsets["nvidia-device-plugin-time-slicing-4"]
    pod = shared.inputs["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu": "true", "nvidia.com/device-plugin.config": "time-slicing-4"}
    (container,) = pod["containers"]
    assert {"name": "CONFIG_FILE", "value": "/etc/nvidia-device-plugin/config.yaml"} in container["env"]
    default = daemonsets["nvidia-device-plugin"].inputs["spec"]["template"]["spec"]
    assert default["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "nvidia.com/device-plugin.config",
                                                     "operator": "DoesNotExist"}]}]}


# --- Spot to On-Demand fallback ----------------------------------------------------------------

FALLBACK = {"gpuPools": [{**GPU, "onDemandFallback": True, "taints": ["team=ml:NoSchedule"]}]}


@pytest.fixture(scope="module")
def fallback_run() -> ProgramRun:
    return run_program(FALLBACK)


def test_fallback_adds_an_all_on_demand_group_per_zone(fallback_run: ProgramRun) -> None:
    groups = {g.inputs["name"]: g for g in groups_of(fallback_run, "gpu")}
    prefix = "eks-gpu-spot-test-gpu"
    assert sorted(groups) == sorted([f"{prefix}-{z}" for z in ZONES[:3]] + [f"{prefix}-{z}-on-demand" for z in ZONES[:3]])
    for name, group in groups.items():
        distribution = group.inputs["mixedInstancesPolicy"]["instancesDistribution"]
        on_demand = name.endswith("-on-demand")
        assert distribution["onDemandBaseCapacity"] == 0
        assert distribution["onDemandPercentageAboveBaseCapacity"] == (100 if on_demand else 0)
        # A GPU pool's Spot groups have capacity rebalance off by default; a fallback group never has it.
        assert group.inputs["capacityRebalance"] is False
        assert group.inputs["minSize"] == 0
        # The same zone's subnet as the zone's Spot group.
        assert len(group.inputs["vpcZoneIdentifiers"]) == 1
    # Its own launch template; everything else of the template the same.
    spot_lt = launch_template_of(fallback_run, groups[f"{prefix}-us-east-1a"])
    od_lt = launch_template_of(fallback_run, groups[f"{prefix}-us-east-1a-on-demand"])
    assert spot_lt.name != od_lt.name
    for field in ("imageId", "blockDeviceMappings", "metadataOptions", "vpcSecurityGroupIds"):
        assert spot_lt.inputs.get(field) == od_lt.inputs.get(field), field
    # Keys in the stack output and the node group: `<pool>-<zone>-on-demand`.
    names = fallback_run.outputs["nodeGroups"]["gpu"]["asgNames"]
    assert f"{prefix}-us-east-1b-on-demand" in names and len(names) == 6


def test_every_group_says_its_lifecycle_truthfully_in_flags_and_tags(fallback_run: ProgramRun) -> None:
    for group in groups_of(fallback_run, "gpu"):
        tags = tags_of(group)
        template = template_from_tags(tags)
        flags = node_config(fallback_run, group)["spec"]["kubelet"]["flags"]
        assert template.kubelet_flags() == flags, group.name
        expected = "OnDemand" if group.inputs["name"].endswith("-on-demand") else "Ec2Spot"
        assert template.labels["lifecycle"] == expected
        assert f"lifecycle={expected}" in flags[0]
        # The same taints and capacity as the Spot template.
        spot = fallback_run.outputs["nodeGroups"]["gpu"]["template"]
        assert template.to_json()["taints"] == spot["taints"]
        assert template.to_json()["capacity"] == spot["capacity"]
        assert {k: v for k, v in template.labels.items() if k != "lifecycle"} == {
            k: v for k, v in spot["labels"].items() if k != "lifecycle"}


@pytest.mark.parametrize(("distribution", "lifecycle"), [
    ({"onDemandBaseCapacity": 1}, None),
    ({"onDemandPercentageAboveBase": 50}, None),
    ({"onDemandPercentageAboveBase": 1}, None),
    ({"onDemandPercentageAboveBase": 99}, None),
    ({"onDemandBaseCapacity": 2, "onDemandPercentageAboveBase": 100}, "OnDemand"),
    ({}, "Ec2Spot"),
])
def test_a_group_mixing_spot_and_on_demand_has_no_lifecycle_label(distribution: dict[str, int],
                                                                  lifecycle: str | None) -> None:
    run = run_program({"generalPool": {"minSize": 2, "desiredSize": 2, **distribution}})
    (general,) = groups_of(run, "general")
    tags = tags_of(general)
    flags = node_config(run, general)["spec"]["kubelet"]["flags"]
    assert tags.get(f"{CA}/label/lifecycle") == lifecycle
    assert ("lifecycle=" in flags[0]) == (lifecycle is not None)
    assert template_from_tags(tags).kubelet_flags() == flags


def test_the_termination_handler_hooks_every_fallback_group(fallback_run: ProgramRun) -> None:
    hooks = {h.inputs["autoscalingGroupName"] for h in fallback_run.of_type("aws:autoscaling/lifecycleHook:LifecycleHook")}
    assert hooks == {g.inputs["name"] for g in fallback_run.of_type(ASG)}
    assert sum(name.endswith("-on-demand") for name in hooks) == 3


def test_fallback_groups_stay_within_the_tag_limit() -> None:
    labels = {f"example.com/l{i}": "x" for i in range(20)}
    run = run_program({"gpuPools": [{**GPU, "onDemandFallback": True, "timeSlicingReplicas": 2, "labels": labels,
                                     "scaleDownGpuUtilizationThreshold": 0}]})
    for group in run.of_type(ASG):
        assert len(group.inputs["tags"]) <= 50


# --- the GPU idle tail -------------------------------------------------------------------------


def test_gpu_pools_default_to_a_five_minute_idle_tail() -> None:
    run = run_program({"gpuPools": [GPU, {"name": "gpu-slow", "instanceTypes": ["g6e.xlarge"],
                                          "scaleDownUnneededTime": "15m",
                                          "scaleDownGpuUtilizationThreshold": 0}]})
    for group in groups_of(run, "gpu"):
        tags = tags_of(group)
        assert tags[f"{CA}/autoscaling-options/scaledownunneededtime"] == "5m"
        # CA's own 0.5 unless set: no tag.
        assert f"{CA}/autoscaling-options/scaledowngpuutilizationthreshold" not in tags
    for group in groups_of(run, "gpu-slow"):
        tags = tags_of(group)
        assert tags[f"{CA}/autoscaling-options/scaledownunneededtime"] == "15m"
        assert tags[f"{CA}/autoscaling-options/scaledowngpuutilizationthreshold"] == "0"
    (general,) = groups_of(run, "general")
    assert f"{CA}/autoscaling-options/scaledownunneededtime" not in tags_of(general)
    (deployment,) = [d for d in run.of_type("kubernetes:apps/v1:Deployment")
                     if d.inputs["metadata"]["name"] == "cluster-autoscaler"]
    args = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--scale-down-delay-after-add=5m" in args
    assert "--scale-down-delay-type-local=true" in args
    assert "--scale-down-unneeded-time=10m" in args  # the general pool keeps CA's 10m


def test_the_idle_tail_stays_configurable() -> None:
    run = run_program({"clusterAutoscaler": {"scaleDownDelayAfterAdd": "10m"},
                       "gpuPools": [{**GPU, "scaleDownUnneededTime": "10m"}]})
    (deployment,) = [d for d in run.of_type("kubernetes:apps/v1:Deployment")
                     if d.inputs["metadata"]["name"] == "cluster-autoscaler"]
    assert "--scale-down-delay-after-add=10m" in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    for group in groups_of(run, "gpu"):
        assert tags_of(group)[f"{CA}/autoscaling-options/scaledownunneededtime"] == "10m"


@pytest.mark.parametrize("key", ["timeSlicingReplicas", "scaleDownGpuUtilizationThreshold", "onDemandFallback",
                                 "maxPods", "memoryOverheadPercent"])
def test_each_new_key_has_a_row_in_the_config_reference(key: str) -> None:
    from config.keys import GPU_POOL_FIELDS
    from tests.harness import ROOT

    assert key in GPU_POOL_FIELDS
    rows = [line for line in (ROOT / "docs" / "config.md").read_text().splitlines()
            if line.startswith((f"| `gpuPools[].{key}`", f"| `<pool>.{key}`"))]
    assert len(rows) == 1, key
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert len(cells) == 4 and all(cells), rows[0]  # key, type, default, meaning with limits
