"""Real validators over what the program generates: Kubernetes schemas (strict) and an IAM linter.

Mocks prove what we asked for; these prove that Kubernetes and IAM would accept it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import parliament
import pytest
import yaml

from components.versions import SUPPORTED_KUBERNETES_VERSIONS
from tests.harness import ROOT, ProgramRun, run_program, stack_config

OLDEST, NEWEST = SUPPORTED_KUBERNETES_VERSIONS[0], SUPPORTED_KUBERNETES_VERSIONS[-1]
DEV_CONFIG = stack_config(ROOT / "Pulumi.dev.yaml")
STACKS = {
    "dev": DEV_CONFIG,
    f"oldest-{OLDEST}": {**DEV_CONFIG, "eks-gpu-spot:kubernetesVersion": OLDEST},
    f"newest-{NEWEST}": {**DEV_CONFIG, "eks-gpu-spot:kubernetesVersion": NEWEST},
    # Time-slicing adds the device plugin's ConfigMap and a DaemonSet per config; warm nodes their
    # PriorityClass and placeholder Deployment.
    "time-sliced": {**DEV_CONFIG, "eks-gpu-spot:gpuPools": [
        {**pool, "timeSlicingReplicas": 4, "onDemandFallback": True, "warmNodes": 1}
        for pool in DEV_CONFIG["eks-gpu-spot:gpuPools"]]},
}
_runs: dict[str, ProgramRun] = {}


def stack_run(name: str) -> ProgramRun:
    if name not in _runs:
        _runs[name] = run_program(STACKS[name], stack="dev")
    return _runs[name]


def kubernetes_version(name: str) -> str:
    return str(STACKS[name].get("eks-gpu-spot:kubernetesVersion", "1.35"))


def manifest_of(resource_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The object a typed pulumi-kubernetes resource sends to the API server."""
    group_version, kind = resource_type.removeprefix("kubernetes:").rsplit(":", 1)
    api_version = group_version.removeprefix("core/")
    assert inputs["apiVersion"] == api_version and inputs["kind"] == kind, resource_type
    return inputs


@pytest.mark.parametrize("stack", list(STACKS))
def test_every_kubernetes_object_is_valid_for_the_clusters_version(stack: str) -> None:
    run = stack_run(stack)
    objects = run.kubernetes_objects()
    kinds = {o.type.rsplit(":", 1)[1] for o in objects}
    assert {"DaemonSet", "Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
            "PodDisruptionBudget", "ConfigMap"} <= kinds
    for registered in objects:
        manifest = manifest_of(registered.type, registered.inputs)
        try:
            kubernetes_validate.validate(manifest, kubernetes_version(stack), strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{registered.type} {registered.name} is invalid for Kubernetes "
                        f"{kubernetes_version(stack)}: {'.'.join(map(str, error.path))}: {error.message}")


def example_manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted((ROOT / "examples").glob("**/*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and "apiVersion" in document and "kind" in document:
                found.append((path, document))
    return found


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_example_workloads_are_valid(version: str) -> None:
    examples = example_manifests()
    assert len(examples) >= 3
    for path, manifest in examples:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name} {manifest['kind']}: {'.'.join(map(str, error.path))}: {error.message}")


def test_the_schema_check_rejects_an_unknown_field() -> None:
    (_, manifest), *_ = example_manifests()
    broken = json.loads(json.dumps(manifest))
    broken["spec"]["unknownField"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, NEWEST, strict=True)


POLICY_INPUTS = {
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
}
FAILING_ISSUES = {"UNKNOWN_ACTION", "UNKNOWN_PREFIX", "MALFORMED", "MALFORMED_JSON", "EXCEPTION"}
FAILING_SEVERITIES = {"MEDIUM", "HIGH", "CRITICAL"}


def policy_documents(run: ProgramRun) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for registered in run.resources:
        for name in POLICY_INPUTS.get(registered.type, ()):
            if name in registered.inputs:
                document = registered.inputs[name]
                found.append((f"{registered.name}.{name}", name, json.loads(document) if isinstance(document, str) else document))
    return found


def lint_findings(document: dict[str, Any], *, trust_policy: bool) -> list[str]:
    policy = parliament.analyze_policy_string(json.dumps(document))
    failing = []
    for finding in policy.findings:
        finding = parliament.enhance_finding(finding)
        # A trust policy has no Resource by design; parliament reads every document as an identity policy.
        if trust_policy and finding.issue == "MALFORMED" and "neither Resource nor NotResource" in str(finding.detail):
            continue
        if finding.issue in FAILING_ISSUES or finding.severity in FAILING_SEVERITIES:
            failing.append(f"{finding.issue} ({finding.severity}): {finding.detail}")
    return failing


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def test_every_iam_document_passes_the_linter_and_has_no_wildcard_action() -> None:
    run = stack_run("dev")
    documents = policy_documents(run)
    assert sorted(where for where, _, _ in documents) == [
        "cluster-autoscaler-policy.policy",
        "cluster-autoscaler-role.assumeRolePolicy",
        "eks-gpu-spot-dev-secrets-key-use.policy",
        "general-node-role.assumeRolePolicy",
        "gpu-small-node-role.assumeRolePolicy",
        "node-termination-handler-policy.policy",
        "node-termination-handler-queue-policy.policy",
        "node-termination-handler-role.assumeRolePolicy",
    ]
    for where, name, document in documents:
        assert document["Version"] == "2012-10-17", where
        assert lint_findings(document, trust_policy=name == "assumeRolePolicy") == [], where
        for statement in statements(document):
            actions = statement.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                assert "*" not in action, f"{where}: wildcard action {action}"
            assert "NotAction" not in statement, where


def test_the_linter_catches_what_it_should() -> None:
    unknown = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "autoscaling:ScaleEverything",
                                                      "Resource": "*"}]}
    assert any(f.startswith("UNKNOWN_ACTION") for f in lint_findings(unknown, trust_policy=False))
    malformed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage"}]}
    assert any(f.startswith("MALFORMED") for f in lint_findings(malformed, trust_policy=False))
