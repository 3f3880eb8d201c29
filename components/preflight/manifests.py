"""Workloads out of Kubernetes manifests: the pod template of each Pod, Deployment, Job... checked for
what the API server would reject, and a note for every document that is not a workload."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import PreflightError
from .inputs import read_yaml_documents
from .requests import check_pod_resources

# Kinds whose pod template is a workload, with the path to the pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
}
AFFINITY_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
TOLERATION_OPERATORS = ("Equal", "Exists")
INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Workload:
    """One pod template (or bare pod) of a manifest."""

    source: str
    kind: str
    name: str
    pod_spec: Mapping[str, Any]

    @property
    def title(self) -> str:
        return f"{self.kind}/{self.name}"


def _dig(document: Mapping[str, Any], path: Sequence[str], where: str) -> Mapping[str, Any]:
    node: object = document
    for step in path:
        if not isinstance(node, Mapping) or not isinstance(node.get(step), Mapping):
            raise PreflightError(f"{where}: missing {'.'.join(path)}")
        node = node[step]
    assert isinstance(node, Mapping)
    return node


def _title(document: Mapping[str, Any], kind: str) -> str:
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return f"{kind}/{name or '(unnamed)'}"


def workloads_from_documents(documents: Iterable[object], source: str, ignored: list[str] | None = None,
                             *, _item_of: str = "") -> list[Workload]:
    """Pod templates of the documents (List items included). Each other document is named in
    `ignored` (when given): a kind that is not a workload, or a document without a kind."""
    notes = ignored if ignored is not None else []
    found: list[Workload] = []
    for number, document in enumerate(documents, start=1):
        position = f"{_item_of} item {number}" if _item_of else f"document {number}"
        if document is None:
            continue  # an empty document, such as after a trailing `---`
        if not isinstance(document, Mapping):
            raise PreflightError(f"{source}: {position} is not a Kubernetes object (a mapping with 'kind'), "
                                 f"but {type(document).__name__} {str(document)[:40]!r}")
        kind = document.get("kind")
        if not isinstance(kind, str) or not kind:
            notes.append(f"{source}: {position} has no kind, ignored")
            continue
        if kind == "List" or (kind.endswith("List") and "items" in document):
            items = document.get("items") or []
            if not isinstance(items, list):
                raise PreflightError(f"{source}: {position} ({kind}): items must be a list")
            found.extend(workloads_from_documents(items, source, notes, _item_of=position))
            continue
        title = _title(document, kind)
        if kind not in POD_SPEC_PATHS:
            notes.append(f"{source}: {title}: not a workload, ignored")
            continue
        where = f"{source}: {title}"
        path = POD_SPEC_PATHS[kind]
        spec = _dig(document, path, where)
        check_pod_spec(spec, where, ".".join(path))
        found.append(Workload(source, kind, title.split("/", 1)[1], spec))
    return found


def load_manifests(paths: Iterable[str], ignored: list[str] | None = None) -> list[Workload]:
    workloads: list[Workload] = []
    for path in paths:
        workloads.extend(workloads_from_documents(read_yaml_documents(path), path, ignored))
    return workloads


# --- The pod spec's shape and what the API server would reject ------------------------------------

def _expect(value: object, kind: type | tuple[type, ...], where: str, what: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise PreflightError(f"{where} must be {what}, not {type(value).__name__} {str(value)[:40]!r}")


def _mappings(value: object, where: str) -> list[Mapping[str, Any]]:
    """A list of mappings (or nothing), or a PreflightError naming the field."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PreflightError(f"{where} must be a list, not {type(value).__name__} {str(value)[:40]!r}")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise PreflightError(f"{where}[{index}] must be a mapping, not {type(item).__name__} {str(item)[:40]!r}")
    return value


def _check_containers(spec: Mapping[str, Any], where: str) -> None:
    containers = _mappings(spec.get("containers"), f"{where}.containers")
    if not containers:
        raise PreflightError(f"{where}.containers: Required value: the pod spec has no containers")
    holders = [(f"{where}.containers[{i}]", c) for i, c in enumerate(containers)]
    holders += [(f"{where}.initContainers[{i}]", c)
                for i, c in enumerate(_mappings(spec.get("initContainers"), f"{where}.initContainers"))]
    holders.append((where, spec))  # pod-level resources
    for path, holder in holders:
        resources = holder.get("resources")
        _expect(resources, Mapping, f"{path}.resources", "a mapping with requests and limits")
        for field in ("requests", "limits"):
            _expect((resources or {}).get(field), Mapping, f"{path}.resources.{field}",
                    "a mapping of resource names to quantities")
    _expect(spec.get("overhead"), Mapping, f"{where}.overhead", "a mapping of resource names to quantities")


def _check_placement(spec: Mapping[str, Any], where: str) -> None:
    selector = spec.get("nodeSelector")
    _expect(selector, Mapping, f"{where}.nodeSelector", "a mapping of labels to values")
    for key, value in (selector or {}).items():
        if not isinstance(value, str):
            raise PreflightError(f"{where}.nodeSelector[{key}]: {value!r} must be a string (quote it: \"{value}\")")
    for index, toleration in enumerate(_mappings(spec.get("tolerations"), f"{where}.tolerations")):
        path = f"{where}.tolerations[{index}]"
        for field in ("key", "value", "effect", "operator"):
            _expect(toleration.get(field), str, f"{path}.{field}", "a string")
        operator = toleration.get("operator") or "Equal"
        if operator not in TOLERATION_OPERATORS:
            raise PreflightError(f"{path}: toleration operator {operator!r} must be Equal or Exists")
    affinity = spec.get("affinity")
    _expect(affinity, Mapping, f"{where}.affinity", "a mapping")
    node_affinity = (affinity or {}).get("nodeAffinity")
    _expect(node_affinity, Mapping, f"{where}.affinity.nodeAffinity", "a mapping")
    path = f"{where}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    required = (node_affinity or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    _expect(required, Mapping, path, "a mapping with nodeSelectorTerms")
    for t, term in enumerate(_mappings((required or {}).get("nodeSelectorTerms"), f"{path}.nodeSelectorTerms")):
        for field in ("matchExpressions", "matchFields"):
            for e, expression in enumerate(_mappings(term.get(field), f"{path}.nodeSelectorTerms[{t}].{field}")):
                _check_expression(expression, f"{path}.nodeSelectorTerms[{t}].{field}[{e}]")


def _check_expression(expression: Mapping[str, Any], where: str) -> None:
    _expect(expression.get("key"), str, f"{where}.key", "a string")
    if not expression.get("key"):  # the API server refuses an empty key (ValidateNodeSelectorRequirement)
        raise PreflightError(f"{where}.key: Required value: a requirement needs a key")
    operator = expression.get("operator")
    values = expression.get("values")
    _expect(values, list, f"{where}.values", "a list of strings")
    values = values or []
    if operator not in AFFINITY_OPERATORS:
        raise PreflightError(f"{where}: node affinity operator {operator!r} must be one of "
                             + ", ".join(AFFINITY_OPERATORS))
    if operator in ("Gt", "Lt") and (len(values) != 1 or not INTEGER.fullmatch(str(values[0]))):
        raise PreflightError(f"{where}: node affinity {operator} needs exactly one integer value, got {values!r}")


def check_pod_spec(spec: Mapping[str, Any], where: str, path: str = "spec") -> None:
    """Reject what the API server would reject and this tool would otherwise misread.

    `path` is where the pod spec sits in the document (`spec.template.spec` for a Deployment), so
    messages name fields as `kubectl apply` would.
    """
    try:
        _check_containers(spec, path)
        _check_placement(spec, path)
        check_pod_resources(spec, path)
    except PreflightError as error:
        raise PreflightError(f"{where}: {error}") from None
