"""The scale-from-zero preflight: each scheduling rule both ways, the examples, the command line."""

from __future__ import annotations

import io
import json
import types
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import preflight
from components.node_template import GPU_TAINT, NodeTemplate, Taint
from components.preflight import (
    GroupTemplate,
    PreflightError,
    Verdict,
    Workload,
    evaluate,
    format_quantity,
    group_template,
    groups_from_stack_config,
    groups_from_stack_output,
    parse_quantity,
    pod_requests,
    tolerates,
    workloads_from_documents,
)
from tests.harness import ROOT, run_program, stack_config

EXAMPLES = ROOT / "examples"
DEV_STACK = ROOT / "Pulumi.dev.yaml"

GPU_LABELS = {"node-pool": "gpu-a", "nvidia.com/gpu": "true", "gpu-count": "1"}
GPU_CAPACITY = {"cpu": "4", "memory": "16384Mi", "pods": "29", "ephemeral-storage": "100Gi", "nvidia.com/gpu": "1"}


def group(name: str = "gpu-a", labels: Mapping[str, str] | None = None, taints: Sequence[Taint] = (GPU_TAINT,),
          capacity: Mapping[str, str] | None = None) -> GroupTemplate:
    template = NodeTemplate(labels=dict(GPU_LABELS if labels is None else labels), taints=tuple(taints),
                            capacity=dict(GPU_CAPACITY if capacity is None else capacity))
    return group_template(name, template, "g5.xlarge")


GENERAL = group("general", {"node-pool": "general"}, (), {"cpu": "8", "memory": "32768Mi", "pods": "58"})
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def container(requests: Mapping[str, Any] | None = None, limits: Mapping[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    resources = {k: dict(v) for k, v in (("requests", requests), ("limits", limits)) if v is not None}
    return {"name": "main", "image": "busybox:1.37", "resources": resources, **extra}


def pod(name: str = "p", *, containers: Sequence[Mapping[str, Any]] | None = None, **spec: Any) -> Workload:
    full = {"containers": list(containers or [container({"cpu": "100m"})]), **spec}
    return workloads_from_documents([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": full}],
                                    "test.yaml")[0]


def gpu_pod(**spec: Any) -> Workload:
    return pod(nodeSelector={"nvidia.com/gpu": "true"}, tolerations=[GPU_TOLERATION], **spec)


def verdict(workload: Workload, groups: Sequence[GroupTemplate] = (GENERAL, group()),
            daemonsets: Sequence[Workload] = ()) -> Verdict:
    [found] = evaluate([workload], groups, daemonsets)
    return found


def daemonset(name: str = "ds", requests: Mapping[str, str] | None = None, **spec: Any) -> Workload:
    manifest = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [container(requests or {"cpu": "100m", "memory": "64Mi"})],
                                               **spec}}}}
    return preflight.daemonset_pod_specs([manifest])[0]


# --- quantities ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("500m", Fraction(1, 2)), ("2", Fraction(2)), ("1.5", Fraction(3, 2)), (".5", Fraction(1, 2)),
    ("0.1", Fraction(1, 10)), ("16Gi", Fraction(16 * 2**30)), ("1Ki", Fraction(1024)), ("3Ti", Fraction(3 * 2**40)),
    ("100M", Fraction(10**8)), ("250k", Fraction(250_000)), ("5n", Fraction(5, 10**9)), ("3u", Fraction(3, 10**6)),
    ("1e3", Fraction(1000)), ("1E3", Fraction(1000)), ("12e-3", Fraction(12, 1000)), ("1E", Fraction(10**18)),
    ("2G", Fraction(2 * 10**9)), ("+1", Fraction(1)), ("1.5Gi", Fraction(3 * 2**29)), (2, Fraction(2)),
    (0.25, Fraction(1, 4)),
])
def test_quantities_parse_exactly(text: object, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["1.2.3", "1KiB", "Gi", "", "1e", "1 Gi", "abc", "1ki", True, None, [1]])
def test_bad_quantities_are_errors(text: object) -> None:
    with pytest.raises(PreflightError, match="not a Kubernetes quantity"):
        parse_quantity(text)


@pytest.mark.parametrize(("name", "value", "text"), [
    ("memory", Fraction(16 * 2**30), "16Gi"), ("memory", Fraction(16320 * 2**20), "16320Mi"),
    ("memory", Fraction(1000), "1000"), ("cpu", Fraction(4), "4"), ("cpu", Fraction(79, 20), "3950m"),
    ("nvidia.com/gpu", Fraction(0), "0"), ("ephemeral-storage", Fraction(100 * 2**30), "100Gi"),
])
def test_quantities_format_readably(name: str, value: Fraction, text: str) -> None:
    assert format_quantity(name, value) == text


# --- requests --------------------------------------------------------------------------------------

def test_pod_requests_sum_the_containers() -> None:
    spec = {"containers": [container({"cpu": "500m", "memory": "1Gi"}), container({"cpu": "1", "memory": "512Mi"})]}
    assert pod_requests(spec) == {"cpu": Fraction(3, 2), "memory": Fraction(1536 * 2**20)}


def test_limits_imply_requests_for_every_resource_but_a_request_wins() -> None:
    spec = {"containers": [container({"cpu": "250m"}, {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": 1})]}
    assert pod_requests(spec) == {"cpu": Fraction(1, 4), "memory": Fraction(2**30), "nvidia.com/gpu": Fraction(1)}


def test_init_containers_count_by_their_peak_and_sidecars_add_up() -> None:
    spec = {
        "initContainers": [container({"cpu": "3"}), container({"cpu": "200m"}, restartPolicy="Always")],
        "containers": [container({"cpu": "1"})],
        "overhead": {"memory": "100Mi"},
    }
    # max(3, 1 + 0.2 sidecar) = 3 cpu; overhead added on top.
    assert pod_requests(spec) == {"cpu": Fraction(3), "memory": Fraction(100 * 2**20)}
    spec["initContainers"] = [container({"cpu": "200m"}, restartPolicy="Always"), container({"cpu": "1"})]
    assert pod_requests(spec)["cpu"] == Fraction(6, 5)  # the sum: 1 + 0.2 (init 1 + sidecar 0.2 is not more)


# --- nodeSelector ----------------------------------------------------------------------------------

def test_node_selector_matching_a_label_fits() -> None:
    assert verdict(gpu_pod(containers=[container(limits={"nvidia.com/gpu": 1})])).fits == ("gpu-a",)


def test_node_selector_rejects_a_group_without_the_label_or_with_another_value() -> None:
    found = verdict(gpu_pod(), [GENERAL, group("gpu-off", {**GPU_LABELS, "nvidia.com/gpu": "false"})])
    assert not found.schedules
    assert found.rejections["general"] == ("node selector nvidia.com/gpu=true does not match (label absent)",)
    assert found.rejections["gpu-off"] == ("node selector nvidia.com/gpu=true does not match (label is 'false')",)


def test_node_selector_sees_the_labels_the_autoscaler_adds() -> None:
    assert verdict(pod(nodeSelector={"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                     "node.kubernetes.io/instance-type": "g5.xlarge"},
                       tolerations=[GPU_TOLERATION]), [group()]).schedules
    assert not verdict(pod(nodeSelector={"kubernetes.io/arch": "arm64"}), [GENERAL]).schedules


def test_an_unquoted_node_selector_value_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="must be a string"):
        pod(nodeSelector={"nvidia.com/gpu": True})


# --- required node affinity ------------------------------------------------------------------------

def affinity(*terms: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": list(term)} for term in terms]}}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, **({"values": list(values)} if values else {})}


@pytest.mark.parametrize(("expression", "fits"), [
    (expr("nvidia.com/gpu", "In", "true", "yes"), True),
    (expr("nvidia.com/gpu", "In", "false"), False),
    (expr("missing", "In", "x"), False),
    (expr("nvidia.com/gpu", "NotIn", "false"), True),
    (expr("missing", "NotIn", "x"), True),
    (expr("nvidia.com/gpu", "NotIn", "true"), False),
    (expr("nvidia.com/gpu", "Exists"), True),
    (expr("missing", "Exists"), False),
    (expr("missing", "DoesNotExist"), True),
    (expr("nvidia.com/gpu", "DoesNotExist"), False),
    (expr("gpu-count", "Gt", "0"), True),
    (expr("gpu-count", "Gt", "1"), False),
    (expr("nvidia.com/gpu", "Gt", "0"), False),  # not an integer label
    (expr("missing", "Gt", "0"), False),
    (expr("gpu-count", "Lt", "2"), True),
    (expr("gpu-count", "Lt", "1"), False),
])
def test_each_affinity_operator(expression: dict[str, Any], fits: bool) -> None:
    found = verdict(pod(affinity=affinity([expression]), tolerations=[GPU_TOLERATION]), [group()])
    assert found.schedules is fits
    if not fits:
        [reason] = found.rejections["gpu-a"]
        assert reason.startswith(f"required node affinity does not match: {expression['key']} {expression['operator']}")


def test_affinity_terms_are_ored_and_expressions_within_a_term_anded() -> None:
    yes, no = expr("nvidia.com/gpu", "Exists"), expr("node-pool", "In", "general")
    assert verdict(pod(affinity=affinity([no], [yes]), tolerations=[GPU_TOLERATION]), [group()]).schedules
    found = verdict(pod(affinity=affinity([yes, no]), tolerations=[GPU_TOLERATION]), [group()])
    assert found.rejections["gpu-a"] == (
        "required node affinity does not match: node-pool In [general] (label is 'gpu-a')",)
    found = verdict(pod(affinity=affinity([no], [expr("missing", "Exists")]), tolerations=[GPU_TOLERATION]), [group()])
    assert found.rejections["gpu-a"] == ("required node affinity: no term matches (term 1: node-pool In [general] "
                                         "(label is 'gpu-a'); term 2: missing Exists (label absent))",)


def test_an_empty_term_matches_nothing_and_preferred_affinity_never_blocks() -> None:
    empty = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}
    assert not verdict(pod(affinity=empty), [GENERAL]).schedules
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [expr("missing", "Exists")]}}]}}
    assert verdict(pod(affinity=preferred), [GENERAL]).schedules


def test_a_bad_affinity_operator_or_gt_value_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="operator 'Equals'"):
        pod(affinity=affinity([expr("a", "Equals", "b")]))
    with pytest.raises(PreflightError, match="exactly one integer"):
        pod(affinity=affinity([expr("a", "Gt", "x")]))


# --- taints and tolerations ------------------------------------------------------------------------

TAINT = Taint("nvidia.com/gpu", "true", "NoSchedule")


@pytest.mark.parametrize(("toleration", "expected"), [
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),  # empty effect: every effect
    ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, True),
    ({"key": "nvidia.com/gpu", "value": "true"}, True),  # Equal is the default operator
    ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "false", "effect": "NoSchedule"}, False),
    ({"key": "nvidia.com/gpu", "operator": "Equal", "effect": "NoSchedule"}, False),  # value "" != "true"
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "other", "operator": "Exists"}, False),
    ({"operator": "Exists"}, True),  # empty key with Exists: every taint
    ({"operator": "Exists", "effect": "NoExecute"}, False),
])
def test_tolerates(toleration: dict[str, str], expected: bool) -> None:
    assert tolerates(toleration, TAINT) is expected


def test_an_untolerated_taint_rejects_the_group() -> None:
    found = verdict(pod(nodeSelector={"nvidia.com/gpu": "true"}), [group()])
    assert found.rejections["gpu-a"] == ("untolerated taint nvidia.com/gpu=true:NoSchedule",)


def test_every_untolerated_taint_is_named_and_a_tolerate_all_toleration_clears_them() -> None:
    taints = (TAINT, Taint("dedicated", "ml", "NoExecute"), Taint("spot", "", "NoSchedule"))
    found = verdict(pod(tolerations=[GPU_TOLERATION]), [group(taints=taints)])
    assert found.rejections["gpu-a"] == ("untolerated taint dedicated=ml:NoExecute", "untolerated taint spot:NoSchedule")
    assert verdict(pod(tolerations=[{"operator": "Exists"}]), [group(taints=taints)]).schedules


def test_prefer_no_schedule_taints_never_block() -> None:
    assert verdict(pod(), [group(taints=(Taint("soft", "x", "PreferNoSchedule"),))]).schedules


def test_a_bad_toleration_operator_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="toleration operator 'Has'"):
        pod(tolerations=[{"key": "a", "operator": "Has"}])


# --- resources against capacity less DaemonSets ----------------------------------------------------

def test_requests_up_to_capacity_fit_and_beyond_do_not() -> None:
    assert verdict(gpu_pod(containers=[container({"cpu": "4", "memory": "16Gi"}, {"nvidia.com/gpu": 1})])).fits == (
        "gpu-a",)
    found = verdict(gpu_pod(containers=[container({"cpu": "4001m"}, {"nvidia.com/gpu": 2})]))
    assert found.rejections["gpu-a"] == ("insufficient cpu: requests 4001m, allocatable 4",
                                         "insufficient nvidia.com/gpu: requests 2, allocatable 1")


def test_limits_alone_imply_requests_against_capacity() -> None:
    found = verdict(gpu_pod(containers=[container(limits={"memory": "20Gi", "nvidia.com/gpu": 1})]), [group()])
    assert found.rejections["gpu-a"] == ("insufficient memory: requests 20Gi, allocatable 16Gi",)


def test_a_resource_the_group_lacks_has_allocatable_zero() -> None:
    found = verdict(pod(containers=[container(limits={"nvidia.com/gpu": 1})]), [GENERAL])
    assert found.rejections["general"] == ("insufficient nvidia.com/gpu: requests 1, allocatable 0",)


def test_daemonset_requests_reduce_allocatable_only_where_the_daemonset_runs() -> None:
    full = gpu_pod(containers=[container({"cpu": "4"}, {"nvidia.com/gpu": 1})])
    plugin = daemonset("plugin", nodeSelector={"nvidia.com/gpu": "true"}, tolerations=[GPU_TOLERATION])
    found = verdict(full, [group()], [plugin])
    assert found.rejections["gpu-a"] == (
        "insufficient cpu: requests 4, allocatable 3900m (capacity 4 less 100m for DaemonSets plugin)",)
    # Not counted where it cannot run: untolerated taint, or a selector the group does not match.
    assert verdict(full, [group()], [daemonset("intolerant", nodeSelector={"nvidia.com/gpu": "true"})]).schedules
    assert verdict(full, [group()], [daemonset("elsewhere", nodeSelector={"node-pool": "general"},
                                               tolerations=[GPU_TOLERATION])]).schedules
    room = preflight.allocatable(GENERAL, [plugin, daemonset("everywhere", tolerations=[{"operator": "Exists"}])])
    assert room.daemonsets == ("everywhere",)
    assert room.of("cpu") == Fraction(79, 10) and room.of("pods") == Fraction(57)


def test_each_pod_needs_a_pod_slot() -> None:
    tiny = group(capacity={**GPU_CAPACITY, "pods": "1"})
    assert verdict(gpu_pod(), [tiny]).schedules
    found = verdict(gpu_pod(), [tiny], [daemonset(tolerations=[{"operator": "Exists"}])])
    assert "insufficient pods: requests 1, allocatable 0" in found.rejections["gpu-a"][0]


def test_daemonsets_among_the_manifests_are_overhead_not_workloads() -> None:
    documents = list(yaml.safe_load_all("""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logger}
spec:
  selector: {matchLabels: {app: logger}}
  template:
    metadata: {labels: {app: logger}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: c, image: busybox:1.37, resources: {requests: {cpu: "1"}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  tolerations: [{operator: Exists}]
  containers: [{name: c, image: busybox:1.37, resources: {requests: {cpu: "7500m"}}}]
"""))
    [found] = evaluate(workloads_from_documents(documents, "mixed.yaml"), [GENERAL])
    assert found.workload.title == "Pod/big"
    assert found.rejections["general"][0].startswith("insufficient cpu: requests 7500m, allocatable 7")


# --- manifests -------------------------------------------------------------------------------------

def test_pod_templates_come_from_every_workload_kind_and_lists() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container({"cpu": "1"})]}}
    documents = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": template}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": {"template": template}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
         "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ignored"}, "spec": {}},
        None,
        {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": template["spec"]}]},
    ]
    found = workloads_from_documents(documents, "all.yaml")
    assert [w.title for w in found] == ["Deployment/d", "StatefulSet/s", "ReplicaSet/r", "Job/j", "CronJob/c", "Pod/p"]


def test_a_workload_without_a_pod_template_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="Deployment/d: missing spec.template.spec"):
        workloads_from_documents([{"kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}], "x.yaml")
    with pytest.raises(PreflightError, match="containers\\[0\\].resources.limits.cpu: 'lots'"):
        workloads_from_documents([{"kind": "Pod", "metadata": {"name": "p"},
                                   "spec": {"containers": [container(limits={"cpu": "lots"})]}}], "x.yaml")


# --- templates: stack output and stack config ------------------------------------------------------

def dev_groups() -> list[GroupTemplate]:
    return groups_from_stack_config(DEV_STACK, shape_source="builtin").groups


def test_templates_from_the_dev_config_follow_the_tags_code() -> None:
    general, gpu = dev_groups()
    assert general.name == "general" and gpu.name == "gpu-small"
    # Allocatable as nodeadm leaves it (components/allocatable.py): m6i.2xlarge 8000m - 90m,
    # 32768 MiB - 2458 (7.5%) - 893 (11 x 58 pods + 255) - 100 (eviction); the GPU pool's least,
    # g5/g6.xlarge: 4000m - 80m, 16384 MiB - 1229 - 893 - 100.
    assert general.capacity["cpu"] == Fraction(7910, 1000) and general.capacity["memory"] == 29317 * 2**20
    assert gpu.capacity["cpu"] == Fraction(3920, 1000) and gpu.capacity["memory"] == 14162 * 2**20
    assert gpu.capacity["nvidia.com/gpu"] == 1
    assert gpu.taints == (GPU_TAINT,) and gpu.labels["nvidia.com/gpu"] == "true"
    assert gpu.labels["kubernetes.io/arch"] == "amd64" and gpu.labels["topology.kubernetes.io/region"] == "us-east-1"
    assert gpu.labels["node.kubernetes.io/instance-type"] == "g4dn.xlarge"


def test_the_deployed_stack_output_gives_the_same_templates_as_the_config() -> None:
    run = run_program(stack_config(DEV_STACK), stack="dev")
    output = json.loads(json.dumps(run.outputs["nodeGroups"]))
    from_output = groups_from_stack_output(output)
    assert groups_from_stack_output({"nodeGroups": output, "vpcId": "vpc-1"}) == from_output
    for computed, deployed in zip(dev_groups(), from_output, strict=True):
        assert (deployed.name, deployed.taints, deployed.capacity) == (computed.name, computed.taints, computed.capacity)
        assert {**deployed.labels, "topology.kubernetes.io/region": "us-east-1"} == computed.labels


def test_a_malformed_stack_output_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="'nodeGroups' object"):
        groups_from_stack_output([])
    with pytest.raises(PreflightError, match="nodeGroups.gpu: missing 'template'"):
        groups_from_stack_output({"gpu": {"asgNames": []}})
    with pytest.raises(PreflightError, match="capacity cpu"):
        groups_from_stack_output({"gpu": {"template": {"capacity": {"cpu": "four"}}}})


def test_an_unknown_instance_type_without_aws_is_a_clear_error(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.big.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "aws:region": "us-west-2", "eks-gpu-spot:gpuPools": [{"name": "h100", "instanceTypes": ["p5.48xlarge"]}]}}))
    with pytest.raises(PreflightError, match="p5.48xlarge are not in the built-in table"):
        groups_from_stack_config(stack, shape_source="builtin")


def test_a_bad_stack_config_is_bad_input(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.typo.yaml"
    stack.write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", "eks-gpu-spot:gpuPool": []}}))
    code, out, err = run_cli("--stack-config", str(stack), "--instance-shapes", "builtin",
                             str(EXAMPLES / "cuda-vector-add.yaml"))
    assert (code, out) == (2, "")
    assert "config key 'eks-gpu-spot:gpuPool'" in err and "Did you mean 'gpuPools'?" in err


def fake_boto3(credentials: object, described: list[dict[str, Any]]) -> types.ModuleType:
    class Session:
        def __init__(self, region_name: str | None = None) -> None:
            self.region_name = region_name

        def get_credentials(self) -> object:
            return credentials

        def client(self, service: str) -> Any:
            assert service == "ec2"
            pages = [{"InstanceTypes": described}]
            paginator = types.SimpleNamespace(paginate=lambda **kwargs: pages)
            return types.SimpleNamespace(get_paginator=lambda name: paginator)

    module = types.ModuleType("boto3")
    module.session = types.SimpleNamespace(Session=Session)  # type: ignore[attr-defined]
    return module


def test_shapes_come_from_ec2_when_credentials_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    described = [{"InstanceType": "g6e.2xlarge", "VCpuInfo": {"DefaultVCpus": 8}, "MemoryInfo": {"SizeInMiB": 65536},
                  "GpuInfo": {"Gpus": [{"Name": "L40S", "Manufacturer": "NVIDIA", "Count": 1}]},
                  "NetworkInfo": {"MaximumNetworkInterfaces": 4, "Ipv4AddressesPerInterface": 15},
                  "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}}]
    monkeypatch.setitem(__import__("sys").modules, "boto3", fake_boto3(object(), described))
    lookup = preflight.instance_shapes(["g6e.2xlarge"], "us-east-1")
    assert lookup.source == "AWS ec2:DescribeInstanceTypes in us-east-1"
    shape = lookup.shapes["g6e.2xlarge"]
    assert (shape.vcpus, shape.memory_mib, shape.gpu_count, shape.gpu_model, shape.max_pods) == (8, 65536, 1, "L40S", 58)


def test_without_credentials_auto_falls_back_to_the_table_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "boto3", fake_boto3(None, []))
    lookup = preflight.instance_shapes(["g5.xlarge"], "us-east-1")
    assert lookup.source == ("built-in table (components/instance_catalog.py); "
                             "AWS not used: no AWS credentials found")
    assert lookup.shapes["g5.xlarge"].max_pods == 58
    with pytest.raises(PreflightError, match="no AWS credentials found"):
        preflight.instance_shapes(["g5.xlarge"], "us-east-1", "aws")


def test_architecture_of_graviton_and_x86_families() -> None:
    assert [preflight.architecture(t) for t in ("m7g.large", "c6gn.xlarge", "g5g.xlarge", "g4dn.xlarge",
                                                "m7i.large", "p5.48xlarge")] == [
        "arm64", "arm64", "arm64", "amd64", "amd64", "amd64"]


# --- the examples against the dev stack ------------------------------------------------------------

def example_verdicts(name: str) -> list[Verdict]:
    groups = dev_groups()
    plugin = daemonset("nvidia-device-plugin", {"cpu": "50m", "memory": "64Mi"},
                       nodeSelector={"nvidia.com/gpu": "true"}, tolerations=[GPU_TOLERATION])
    return evaluate(preflight.load_manifests([str(EXAMPLES / name)]), groups, [plugin])


@pytest.mark.parametrize("name", ["cuda-vector-add.yaml", "pytorch-training-job.yaml"])
def test_the_gpu_examples_scale_up_the_gpu_group(name: str) -> None:
    [found] = example_verdicts(name)
    assert found.fits == ("gpu-small",)
    assert found.rejections["general"] == ("node selector nvidia.com/gpu=true does not match (label absent)",
                                           "insufficient nvidia.com/gpu: requests 1, allocatable 0")


@pytest.mark.parametrize("name", ["cuda-vector-add.yaml", "pytorch-training-job.yaml"])
def test_the_gpu_examples_pin_images_and_ask_for_one_gpu(name: str) -> None:
    [document] = yaml.safe_load_all((EXAMPLES / name).read_text())
    spec = document["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu": "true"}
    assert GPU_TOLERATION in spec["tolerations"]
    for item in spec["containers"]:
        assert item["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert ":" in item["image"] and not item["image"].endswith(":latest")


def test_the_negative_example_never_schedules_and_says_why() -> None:
    [found] = example_verdicts("never-schedules.yaml")
    assert found.fits == ()
    assert found.rejections == {
        "general": ("node selector nvidia.com/gpu=true does not match (label absent)",
                    "insufficient nvidia.com/gpu: requests 2, allocatable 0"),
        "gpu-small": ("insufficient nvidia.com/gpu: requests 2, allocatable 1",),
    }


def test_the_real_device_plugin_daemonset_is_counted_on_gpu_groups_only() -> None:
    from components.addons.device_plugin import REQUESTS, device_plugin_daemonset_manifest

    groups = dev_groups()
    manifests = preflight.project_daemonsets(groups, "nvcr.io/nvidia/k8s-device-plugin:v0.18.2")
    assert manifests == [device_plugin_daemonset_manifest("nvcr.io/nvidia/k8s-device-plugin:v0.18.2", [GPU_TAINT])]
    rooms = {g.name: preflight.allocatable(g, preflight.daemonset_pod_specs(manifests)) for g in groups}
    assert rooms["general"].daemonsets == ()
    assert rooms["gpu-small"].daemonsets == ("nvidia-device-plugin",)
    assert rooms["gpu-small"].of("cpu") == parse_quantity("3920m") - parse_quantity(REQUESTS["cpu"])
    assert rooms["gpu-small"].of("memory") == parse_quantity("14162Mi") - parse_quantity(REQUESTS["memory"])


# --- the command line ------------------------------------------------------------------------------

def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = preflight.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


CONFIG_ARGS = ("--stack-config", str(DEV_STACK), "--instance-shapes", "builtin")


def test_cli_exits_0_when_every_workload_scales_a_group() -> None:
    code, out, err = run_cli(*CONFIG_ARGS, str(EXAMPLES / "cuda-vector-add.yaml"),
                             str(EXAMPLES / "pytorch-training-job.yaml"))
    assert (code, err) == (0, "")
    assert "Deployment/cuda-vector-add: would scale up gpu-small" in out
    assert "Job/pytorch-training: would scale up gpu-small" in out
    assert "Instance shapes: built-in table (components/instance_catalog.py)" in out
    assert "(after DaemonSets nvidia-device-plugin)" in out
    assert out.rstrip().endswith("All 2 workload(s) fit a node group.")


def test_cli_exits_1_and_explains_when_a_workload_never_schedules() -> None:
    code, out, _ = run_cli(*CONFIG_ARGS, *(str(p) for p in sorted(EXAMPLES.glob("*.yaml"))))
    assert code == 1
    assert "Job/two-gpus-per-pod: NEVER SCHEDULES, no group fits:\n" in out
    assert "\n  gpu-small: insufficient nvidia.com/gpu: requests 2, allocatable 1\n" in out
    assert out.rstrip().endswith("1 of 3 workload(s) would stay Pending forever.")


def test_cli_reads_a_stack_output_and_lists_every_fitting_group(tmp_path: Path) -> None:
    output = tmp_path / "nodegroups.json"
    output.write_text(json.dumps({name: {"asgNames": [f"{name}-asg"], "instanceTypes": [t], "template": tpl}
                                  for name, t, tpl in (
                                      ("general", "m6i.2xlarge", {"labels": {"node-pool": "general"}, "taints": [],
                                                                  "capacity": {"cpu": "8", "memory": "32768Mi",
                                                                               "pods": "58"}}),
                                      ("gpu-a", "g5.xlarge", {"labels": GPU_LABELS, "taints": [GPU_TAINT.to_json()],
                                                              "capacity": GPU_CAPACITY}))}))
    anywhere = tmp_path / "anywhere.yaml"
    anywhere.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "anywhere"}, "spec": {
        "tolerations": [{"operator": "Exists"}], "containers": [container({"cpu": "1"})]}}))
    code, out, _ = run_cli("--stack-output", str(output), "--no-device-plugin", str(anywhere))
    assert code == 0
    assert f"{anywhere}: Pod/anywhere: would scale up one of general, gpu-a (the expander picks among them)" in out
    code, out, _ = run_cli("--stack-output", str(output), str(EXAMPLES / "never-schedules.yaml"))
    assert code == 1
    assert "  gpu-a: insufficient nvidia.com/gpu: requests 2, allocatable 1" in out


@pytest.mark.parametrize(("argv", "message"), [
    ((*CONFIG_ARGS, "missing.yaml"), "missing.yaml: cannot read"),
    (("--stack-output", "missing.json", str(EXAMPLES / "cuda-vector-add.yaml")), "missing.json: cannot read"),
    ((*CONFIG_ARGS,), "the following arguments are required: MANIFEST"),
    ((str(EXAMPLES / "cuda-vector-add.yaml"),), "one of the arguments --stack-output --stack-config is required"),
])
def test_cli_exits_2_on_bad_input(argv: tuple[str, ...], message: str) -> None:
    code, _, err = run_cli(*argv)
    assert code == 2
    assert message in err


def test_cli_exits_2_on_bad_yaml_a_bad_quantity_or_no_workload(tmp_path: Path) -> None:
    cases = {
        "broken.yaml": "kind: Pod\nspec: [unclosed\n",
        "quantity.yaml": yaml.safe_dump({"kind": "Pod", "metadata": {"name": "q"},
                                         "spec": {"containers": [container({"cpu": "two"})]}}),
        "service.yaml": yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
    }
    messages = {"broken.yaml": "not valid YAML", "quantity.yaml": "'two' is not a Kubernetes quantity",
                "service.yaml": "no workload"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        code, out, err = run_cli(*CONFIG_ARGS, str(tmp_path / name))
        assert code == 2, name
        assert err.startswith("preflight: error: ") and messages[name] in err, err
        assert out == ""
