"""Scale-from-zero preflight: would a workload make the Cluster Autoscaler scale a node group up, and which?

Before anything is deployed, this answers with the facts the autoscaler itself uses for a group at
zero: the template node built from the group's ASG tags and first instance type (labels, taints,
capacity), less the requests of the DaemonSets that would run on it. Each workload pod is checked
against each template with the scheduler rules that the autoscaler simulates:

- `nodeSelector` and required node affinity (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`);
- taints (`NoSchedule`, `NoExecute`; `PreferNoSchedule` never blocks) against tolerations;
- resource requests (limits stand in for absent requests) against allocatable, and one pod slot.

Not simulated: pod (anti-)affinity, topology spread, volumes and zones, and existing nodes with
room, which would take the pod without any scale-up.

Command line (run from the project root):

    python -m components.preflight --stack-output nodegroups.json examples/*.yaml
    python -m components.preflight --stack-config Pulumi.dev.yaml [--region us-east-1] examples/*.yaml

Exit status: 0 when every workload pod fits some group, 1 when one fits none, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import yaml

from .instance_catalog import KNOWN_SHAPES, default_card_enis, max_pods
from .node_template import GPU_RESOURCE, InstanceShape, NodeTemplate, Taint

ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
REGION_LABEL = "topology.kubernetes.io/region"

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
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


class PreflightError(ValueError):
    """Bad input: a manifest, a quantity, a stack output or config the tool cannot use."""


# --- Kubernetes quantities ------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|([numkMGTPE]))?$")
_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "k": Fraction(10**3),
                     "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15),
                     "E": Fraction(10**18)}


def parse_quantity(value: object) -> Fraction:
    """A Kubernetes quantity (`500m`, `16Gi`, `1.5`, `2e3`, `100M`, or a YAML number), exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise PreflightError(f"{value!r} is not a Kubernetes quantity")
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise PreflightError(f"{text!r} is not a Kubernetes quantity (such as 500m, 2, 1.5, 16Gi, 100M or 1e3)")
    sign, number, binary, exponent, decimal = match.groups()
    result = Fraction(number)
    if binary:
        result *= _BINARY_SUFFIXES[binary]
    elif exponent is not None:
        result *= Fraction(10) ** int(exponent)
    elif decimal:
        result *= _DECIMAL_SUFFIXES[decimal]
    return -result if sign == "-" else result


def _is_byte_resource(name: str) -> bool:
    return name in ("memory", "ephemeral-storage") or name.startswith("hugepages-")


def format_quantity(name: str, value: Fraction) -> str:
    """A readable form: `16Gi`, `16320Mi` for byte resources; `4`, `3900m` for the others."""
    if _is_byte_resource(name) and value.denominator == 1 and value:
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = _BINARY_SUFFIXES[suffix]
            if value % unit == 0:
                return f"{value // unit}{suffix}"
    if value.denominator == 1:
        return str(value.numerator)
    milli = value * 1000
    if milli.denominator == 1:
        return f"{milli.numerator}m"
    return str(float(value))


# --- Pods and their requests ----------------------------------------------------------------------

ResourceList = dict[str, Fraction]


def _add(total: ResourceList, more: Mapping[str, Fraction]) -> ResourceList:
    result = dict(total)
    for name, value in more.items():
        result[name] = result.get(name, Fraction(0)) + value
    return result


def _max(first: Mapping[str, Fraction], second: Mapping[str, Fraction]) -> ResourceList:
    return {name: max(first.get(name, Fraction(0)), second.get(name, Fraction(0))) for name in {*first, *second}}


def _parse_resource_list(raw: object, where: str) -> ResourceList:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PreflightError(f"{where} must be a mapping of resource names to quantities")
    result: ResourceList = {}
    for name, value in raw.items():
        try:
            result[str(name)] = parse_quantity(value)
        except PreflightError as error:
            raise PreflightError(f"{where}.{name}: {error}") from None
    return result


def container_requests(container: Mapping[str, Any], where: str = "container") -> ResourceList:
    """A container's requests; a limit stands in for an absent request, as the API server defaults it."""
    resources = container.get("resources") or {}
    requests = _parse_resource_list(resources.get("requests"), f"{where}.resources.requests")
    for name, value in _parse_resource_list(resources.get("limits"), f"{where}.resources.limits").items():
        requests.setdefault(name, value)
    return requests


def pod_requests(spec: Mapping[str, Any]) -> ResourceList:
    """What the scheduler reserves for a pod (Kubernetes' PodRequests rules).

    The sum over containers and sidecars (init containers with `restartPolicy: Always`), or the
    largest single init container (plus the sidecars started before it) when that is more, plus
    `overhead`. Pod-level `resources` (cpu, memory) replace the container sum when set.
    """
    containers = spec.get("containers") or []
    if not isinstance(containers, list) or not containers:
        raise PreflightError("the pod spec has no containers")
    total: ResourceList = {}
    for index, container in enumerate(containers):
        total = _add(total, container_requests(container, f"containers[{index}]"))
    sidecars: ResourceList = {}
    init_peak: ResourceList = {}
    for index, container in enumerate(spec.get("initContainers") or []):
        requests = container_requests(container, f"initContainers[{index}]")
        if container.get("restartPolicy") == "Always":
            total = _add(total, requests)
            sidecars = _add(sidecars, requests)
            running = sidecars
        else:
            running = _add(requests, sidecars)
        init_peak = _max(init_peak, running)
    result = _max(total, init_peak)
    if spec.get("resources"):
        result.update(container_requests(spec, "spec"))
    result = _add(result, _parse_resource_list(spec.get("overhead"), "spec.overhead"))
    return {name: value for name, value in result.items() if value}


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


def workloads_from_documents(documents: Iterable[object], source: str) -> list[Workload]:
    """Pod templates of the documents (List items included); other kinds are ignored."""
    found: list[Workload] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, Mapping):
            raise PreflightError(f"{source}: a document is not a Kubernetes object (a mapping with 'kind')")
        kind = document.get("kind")
        if kind == "List" or (isinstance(kind, str) and kind.endswith("List") and "items" in document):
            found.extend(workloads_from_documents(document.get("items") or [], source))
            continue
        if not isinstance(kind, str) or kind not in POD_SPEC_PATHS:
            continue
        name = str((document.get("metadata") or {}).get("name") or "(unnamed)")
        where = f"{source}: {kind}/{name}"
        spec = _dig(document, POD_SPEC_PATHS[kind], where)
        try:
            _validate_pod_spec(spec, where)
        except (AttributeError, TypeError) as error:
            raise PreflightError(f"{where}: malformed pod spec ({error})") from None
        found.append(Workload(source, kind, name, spec))
    return found


def _read_text(path: str) -> str:
    """A file's text (`-` is standard input), or a PreflightError saying why it cannot be read."""
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise PreflightError(f"{path}: cannot read: {error.strerror or error}") from None


def _read_yaml_documents(path: str) -> list[Any]:
    """The YAML documents of a file, or a PreflightError saying why not."""
    text = _read_text(path)
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise PreflightError(f"{path}: not valid YAML: {error}") from None


def load_manifests(paths: Iterable[str]) -> list[Workload]:
    workloads: list[Workload] = []
    for path in paths:
        workloads.extend(workloads_from_documents(_read_yaml_documents(path), path))
    return workloads


def _validate_pod_spec(spec: Mapping[str, Any], where: str) -> None:
    """Reject what the API server would reject and this tool would otherwise misread."""
    try:
        pod_requests(spec)
    except PreflightError as error:
        raise PreflightError(f"{where}: {error}") from None
    selector = spec.get("nodeSelector") or {}
    if not isinstance(selector, Mapping):
        raise PreflightError(f"{where}: nodeSelector must be a mapping")
    for key, value in selector.items():
        if not isinstance(value, str):
            raise PreflightError(f"{where}: nodeSelector {key}: {value!r} must be a string (quote it: \"{value}\")")
    for toleration in spec.get("tolerations") or []:
        operator = toleration.get("operator") or "Equal"
        if operator not in TOLERATION_OPERATORS:
            raise PreflightError(f"{where}: toleration operator {operator!r} must be Equal or Exists")
    for term in _required_terms(spec) or []:
        for expression in (term or {}).get("matchExpressions") or []:
            operator = expression.get("operator")
            values = expression.get("values") or []
            if operator not in AFFINITY_OPERATORS:
                raise PreflightError(f"{where}: node affinity operator {operator!r} must be one of "
                                     + ", ".join(AFFINITY_OPERATORS))
            if operator in ("Gt", "Lt") and (len(values) != 1 or not re.fullmatch(r"[+-]?\d+", str(values[0]))):
                raise PreflightError(f"{where}: node affinity {operator} needs exactly one integer value, got {values!r}")


# --- Node group templates -------------------------------------------------------------------------

_GRAVITON_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*\.")


def architecture(instance_type: str) -> str:
    """`amd64` or `arm64` (Graviton families carry a `g` after the generation: m7g, c6gn, g5g)."""
    known = KNOWN_SHAPES.get(instance_type)
    if known is not None:
        return known.arch
    return "arm64" if _GRAVITON_FAMILY.match(instance_type) else "amd64"


@dataclass(frozen=True)
class GroupTemplate:
    """The node the autoscaler imagines for a group at zero."""

    name: str
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    capacity: Mapping[str, Fraction]
    instance_type: str = ""

    @property
    def has_gpus(self) -> bool:
        return self.capacity.get(GPU_RESOURCE, Fraction(0)) > 0


def group_template(name: str, template: NodeTemplate, instance_type: str = "", *, arch: str = "",
                   region: str = "") -> GroupTemplate:
    """A group's template node: the tagged labels plus the ones the autoscaler adds on AWS
    (os, arch and instance type of the first type, region), which win over tags as in CA."""
    labels = dict(template.labels)
    labels[OS_LABEL] = "linux"
    if instance_type:
        labels[ARCH_LABEL] = arch or architecture(instance_type)
        labels[INSTANCE_TYPE_LABEL] = instance_type
    if region:
        labels[REGION_LABEL] = region
    capacity = {}
    for resource, quantity in template.capacity.items():
        try:
            capacity[resource] = parse_quantity(quantity)
        except PreflightError as error:
            raise PreflightError(f"node group {name}: capacity {resource}: {error}") from None
    return GroupTemplate(name, labels, tuple(template.taints), capacity, instance_type)


def groups_from_stack_output(data: object) -> list[GroupTemplate]:
    """Templates from `pulumi stack output nodeGroups --json` (or all outputs, `--json`)."""
    if isinstance(data, Mapping) and isinstance(data.get("nodeGroups"), Mapping):
        data = data["nodeGroups"]
    if not isinstance(data, Mapping) or not data:
        raise PreflightError("the stack output must be the 'nodeGroups' object: {pool: {instanceTypes, template}}")
    groups = []
    for name, group in data.items():
        template = group.get("template") if isinstance(group, Mapping) else None
        if not isinstance(template, Mapping):
            raise PreflightError(f"stack output nodeGroups.{name}: missing 'template'")
        try:
            taints = tuple(Taint(str(t["key"]), str(t.get("value") or ""), str(t["effect"]))
                           for t in template.get("taints") or [])
            node_template = NodeTemplate(labels={str(k): str(v) for k, v in (template.get("labels") or {}).items()},
                                         taints=taints,
                                         capacity={str(k): str(v) for k, v in (template.get("capacity") or {}).items()})
        except (KeyError, TypeError, AttributeError) as error:
            raise PreflightError(f"stack output nodeGroups.{name}.template is malformed: {error!r}") from None
        instance_types = group.get("instanceTypes") or []
        groups.append(group_template(str(name), node_template, str(instance_types[0]) if instance_types else ""))
    return groups


# --- Instance shapes (for templates computed from stack config) ------------------------------------

@dataclass(frozen=True)
class ShapeLookup:
    shapes: Mapping[str, InstanceShape]
    architectures: Mapping[str, str]
    source: str


def builtin_shapes(instance_types: Iterable[str], reason: str = "") -> ShapeLookup:
    types = list(dict.fromkeys(instance_types))
    unknown = [t for t in types if t not in KNOWN_SHAPES]
    if unknown:
        raise PreflightError(
            f"instance type(s) {', '.join(unknown)} are not in the built-in table (components/instance_catalog.py)"
            f"{' and ' + reason if reason else ''}; run with AWS credentials (and boto3) to read them from EC2, "
            f"or use one of: {', '.join(sorted(KNOWN_SHAPES))}")
    source = "built-in table (components/instance_catalog.py)" + (f"; {reason}" if reason else "")
    return ShapeLookup({t: KNOWN_SHAPES[t].instance_shape(t) for t in types},
                       {t: KNOWN_SHAPES[t].arch for t in types}, source)


def aws_shapes(instance_types: Iterable[str], region: str) -> ShapeLookup:
    """Shapes from `ec2:DescribeInstanceTypes`; raises PreflightError when that is impossible."""
    try:
        boto3 = importlib.import_module("boto3")
    except ImportError:
        raise PreflightError("boto3 is not installed") from None
    session = boto3.session.Session(region_name=region or None)
    if session.get_credentials() is None:
        raise PreflightError("no AWS credentials found")
    types = list(dict.fromkeys(instance_types))
    try:
        client = session.client("ec2")
        pages = client.get_paginator("describe_instance_types").paginate(InstanceTypes=types)
        described = [item for page in pages for item in page["InstanceTypes"]]
    except Exception as error:  # noqa: BLE001 botocore's errors are many; all mean "no answer"
        raise PreflightError(f"ec2:DescribeInstanceTypes failed: {error}") from None
    shapes: dict[str, InstanceShape] = {}
    archs: dict[str, str] = {}
    for item in described:
        name = item["InstanceType"]
        vcpus = item["VCpuInfo"]["DefaultVCpus"]
        gpus = item.get("GpuInfo", {}).get("Gpus", [])
        network = item["NetworkInfo"]
        card_enis = default_card_enis(
            ((card["NetworkCardIndex"], card["MaximumNetworkInterfaces"]) for card in network.get("NetworkCards", [])),
            network.get("DefaultNetworkCardIndex", 0), network["MaximumNetworkInterfaces"])
        supported = item.get("ProcessorInfo", {}).get("SupportedArchitectures", ["x86_64"])
        archs[name] = "arm64" if "arm64" in supported else "amd64"
        shapes[name] = InstanceShape(
            instance_type=name, vcpus=vcpus, memory_mib=item["MemoryInfo"]["SizeInMiB"],
            gpu_count=sum(g.get("Count", 0) for g in gpus),
            gpu_model=gpus[0].get("Name", "") if gpus else "",
            gpu_manufacturer=gpus[0].get("Manufacturer", "") if gpus else "",
            max_pods=max_pods(card_enis, network["Ipv4AddressesPerInterface"]),
            default_card_enis=card_enis,
            ipv4_per_eni=network["Ipv4AddressesPerInterface"],
            gpu_memory_mib=gpus[0].get("MemoryInfo", {}).get("SizeInMiB", 0) if gpus else 0,
            architecture=archs[name],
        )
    missing = [t for t in types if t not in shapes]
    if missing:
        raise PreflightError(f"EC2 does not describe instance type(s) {', '.join(missing)} in {region}")
    return ShapeLookup(shapes, archs, f"AWS ec2:DescribeInstanceTypes in {region}")


def instance_shapes(instance_types: Iterable[str], region: str, source: str = "auto") -> ShapeLookup:
    """`aws`: EC2 only; `builtin`: the table only; `auto`: EC2 when credentials exist, else the table."""
    types = list(instance_types)
    if source == "builtin":
        return builtin_shapes(types, "chosen with --instance-shapes builtin")
    try:
        return aws_shapes(types, region)
    except PreflightError as error:
        if source == "aws":
            raise
        return builtin_shapes(types, f"AWS not used: {error}")


@dataclass(frozen=True)
class StackTemplates:
    groups: list[GroupTemplate]
    source: str
    shapes_source: str = ""
    device_plugin_enabled: bool = True
    device_plugin_image: str = ""


def groups_from_stack_config(path: str | Path, region: str = "", shape_source: str = "auto") -> StackTemplates:
    """Templates computed from a `Pulumi.<stack>.yaml` by the code that writes the ASG tags."""
    try:
        config = importlib.import_module("config")  # project-local, not part of the components library
    except ImportError:
        raise PreflightError("--stack-config needs the project's config/ package: run from the eks-gpu-spot "
                             "project root, or use --stack-output") from None
    from .pool_spec import build_node_template

    path = Path(path)
    documents = _read_yaml_documents(str(path))
    if len(documents) > 1:
        raise PreflightError(f"{path}: not valid YAML: a stack file holds one document, not {len(documents)}")
    document = documents[0] if documents else None
    raw = (document or {}).get("config") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping):
        raise PreflightError(f"{path}: has no 'config:' mapping")
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    stack = match[1] if match else path.stem
    project = config.PROJECT
    project_file = path.parent / "Pulumi.yaml"
    if project_file.exists():
        project = (yaml.safe_load(project_file.read_text()) or {}).get("name") or project
    strings = config.config_strings(raw)
    region = region or strings.get("aws:region", "")
    try:
        settings = config.parse_settings(strings, project=project, stack=stack, region=region)
        lookup = instance_shapes((t for pool in settings.pools for t in pool.instance_types), region, shape_source)
        config.check_instance_shapes(settings, lookup.shapes)
    except config.ConfigError as error:
        raise PreflightError(f"{path}: {error}") from None
    groups = []
    for pool in settings.pools:
        first = pool.instance_types[0]
        template = build_node_template(pool, [lookup.shapes[t] for t in pool.instance_types])
        groups.append(group_template(pool.name, template, first, arch=lookup.architectures[first], region=region))
    return StackTemplates(groups, f"computed from the config in {path}", lookup.source,
                          settings.device_plugin.enabled, settings.device_plugin.image)


# --- The scheduler rules ---------------------------------------------------------------------------

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


def _taint_text(taint: Taint) -> str:
    return f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"


def taint_rejections(spec: Mapping[str, Any], taints: Iterable[Taint]) -> list[str]:
    tolerations = spec.get("tolerations") or []
    return [f"untolerated taint {_taint_text(taint)}" for taint in taints
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
    if operator in ("Gt", "Lt") and actual is not None and re.fullmatch(r"[+-]?\d+", actual):
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
            requests = _add(requests, {**pod_requests(daemonset.pod_spec), "pods": Fraction(1)})
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


# --- The project's own DaemonSets ------------------------------------------------------------------

def project_daemonsets(groups: Sequence[GroupTemplate], image: str) -> list[dict[str, Any]]:
    """The DaemonSets this project deploys on node groups: the NVIDIA device plugin, which
    tolerates the taints of the GPU groups."""
    try:
        module = importlib.import_module(f"{__package__}.addons.device_plugin")
    except ImportError as error:
        raise PreflightError(
            "cannot build the project's NVIDIA device plugin DaemonSet (components/addons/device_plugin.py): "
            f"{error}; pass --no-device-plugin to check without its overhead") from None
    tolerations = list(dict.fromkeys(t for g in groups if g.has_gpus for t in g.taints))
    return [module.device_plugin_daemonset_manifest(image, tolerations)]


# --- Report and command line -----------------------------------------------------------------------

def report(verdicts: Sequence[Verdict], out: TextIO) -> None:
    for verdict in verdicts:
        head = f"{verdict.workload.source}: {verdict.workload.title}"
        if len(verdict.fits) == 1:
            print(f"{head}: would scale up {verdict.fits[0]}", file=out)
        elif verdict.fits:
            print(f"{head}: would scale up one of {', '.join(verdict.fits)} (the expander picks among them)",
                  file=out)
        else:
            print(f"{head}: NEVER SCHEDULES, no group fits:", file=out)
            for group, reasons in verdict.rejections.items():
                for reason in reasons:
                    print(f"  {group}: {reason}", file=out)
    stuck = sum(1 for v in verdicts if not v.schedules)
    summary = (f"{stuck} of {len(verdicts)} workload(s) would stay Pending forever." if stuck
               else f"All {len(verdicts)} workload(s) fit a node group.")
    print(summary, file=out)


def _describe_groups(groups: Sequence[GroupTemplate], rooms: Mapping[str, Allocatable]) -> Iterator[str]:
    for group in groups:
        room = rooms[group.name]
        shown = ", ".join(f"{name} {format_quantity(name, room.of(name))}"
                          for name in ("cpu", "memory", GPU_RESOURCE, "pods") if name in group.capacity)
        taints = ", ".join(_taint_text(t) for t in group.taints) or "none"
        less = f" (after DaemonSets {', '.join(room.daemonsets)})" if room.daemonsets else ""
        yield f"  {group.name} ({group.instance_type or 'type unknown'}): taints {taints}; allocatable {shown}{less}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.preflight",
        description="Would these workloads make the Cluster Autoscaler scale a node group up from zero, and which?")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack-output", metavar="FILE",
                        help="JSON of `pulumi stack output nodeGroups --json` of a deployed stack ('-': stdin)")
    source.add_argument("--stack-config", metavar="FILE",
                        help="a Pulumi.<stack>.yaml: compute the templates from its config")
    parser.add_argument("--region", default="", help="AWS region (default: aws:region of the stack config)")
    parser.add_argument("--instance-shapes", choices=("auto", "aws", "builtin"), default="auto",
                        help="with --stack-config: read shapes from EC2 (aws), the built-in table (builtin), "
                             "or EC2 when credentials exist (auto, the default)")
    parser.add_argument("--no-device-plugin", action="store_true",
                        help="do not count the project's NVIDIA device plugin DaemonSet")
    parser.add_argument("--device-plugin-image", default="",
                        help="device plugin image (default: the stack config's; does not change scheduling)")
    parser.add_argument("manifests", nargs="+", metavar="MANIFEST",
                        help="Kubernetes YAML files (multi-document; DaemonSets in them count as overhead)")
    return parser


PLACEHOLDER_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:preflight"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdout: TextIO = out or sys.stdout
    stderr: TextIO = err or sys.stderr
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code in (0, None) else 2
    try:
        if args.stack_output:
            text = _read_text(args.stack_output)
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                raise PreflightError(f"{args.stack_output}: not JSON: {error}") from None
            templates = StackTemplates(groups_from_stack_output(data), f"from the stack output {args.stack_output}")
        else:
            templates = groups_from_stack_config(args.stack_config, args.region, args.instance_shapes)
        daemonset_manifests: list[dict[str, Any]] = []
        if templates.device_plugin_enabled and not args.no_device_plugin:
            image = args.device_plugin_image or templates.device_plugin_image or PLACEHOLDER_DEVICE_PLUGIN_IMAGE
            daemonset_manifests = project_daemonsets(templates.groups, image)
        daemonsets = daemonset_pod_specs(daemonset_manifests, "project")
        workloads = load_manifests(args.manifests)
        if not any(w.kind != "DaemonSet" for w in workloads):
            raise PreflightError("no workload (Pod, Deployment, StatefulSet, ReplicaSet, Job, CronJob) in "
                                 + ", ".join(args.manifests))
        verdicts = evaluate(workloads, templates.groups, daemonsets)
    except PreflightError as error:
        print(f"preflight: error: {error}", file=stderr)
        return 2
    rooms = group_rooms(workloads, templates.groups, daemonsets)
    print(f"Node group templates {templates.source}", file=stdout)
    if templates.shapes_source:
        print(f"Instance shapes: {templates.shapes_source}", file=stdout)
    for line in _describe_groups(templates.groups, rooms):
        print(line, file=stdout)
    print(file=stdout)
    report(verdicts, stdout)
    return 0 if all(v.schedules for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
