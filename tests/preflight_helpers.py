"""Shared builders for the preflight tests: template groups, pods, DaemonSets, the dev stack, the CLI."""

from __future__ import annotations

import io
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components import preflight
from components.node_template import GPU_TAINT, NodeTemplate, Taint
from components.preflight import (
    GroupTemplate,
    Verdict,
    Workload,
    evaluate,
    group_template,
    groups_from_stack_config,
    workloads_from_documents,
)
from tests.harness import ROOT

EXAMPLES = ROOT / "examples"
DEV_STACK = ROOT / "Pulumi.dev.yaml"

GPU_LABELS = {"node-pool": "gpu-a", "nvidia.com/gpu": "true", "gpu-count": "1"}
GPU_CAPACITY = {"cpu": "4", "memory": "16384Mi", "pods": "29", "ephemeral-storage": "100Gi", "nvidia.com/gpu": "1"}


def group(name: str = "gpu-a", labels: Mapping[str, str] | None = None, taints: Sequence[Taint] = (GPU_TAINT,),
          capacity: Mapping[str, str] | None = None) -> GroupTemplate:
    template = NodeTemplate(labels=dict(GPU_LABELS if labels is None else labels), taints=tuple(taints),
                            capacity=dict(GPU_CAPACITY if capacity is None else capacity))
    return group_template(name, template, "g5.xlarge")


GENERAL = group("general", {"node-pool": "general"}, (), {"cpu": "8", "memory": "32768Mi", "pods": "58"})
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def container(requests: Mapping[str, Any] | None = None, limits: Mapping[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    resources = {k: dict(v) for k, v in (("requests", requests), ("limits", limits)) if v is not None}
    return {"name": "main", "image": "busybox:1.37", "resources": resources, **extra}


def pod(name: str = "p", *, containers: Sequence[Mapping[str, Any]] | None = None, **spec: Any) -> Workload:
    full = {"containers": list(containers or [container({"cpu": "100m"})]), **spec}
    return workloads_from_documents([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": full}],
                                    "test.yaml")[0]


def gpu_pod(**spec: Any) -> Workload:
    return pod(nodeSelector={"nvidia.com/gpu": "true"}, tolerations=[GPU_TOLERATION], **spec)


def verdict(workload: Workload, groups: Sequence[GroupTemplate] = (GENERAL, group()),
            daemonsets: Sequence[Workload] = ()) -> Verdict:
    [found] = evaluate([workload], groups, daemonsets)
    return found


def daemonset(name: str = "ds", requests: Mapping[str, str] | None = None, **spec: Any) -> Workload:
    manifest = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [container(requests or {"cpu": "100m", "memory": "64Mi"})],
                                               **spec}}}}
    return preflight.daemonset_pod_specs([manifest])[0]


def dev_groups() -> list[GroupTemplate]:
    return groups_from_stack_config(DEV_STACK, shape_source="builtin").groups


PROG = "eks-gpu-spot-preflight"


def run_cli(*argv: str, prog: str = PROG) -> tuple[int, str, str]:
    """The command's exit status, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    code = preflight.main(list(argv), out, err, prog=prog)
    return code, out.getvalue(), err.getvalue()


CONFIG_ARGS = ("--stack-config", str(DEV_STACK), "--instance-shapes", "builtin")


def project_copy(root: Path) -> Path:
    """A project root in `root` as a user's checkout would have it: Pulumi.yaml and the config/ and
    components/ packages (links to this checkout's), with no stack file yet."""
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    for package in ("config", "components"):
        (root / package).symlink_to(ROOT / package, target_is_directory=True)
    return root
