"""The GitHub Actions workflow: valid against the workflow schema (offline) and doing what the README says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT, stack_config

WORKFLOW_PATH = ROOT / ".github" / "workflows" / "pulumi.yml"
WORKFLOW_TEXT = WORKFLOW_PATH.read_text()
WORKFLOW: dict[Any, Any] = yaml.safe_load(WORKFLOW_TEXT)
JOBS: dict[str, dict[str, Any]] = WORKFLOW["jobs"]
README = (ROOT / "README.md").read_text()
CI_DOC = (ROOT / "docs" / "ci.md").read_text()
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def readme_test_command() -> str:
    """The README's test command, found the way tests/test_project_files.py finds it."""
    blocks = re.findall(r"^```sh\n(.*?)```", README, re.MULTILINE | re.DOTALL)
    return next(line for block in blocks for line in block.splitlines() if "test" in line).strip()


def triggers() -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    return WORKFLOW["on"] if "on" in WORKFLOW else WORKFLOW[True]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def check_workflow_schema(path: Path) -> subprocess.CompletedProcess[str]:
    # A proxy that refuses every connection: the check must not need the network.
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_workflow_is_valid_against_the_github_workflow_schema() -> None:
    result = check_workflow_schema(WORKFLOW_PATH)
    assert result.returncode == 0, result.stdout + result.stderr


def write_copy(tmp_path: Path, change: Any) -> Path:
    copy = yaml.safe_load(WORKFLOW_TEXT)
    copy["on"] = copy.pop(True)  # back to the key GitHub reads
    change(copy)
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(copy, sort_keys=False))
    return path


def test_an_unchanged_copy_passes_so_the_broken_copies_fail_for_their_breakage(tmp_path: Path) -> None:
    result = check_workflow_schema(write_copy(tmp_path, lambda w: None))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("break_it", [
    pytest.param(lambda w: w["jobs"]["test"].pop("runs-on"), id="job-without-runs-on"),
    pytest.param(lambda w: w.__setitem__("deploy-to", "prod"), id="unknown-top-level-key"),
    pytest.param(lambda w: w["jobs"]["preview"]["permissions"].__setitem__("id-token", "admin"), id="bad-permission"),
])
def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path, break_it: Any) -> None:
    result = check_workflow_schema(write_copy(tmp_path, break_it))
    assert result.returncode != 0, result.stdout
    assert "broken.yml" in result.stdout + result.stderr


def test_runs_on_pull_requests_and_pushes_to_main() -> None:
    on = triggers()
    assert on["pull_request"]["branches"] == ["main"]
    assert on["push"]["branches"] == ["main"]
    assert WORKFLOW["permissions"] == {}


def test_the_test_job_runs_exactly_the_readme_test_command() -> None:
    command = readme_test_command()
    assert command == "make test"
    test = JOBS["test"]
    # The README's command, then only the listing of the stacks for the other jobs.
    assert [s["run"].strip() for s in test["steps"] if "run" in s] == [
        command, 'venv/bin/python scripts/ci_stacks.py >> "$GITHUB_OUTPUT"']
    assert test["permissions"] == {"contents": "read"}
    assert "if" not in test  # on every pull request, including forks, and every push
    python = steps_using(test, "actions/setup-python")
    assert len(python) == 1 and python[0]["with"]["python-version"] == "3.11"


def test_preview_runs_after_the_tests_with_exactly_three_permissions() -> None:
    preview = JOBS["preview"]
    assert preview["needs"] == "test"
    assert "github.event_name == 'pull_request'" in preview["if"]
    assert preview["permissions"] == {"id-token": "write", "pull-requests": "write", "contents": "read"}


MATRIX_FROM_TEST_JOB = "${{ fromJSON(needs.test.outputs.stacks) }}"


def ci_stacks(project_dir: Path = ROOT) -> list[dict[str, Any]]:
    """What the test job hands the preview and up jobs: scripts/ci_stacks.py's line, decoded."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "ci_stacks.py"), "--project-dir", str(project_dir)],
                            capture_output=True, text=True, check=True)
    name, _, value = result.stdout.strip().partition("=")
    assert name == "stacks"
    return json.loads(value)


def test_the_test_job_lists_every_stack_file_for_the_matrices() -> None:
    test = JOBS["test"]
    assert test["outputs"] == {"stacks": "${{ steps.stacks.outputs.stacks }}"}
    (step,) = [s for s in test["steps"] if s.get("id") == "stacks"]
    assert step["run"] == 'venv/bin/python scripts/ci_stacks.py >> "$GITHUB_OUTPUT"'
    assert test["steps"].index(step) > next(i for i, s in enumerate(test["steps"]) if s.get("run") == "make test")
    entries = ci_stacks()
    assert sorted(e["stack"] for e in entries) == STACKS
    for entry in entries:
        config = stack_config(ROOT / f"Pulumi.{entry['stack']}.yaml")
        # The credentials' region is the stack's region; a private API endpoint needs a runner that reaches it.
        assert entry["region"] == config["aws:region"]
        assert entry["private_api"] is (config.get("eks-gpu-spot:endpointPublicAccess") is False)


def test_a_new_stack_file_is_in_the_matrix_and_protected_stacks_come_last(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    staging = stack_config(ROOT / "Pulumi.dev.yaml") | {"aws:region": "eu-west-1"}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump({"config": staging}))
    entries = ci_stacks(tmp_path)
    assert [(e["stack"], e["region"], e["private_api"]) for e in entries] == [
        ("dev", "us-east-1", False), ("staging", "eu-west-1", False), ("prod", "us-west-2", True)]
    (tmp_path / "Pulumi.broken.yaml").write_text(yaml.safe_dump({"config": {"eks-gpu-spot:clusterName": "x"}}))
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "ci_stacks.py"), "--project-dir", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "Pulumi.broken.yaml has no aws:region" in result.stderr


def test_private_api_stacks_run_on_the_runner_that_reaches_them() -> None:
    for name in ("preview", "up"):
        assert JOBS[name]["runs-on"] == (
            "${{ matrix.private_api && (vars.PRIVATE_API_RUNNER || vars.PROD_RUNNER) || 'ubuntu-24.04' }}")
    assert "`PRIVATE_API_RUNNER`" in CI_DOC


def test_preview_diffs_every_stack_and_comments_on_the_pull_request() -> None:
    preview = JOBS["preview"]
    assert preview["strategy"]["matrix"] == {"include": MATRIX_FROM_TEST_JOB}
    (step,) = steps_using(preview, "pulumi/actions")
    assert step["uses"] == "pulumi/actions@v7"
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["diff"] is True
    assert inputs["comment-on-pr"] is True
    assert inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"


def test_pulumi_cli_version_is_pinned() -> None:
    version = WORKFLOW["env"]["PULUMI_VERSION"]
    assert re.fullmatch(r"3\.\d+\.\d+", version), version
    for job in ("preview", "up"):
        (step,) = steps_using(JOBS[job], "pulumi/actions")
        assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"


def test_aws_credentials_come_from_oidc_role_assumption_only() -> None:
    for name in ("preview", "up"):
        job = JOBS[name]
        (step,) = steps_using(job, "aws-actions/configure-aws-credentials")
        assert step["uses"] == "aws-actions/configure-aws-credentials@v6"
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
        assert step["with"]["aws-region"] == "${{ matrix.region }}"
        assert job["permissions"]["id-token"] == "write"
    for job in JOBS.values():
        for step in job["steps"]:
            assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(step.get("with", {}))
    assert "AWS_ACCESS_KEY_ID" not in WORKFLOW_TEXT and "AWS_SECRET_ACCESS_KEY" not in WORKFLOW_TEXT


def test_up_is_optional_gated_by_an_environment_and_never_cancelled() -> None:
    up = JOBS["up"]
    assert up["needs"] == "test"
    assert "github.event_name == 'push'" in up["if"]
    assert "vars.ENABLE_PULUMI_UP == 'true'" in up["if"]
    assert up["environment"] == "production"
    assert up["permissions"] == {"id-token": "write", "contents": "read"}
    assert "${{ matrix.stack }}" in up["concurrency"]["group"]
    assert up["concurrency"]["cancel-in-progress"] is False
    assert up["strategy"]["max-parallel"] == 1
    assert up["strategy"]["matrix"] == {"include": MATRIX_FROM_TEST_JOB}
    (step,) = steps_using(up, "pulumi/actions")
    assert step["with"]["command"] == "up"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"


def test_every_action_is_pinned_to_a_version() -> None:
    uses = [s["uses"] for job in JOBS.values() for s in job["steps"] if "uses" in s]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", ref), ref


def test_ci_doc_documents_every_secret_and_variable_the_workflow_reads() -> None:
    names = set(re.findall(r"\b(?:secrets|vars)\.([A-Z_]+)", WORKFLOW_TEXT)) - {"GITHUB_TOKEN"}
    assert {"AWS_ROLE_ARN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "ENABLE_PULUMI_UP"} <= names
    missing = {name for name in names if f"`{name}`" not in CI_DOC}
    assert not missing, f"docs/ci.md does not document: {sorted(missing)}"
    assert "token.actions.githubusercontent.com" in CI_DOC
    assert "`production`" in CI_DOC
    assert "docs/ci.md" in README


# Node 24 majors, each checked in the action's own action.yml (runs.using: node24) at the tag named
# in the workflow's header comment. A Node 20 major no longer runs on GitHub's runners.
CURRENT_MAJORS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "aws-actions/configure-aws-credentials": "v6",
    "pulumi/actions": "v7",
}


def test_every_action_is_on_its_current_node24_major() -> None:
    uses = [s["uses"] for job in JOBS.values() for s in job["steps"] if "uses" in s]
    assert {ref.split("@")[0] for ref in uses} == set(CURRENT_MAJORS)
    for ref in uses:
        action, version = ref.split("@")
        assert version == CURRENT_MAJORS[action], ref


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    # shellcheck and pyflakes are switched off so the result does not depend on what else is on PATH.
    return subprocess.run([str(ACTIONLINT), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_actionlint_finds_nothing_in_the_workflow() -> None:
    result = actionlint(WORKFLOW_PATH)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("planted", "finding"), [
    pytest.param(("actions/checkout@v7", "actions/checkout@v4"), 'runtime "node20" is deprecated', id="node20-action"),
    pytest.param(("needs.test.outputs.stacks", "needs.test.outputs.stackz"), "property \"stackz\" is not defined",
                 id="typo-in-expression"),
    pytest.param(("needs: test", "needs: tests"), 'needs job "tests" which does not exist', id="unknown-needs"),
])
def test_actionlint_catches_a_planted_error(tmp_path: Path, planted: tuple[str, str], finding: str) -> None:
    good, bad = planted
    assert good in WORKFLOW_TEXT
    workflow_dir = tmp_path / ".github" / "workflows"
    workflow_dir.mkdir(parents=True)
    path = workflow_dir / "broken.yml"
    path.write_text(WORKFLOW_TEXT.replace(good, bad, 1))
    result = actionlint(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert finding in result.stdout, result.stdout
