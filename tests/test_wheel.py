"""The components install from a built wheel into a fresh virtualenv and run the consumer example."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import ROOT

CONSUMER = ROOT / "examples" / "consumer"

RUNNER = """
import json
import eks_gpu_spot
from eks_gpu_spot.offline import run_program
run = run_program({{}}, main={main!r}, project="eks-gpu-spot-consumer", stack="dev")
print(json.dumps({{
    "package": eks_gpu_spot.__file__,
    "types": sorted({{r.type for r in run.resources}}),
    "outputs": run.outputs,
    "secret": sorted(run.secret_outputs),
    "access_entries": [r.inputs["principalArn"] for r in run.of_type("aws:eks/accessEntry:AccessEntry")],
}}))
# The region comes from the stack's aws:region, not from the example's code.
other = run_program({{"aws:region": "eu-west-1"}}, main={main!r}, project="eks-gpu-spot-consumer", stack="dev")
print(json.dumps(sorted({{env["value"] for r in other.of_type("kubernetes:apps/v1:Deployment")
                         for c in r.inputs["spec"]["template"]["spec"]["containers"]
                         for env in c.get("env", []) if env["name"] == "AWS_REGION"}})))
"""


# What the build reads: pyproject.toml, its readme, and the package's source folder.
BUILD_INPUTS = ("pyproject.toml", "README.md", "components")


@dataclass(frozen=True)
class Build:
    wheel: Path
    log: str
    new_in_checkout: set[str]


def checkout_entries() -> set[str]:
    return {str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if not {"venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache"} & set(p.relative_to(ROOT).parts)}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    # setuptools writes build/ and <name>.egg-info/ next to pyproject.toml: build from a copy so the
    # checkout stays clean (pip builds a local directory in place).
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    before = checkout_entries()
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)],
                            capture_output=True, text=True, check=False, cwd=dist)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = dist.glob("eks_gpu_spot-*.whl")
    return Build(wheel=built, log=result.stdout + result.stderr, new_in_checkout=checkout_entries() - before)


@pytest.fixture(scope="module")
def wheel(build: Build) -> Path:
    return build.wheel


def test_building_the_wheel_leaves_the_checkout_clean(build: Build) -> None:
    assert build.new_in_checkout == set()


def test_building_the_wheel_prints_no_warning(build: Build) -> None:
    assert "Successfully built eks-gpu-spot" in build.log
    assert "warning" not in build.log.lower(), build.log
    assert "deprecat" not in build.log.lower(), build.log


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed (and its console scripts)."""
    fresh = tmp_path_factory.mktemp("fresh")
    venv.create(fresh, with_pip=True)
    python = fresh / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True)
    # The SDK dependencies (hundreds of MB) come from this environment; the package only from the wheel.
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return fresh


def test_wheel_installs_and_runs_the_consumer_example(fresh: Path, tmp_path: Path) -> None:
    main = CONSUMER / "__main__.py"
    result = subprocess.run([str(fresh / "bin" / "python"), "-c", RUNNER.format(main=str(main))],
                            check=True, capture_output=True, text=True, cwd=tmp_path)
    report = json.loads(result.stdout.strip().splitlines()[-2])
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["eu-west-1"]

    assert report["package"].startswith(str(fresh))
    assert "eks-gpu-spot:index:GpuSpotCluster" in report["types"]
    assert "eks-gpu-spot:addons:ClusterAutoscaler" in report["types"]
    assert report["outputs"]["gpuAsgNames"] == [
        "research-gpu-t4-us-east-1b", "research-gpu-t4-us-east-1c",
        "research-gpu-l40s-us-east-1b", "research-gpu-l40s-us-east-1c",
    ]
    assert report["secret"] == ["kubeconfig"]
    # One access entry per node role, the platform's pools' and the added pool's alike.
    assert sorted(arn.rsplit("/", 1)[1] for arn in report["access_entries"]) == [
        "general-node-role", "gpu-l40s-node-role", "gpu-t4-node-role"]


def test_wheel_contains_the_package_under_its_own_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "eks_gpu_spot/platform.py" in names
    assert "eks_gpu_spot/addons/cluster_autoscaler.py" in names
    assert "eks_gpu_spot/py.typed" in names
    assert not any(n.startswith(("components/", "config/", "tests/")) for n in names)


def test_the_consumer_installs_the_package_from_this_checkout() -> None:
    consumer = ROOT / "examples" / "consumer"
    requirements = [line.strip() for line in (consumer / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements == ["-e ../.."]
    # Pulumi runs pip in the consumer's folder: the path must lead to this project.
    assert (consumer / "../../pyproject.toml").resolve() == ROOT / "pyproject.toml"
    assert "us-east-1" not in (consumer / "__main__.py").read_text()


def test_the_installed_render_command_renders_the_consumers_stack(fresh: Path, tmp_path: Path) -> None:
    # What examples/consumer/README.md tells a library user to run: no AWS account, no Pulumi CLI.
    out = tmp_path / "rendered"
    result = subprocess.run([str(fresh / "bin" / "eks-gpu-spot-render"), "--stack", "dev", "--out", str(out)],
                            capture_output=True, text=True, cwd=CONSUMER, check=False,
                            env={"PATH": str(fresh / "bin"), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Rendered stack dev (us-east-1)" in result.stdout
    resources = json.loads((out / "aws-resources.json").read_text())
    groups = sorted(r["inputs"]["name"] for r in resources if r["type"] == "aws:autoscaling/group:Group")
    # Two zones, the first by ID (use1-az1 and use1-az2 in the offline account).
    assert groups == ["research-general", "research-gpu-l40s-us-east-1b", "research-gpu-l40s-us-east-1c",
                      "research-gpu-t4-us-east-1b", "research-gpu-t4-us-east-1c"]
    assert (out / "deployment-kube-system-cluster-autoscaler.yaml").is_file()
