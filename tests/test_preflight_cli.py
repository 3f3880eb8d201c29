"""The examples against the dev stack, and the command line (exit status, messages, its name)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import preflight
from components.node_template import GPU_TAINT
from components.preflight import (
    Verdict,
    evaluate,
    parse_quantity,
)
from components.preflight.cli import program_name
from tests.harness import ROOT
from tests.preflight_helpers import (
    CONFIG_ARGS,
    DEV_STACK,
    EXAMPLES,
    GPU_CAPACITY,
    GPU_LABELS,
    GPU_TOLERATION,
    PROG,
    container,
    daemonset,
    dev_groups,
    run_cli,
)

# --- the examples against the dev stack ------------------------------------------------------------

def example_verdicts(name: str) -> list[Verdict]:
    groups = dev_groups()
    plugin = daemonset("nvidia-device-plugin", {"cpu": "50m", "memory": "64Mi"},
                       nodeSelector={"nvidia.com/gpu": "true"}, tolerations=[GPU_TOLERATION])
    return evaluate(preflight.load_manifests([str(EXAMPLES / name)]), groups, [plugin])


@pytest.mark.parametrize("name", ["cuda-vector-add.yaml", "pytorch-training-job.yaml"])
def test_the_gpu_examples_scale_up_the_gpu_group(name: str) -> None:
    [found] = example_verdicts(name)
    assert found.fits == ("gpu-small",)
    assert found.rejections["general"] == ("node selector nvidia.com/gpu=true does not match (label absent)",
                                           "insufficient nvidia.com/gpu: requests 1, allocatable 0")


@pytest.mark.parametrize("name", ["cuda-vector-add.yaml", "pytorch-training-job.yaml"])
def test_the_gpu_examples_pin_images_and_ask_for_one_gpu(name: str) -> None:
    [document] = yaml.safe_load_all((EXAMPLES / name).read_text())
    spec = document["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu": "true"}
    assert GPU_TOLERATION in spec["tolerations"]
    for item in spec["containers"]:
        assert item["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert ":" in item["image"] and not item["image"].endswith(":latest")


def test_the_negative_example_never_schedules_and_says_why() -> None:
    [found] = example_verdicts("never-schedules.yaml")
    assert found.fits == ()
    assert found.rejections == {
        "general": ("node selector nvidia.com/gpu=true does not match (label absent)",
                    "insufficient nvidia.com/gpu: requests 2, allocatable 0"),
        "gpu-small": ("insufficient nvidia.com/gpu: requests 2, allocatable 1",),
    }


def test_the_real_device_plugin_daemonset_is_counted_on_gpu_groups_only() -> None:
    from components.addons.device_plugin import REQUESTS, device_plugin_daemonset_manifest

    groups = dev_groups()
    manifests = preflight.project_daemonsets(groups, "nvcr.io/nvidia/k8s-device-plugin:v0.18.2")
    assert manifests == [device_plugin_daemonset_manifest("nvcr.io/nvidia/k8s-device-plugin:v0.18.2", [GPU_TAINT])]
    rooms = {g.name: preflight.allocatable(g, preflight.daemonset_pod_specs(manifests)) for g in groups}
    assert rooms["general"].daemonsets == ()
    assert rooms["gpu-small"].daemonsets == ("nvidia-device-plugin",)
    assert rooms["gpu-small"].of("cpu") == parse_quantity("3920m") - parse_quantity(REQUESTS["cpu"])
    assert rooms["gpu-small"].of("memory") == parse_quantity("14162Mi") - parse_quantity(REQUESTS["memory"])


def test_cli_exits_0_when_every_workload_scales_a_group() -> None:
    code, out, err = run_cli(*CONFIG_ARGS, str(EXAMPLES / "cuda-vector-add.yaml"),
                             str(EXAMPLES / "pytorch-training-job.yaml"))
    assert (code, err) == (0, "")
    assert "Deployment/cuda-vector-add: would scale up gpu-small" in out
    assert "Job/pytorch-training: would scale up gpu-small" in out
    assert "Instance shapes: built-in table (components/instance_catalog.py)" in out
    assert "(after DaemonSets nvidia-device-plugin)" in out
    assert out.rstrip().endswith("All 2 workload(s) fit a node group.")


def test_cli_exits_1_and_explains_when_a_workload_never_schedules() -> None:
    code, out, _ = run_cli(*CONFIG_ARGS, *(str(p) for p in sorted(EXAMPLES.glob("*.yaml"))))
    assert code == 1
    assert "Job/two-gpus-per-pod: NEVER SCHEDULES, no group fits:\n" in out
    assert "\n  gpu-small: insufficient nvidia.com/gpu: requests 2, allocatable 1\n" in out
    assert out.rstrip().endswith("1 of 3 workload(s) would stay Pending forever.")


def test_cli_reads_a_stack_output_and_lists_every_fitting_group(tmp_path: Path) -> None:
    output = tmp_path / "nodegroups.json"
    output.write_text(json.dumps({name: {"asgNames": [f"{name}-asg"], "instanceTypes": [t], "template": tpl}
                                  for name, t, tpl in (
                                      ("general", "m6i.2xlarge", {"labels": {"node-pool": "general"}, "taints": [],
                                                                  "capacity": {"cpu": "8", "memory": "32768Mi",
                                                                               "pods": "58"}}),
                                      ("gpu-a", "g5.xlarge", {"labels": GPU_LABELS, "taints": [GPU_TAINT.to_json()],
                                                              "capacity": GPU_CAPACITY}))}))
    anywhere = tmp_path / "anywhere.yaml"
    anywhere.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "anywhere"}, "spec": {
        "tolerations": [{"operator": "Exists"}], "containers": [container({"cpu": "1"})]}}))
    code, out, _ = run_cli("--stack-output", str(output), "--no-device-plugin", str(anywhere))
    assert code == 0
    assert f"{anywhere}: Pod/anywhere: would scale up one of general, gpu-a (the expander picks among them)" in out
    code, out, _ = run_cli("--stack-output", str(output), str(EXAMPLES / "never-schedules.yaml"))
    assert code == 1
    assert "  gpu-a: insufficient nvidia.com/gpu: requests 2, allocatable 1" in out


@pytest.mark.parametrize(("argv", "message"), [
    ((*CONFIG_ARGS, "missing.yaml"), "missing.yaml: cannot read"),
    (("--stack-output", "missing.json", str(EXAMPLES / "cuda-vector-add.yaml")), "missing.json: cannot read"),
    ((*CONFIG_ARGS,), "the following arguments are required: MANIFEST"),
    ((str(EXAMPLES / "cuda-vector-add.yaml"),), "one of the arguments --stack-output --stack-config is required"),
])
def test_cli_exits_2_on_bad_input(argv: tuple[str, ...], message: str) -> None:
    code, _, err = run_cli(*argv)
    assert code == 2
    assert message in err


def test_cli_exits_2_on_bad_yaml_a_bad_quantity_or_no_workload(tmp_path: Path) -> None:
    cases = {
        "broken.yaml": "kind: Pod\nspec: [unclosed\n",
        "quantity.yaml": yaml.safe_dump({"kind": "Pod", "metadata": {"name": "q"},
                                         "spec": {"containers": [container({"cpu": "two"})]}}),
        "service.yaml": yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
    }
    messages = {"broken.yaml": "not valid YAML", "quantity.yaml": "'two' is not a Kubernetes quantity",
                "service.yaml": "no workload"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        code, out, err = run_cli(*CONFIG_ARGS, str(tmp_path / name))
        assert code == 2, name
        assert err.startswith(f"{PROG}: error: ") and messages[name] in err, err
        assert out == ""


def test_with_no_workload_the_error_names_what_was_ignored(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\nmetadata: {name: x}\n")
    code, out, err = run_cli(*CONFIG_ARGS, str(path))
    assert (code, out) == (2, "")
    assert err == (f"{PROG}: error: no workload (Pod, Deployment, StatefulSet, ReplicaSet, ReplicationController, "
                   f"Job, CronJob) in {path}\n  {path}: ConfigMap/settings: not a workload, ignored\n"
                   f"  {path}: document 2 has no kind, ignored\n")


# --- the command's name, and the installed command without the project on the path -------------------

def test_the_usage_and_the_errors_name_the_command() -> None:
    code, out, _ = run_cli("--help")
    assert code == 0
    assert out.startswith(f"usage: {PROG} [-h] (--stack-output FILE | --stack-config FILE)")
    assert f"  {PROG} --stack-output nodegroups.json examples/*.yaml" in out
    assert "exit status: 0 when every workload pod fits some group, 1 when one fits none, 2 on bad input" in out
    code, _, err = run_cli("--stack-output", "missing.json", "x.yaml", prog="python -m components.preflight")
    assert (code, err) == (2, "python -m components.preflight: error: missing.json: cannot read: "
                              "No such file or directory\n")


@pytest.mark.parametrize(("argv0", "name"), [
    ("/home/me/.venv/bin/eks-gpu-spot-preflight", "eks-gpu-spot-preflight"),
    ("/work/components/preflight/__main__.py", "python -m components.preflight"),
    ("", "python -m components.preflight"),
])
def test_the_name_comes_from_how_the_command_was_started(monkeypatch: pytest.MonkeyPatch, argv0: str,
                                                         name: str) -> None:
    monkeypatch.setattr("sys.argv", [argv0])
    assert program_name() == name
    assert program_name("explicit") == "explicit"


ENTRY_POINT = re.search(r'^eks-gpu-spot-preflight = "([\w.]+):(\w+)"$', (ROOT / "pyproject.toml").read_text(),
                        re.MULTILINE)


def test_pyproject_packages_the_subpackage_and_points_the_command_at_main() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert ENTRY_POINT is not None and ENTRY_POINT.groups() == ("eks_gpu_spot.preflight", "main")
    assert '"eks_gpu_spot.preflight"' in re.search(r"^packages = \[.*\]$", pyproject, re.MULTILINE)[0]  # type: ignore[index]


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """The package importable only as eks_gpu_spot (as pip installs it), a console script like pip's,
    and a working directory far from the project: neither config/ nor components/ is on the path."""
    assert ENTRY_POINT is not None
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "eks_gpu_spot").symlink_to(ROOT / "components", target_is_directory=True)
    script = tmp_path / "bin" / "eks-gpu-spot-preflight"
    script.parent.mkdir()
    module, function = ENTRY_POINT.groups()
    script.write_text(f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    return script, env, elsewhere


def run_installed(installed: tuple[Path, dict[str, str], Path], *argv: str) -> subprocess.CompletedProcess[str]:
    script, env, cwd = installed
    return subprocess.run([sys.executable, str(script), *argv], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_installed_command_has_no_project_on_its_path(installed: tuple[Path, dict[str, str], Path]) -> None:
    _, env, cwd = installed
    probe = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('config'), "
                            "u.find_spec('components'), u.find_spec('eks_gpu_spot') is not None)"],
                           env=env, cwd=cwd, capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["None", "None", "True"]


def test_the_installed_command_names_itself_and_reads_a_stack_output(installed: tuple[Path, dict[str, str], Path],
                                                                     tmp_path: Path) -> None:
    usage = run_installed(installed, "--help")
    assert (usage.returncode, usage.stderr) == (0, "")
    assert usage.stdout.startswith("usage: eks-gpu-spot-preflight ")
    output = tmp_path / "nodegroups.json"
    output.write_text(json.dumps({"gpu-a": {"instanceTypes": ["g5.xlarge"], "template": {
        "labels": GPU_LABELS, "taints": [GPU_TAINT.to_json()], "capacity": GPU_CAPACITY}}}))
    run = run_installed(installed, "--stack-output", str(output), *(str(p) for p in sorted(EXAMPLES.glob("*.yaml"))))
    assert run.returncode == 1, run.stderr
    assert "Deployment/cuda-vector-add: would scale up gpu-a" in run.stdout
    assert "  gpu-a: insufficient nvidia.com/gpu: requests 2, allocatable 1" in run.stdout


def test_the_installed_command_finds_config_beside_the_stack_file(installed: tuple[Path, dict[str, str], Path],
                                                                  tmp_path: Path) -> None:
    run = run_installed(installed, "--stack-config", str(DEV_STACK), "--instance-shapes", "builtin",
                        *(str(p) for p in sorted(EXAMPLES.glob("*.yaml"))))
    assert run.returncode == 1, run.stderr
    assert "gpu-small (g5.xlarge): taints nvidia.com/gpu=true:NoSchedule" in run.stdout
    assert run.stdout.rstrip().endswith("1 of 3 workload(s) would stay Pending forever.")
    lonely = tmp_path / "Pulumi.dev.yaml"
    lonely.write_text(DEV_STACK.read_text())
    run = run_installed(installed, "--stack-config", str(lonely), str(EXAMPLES / "cuda-vector-add.yaml"))
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.startswith("eks-gpu-spot-preflight: error: --stack-config needs the eks-gpu-spot project's "
                                 "config/ package beside the stack file")
    assert "Traceback" not in run.stderr


def test_python_m_names_itself_from_any_directory(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "components.preflight", "--help"], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    assert run.stdout.startswith("usage: python -m components.preflight ")
