"""Shared helpers of the add-on tests: one recorded run per config, and lookups into it."""

from __future__ import annotations

import json
from typing import Any

from tests.harness import ROOT, ProgramRun, Registered, run_program, stack_config

DEV_CONFIG = stack_config(ROOT / "Pulumi.dev.yaml")
CLUSTER = "eks-gpu-spot-dev"
DEV_ASGS = (
    "eks-gpu-spot-dev-general",
    "eks-gpu-spot-dev-gpu-small-us-east-1a",
    "eks-gpu-spot-dev-gpu-small-us-east-1b",
    "eks-gpu-spot-dev-gpu-small-us-east-1c",
)
COMPONENTS = {
    "device plugin": "eks-gpu-spot:addons:NvidiaDevicePlugin",
    "cluster autoscaler": "eks-gpu-spot:addons:ClusterAutoscaler",
    "termination handler": "eks-gpu-spot:addons:NodeTerminationHandler",
}
_runs: dict[str, ProgramRun] = {}


def dev_run(**overrides: Any) -> ProgramRun:
    """The dev stack under mocks, with top-level config keys replaced (cached per config)."""
    config = {**DEV_CONFIG, **{f"eks-gpu-spot:{k}": v for k, v in overrides.items()}}
    key = json.dumps(config, sort_keys=True)
    if key not in _runs:
        _runs[key] = run_program(config, stack="dev")
    return _runs[key]


def component(run: ProgramRun, kind: str) -> Registered:
    return run.one(COMPONENTS[kind])


def k8s_child(run: ProgramRun, kind: str, k8s_kind: str) -> Registered:
    found = [r for r in run.descendants_of(component(run, kind)) if r.type.startswith("kubernetes:") and r.type.endswith(f":{k8s_kind}")]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def child(run: ProgramRun, kind: str, resource_type: str) -> Registered:
    found = [r for r in run.descendants_of(component(run, kind)) if r.type == resource_type]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def pod_spec(deployment: Registered) -> dict[str, Any]:
    return deployment.inputs["spec"]["template"]["spec"]


def document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def cluster_provider_ref(run: ProgramRun) -> str:
    provider = run.one("pulumi:providers:kubernetes")
    return f"{provider.urn}::{provider.name}-id"
