"""The project files agree with the code: declared config keys, defaults, README table, CI."""

from __future__ import annotations

import json
import re

import yaml

from config import TOP_LEVEL_KEYS, parse_settings
from tests.harness import ROOT

PULUMI_YAML = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
README = (ROOT / "README.md").read_text()


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


def test_pulumi_yaml_defaults_are_the_defaults_config_applies() -> None:
    defaults = {}
    for key, declaration in PULUMI_YAML["config"].items():
        if "default" in declaration:
            value = declaration["default"]
            defaults[f"eks-gpu-spot:{key}"] = value if isinstance(value, str) else json.dumps(value)
    assert parse_settings(defaults, stack="dev", region="us-east-1") == parse_settings({}, stack="dev", region="us-east-1")
    assert len(defaults) >= 10


def test_readme_config_table_covers_every_key() -> None:
    documented = set(re.findall(r"^\| `([A-Za-z]+)(?:[.\[][^`]*)?` \|", README, re.MULTILINE))
    assert set(TOP_LEVEL_KEYS) <= documented, set(TOP_LEVEL_KEYS) - documented


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
