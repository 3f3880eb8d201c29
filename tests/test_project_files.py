"""The project files agree with the code: declared config keys, defaults, README table, CI."""

from __future__ import annotations

import re

import yaml

from config import TOP_LEVEL_KEYS, parse_settings
from tests.harness import ROOT

PULUMI_YAML = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
README = (ROOT / "README.md").read_text()
CONFIG_DOC = (ROOT / "docs" / "config.md").read_text()


def test_pulumi_yaml_runs_python_with_pip_and_a_virtualenv() -> None:
    assert PULUMI_YAML["name"] == "eks-gpu-spot"
    assert PULUMI_YAML["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_pulumi_yaml_declares_exactly_the_keys_config_reads() -> None:
    assert set(PULUMI_YAML["config"]) == set(TOP_LEVEL_KEYS)
    for key, kind in TOP_LEVEL_KEYS.items():
        declared = PULUMI_YAML["config"][key]
        if kind in ("object", "objects"):
            assert "type" not in declared, key  # Pulumi has no object config type
        else:
            assert declared["type"] == kind, key


def test_pulumi_yaml_declares_no_defaults_the_package_holds_them() -> None:
    # Pulumi would inject a declared default into every stack, even where the key does not apply.
    assert [key for key, declaration in PULUMI_YAML["config"].items() if "default" in declaration] == []
    private_endpoint = {"eks-gpu-spot:endpointPublicAccess": "false"}
    assert parse_settings(private_endpoint, stack="prod", region="us-west-2").cluster.public_access_cidrs == ()


def test_the_readme_links_the_config_reference() -> None:
    # The table itself is made from the code (tests/test_config_reference.py).
    assert "docs/config.md" in README


def test_readme_is_a_quickstart_of_about_200_lines_linking_its_reference() -> None:
    assert len(README.splitlines()) <= 200
    for doc in ("config", "addons", "preflight", "ci", "library", "security"):
        assert f"(docs/{doc}.md)" in README, doc
    for doc in ("config", "addons", "preflight", "ci", "library", "testing"):
        assert (ROOT / "docs" / f"{doc}.md").is_file(), doc
    for command in ("make up STACK=dev", "make kubeconfig STACK=dev", "kubectl apply -f examples/cuda-vector-add.yaml",
                    "kubectl get nodes -l nvidia.com/gpu=true -w", "make destroy STACK=dev", "make render STACK=dev"):
        assert command in README, command
    assert (ROOT / "examples" / "cuda-vector-add.yaml").is_file()


def test_docs_link_only_to_files_that_exist() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"^```sh\n(.*?)```", README, re.MULTILINE | re.DOTALL)
    test_command = next(line for block in commands for line in block.splitlines() if "test" in line)
    assert test_command.strip() == "make test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_the_package_and_the_program_require_the_same_dependencies() -> None:
    block = re.search(r"^dependencies = \[(.*?)^\]", (ROOT / "pyproject.toml").read_text(), re.MULTILINE | re.DOTALL)
    assert block is not None
    dependencies = re.findall(r'"([^"]+)"', block[1])
    requirements = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert len(dependencies) == 5
    assert sorted(dependencies) == sorted(requirements)
