"""What a pod requests, and the resource rules of the API server, each both ways."""

from __future__ import annotations

from fractions import Fraction

from components.preflight import (
    pod_requests,
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
