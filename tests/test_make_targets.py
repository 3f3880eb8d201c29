"""The make targets that talk to Pulumi (up, preview, destroy, outputs, kubeconfig, backend) run
scripts/stack.sh with stand-in `pulumi` and `aws` commands: same backend for every target, whichever
way it was chosen, a typo'd stack refused before any pulumi command, prerequisites named with where
to get them, and the kubeconfig written 600."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ROOT

PROJECT_FILES = ["Makefile", "scripts/stack.sh", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"]
# What make and scripts/stack.sh call besides pulumi, aws and python3.
SYSTEM_TOOLS = ["sh", "bash", "make", "env", "dirname", "mkdir", "mktemp", "mv", "rm", "chmod", "ls", "sed", "tr", "cat"]
KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "eks-gpu-spot-dev"}],
                         "users": [{"name": "aws", "user": {"exec": {"command": "aws"}}}]})
OUTPUTS = json.dumps({"clusterName": "eks-gpu-spot-dev", "kubeconfig": "[secret]"})

# Records its argv and the backend-related environment, then answers like the Pulumi CLI would.
FAKE_PULUMI = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "pulumi", "argv": args, "cwd": os.getcwd(),
                          "backend": os.environ.get("PULUMI_BACKEND_URL", ""),
                          "passphrase": "PULUMI_CONFIG_PASSPHRASE" in os.environ}}) + "\\n")
if args[-1:] == ["whoami"]:
    if os.environ.get("FAKE_LOGGED_IN") == "1":
        print("someone")
        sys.exit(0)
    print("error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions", file=sys.stderr)
    sys.exit(255)
if args[:2] == ["stack", "select"]:
    sys.exit(0 if args[2] in os.environ.get("FAKE_STACKS", "").split(",") else 255)
if args[:3] == ["stack", "output", "kubeconfig"]:
    sys.stdout.write(os.environ.get("FAKE_KUBECONFIG", ""))
    sys.exit(0)
if args[:2] == ["stack", "output"]:
    print({OUTPUTS!r})
sys.exit(0)
"""
FAKE_AWS = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "aws", "argv": sys.argv[1:]}}) + "\\n")
"""


class Project:
    """A copy of the project's make/pulumi files with a PATH of stand-ins, so that nothing real runs."""

    def __init__(self, tmp_path: Path, missing: tuple[str, ...] = ()) -> None:
        self.dir = tmp_path / "project"
        for name in PROJECT_FILES:
            (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, self.dir / name)
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        for tool in SYSTEM_TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (self.bin / tool).symlink_to(found)
        stand_ins = {"pulumi": FAKE_PULUMI, "aws": FAKE_AWS, "python3": f"#!{sys.executable}\n"}
        for tool, text in stand_ins.items():
            if tool not in missing:
                (self.bin / tool).write_text(text)
                (self.bin / tool).chmod(0o755)
        self.log = tmp_path / "calls.jsonl"
        self.log.touch()

    def make(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": str(self.bin), "HOME": str(self.dir.parent), "FAKE_LOG": str(self.log),
                       "FAKE_KUBECONFIG": KUBECONFIG, **env}
        return subprocess.run(["make", "--no-print-directory", *args], cwd=self.dir, env=environment,
                              capture_output=True, text=True, timeout=60, check=False)

    def calls(self, tool: str = "pulumi") -> list[dict[str, Any]]:
        return [c for c in map(json.loads, self.log.read_text().splitlines()) if c["tool"] == tool]

    def argvs(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]

    def local_backend(self) -> str:
        return f"file://{self.dir}/.pulumi-state"


PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "correct horse"}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_up_with_nothing_chosen_uses_the_local_backend_and_creates_the_stack_once(project: Project) -> None:
    result = project.make("up", "STACK=dev", **PASSPHRASE)
    assert result.returncode == 0, result.stderr
    assert (project.dir / ".pulumi-state").is_dir()
    assert project.argvs() == [["--non-interactive", "whoami"], ["stack", "select", "dev"], ["stack", "init", "dev"], ["up", "--stack", "dev"]]
    assert all(c["backend"] == project.local_backend() for c in project.calls()[1:])
    assert project.local_backend() in result.stderr


def test_every_later_target_uses_the_same_local_backend_even_after_logging_in_elsewhere(project: Project) -> None:
    assert project.make("up", **PASSPHRASE).returncode == 0
    project.log.write_text("")
    for target in ("preview", "outputs", "kubeconfig", "destroy"):
        result = project.make(target, "STACK=dev", FAKE_LOGGED_IN="1", FAKE_STACKS="dev", **PASSPHRASE)
        assert result.returncode == 0, (target, result.stderr)
    assert project.argvs() == [
        ["stack", "select", "dev"], ["preview", "--diff", "--stack", "dev"],
        ["stack", "output", "--stack", "dev"],
        ["stack", "output", "kubeconfig", "--show-secrets", "--stack", "dev"],
        ["destroy", "--stack", "dev"],
    ]
    assert {c["backend"] for c in project.calls()} == {project.local_backend()}


def test_pulumi_backend_url_wins_for_every_target(project: Project) -> None:
    backend = "s3://team-pulumi-state?region=us-east-1"
    for target in ("up", "preview", "outputs", "kubeconfig", "destroy"):
        result = project.make(target, "STACK=prod", PULUMI_BACKEND_URL=backend, FAKE_STACKS="prod", **PASSPHRASE)
        assert result.returncode == 0, (target, result.stderr)
    assert {c["backend"] for c in project.calls()} == {backend}
    assert ["--non-interactive", "whoami"] not in project.argvs()
    assert not (project.dir / ".pulumi-state").exists()
    assert ["up", "--stack", "prod"] in project.argvs()


def test_a_logged_in_backend_is_used_as_is_without_a_passphrase(project: Project) -> None:
    for target in ("up", "outputs", "destroy"):
        result = project.make(target, FAKE_LOGGED_IN="1", FAKE_STACKS="dev")
        assert result.returncode == 0, (target, result.stderr)
    assert {c["backend"] for c in project.calls()} == {""}
    assert not (project.dir / ".pulumi-state").exists()
    assert ["stack", "init", "dev"] not in project.argvs()  # it exists there already


def test_make_backend_prints_the_export_that_puts_a_shell_on_the_same_backend(project: Project) -> None:
    assert project.make("up", **PASSPHRASE).returncode == 0
    result = project.make("-s", "backend", FAKE_LOGGED_IN="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"export PULUMI_BACKEND_URL='{project.local_backend()}'"


@pytest.mark.parametrize("target", ["up", "preview", "destroy", "outputs", "kubeconfig"])
def test_a_stack_without_its_stack_file_is_refused_before_any_pulumi_command(project: Project, target: str) -> None:
    result = project.make(target, "STACK=dve", FAKE_LOGGED_IN="1", **PASSPHRASE)
    assert result.returncode != 0
    assert "Pulumi.dve.yaml not found" in result.stderr
    assert "dev" in result.stderr and "prod" in result.stderr  # the stacks that do exist
    assert project.calls() == [] and project.calls("aws") == []
    assert not (project.dir / ".pulumi-state").exists()


def test_a_stack_name_that_is_a_path_is_refused(project: Project) -> None:
    result = project.make("up", "STACK=../dev", **PASSPHRASE)
    assert result.returncode != 0
    assert "not a valid stack name" in result.stderr
    assert project.calls() == []


@pytest.mark.parametrize(("tool", "where"), [
    ("pulumi", "https://www.pulumi.com/docs/iac/download-install/"),
    ("aws", "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"),
    ("python3", "https://www.python.org/downloads/"),
])
def test_a_missing_prerequisite_says_where_to_get_it(tmp_path: Path, tool: str, where: str) -> None:
    project = Project(tmp_path, missing=(tool,))
    result = project.make("up", **PASSPHRASE)
    assert result.returncode != 0
    assert f"'{tool}' is not installed" in result.stderr
    assert where in result.stderr
    assert project.calls() == []


def test_the_local_backend_needs_a_passphrase_before_anything_is_created(project: Project) -> None:
    result = project.make("up")
    assert result.returncode != 0
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr
    assert project.argvs() == [["--non-interactive", "whoami"]]


def test_preview_passes_extra_arguments(project: Project) -> None:
    result = project.make("preview", "ARGS=--target-dependents --refresh", FAKE_STACKS="dev", **PASSPHRASE)
    assert result.returncode == 0, result.stderr
    assert project.argvs()[-1] == ["preview", "--diff", "--stack", "dev", "--target-dependents", "--refresh"]


def test_kubeconfig_is_the_secret_output_in_a_file_only_its_owner_reads(project: Project) -> None:
    result = project.make("kubeconfig", "STACK=dev", FAKE_STACKS="dev", **PASSPHRASE)
    assert result.returncode == 0, result.stderr
    path = project.dir / "kubeconfig-dev.yaml"
    assert path.read_text() == KUBECONFIG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "export KUBECONFIG=$PWD/kubeconfig-dev.yaml" in result.stderr
    assert [p.name for p in project.dir.iterdir() if p.name.startswith("kubeconfig")] == ["kubeconfig-dev.yaml"]
    # An existing, more open file is replaced, not rewritten in place with its old mode.
    path.chmod(0o644)
    assert project.make("kubeconfig", FAKE_STACKS="dev", **PASSPHRASE).returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_kubeconfig_of_a_stack_without_the_output_fails_and_leaves_no_file(project: Project) -> None:
    result = project.make("kubeconfig", FAKE_KUBECONFIG="", **PASSPHRASE)
    assert result.returncode != 0
    assert "has no kubeconfig output" in result.stderr
    assert not any(p.name.startswith("kubeconfig") for p in project.dir.iterdir())


def test_the_kubeconfig_file_and_the_local_state_are_git_ignored() -> None:
    for path in ("kubeconfig-dev.yaml", "kubeconfig-prod.yaml", ".pulumi-state/x"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, env={**os.environ}, check=False)
        assert result.returncode == 0, path
