"""The scheduler rules against template nodes, each both ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import pytest
import yaml

from components import preflight
from components.node_template import GPU_TAINT, Taint
from components.preflight import (
    PreflightError,
    admission_tolerations,
    evaluate,
    tolerates,
    workloads_from_documents,
)
from tests.preflight_helpers import (
    GENERAL,
    GPU_CAPACITY,
    GPU_LABELS,
    GPU_TOLERATION,
    container,
    daemonset,
    gpu_pod,
    group,
    pod,
    verdict,
)

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


# --- the ExtendedResourceToleration admission plugin (EKS enables it) -------------------------------

def test_a_gpu_pod_without_a_toleration_still_fits_the_gpu_group() -> None:
    bare = pod(nodeSelector={"nvidia.com/gpu": "true"}, containers=[container(limits={"nvidia.com/gpu": 1})])
    assert bare.pod_spec.get("tolerations") is None
    assert verdict(bare).fits == ("gpu-a",)


def test_a_pod_without_an_extended_resource_gets_no_toleration() -> None:
    found = verdict(pod(nodeSelector={"nvidia.com/gpu": "true"}), [group()])
    assert found.rejections["gpu-a"] == ("untolerated taint nvidia.com/gpu=true:NoSchedule",)


def test_the_added_toleration_is_exists_noschedule_for_each_extended_resource_requested() -> None:
    spec = {"containers": [container({"cpu": "1"}, {"nvidia.com/gpu": 1, "example.com/fpga": 1})],
            "initContainers": [container(limits={"vpc.amazonaws.com/efa": 1}),
                               container(limits={"nvidia.com/gpu": 1})]}
    assert admission_tolerations(spec) == [
        {"key": key, "operator": "Exists", "effect": "NoSchedule"}
        for key in ("example.com/fpga", "nvidia.com/gpu", "vpc.amazonaws.com/efa")]
    assert admission_tolerations({"containers": [container({"cpu": "1"}, {"memory": "1Gi"})]}) == []


def test_an_init_container_gpu_request_adds_the_toleration_too() -> None:
    found = verdict(pod(containers=[container({"cpu": "1"})],
                        initContainers=[container(limits={"nvidia.com/gpu": 1})]), [group()])
    assert found.fits == ("gpu-a",)


def test_the_added_toleration_covers_neither_noexecute_nor_other_keys() -> None:
    gpu = pod(containers=[container(limits={"nvidia.com/gpu": 1})])
    noexecute = group(taints=(Taint("nvidia.com/gpu", "true", "NoExecute"),))
    assert verdict(gpu, [noexecute]).rejections["gpu-a"] == ("untolerated taint nvidia.com/gpu=true:NoExecute",)
    dedicated = group(taints=(GPU_TAINT, Taint("dedicated", "ml", "NoSchedule")))
    assert verdict(gpu, [dedicated]).rejections["gpu-a"] == ("untolerated taint dedicated=ml:NoSchedule",)
    fpga = pod(containers=[container(limits={"example.com/fpga": 1})])
    assert verdict(fpga, [group(capacity={**GPU_CAPACITY, "example.com/fpga": "1"})]).rejections["gpu-a"] == (
        "untolerated taint nvidia.com/gpu=true:NoSchedule",)


# --- the reasons, word for word ----------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "reason"), [
    (expr("nvidia.com/gpu", "In", "false", "no"), "nvidia.com/gpu In [false, no] (label is 'true')"),
    (expr("nvidia.com/gpu", "NotIn", "true"), "nvidia.com/gpu NotIn [true] (label is 'true')"),
    (expr("missing", "Exists"), "missing Exists (label absent)"),
    (expr("nvidia.com/gpu", "DoesNotExist"), "nvidia.com/gpu DoesNotExist (label is 'true')"),
    (expr("gpu-count", "Gt", "1"), "gpu-count Gt 1 (label is '1')"),
    (expr("gpu-count", "Lt", "1"), "gpu-count Lt 1 (label is '1')"),
])
def test_each_operator_is_shown_as_written(expression: dict[str, Any], reason: str) -> None:
    found = verdict(pod(affinity=affinity([expression]), tolerations=[GPU_TOLERATION]), [group()])
    assert found.rejections["gpu-a"] == (f"required node affinity does not match: {reason}",)


def test_an_empty_term_is_named_as_such() -> None:
    empty = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}
    assert verdict(pod(affinity=empty), [GENERAL]).rejections["general"] == (
        "required node affinity does not match: an empty term matches no node",)


def field_term(operator: str) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": operator, "values": ["node-1"]}]}]}}}


def test_a_node_name_field_matches_only_when_it_excludes_names() -> None:
    # The template node has no name yet: nothing is In it, everything is NotIn it.
    assert verdict(pod(affinity=field_term("NotIn")), [GENERAL]).schedules
    assert verdict(pod(affinity=field_term("In")), [GENERAL]).rejections["general"] == (
        "required node affinity does not match: field metadata.name In [node-1] (a node that does not exist yet has "
        "no such name)",)


def test_an_equal_toleration_without_a_value_tolerates_an_empty_value() -> None:
    empty = Taint("spot", "", "NoSchedule")
    assert tolerates({"key": "spot", "operator": "Equal", "effect": "NoSchedule"}, empty)
    assert tolerates({"key": "spot"}, empty)
    assert not tolerates({"key": "spot", "value": "x"}, empty)


def test_daemonset_pod_specs_say_where_they_came_from() -> None:
    manifest = daemonset("logger").pod_spec
    document = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "logger"},
                "spec": {"selector": {}, "template": {"spec": manifest}}}
    assert [w.source for w in preflight.daemonset_pod_specs([document])] == ["DaemonSet"]
    assert [w.source for w in preflight.daemonset_pod_specs([document], "addons.yaml")] == ["addons.yaml"]
    assert preflight.daemonset_pod_specs([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                           "spec": manifest}]) == []


def test_daemonsets_that_take_a_resource_the_group_lacks_show_it_below_zero() -> None:
    # Two DaemonSets request a GPU each on a group with none: allocatable -2, named with both.
    takers = [daemonset(name, containers=[container(limits={"nvidia.com/gpu": 1})], tolerations=[{"operator": "Exists"}])
              for name in ("a", "b")]
    found = verdict(pod(containers=[container(limits={"nvidia.com/gpu": 1})]), [GENERAL], takers)
    assert found.rejections["general"] == (
        "insufficient nvidia.com/gpu: requests 1, allocatable -2 (capacity 0 less 2 for DaemonSets a, b)",)
