"""The components install from a built wheel into a fresh virtualenv and run the consumer example."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.harness import ROOT

RUNNER = """
import json, sys
sys.path.insert(0, {root!r})  # the mocks harness only; eks_gpu_spot itself must come from the wheel
import eks_gpu_spot
from tests.harness import run_program
run = run_program({{}}, main={main!r}, project="eks-gpu-spot-consumer")
print(json.dumps({{
    "package": eks_gpu_spot.__file__,
    "types": sorted({{r.type for r in run.resources}}),
    "outputs": run.outputs,
    "secret": sorted(run.secret_outputs),
    "access_entries": [r.inputs["principalArn"] for r in run.of_type("aws:eks/accessEntry:AccessEntry")],
}}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, cwd=dist)
    (built,) = dist.glob("eks_gpu_spot-*.whl")
    return built


def test_wheel_installs_and_runs_the_consumer_example(wheel: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=True)
    python = fresh / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True)
    # The SDK dependencies (hundreds of MB) come from this environment; the package only from the wheel.
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    main = ROOT / "examples" / "consumer" / "__main__.py"
    result = subprocess.run([str(python), "-c", RUNNER.format(root=str(ROOT), main=str(main))],
                            check=True, capture_output=True, text=True, cwd=tmp_path)
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["package"].startswith(str(fresh))
    assert "eks-gpu-spot:index:GpuSpotCluster" in report["types"]
    assert "eks-gpu-spot:addons:ClusterAutoscaler" in report["types"]
    assert report["outputs"]["gpuAsgNames"] == [
        "research-gpu-t4-us-east-1a", "research-gpu-t4-us-east-1b",
        "research-gpu-l40s-us-east-1a", "research-gpu-l40s-us-east-1b",
    ]
    assert report["secret"] == ["kubeconfig"]
    (entry,) = report["access_entries"]
    assert entry.endswith("/gpu-l40s-node-role")


def test_wheel_contains_the_package_under_its_own_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "eks_gpu_spot/platform.py" in names
    assert "eks_gpu_spot/addons/cluster_autoscaler.py" in names
    assert "eks_gpu_spot/py.typed" in names
    assert not any(n.startswith(("components/", "config/", "tests/")) for n in names)
