"""What a pod requests, and the resource rules of the API server, each both ways."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import pytest

from components.preflight import (
    PreflightError,
    pod_requests,
    pod_resource_problems,
    workloads_from_documents,
)
from tests.preflight_helpers import (
    container,
)


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


# --- what the API server rejects (pkg/apis/core/validation/validation.go), each rule both ways --------

def spec_of(*containers: Mapping[str, Any], **spec: Any) -> dict[str, Any]:
    return {"containers": list(containers), **spec}


GPU = "nvidia.com/gpu"


@pytest.mark.parametrize("resources", [
    {"limits": {GPU: 1}},  # the request defaults to the limit
    {"limits": {GPU: "2"}, "requests": {GPU: 2}},  # a request equal to the limit, written differently
    {"limits": {GPU: "1000m"}},  # a whole number, however written
    {"limits": {GPU: 0}},
    {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2"}},  # cpu and memory may be overcommitted
    {"requests": {"hugepages-2Mi": "4Mi", "memory": "1Gi"}, "limits": {"hugepages-2Mi": "4Mi"}},
])
def test_resources_the_api_server_accepts(resources: dict[str, Any]) -> None:
    assert pod_resource_problems(spec_of({"name": "c", "resources": resources})) == []
    workloads_from_documents([{"kind": "Pod", "metadata": {"name": "p"},
                               "spec": spec_of({"name": "c", "resources": resources})}], "ok.yaml")


@pytest.mark.parametrize(("resources", "problem"), [
    ({"limits": {GPU: "0.5"}},
     'spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "0.5": must be an integer'),
    ({"limits": {GPU: "500m"}},
     'spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "500m": must be an integer'),
    ({"requests": {GPU: 1}},
     "spec.containers[0].resources.limits[nvidia.com/gpu]: Required value: "
     "Limit must be set for non overcommitable resources"),
    ({"requests": {GPU: 1}, "limits": {GPU: 2}},
     'spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: "1": '
     "must be equal to nvidia.com/gpu limit of 2"),
    ({"requests": {"cpu": "-1"}},
     'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0'),
    ({"limits": {"memory": "-1Gi"}},
     'spec.containers[0].resources.limits[memory]: Invalid value: "-1Gi": must be greater than or equal to 0'),
    ({"limits": {GPU: -1}},
     'spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "-1": must be greater than or equal to 0'),
    ({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
     'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1'),
    ({"requests": {"hugepages-2Mi": "2Mi", "memory": "1Gi"}},
     "spec.containers[0].resources.limits[hugepages-2Mi]: Required value: "
     "Limit must be set for non overcommitable resources"),
    ({"requests": {1: 1}}, 'spec.containers[0].resources.requests[1]: Invalid value: "1": '
                           "must be a standard resource for containers"),
    ({"limits": {"gpu": 1}},
     'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers'),
])
def test_resources_the_api_server_rejects_are_bad_input_with_its_reason(resources: dict[str, Any],
                                                                        problem: str) -> None:
    spec = spec_of({"name": "c", "resources": resources})
    assert pod_resource_problems(spec) == [problem]
    with pytest.raises(PreflightError) as raised:
        workloads_from_documents([{"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}], "bad.yaml")
    assert str(raised.value) == f"bad.yaml: Pod/p: the API server would reject this pod: {problem}"


def test_init_containers_overhead_and_pod_level_resources_are_checked_too() -> None:
    spec = spec_of(container({"cpu": "1"}),
                   initContainers=[container(limits={GPU: "1.5"})],
                   overhead={"cpu": "-100m"},
                   resources={"limits": {GPU: 1}})
    assert pod_resource_problems(spec, "spec.template.spec") == [
        'spec.template.spec.initContainers[0].resources.limits[nvidia.com/gpu]: Invalid value: "1.5": '
        "must be an integer",
        'spec.template.spec.resources.limits[nvidia.com/gpu]: Unsupported value: "nvidia.com/gpu": '
        'supported values: "cpu", "memory", "hugepages-"',
        'spec.template.spec.overhead[cpu]: Invalid value: "-100m": must be greater than or equal to 0',
    ]


def test_every_problem_of_a_pod_is_named_with_the_path_in_its_document() -> None:
    deployment = {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec_of(
        container({GPU: 1, "cpu": "-1"}, {GPU: "0.5"}))}}}
    with pytest.raises(PreflightError) as raised:
        workloads_from_documents([deployment], "d.yaml")
    where = "spec.template.spec.containers[0].resources"
    assert str(raised.value) == (
        "d.yaml: Deployment/d: the API server would reject this pod:\n"
        f'  {where}.limits[nvidia.com/gpu]: Invalid value: "0.5": must be an integer\n'
        f'  {where}.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0\n'
        f'  {where}.requests[nvidia.com/gpu]: Invalid value: "1": must be equal to nvidia.com/gpu limit of 0.5')
