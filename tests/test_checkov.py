"""checkov, an independent IaC scanner, over every Kubernetes object the program registers.

Each stack (dev, prod) is run under mocks, its Kubernetes objects are written as YAML files and
scanned by one checkov run (`--framework kubernetes`). Any finding not in `BY_DESIGN` fails, and so
does a `BY_DESIGN` entry no stack needs any more. checkov lives in its own virtualenv
(requirements-checkov.txt; `make test` creates it and passes its path in `CHECKOV`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT, ProgramRun, run_program, stack_config

STACKS = ("dev", "prod", "dev-time-sliced")
# The dev stack with its GPU pool shared 4 ways, an On-Demand fallback and a warm node: the time-sliced
# DaemonSet, the ConfigMap of the device plugin's configs and the warm-node placeholders get scanned too.
TIME_SLICED = "dev-time-sliced"
# No download of Prisma Cloud guidelines, no PyPI version check: the scan runs offline.
OFFLINE = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}
ANY_WORKLOAD = "*"

# (check id, workload name or ANY_WORKLOAD) -> why the finding is by design.
BY_DESIGN: dict[tuple[str, str], str] = {
    ("CKV_K8S_11", ANY_WORKLOAD): "no CPU limits on purpose: CFS throttling would slow the autoscaler's "
    "simulation and the handler's drain exactly when they are busy; CPU requests and memory limits are set",
    ("CKV_K8S_43", ANY_WORKLOAD): "images are pinned to exact release tags (config/versions.py, 'latest' is "
    "refused); each add-on's `image` key accepts a digest for who wants one",
    ("CKV_K8S_15", ANY_WORKLOAD): "imagePullPolicy stays IfNotPresent: tags are immutable releases, and a GPU "
    "node scaling up from zero should not wait for a registry round trip",
    ("CKV_K8S_9", ANY_WORKLOAD): "no readiness probes: none of these pods serves traffic behind a Service",
    ("CKV2_K8S_6", ANY_WORKLOAD): "no NetworkPolicies: the cluster runs no policy engine by default (VPC CNI's "
    "network policy agent is off), and the controllers need egress to the API server and AWS APIs",
    ("CKV_K8S_38", "cluster-autoscaler"): "it calls the Kubernetes API (nodes, pods, evictions): it needs its token",
    ("CKV_K8S_38", "aws-node-termination-handler"): "it cordons and drains nodes through the Kubernetes API: "
    "it needs its token",
    ("CKV_K8S_40", "aws-node-termination-handler"): "runs as uid 1000, the non-root user its upstream image "
    "is built for",
    ("CKV_K8S_23", "nvidia-device-plugin"): "runs as root to create its socket in kubelet's root-owned "
    "/var/lib/kubelet/device-plugins; no capabilities, no privilege escalation, read-only root filesystem",
    ("CKV_K8S_40", "nvidia-device-plugin"): "runs as root (uid 0) for the same socket",
    ("CKV_K8S_8", "nvidia-device-plugin"): "the plugin serves no health endpoint to probe (upstream's "
    "DaemonSet has no probe either); it exits, and restarts, when kubelet drops its registration",
    ("CKV_K8S_8", "warm-node-placeholder"): "a pause container holding GPUs for real pods: nothing in it to probe, "
    "and a restart would only free the node for a moment",
}


def workload_kind(workload: str) -> str:
    """The program's name for a workload: a time-sliced device plugin DaemonSet is the default one
    with a config file mounted, and each pool's warm-node placeholders are one kind of workload."""
    workload = re.sub(r"-time-slicing-\d+$", "", workload)
    return re.sub(r"^warm-node-placeholder-.+$", "warm-node-placeholder", workload)


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str  # checkov's id: Kind.namespace.name[...]
    file: str

    @property
    def workload(self) -> str:
        parts = self.resource.split(".")
        return parts[2] if len(parts) > 2 else self.resource

    def __str__(self) -> str:
        return f"{self.check_id} {self.resource} ({self.check_name}) in {self.file}"


@dataclass(frozen=True)
class Scan:
    findings: list[Finding]
    summary: dict[str, Any]
    planted: list[Finding] = field(default_factory=list)


def checkov_binary() -> Path:
    path = Path(os.environ.get("CHECKOV") or ROOT / ".venv-checkov" / "bin" / "checkov")
    if not path.is_file():
        pytest.fail(f"checkov is not installed at {path}: run `make test`, which installs "
                    "requirements-checkov.txt into .venv-checkov (or set CHECKOV to a checkov executable)")
    return path


def pinned_checkov_version() -> str:
    (pin,) = re.findall(r"^checkov==(\S+)$", (ROOT / "requirements-checkov.txt").read_text(), re.MULTILINE)
    return pin


def whole_numbers(value: Any) -> Any:
    """Pulumi carries numbers as doubles (65534.0); Kubernetes, and checkov, want integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def manifests(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """File name -> the object a typed pulumi-kubernetes resource sends to the API server."""
    found = {}
    for registered in run.kubernetes_objects():
        manifest = whole_numbers({k: v for k, v in registered.inputs.items() if not k.startswith("__")})
        assert manifest.get("apiVersion") and manifest.get("kind"), registered.name
        found[f"{registered.name}.yaml"] = manifest
    return found


@dataclass(frozen=True)
class RunningScan:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path


def start_scan(directory: Path, files: dict[str, dict[str, Any]]) -> RunningScan:
    """Write `files` into `directory/objects` and start checkov on them (`finish_scan` waits).

    Its output goes to files, not pipes, so a full pipe never stalls it while the caller works.
    """
    objects = directory / "objects"
    objects.mkdir(parents=True)
    for name, manifest in files.items():
        (objects / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
    stdout, stderr = directory / "checkov.json", directory / "checkov.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(checkov_binary()), "--directory", str(objects), "--framework", "kubernetes", "--output", "json",
             "--quiet", "--compact", "--skip-download"], stdout=out, stderr=err, env=OFFLINE)
    return RunningScan(process, stdout, stderr)


def finish_scan(running: RunningScan) -> Scan:
    running.process.wait(timeout=600)
    # checkov exits 1 when a check fails, 0 when none does; anything else is a broken run.
    assert running.process.returncode in (0, 1), running.stderr.read_text()[-2000:]
    reports = json.loads(running.stdout.read_text())
    (report,) = reports if isinstance(reports, list) else [reports]
    assert report["check_type"] == "kubernetes", report
    findings = [Finding(f["check_id"], f["check_name"], f["resource"], Path(f["file_path"]).name)
                for f in report["results"]["failed_checks"]]
    return Scan(findings, report["summary"])


def by_design(finding: Finding) -> str | None:
    workload = workload_kind(finding.workload)
    return BY_DESIGN.get((finding.check_id, workload)) or BY_DESIGN.get((finding.check_id, ANY_WORKLOAD))


def stack_settings(stack: str) -> dict[str, Any]:
    if stack != TIME_SLICED:
        return stack_config(ROOT / f"Pulumi.{stack}.yaml")
    config = stack_config(ROOT / "Pulumi.dev.yaml")
    pools = [{**pool, "timeSlicingReplicas": 4, "onDemandFallback": True, "warmNodes": 1}
             for pool in config["eks-gpu-spot:gpuPools"]]
    return {**config, "eks-gpu-spot:gpuPools": pools}


PLANTED = "planted-weakness"


def planted_weakness(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The program's DaemonSet made privileged and host-networked, under another name."""
    daemonset = json.loads(json.dumps(next(m for m in files.values() if m["kind"] == "DaemonSet")))
    daemonset["metadata"]["name"] = PLANTED
    pod = daemonset["spec"]["template"]["spec"]
    pod["hostNetwork"] = True
    pod["containers"][0]["securityContext"] = {"privileged": True}
    return daemonset


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, dict[str, Any]], Scan]]:
    """One checkov run per stack, each started as soon as its stack's objects are written (dev's scan
    runs while prod's program runs); dev's also holds the planted weakness."""
    started = {}
    for stack in STACKS:
        files = manifests(run_program(stack_settings(stack), stack="dev" if stack == TIME_SLICED else stack))
        scanned = {**files, f"{PLANTED}.yaml": planted_weakness(files)} if stack == "dev" else files
        started[stack] = (files, start_scan(tmp_path_factory.mktemp(f"checkov-{stack}"), scanned))
    found = {}
    for stack, (files, process) in started.items():
        result = finish_scan(process)
        found[stack] = (files, Scan([f for f in result.findings if f.workload != PLANTED], result.summary,
                                    [f for f in result.findings if f.workload == PLANTED]))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_scanned_every_kubernetes_object(scans: dict[str, tuple[dict[str, dict[str, Any]], Scan]],
                                                 stack: str) -> None:
    files, result = scans[stack]
    assert len(files) >= 10
    assert {m["kind"] for m in files.values()} >= {"DaemonSet", "Deployment", "ClusterRole", "ServiceAccount"}
    assert result.summary["checkov_version"] == pinned_checkov_version()
    assert result.summary["parsing_errors"] == 0
    assert result.summary["resource_count"] >= len(files)
    assert result.summary["passed"] > 100


@pytest.mark.parametrize("stack", STACKS)
def test_every_checkov_finding_is_by_design(scans: dict[str, tuple[dict[str, dict[str, Any]], Scan]],
                                            stack: str) -> None:
    _, result = scans[stack]
    unexpected = [str(f) for f in result.findings if by_design(f) is None]
    assert unexpected == [], "checkov findings that are not by design:\n" + "\n".join(unexpected)


def test_no_by_design_entry_is_stale(scans: dict[str, tuple[dict[str, dict[str, Any]], Scan]]) -> None:
    used = {(f.check_id, workload_kind(f.workload)) for _, result in scans.values() for f in result.findings}
    used = {key if key in BY_DESIGN else (key[0], ANY_WORKLOAD) for key in used}
    assert set(BY_DESIGN) - used == set()
    assert all(len(reason) > 30 for reason in BY_DESIGN.values())


def test_the_device_plugin_has_no_service_account_token_finding(
        scans: dict[str, tuple[dict[str, dict[str, Any]], Scan]]) -> None:
    for _, result in scans.values():
        plugin = {f.check_id for f in result.findings if f.workload == "nvidia-device-plugin"}
        assert plugin and "CKV_K8S_38" not in plugin and "CKV_K8S_29" not in plugin


def test_the_time_sliced_plugin_and_its_config_were_scanned(
        scans: dict[str, tuple[dict[str, dict[str, Any]], Scan]]) -> None:
    files, result = scans[TIME_SLICED]
    names = {(m["kind"], m["metadata"]["name"]) for m in files.values()}
    assert {("DaemonSet", "nvidia-device-plugin-time-slicing-4"), ("ConfigMap", "nvidia-device-plugin-configs"),
            ("Deployment", "warm-node-placeholder-gpu-small"),
            ("PriorityClass", "eks-gpu-spot-warm-node-placeholder")} <= names
    placeholder = {f.check_id for f in result.findings if f.workload == "warm-node-placeholder-gpu-small"}
    # Its only findings are the probe and those of every workload: no privilege, token or capability.
    assert placeholder and all(by_design(f) for f in result.findings if f.workload.startswith("warm-node"))
    assert all(by_design(f) for f in result.findings if f.workload.startswith("nvidia-device-plugin"))


def test_a_planted_weakness_is_found(scans: dict[str, tuple[dict[str, dict[str, Any]], Scan]]) -> None:
    _, result = scans["dev"]
    found = {f.check_id for f in result.planted if by_design(f) is None}
    # CKV_K8S_16: privileged container; CKV_K8S_19: host network; CKV_K8S_20: privilege escalation.
    assert {"CKV_K8S_16", "CKV_K8S_19", "CKV_K8S_20"} <= found
