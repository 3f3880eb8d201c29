"""What a pod asks for: its requests as the scheduler counts them, and the resource rules the API server enforces.

Requests follow Kubernetes' PodRequests (k8s.io/component-helpers resource helpers); the checks follow
kubernetes/kubernetes `pkg/apis/core/validation/validation.go` (ValidateResourceRequirements,
ValidateResourceQuantityValue, validateContainerResourceName) with its wording, so a pod the API server
would reject is bad input here, not a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .errors import PreflightError
from .quantities import (
    HUGEPAGES_PREFIX,
    container_resource_name_problem,
    is_extended_resource_name,
    is_hugepages,
    overcommit_allowed,
    parse_quantity,
)

ResourceList = dict[str, Fraction]

# Pod-level `resources` accept only these (validatePodResourceName).
POD_LEVEL_RESOURCES = ("cpu", "memory")


def add(total: Mapping[str, Fraction], more: Mapping[str, Fraction]) -> ResourceList:
    result = dict(total)
    for name, value in more.items():
        result[name] = result.get(name, Fraction(0)) + value
    return result


def maximum(first: Mapping[str, Fraction], second: Mapping[str, Fraction]) -> ResourceList:
    return {name: max(first.get(name, Fraction(0)), second.get(name, Fraction(0))) for name in {*first, *second}}


def parse_resource_list(raw: object, where: str) -> ResourceList:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PreflightError(f"{where} must be a mapping of resource names to quantities")
    result: ResourceList = {}
    for name, value in raw.items():
        try:
            result[str(name)] = parse_quantity(value)
        except PreflightError as error:
            raise PreflightError(f"{where}[{name}]: {error}") from None
    return result


def _resources(holder: Mapping[str, Any]) -> Mapping[str, Any]:
    resources = holder.get("resources") or {}
    if not isinstance(resources, Mapping):
        raise PreflightError("resources must be a mapping with requests and limits")
    return resources


def container_requests(container: Mapping[str, Any], where: str = "container") -> ResourceList:
    """A container's requests; a limit stands in for an absent request, as the API server defaults it."""
    resources = _resources(container)
    requests = parse_resource_list(resources.get("requests"), f"{where}.resources.requests")
    for name, value in parse_resource_list(resources.get("limits"), f"{where}.resources.limits").items():
        requests.setdefault(name, value)
    return requests


def _containers(spec: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    return list(spec.get(field) or [])


def pod_requests(spec: Mapping[str, Any]) -> ResourceList:
    """What the scheduler reserves for a pod (Kubernetes' PodRequests rules).

    The sum over containers and sidecars (init containers with `restartPolicy: Always`), or the
    largest single init container (plus the sidecars started before it) when that is more, plus
    `overhead`. Pod-level `resources` (cpu, memory) replace the container sum when set.
    """
    containers = _containers(spec, "containers")
    if not containers:
        raise PreflightError("the pod spec has no containers")
    total: ResourceList = {}
    for index, container in enumerate(containers):
        total = add(total, container_requests(container, f"containers[{index}]"))
    sidecars: ResourceList = {}
    init_peak: ResourceList = {}
    for index, container in enumerate(_containers(spec, "initContainers")):
        requests = container_requests(container, f"initContainers[{index}]")
        if container.get("restartPolicy") == "Always":
            total = add(total, requests)
            sidecars = add(sidecars, requests)
            running = sidecars
        else:
            running = add(requests, sidecars)
        init_peak = maximum(init_peak, running)
    result = maximum(total, init_peak)
    if spec.get("resources"):
        result.update(container_requests(spec, "spec"))
    result = add(result, parse_resource_list(spec.get("overhead"), "spec.overhead"))
    return {name: value for name, value in result.items() if value}


def extended_resources_requested(spec: Mapping[str, Any]) -> list[str]:
    """The extended resources the containers and init containers request (limits included: the API
    server defaults a missing request to the limit before admission), sorted."""
    names = {name for field in ("containers", "initContainers") for container in _containers(spec, field)
             for name in container_requests(container) if is_extended_resource_name(name)}
    return sorted(names)


# --- What the API server rejects ------------------------------------------------------------------

def _invalid(where: str, raw: object, message: str) -> str:
    return f'{where}: Invalid value: "{raw}": {message}'


def _quantity_problems(where: str, name: str, raw: object, value: Fraction) -> list[str]:
    problems = []
    if value < 0:
        problems.append(_invalid(where, raw, "must be greater than or equal to 0"))
    if is_extended_resource_name(name) and value.denominator != 1:
        problems.append(_invalid(where, raw, "must be an integer"))
    return problems


def _list_problems(raw: Mapping[str, Any], where: str, *, pod_level: bool = False) -> list[str]:
    problems = []
    for name, quantity in raw.items():
        path = f"{where}[{name}]"
        name = str(name)
        if pod_level and name not in POD_LEVEL_RESOURCES and not is_hugepages(name):
            problems.append(f'{path}: Unsupported value: "{name}": supported values: "cpu", "memory", '
                            f'"{HUGEPAGES_PREFIX}"')
            continue
        name_problem = container_resource_name_problem(name)
        if name_problem:
            problems.append(_invalid(path, name, name_problem))
            continue
        problems.extend(_quantity_problems(path, name, quantity, parse_quantity(quantity)))
    return problems


def resource_requirement_problems(resources: Mapping[str, Any], where: str, *, pod_level: bool = False) -> list[str]:
    """Why the API server rejects a `resources` block (ValidateResourceRequirements), in its words.

    Every quantity is non-negative; an extended resource (such as `nvidia.com/gpu`) is a whole number,
    cannot be overcommitted so it needs a limit, and a request, if given, equals the limit. Other
    requests are at most their limit.
    """
    # Keyed by text: YAML may give a number as a resource name, which then fails the name rules.
    limits_raw = {str(name): value for name, value in (resources.get("limits") or {}).items()}
    requests_raw = {str(name): value for name, value in (resources.get("requests") or {}).items()}
    limits = parse_resource_list(limits_raw, f"{where}.limits")
    requests = parse_resource_list(requests_raw, f"{where}.requests")
    problems = _list_problems(limits_raw, f"{where}.limits", pod_level=pod_level)
    problems += _list_problems(requests_raw, f"{where}.requests", pod_level=pod_level)
    for name, value in requests.items():
        raw = requests_raw[name]
        if name in limits:
            limit = limits_raw[name]
            if value != limits[name] and not overcommit_allowed(name):
                problems.append(_invalid(f"{where}.requests[{name}]", raw, f"must be equal to {name} limit of {limit}"))
            elif value > limits[name]:
                problems.append(_invalid(f"{where}.requests[{name}]", raw,
                                         f"must be less than or equal to {name} limit of {limit}"))
        elif not overcommit_allowed(name):
            problems.append(f"{where}.limits[{name}]: Required value: Limit must be set for non overcommitable "
                            "resources")
    return problems


def pod_resource_problems(spec: Mapping[str, Any], where: str = "spec") -> list[str]:
    """Every resource problem of a pod spec: its containers, init containers, pod-level resources, overhead."""
    problems: list[str] = []
    for field in ("containers", "initContainers"):
        for index, container in enumerate(_containers(spec, field)):
            problems += resource_requirement_problems(_resources(container), f"{where}.{field}[{index}].resources")
    if spec.get("resources"):
        problems += resource_requirement_problems(_resources(spec), f"{where}.resources", pod_level=True)
    overhead = spec.get("overhead") or {}
    problems += _list_problems(overhead, f"{where}.overhead")
    return problems


def check_pod_resources(spec: Mapping[str, Any], where: str = "spec") -> None:
    """Raise the API server's reasons to reject the pod's resources, all of them, or return."""
    problems = pod_resource_problems(spec, where)
    if problems:
        raise PreflightError("the API server would reject this pod: " + problems[0] if len(problems) == 1 else
                             "the API server would reject this pod:" + "".join(f"\n  {p}" for p in problems))
