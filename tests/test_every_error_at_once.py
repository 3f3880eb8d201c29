"""One run reports every config error it finds, one line each naming the key, with no traceback:
the types (library users), the stack config, the AWS-fact checks, render and the preflight."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.errors import InvalidValueError, InvalidValuesError
from components.pool_spec import NodePoolSpec
from components.settings import ClusterSettings, NewVpcSettings
from config import ConfigError, ConfigErrors, config_strings, parse_settings
from tests.harness import ROOT, run_program, stack_config
from tests.preflight_helpers import EXAMPLES, project_copy, run_cli

PREFIX = "eks-gpu-spot:"
# Two independent mistakes in two parts of the config.
TWO_ERRORS = {"kubernetesVersion": "1.99", "gpuPools": [{"name": "gpu", "maxSizePerAz": -1}]}
TWO_KEYS = [f"{PREFIX}kubernetesVersion", f"{PREFIX}gpuPools[0].maxSizePerAz"]


def parse(config: dict[str, object]) -> None:
    parse_settings(config_strings({f"{PREFIX}{key}": value for key, value in config.items()}), stack="test",
                   region="us-east-1")


def refused(config: dict[str, object]) -> list[ConfigError]:
    with pytest.raises(InvalidValueError) as caught:
        parse(config)
    errors = caught.value.errors
    assert all(isinstance(e, ConfigError) for e in errors)
    return [e for e in errors if isinstance(e, ConfigError)]


def assert_lines_name_keys(message: str, keys: list[str]) -> None:
    lines = message.splitlines()
    assert len(lines) == len(keys), message
    for line, key in zip(lines, keys, strict=True):
        assert line.startswith(f"config key '{key}': got "), line


def test_two_independent_errors_are_both_reported_one_line_each() -> None:
    with pytest.raises(ConfigErrors) as caught:
        parse(TWO_ERRORS)
    assert [e.field for e in caught.value.errors] == TWO_KEYS
    assert_lines_name_keys(str(caught.value), TWO_KEYS)
    assert "must be one of: 1.32" in str(caught.value).splitlines()[0]
    assert "must be a whole number from 1 to 1000" in str(caught.value).splitlines()[1]


def test_one_error_is_still_one_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"kubernetesVersion": "1.99"})
    assert not isinstance(caught.value, ConfigErrors)
    assert "\n" not in str(caught.value)


def test_errors_in_every_part_and_every_unknown_key_are_reported() -> None:
    errors = refused({
        "kubernetsVersion": "1.35", "colour": "blue",
        "vpcCidr": "10.0.0.0/8",
        "generalPool": {"maxSize": 0, "rootVolumeGiB": 5},
        "gpuPools": [{"name": "gpu", "taints": ["bad key=x:NoSchedule"]},
                     {"name": "Big", "timeSlicingReplicas": -1}],
        "clusterAutoscaler": {"expander": "random", "maxNodeProvisionTime": "2h"},
    })
    assert sorted(e.key for e in errors) == sorted([
        f"{PREFIX}kubernetsVersion", f"{PREFIX}colour", f"{PREFIX}vpcCidr",
        f"{PREFIX}generalPool.maxSize", f"{PREFIX}generalPool.rootVolumeGiB",
        f"{PREFIX}gpuPools[0].taints[0]", f"{PREFIX}gpuPools[1].name", f"{PREFIX}gpuPools[1].timeSlicingReplicas",
        f"{PREFIX}clusterAutoscaler.expander", f"{PREFIX}clusterAutoscaler.maxNodeProvisionTime",
    ])


def test_a_check_that_needs_a_refused_value_is_not_reported_on_top_of_it() -> None:
    # maxSize 0 is refused; "min must not exceed max" would only repeat it, so it is not said.
    errors = refused({"generalPool": {"minSize": 2, "maxSize": 0}})
    assert [e.key for e in errors] == [f"{PREFIX}generalPool.maxSize"]
    # With a valid maximum, the relation is checked and reported.
    errors = refused({"generalPool": {"minSize": 3, "maxSize": 2}})
    assert [(e.key, e.allowed) for e in errors] == [(f"{PREFIX}generalPool.minSize",
                                                      "must not exceed the maximum size (2)")]


def test_library_types_report_every_field_too() -> None:
    with pytest.raises(InvalidValuesError) as caught:
        NodePoolSpec(name="X", min_size=-1, max_size=0, root_volume_gib=10)
    assert [e.field for e in caught.value.errors] == ["name", "min_size", "max_size", "root_volume_gib"]
    with pytest.raises(InvalidValuesError) as caught:
        ClusterSettings(name="", kubernetes_version="1.0", public_access_cidrs=["1.2.3.4/33", "198.51.100.0/24"],
                        log_types=["api", "nope"])
    assert [e.field for e in caught.value.errors] == ["name", "kubernetes_version", "public_access_cidrs[0]",
                                                      "log_types[1]"]
    with pytest.raises(InvalidValuesError) as caught:
        NewVpcSettings(vpc_cidr="10.0.0.0/16", private_subnet_cidrs=["10.1.0.0/19", "10.0.0.0/30", "10.0.32.0/19"])
    assert [e.field for e in caught.value.errors] == ["private_subnet_cidrs[0]", "private_subnet_cidrs[1]"]
    # The nearest good values build.
    assert NodePoolSpec(name="x1", min_size=0, max_size=1, root_volume_gib=20).max_size == 1


def test_the_program_reports_both_before_any_resource() -> None:
    run = run_program(TWO_ERRORS, expect_error=True)
    assert isinstance(run.error, ConfigErrors)
    assert_lines_name_keys(str(run.error), TWO_KEYS)
    assert run.resources == []


def test_aws_fact_errors_of_several_pools_are_reported_together() -> None:
    # Two pools whose types no zone offers, and a pool of two shapes: each named by its key.
    run = run_program({"gpuPools": [
        {"name": "gpu-a", "instanceTypes": ["g5.xlarge", "g5.2xlarge"]},
        {"name": "gpu-b", "instanceTypes": ["g4dn.xlarge", "g6.12xlarge"]},
    ]}, expect_error=True)
    assert isinstance(run.error, ConfigErrors)
    assert [e.field for e in run.error.errors] == [f"{PREFIX}gpuPools[0].instanceTypes", f"{PREFIX}gpuPools[1].instanceTypes"]
    assert run.resources == []
    run = run_program({"generalPool": {"instanceTypes": ["m5.xlarge"]}, "gpuPools": [
        {"name": "gpu-a", "instanceTypes": ["g5.xlarge"]}, {"name": "gpu-b", "instanceTypes": ["g6.xlarge"]}]},
        not_offered={zone: {"m5.xlarge", "g5.xlarge", "g6.xlarge"} for zone in ("us-east-1a", "us-east-1b",
                                                                               "us-east-1c")},
        expect_error=True)
    assert isinstance(run.error, ConfigErrors)
    assert [e.field for e in run.error.errors] == [f"{PREFIX}generalPool.instanceTypes[0]",
                                                 f"{PREFIX}gpuPools[0].instanceTypes[0]",
                                                 f"{PREFIX}gpuPools[1].instanceTypes[0]"]


def bad_stack(tmp_path: Path) -> Path:
    project = project_copy(tmp_path)
    (project / "__main__.py").symlink_to(ROOT / "__main__.py")
    config = {**stack_config(ROOT / "Pulumi.dev.yaml"), **{f"{PREFIX}{k}": v for k, v in TWO_ERRORS.items()}}
    stack = project / "Pulumi.bad.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    return stack


def test_render_prints_each_error_on_one_line_and_no_traceback(tmp_path: Path) -> None:
    stack = bad_stack(tmp_path)
    result = subprocess.run([sys.executable, "-m", "components.render", "--stack", "bad", "--project-dir",
                             str(stack.parent), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert_lines_name_keys("\n".join(line.removeprefix("error: ") for line in result.stderr.splitlines()), TWO_KEYS)
    assert not (tmp_path / "out").exists()


def test_the_preflight_prints_each_error_on_one_line(tmp_path: Path) -> None:
    stack = bad_stack(tmp_path)
    code, out, err = run_cli("--stack-config", str(stack), "--instance-shapes", "builtin",
                             str(EXAMPLES / "cuda-vector-add.yaml"))
    assert code == 2
    assert "Traceback" not in err
    prefix = f"eks-gpu-spot-preflight: error: {stack}: "
    assert all(line.startswith(prefix) for line in err.splitlines()), err
    assert_lines_name_keys("\n".join(line.removeprefix(prefix) for line in err.splitlines()), TWO_KEYS)
