"""Warm nodes (issue 20): placeholder pods that hold whole nodes of a GPU pool, in a PriorityClass at
the autoscaler's expendable cutoff, admitted by the pool's template as the preflight sees it, and
the refusals."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from components.addons.warm_nodes import PRIORITY, PRIORITY_CLASS, SKIP_AWAIT
from components.preflight import evaluate, groups_from_stack_output, project_daemonsets, workloads_from_documents
from components.preflight.scheduling import daemonset_pod_specs
from components.versions import PAUSE_IMAGE, SUPPORTED_KUBERNETES_VERSIONS
from tests.harness import ZONES, ProgramRun, assert_refused, run_program

GPU = {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"], "warmNodes": 2, "maxSizePerAz": 2}
OTHER = {"name": "gpu-4x", "instanceTypes": ["g6.12xlarge", "g5.12xlarge"], "taints": ["team=ml:NoSchedule"],
         "warmNodes": 1, "timeSlicingReplicas": 2}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PRIORITY_CLASS_TYPE = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
CUTOFF = -10  # Cluster Autoscaler's --expendable-pods-priority-cutoff default


def placeholders(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {d.name: d.inputs for d in run.of_type(DEPLOYMENT) if d.name.startswith("warm-nodes-")}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program({"gpuPools": [GPU, OTHER]})


def test_one_priority_class_below_every_workload_at_the_expendable_cutoff(run: ProgramRun) -> None:
    (priority,) = run.of_type(PRIORITY_CLASS_TYPE)
    assert priority.inputs["metadata"]["name"] == PRIORITY_CLASS
    # Pods without a class have priority 0; CA ignores pods strictly below the cutoff.
    assert CUTOFF <= priority.inputs["value"] == PRIORITY < 0
    assert priority.inputs["preemptionPolicy"] == "Never"
    assert priority.inputs["globalDefault"] is False


def test_each_placeholder_holds_one_whole_node_of_its_pool(run: ProgramRun) -> None:
    found = placeholders(run)
    assert set(found) == {"warm-nodes-gpu", "warm-nodes-gpu-4x"}
    templates = run.outputs["nodeGroups"]
    for pool, replicas, gpus in (("gpu", 2, "1"), ("gpu-4x", 1, "8")):  # 4 GPUs shared 2 ways
        deployment = found[f"warm-nodes-{pool}"]
        assert deployment["metadata"]["namespace"] == "kube-system"
        assert deployment["metadata"]["annotations"] == {SKIP_AWAIT: "true"}
        assert deployment["spec"]["replicas"] == replicas
        pod = deployment["spec"]["template"]["spec"]
        assert pod["priorityClassName"] == PRIORITY_CLASS
        assert pod["nodeSelector"] == {"node-pool": pool}
        assert templates[pool]["template"]["capacity"]["nvidia.com/gpu"] == gpus
        (container,) = pod["containers"]
        assert container["image"] == PAUSE_IMAGE
        assert container["resources"]["requests"]["nvidia.com/gpu"] == container["resources"]["limits"][
            "nvidia.com/gpu"] == gpus
        assert pod["terminationGracePeriodSeconds"] == 0
        assert pod["automountServiceAccountToken"] is False
        taints = {(t["key"], t["value"], t["effect"]) for t in templates[pool]["template"]["taints"]}
        assert {(t["key"], t["value"], t["effect"]) for t in pod["tolerations"]} == taints


def test_the_preflight_finds_that_each_pools_template_admits_its_placeholders_and_no_other(run: ProgramRun) -> None:
    groups = groups_from_stack_output(run.outputs["nodeGroups"])
    daemonsets = daemonset_pod_specs(project_daemonsets(groups, "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"))
    for name, deployment in placeholders(run).items():
        pool = name.removeprefix("warm-nodes-")
        (verdict,) = evaluate(workloads_from_documents([deployment], name), groups, daemonsets)
        assert verdict.fits == (pool,), verdict.rejections


@pytest.mark.parametrize("version", [SUPPORTED_KUBERNETES_VERSIONS[0], SUPPORTED_KUBERNETES_VERSIONS[-1]])
def test_the_placeholder_objects_are_valid_for_the_clusters_version(version: str) -> None:
    run = run_program({"kubernetesVersion": version, "gpuPools": [GPU]})
    objects = [o for o in run.kubernetes_objects() if o.name.startswith("warm-nodes")]
    assert {o.type for o in objects} == {DEPLOYMENT, PRIORITY_CLASS_TYPE}
    for registered in objects:
        kubernetes_validate.validate(registered.inputs, version, strict=True)


def test_no_warm_nodes_no_objects_and_a_note_when_there_are() -> None:
    run = run_program({"gpuPools": [{**GPU, "warmNodes": 0}]})
    assert run.of_type(PRIORITY_CLASS_TYPE) == [] and placeholders(run) == {}
    assert not [m for _, m in run.logs if "around the clock" in m]
    run = run_program({"gpuPools": [GPU]})
    (note,) = [m for severity, m in run.logs if severity == "info" and "around the clock" in m]
    assert "warmNodes 2 keeps 2 node(s)" in note


REFUSED = [
    pytest.param({"gpuPools": [{**GPU, "warmNodes": -1}]}, "eks-gpu-spot:gpuPools[0].warmNodes",
                 "from 0 to 1000", id="negative"),
    pytest.param({"gpuPools": [{**GPU, "warmNodes": 1.5}]}, "eks-gpu-spot:gpuPools[0].warmNodes",
                 "whole number", id="fraction"),
    # Three zones of at most 2 nodes each.
    pytest.param({"gpuPools": [{**GPU, "warmNodes": 7}]}, "eks-gpu-spot:gpuPools[0].warmNodes",
                 "maxSizePerAz 2 x 3 zone(s) = 6", id="above-the-pools-maximum"),
    pytest.param({"gpuPools": [GPU], "clusterAutoscaler": {"enabled": False}}, "eks-gpu-spot:gpuPools[0].warmNodes",
                 "needs the Cluster Autoscaler", id="without-autoscaler"),
    pytest.param({"gpuPools": [GPU], "nvidiaDevicePlugin": {"enabled": False}}, "eks-gpu-spot:gpuPools[0].warmNodes",
                 "NVIDIA device plugin", id="without-device-plugin"),
    pytest.param({"generalPool": {"warmNodes": 1}}, "eks-gpu-spot:generalPool.warmNodes", "unknown key",
                 id="general-pool"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_refused_by_key_before_any_resource(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


def test_the_maximum_counts_only_the_zones_the_pool_has_groups_in() -> None:
    # A zone without the pool's types has no group: 2 zones x 2.
    not_offered = {ZONES[2]: {"g5.xlarge", "g6.xlarge"}}
    assert_refused(run_program({"gpuPools": [{**GPU, "warmNodes": 5}]}, not_offered=not_offered, expect_error=True),
                   "eks-gpu-spot:gpuPools[0].warmNodes", "2 zone(s) = 4")
    assert placeholders(run_program({"gpuPools": [{**GPU, "warmNodes": 4}]}, not_offered=not_offered))


def test_the_on_demand_fallback_groups_count_toward_the_maximum() -> None:
    # Their nodes carry the pool's label: 3 zones x 2 x 2 groups.
    fallback = {**GPU, "onDemandFallback": True}
    assert_refused(run_program({"gpuPools": [{**fallback, "warmNodes": 13}]}, expect_error=True),
                   "eks-gpu-spot:gpuPools[0].warmNodes", "3 zone(s) x 2 (each zone's On-Demand fallback group) = 12")
    assert placeholders(run_program({"gpuPools": [{**fallback, "warmNodes": 12}]}))


@pytest.mark.parametrize("warm", [0, 6])
def test_the_nearest_good_value_deploys(warm: int) -> None:
    run = run_program({"gpuPools": [{**GPU, "warmNodes": warm}]})
    assert len(placeholders(run)) == (1 if warm else 0)
