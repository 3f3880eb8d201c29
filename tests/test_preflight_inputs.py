"""Manifests and input files: workloads out of documents, notes for the rest, encodings, unreadable files."""

from __future__ import annotations

import pytest

from components.preflight import (
    PreflightError,
    workloads_from_documents,
)
from tests.preflight_helpers import (
    container,
)

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
    with pytest.raises(PreflightError, match="spec.containers\\[0\\].resources.limits\\[cpu\\]: 'lots'"):
        workloads_from_documents([{"kind": "Pod", "metadata": {"name": "p"},
                                   "spec": {"containers": [container(limits={"cpu": "lots"})]}}], "x.yaml")
