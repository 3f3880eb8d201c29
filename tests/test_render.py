"""`make render` (components/render.py): what a stack would deploy, written as files, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.offline import region_zones
from tests.harness import ROOT, run_program, stack_config


def render(stack: str, out: Path, project_dir: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    # A separate process, as `make render` runs it (`python -m components.render` from the project);
    # PATH without pulumi or aws proves it needs neither.
    environment = {"PATH": str(Path(sys.executable).parent), "HOME": str(out.parent), **env}
    return subprocess.run([sys.executable, "-m", "components.render", "--stack", stack, "--out", str(out),
                           "--project-dir", str(project_dir)],
                          capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300, check=False)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "dev"
    result = render("dev", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"in {out}" in result.stdout
    return out


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def objects(out: Path) -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in sorted(out.glob("*.yaml"))}


def test_every_kubernetes_object_is_one_yaml_file_exactly_as_the_program_sends_it(dev: Path) -> None:
    # The render answers for every zone of the region, as an account does.
    run = run_program(stack_config(ROOT / "Pulumi.dev.yaml"), stack="dev", zones=region_zones("us-east-1"))
    sent = run.kubernetes_objects()
    written = objects(dev)
    assert len(written) == len(sent) >= 10
    by_kind_and_name = {(o["kind"], o["metadata"]["name"]): o for o in written.values()}
    for resource in sent:
        obj = by_kind_and_name[(resource.inputs["kind"], resource.inputs["metadata"]["name"])]
        # Same content; the wire's doubles for integers (1.0) are written back as integers.
        assert json.loads(json.dumps(obj)) == json.loads(json.dumps(resource.inputs), parse_float=_whole)
        assert list(obj)[:3] == ["apiVersion", "kind", "metadata"]


def _whole(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def test_the_gpu_addons_are_there_and_valid_kubernetes(dev: Path) -> None:
    daemonset = load(dev / "daemonset-kube-system-nvidia-device-plugin.yaml")
    assert daemonset["apiVersion"] == "apps/v1"
    assert daemonset["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu": "true"}
    deployments = {o["metadata"]["name"]: o for o in objects(dev).values() if o["kind"] == "Deployment"}
    assert set(deployments) == {"cluster-autoscaler", "aws-node-termination-handler"}
    assert deployments["cluster-autoscaler"]["spec"]["replicas"] == 1  # an integer, not the wire's 1.0
    version = stack_config(ROOT / "Pulumi.dev.yaml").get("eks-gpu-spot:kubernetesVersion", "1.35")
    for obj in objects(dev).values():
        kubernetes_validate.validate(obj, f"{version}.0", strict=True)


def test_aws_resources_json_lists_the_auto_scaling_groups_with_their_tags(dev: Path) -> None:
    resources = json.loads((dev / "aws-resources.json").read_text())
    assert all(set(r) == {"type", "name", "inputs"} for r in resources)
    groups = {r["name"]: r["inputs"] for r in resources if r["type"] == "aws:autoscaling/group:Group"}
    # The first three zones by ID: use1-az1, az2 and az4 (us-east-1b, c and d in the offline account).
    assert sorted(groups) == ["general", "gpu-small-us-east-1b", "gpu-small-us-east-1c", "gpu-small-us-east-1d"]
    gpu = groups["gpu-small-us-east-1b"]
    tags = {t["key"]: t["value"] for t in gpu["tags"]}
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert gpu["minSize"] == 0
    types = {r["type"] for r in resources}
    assert {"eks:index:Cluster", "aws:ec2/launchTemplate:LaunchTemplate", "aws:iam/role:Role"} <= types
    assert not any(t.startswith(("kubernetes:", "eks-gpu-spot:", "pulumi:")) for t in types)


def test_prod_renders_too_with_its_own_pools(tmp_path: Path) -> None:
    out = tmp_path / "prod"
    result = render("prod", out)
    assert result.returncode == 0, result.stdout + result.stderr
    resources = json.loads((out / "aws-resources.json").read_text())
    names = {r["name"] for r in resources if r["type"] == "aws:autoscaling/group:Group"}
    assert any(name.startswith("gpu-4x-") for name in names), names


def test_a_stack_without_a_stack_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "typo"
    result = render("dve", out)
    assert result.returncode != 0
    assert "Pulumi.dve.yaml not found" in result.stderr
    assert not out.exists()


def test_a_second_render_replaces_the_first(dev: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    out.mkdir()
    stale = out / "deployment-stale.yaml"
    stale.write_text("kind: Deployment\n")
    keep = out / "notes.txt"
    keep.write_text("mine")
    assert render("dev", out).returncode == 0
    assert not stale.exists() and keep.exists()
    # Same files, same bytes: nothing depends on the order in which Pulumi registered resources.
    assert sorted(p.name for p in out.glob("*.yaml")) == sorted(p.name for p in dev.glob("*.yaml"))
    for path in [*dev.glob("*.yaml"), dev / "aws-resources.json"]:
        assert (out / path.name).read_text() == path.read_text(), path.name


def test_rendered_is_git_ignored() -> None:
    for path in ("rendered/dev/aws-resources.json", "rendered/dev/daemonset-kube-system-x.yaml"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, env={**os.environ}, check=False)
        assert result.returncode == 0, path


def test_prod_renders_in_its_own_region_and_names_us_east_1_nowhere(tmp_path: Path) -> None:
    out = tmp_path / "prod"
    result = render("prod", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Rendered stack prod (us-west-2)" in result.stdout
    texts = [result.stdout, *(path.read_text() for path in out.iterdir())]
    assert not [text for text in texts if "us-east-1" in text]
    resources = json.loads((out / "aws-resources.json").read_text())
    subnets = [r["inputs"]["availabilityZone"] for r in resources if r["type"] == "aws:ec2/subnet:Subnet"]
    assert subnets and all(zone.startswith("us-west-2") for zone in subnets)
    queue_url = yaml.safe_load((out / "deployment-kube-system-aws-node-termination-handler.yaml").read_text())
    env = {e["name"]: e.get("value") for e in queue_url["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["QUEUE_URL"].startswith("https://sqs.us-west-2.amazonaws.com/")


def test_a_type_the_offline_table_lacks_is_blamed_on_the_table_not_on_the_region(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        "venv", ".venv-checkov", ".git", "rendered", "__pycache__", ".pytest_cache", ".ruff_cache", "tests"))
    config = stack_config(ROOT / "Pulumi.dev.yaml")
    config["eks-gpu-spot:gpuPools"] = [{"name": "gpu-next", "instanceTypes": ["g99.xlarge"]}]
    (project / "Pulumi.next.yaml").write_text(yaml.safe_dump({"config": config}))
    result = render("next", tmp_path / "out", project_dir=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: config key 'eks-gpu-spot:gpuPools[0].instanceTypes[0]': got 'g99.xlarge'; the offline instance "
        "table (components/instance_catalog.py) lacks this type, so this render cannot show it; a real `pulumi "
        "preview` asks EC2"]


def test_a_stack_with_an_image_cache_renders_with_its_snapshot_given(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        "venv", ".venv-checkov", ".git", "rendered", "__pycache__", ".pytest_cache", ".ruff_cache", "tests"))
    config = stack_config(ROOT / "Pulumi.dev.yaml")
    config["eks-gpu-spot:gpuPools"] = [{**pool, "imageCache": {"snapshotId": "snap-0123456789abcdef0"}}
                                       for pool in config["eks-gpu-spot:gpuPools"]]
    (project / "Pulumi.cached.yaml").write_text(yaml.safe_dump({"config": config}))

    def cached(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "components.render", "--stack", "cached", "--out",
                               str(tmp_path / "out"), "--project-dir", str(project), *extra],
                              capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
                              env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)})

    # Offline AWS knows no snapshot unless told: the render says which key and why.
    refused = cached()
    assert refused.returncode == 1 and "imageCache.snapshotId" in refused.stderr
    result = cached("--snapshot", "snap-0123456789abcdef0=100")
    assert result.returncode == 0, result.stderr
    resources = json.loads((tmp_path / "out" / "aws-resources.json").read_text())
    templates = [r for r in resources if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate" and "gpu" in r["name"]]
    assert templates[0]["inputs"]["blockDeviceMappings"][1]["ebs"]["snapshotId"] == "snap-0123456789abcdef0"
    assert cached("--snapshot", "snap-0123456789abcdef0").returncode == 2
