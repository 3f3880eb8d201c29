"""The scheduler rules the Cluster Autoscaler simulates on a template node, and the verdict per workload.

- `nodeSelector` and required node affinity (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`);
- taints (`NoSchedule`, `NoExecute`; `PreferNoSchedule` never blocks) against tolerations, including
  the ones the ExtendedResourceToleration admission plugin adds (EKS enables it);
- resource requests against allocatable (capacity less DaemonSets), and one pod slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..node_template import Taint
from .manifests import INTEGER, Workload, workloads_from_documents
from .quantities import format_quantity
from .requests import ResourceList, add, extended_resources_requested, pod_requests
from .templates import GroupTemplate

BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def tolerates(toleration: Mapping[str, Any], taint: Taint) -> bool:
    """Kubernetes' ToleratesTaint: an empty effect matches every effect, an empty key with
    `Exists` every taint; `Equal` (the default operator) also compares the value."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.effect:
        return False
    key = toleration.get("key") or ""
    if key and key != taint.key:
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and str(toleration.get("value") or "") == taint.value


def admission_tolerations(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """What the ExtendedResourceToleration admission plugin adds to a pod before it is scheduled.

    For each extended resource a container or init container requests (such as `nvidia.com/gpu`),
    a toleration with that key, operator `Exists` and effect `NoSchedule`
    (kubernetes/kubernetes plugin/pkg/admission/extendedresourcetoleration/admission.go). EKS enables
    the plugin, so a GPU pod tolerates a `nvidia.com/gpu` NoSchedule taint, whatever its value,
    without saying so; a NoExecute taint still needs the pod's own toleration.
    """
    return [{"key": name, "operator": "Exists", "effect": "NoSchedule"} for name in extended_resources_requested(spec)]


def effective_tolerations(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*(spec.get("tolerations") or []), *admission_tolerations(spec)]


def taint_text(taint: Taint) -> str:
    return f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"


def taint_rejections(spec: Mapping[str, Any], taints: Iterable[Taint]) -> list[str]:
    tolerations = effective_tolerations(spec)
    return [f"untolerated taint {taint_text(taint)}" for taint in taints
            if taint.effect in BLOCKING_EFFECTS and not any(tolerates(t, taint) for t in tolerations)]


def _label_state(labels: Mapping[str, str], key: str) -> str:
    return "label absent" if key not in labels else f"label is {labels[key]!r}"


def node_selector_rejections(spec: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    return [f"node selector {key}={value} does not match ({_label_state(labels, key)})"
            for key, value in (spec.get("nodeSelector") or {}).items() if labels.get(key) != value]


def expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = expression.get("key", "")
    operator = expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    actual = labels.get(key)
    if operator == "In":
        return actual is not None and actual in values
    if operator == "NotIn":
        return actual is None or actual not in values
    if operator == "Exists":
        return actual is not None
    if operator == "DoesNotExist":
        return actual is None
    if operator in ("Gt", "Lt") and actual is not None and INTEGER.fullmatch(actual):
        return int(actual) > int(values[0]) if operator == "Gt" else int(actual) < int(values[0])
    return False


def _expression_text(expression: Mapping[str, Any]) -> str:
    operator = expression.get("operator")
    values = expression.get("values") or []
    shown = "" if operator in ("Exists", "DoesNotExist") else (
        f" {values[0]}" if operator in ("Gt", "Lt") else f" [{', '.join(str(v) for v in values)}]")
    return f"{expression.get('key', '')} {operator}{shown}"


def _required_terms(spec: Mapping[str, Any]) -> list[Any] | None:
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    return None if required is None else list(required.get("nodeSelectorTerms") or [])


def _term_mismatch(term: Mapping[str, Any] | None, labels: Mapping[str, str]) -> str | None:
    """Why a nodeSelectorTerm does not match (expressions are ANDed), or None when it matches."""
    expressions = (term or {}).get("matchExpressions") or []
    fields = (term or {}).get("matchFields") or []
    if not expressions and not fields:
        return "an empty term matches no node"
    for expression in expressions:
        if not expression_matches(expression, labels):
            return f"{_expression_text(expression)} ({_label_state(labels, expression.get('key', ''))})"
    for expression in fields:
        if expression.get("operator") != "NotIn":  # the template node's name is made up: nothing is In it
            return f"field {_expression_text(expression)} (a node that does not exist yet has no such name)"
    return None


def affinity_rejections(spec: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """Required node affinity: the terms are ORed."""
    terms = _required_terms(spec)
    if terms is None:
        return []
    mismatches = [_term_mismatch(term, labels) for term in terms]
    if any(m is None for m in mismatches):
        return []
    if len(mismatches) == 1:
        return [f"required node affinity does not match: {mismatches[0]}"]
    listed = "; ".join(f"term {i + 1}: {m}" for i, m in enumerate(mismatches))
    return [f"required node affinity: no term matches ({listed})"]


def placement_rejections(spec: Mapping[str, Any], group: GroupTemplate) -> list[str]:
    """Every reason, resources aside, why a pod cannot go on the group's template node."""
    return (node_selector_rejections(spec, group.labels) + affinity_rejections(spec, group.labels)
            + taint_rejections(spec, group.taints))


@dataclass(frozen=True)
class Allocatable:
    """A template node's capacity less the requests of the DaemonSet pods that land on it."""

    capacity: Mapping[str, Fraction]
    daemonset_requests: Mapping[str, Fraction]
    daemonsets: tuple[str, ...]

    def of(self, resource: str) -> Fraction:
        return self.capacity.get(resource, Fraction(0)) - self.daemonset_requests.get(resource, Fraction(0))


def daemonset_pod_specs(manifests: Iterable[Mapping[str, Any]], source: str = "DaemonSet") -> list[Workload]:
    return [w for w in workloads_from_documents(manifests, source) if w.kind == "DaemonSet"]


def allocatable(group: GroupTemplate, daemonsets: Sequence[Workload]) -> Allocatable:
    requests: ResourceList = {}
    names = []
    for daemonset in daemonsets:
        if not placement_rejections(daemonset.pod_spec, group):
            requests = add(requests, {**pod_requests(daemonset.pod_spec), "pods": Fraction(1)})
            names.append(daemonset.name)
    return Allocatable(group.capacity, requests, tuple(names))


def resource_rejections(spec: Mapping[str, Any], room: Allocatable) -> list[str]:
    reasons = []
    for resource, wanted in sorted({**pod_requests(spec), "pods": Fraction(1)}.items()):
        available = room.of(resource)
        if wanted > available:
            reason = (f"insufficient {resource}: requests {format_quantity(resource, wanted)}, "
                      f"allocatable {format_quantity(resource, available)}")
            overhead = room.daemonset_requests.get(resource, Fraction(0))
            if overhead:
                reason += (f" (capacity {format_quantity(resource, room.capacity.get(resource, Fraction(0)))} less "
                           f"{format_quantity(resource, overhead)} for DaemonSets {', '.join(room.daemonsets)})")
            reasons.append(reason)
    return reasons


def rejections(spec: Mapping[str, Any], group: GroupTemplate, room: Allocatable) -> list[str]:
    return placement_rejections(spec, group) + resource_rejections(spec, room)


@dataclass(frozen=True)
class Verdict:
    workload: Workload
    fits: tuple[str, ...]
    rejections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def schedules(self) -> bool:
        return bool(self.fits)


def group_rooms(workloads: Sequence[Workload], groups: Sequence[GroupTemplate],
                daemonsets: Sequence[Workload] = ()) -> dict[str, Allocatable]:
    """Allocatable of each group, less the given DaemonSets and those among `workloads`."""
    every_daemonset = [*daemonsets, *(w for w in workloads if w.kind == "DaemonSet")]
    return {group.name: allocatable(group, every_daemonset) for group in groups}


def evaluate(workloads: Iterable[Workload], groups: Sequence[GroupTemplate],
             daemonsets: Sequence[Workload] = ()) -> list[Verdict]:
    """A verdict per workload pod. DaemonSets among `workloads` count as overhead, not as workloads."""
    workloads = list(workloads)
    rooms = group_rooms(workloads, groups, daemonsets)
    verdicts = []
    for workload in workloads:
        if workload.kind == "DaemonSet":
            continue
        reasons = {group.name: tuple(rejections(workload.pod_spec, group, rooms[group.name])) for group in groups}
        fits = tuple(name for name, why in reasons.items() if not why)
        verdicts.append(Verdict(workload, fits, {name: why for name, why in reasons.items() if why}))
    return verdicts
