"""Template nodes from a stack output and from a stack config, instance shapes, the project config."""

from __future__ import annotations

import json
import types
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import preflight
from components.instance_catalog import KNOWN_SHAPES
from components.node_template import GPU_TAINT
from components.preflight import (
    PreflightError,
    groups_from_stack_config,
    groups_from_stack_output,
    project_config,
)
from tests.harness import run_program, stack_config
from tests.preflight_helpers import (
    DEV_STACK,
    EXAMPLES,
    dev_groups,
    project_copy,
    run_cli,
)


def test_templates_from_the_dev_config_follow_the_tags_code() -> None:
    general, gpu = dev_groups()
    assert general.name == "general" and gpu.name == "gpu-small"
    # Allocatable as nodeadm leaves it (components/allocatable.py): m6i.2xlarge 8000m - 90m,
    # 32768 MiB - 2458 (7.5%) - 893 (11 x 58 pods + 255) - 100 (eviction); the GPU pool's least,
    # g5/g6.xlarge: 4000m - 80m, 16384 MiB - 1229 - 893 - 100.
    assert general.capacity["cpu"] == Fraction(7910, 1000) and general.capacity["memory"] == 29317 * 2**20
    assert gpu.capacity["cpu"] == Fraction(3920, 1000) and gpu.capacity["memory"] == 14162 * 2**20
    assert gpu.capacity["nvidia.com/gpu"] == 1
    assert gpu.taints == (GPU_TAINT,) and gpu.labels["nvidia.com/gpu"] == "true"
    assert gpu.labels["kubernetes.io/arch"] == "amd64" and gpu.labels["topology.kubernetes.io/region"] == "us-east-1"
    assert gpu.labels["node.kubernetes.io/instance-type"] == "g5.xlarge"


def test_the_deployed_stack_output_gives_the_same_templates_as_the_config() -> None:
    run = run_program(stack_config(DEV_STACK), stack="dev")
    output = json.loads(json.dumps(run.outputs["nodeGroups"]))
    from_output = groups_from_stack_output(output)
    assert groups_from_stack_output({"nodeGroups": output, "vpcId": "vpc-1"}) == from_output
    for computed, deployed in zip(dev_groups(), from_output, strict=True):
        assert (deployed.name, deployed.taints, deployed.capacity) == (computed.name, computed.taints, computed.capacity)
        assert {**deployed.labels, "topology.kubernetes.io/region": "us-east-1"} == computed.labels


def test_a_malformed_stack_output_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="'nodeGroups' object"):
        groups_from_stack_output([])
    with pytest.raises(PreflightError, match="nodeGroups.gpu: missing 'template'"):
        groups_from_stack_output({"gpu": {"asgNames": []}})
    with pytest.raises(PreflightError, match="capacity cpu"):
        groups_from_stack_output({"gpu": {"template": {"capacity": {"cpu": "four"}}}})


def test_an_unknown_instance_type_without_aws_is_a_clear_error(tmp_path: Path) -> None:
    # An UltraServer type: neither nodeadm's nor Karpenter's table lists it, so the built-in table lacks it.
    assert "p6e-gb200.36xlarge" not in KNOWN_SHAPES
    stack = project_copy(tmp_path) / "Pulumi.big.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "aws:region": "us-west-2", "eks-gpu-spot:gpuPools": [{"name": "gb200", "instanceTypes": ["p6e-gb200.36xlarge"]}]}}))
    with pytest.raises(PreflightError, match="p6e-gb200.36xlarge are not in the built-in table") as caught:
        groups_from_stack_config(stack, shape_source="builtin")
    # The nearest types the table has, not all of its thousand-odd types.
    near = str(caught.value).split("(the table has: ")[1].rstrip(")").split(", ")
    assert 1 <= len(near) <= 3 and all(t in KNOWN_SHAPES for t in near)
    assert len(str(caught.value)) < 400


def test_a_bad_stack_config_is_bad_input(tmp_path: Path) -> None:
    stack = project_copy(tmp_path) / "Pulumi.typo.yaml"
    stack.write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", "eks-gpu-spot:gpuPool": []}}))
    code, out, err = run_cli("--stack-config", str(stack), "--instance-shapes", "builtin",
                             str(EXAMPLES / "cuda-vector-add.yaml"))
    assert (code, out) == (2, "")
    assert "config key 'eks-gpu-spot:gpuPool'" in err and "Did you mean 'gpuPools'?" in err


def fake_boto3(credentials: object, described: list[dict[str, Any]]) -> types.ModuleType:
    class Session:
        def __init__(self, region_name: str | None = None) -> None:
            self.region_name = region_name

        def get_credentials(self) -> object:
            return credentials

        def client(self, service: str) -> Any:
            assert service == "ec2"
            pages = [{"InstanceTypes": described}]
            paginator = types.SimpleNamespace(paginate=lambda **kwargs: pages)
            return types.SimpleNamespace(get_paginator=lambda name: paginator)

    module = types.ModuleType("boto3")
    module.session = types.SimpleNamespace(Session=Session)  # type: ignore[attr-defined]
    return module


def test_shapes_come_from_ec2_when_credentials_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    described = [{"InstanceType": "g6e.2xlarge", "VCpuInfo": {"DefaultVCpus": 8}, "MemoryInfo": {"SizeInMiB": 65536},
                  "GpuInfo": {"Gpus": [{"Name": "L40S", "Manufacturer": "NVIDIA", "Count": 1}]},
                  "NetworkInfo": {"MaximumNetworkInterfaces": 4, "Ipv4AddressesPerInterface": 15},
                  "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}}]
    monkeypatch.setitem(__import__("sys").modules, "boto3", fake_boto3(object(), described))
    lookup = preflight.instance_shapes(["g6e.2xlarge"], "us-east-1")
    assert lookup.source == "AWS ec2:DescribeInstanceTypes in us-east-1"
    shape = lookup.shapes["g6e.2xlarge"]
    assert (shape.vcpus, shape.memory_mib, shape.gpu_count, shape.gpu_model, shape.max_pods) == (8, 65536, 1, "L40S", 58)


def test_without_credentials_auto_falls_back_to_the_table_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "boto3", fake_boto3(None, []))
    lookup = preflight.instance_shapes(["g5.xlarge"], "us-east-1")
    assert lookup.source == ("built-in table (components/instance_catalog.py); "
                             "AWS not used: no AWS credentials found")
    assert lookup.shapes["g5.xlarge"].max_pods == 58
    with pytest.raises(PreflightError, match="no AWS credentials found"):
        preflight.instance_shapes(["g5.xlarge"], "us-east-1", "aws")


def test_architecture_of_graviton_and_x86_families() -> None:
    assert [preflight.architecture(t) for t in ("m7g.large", "c6gn.xlarge", "g5g.xlarge", "g4dn.xlarge",
                                                "m7i.large", "p5.48xlarge")] == [
        "arm64", "arm64", "arm64", "amd64", "amd64", "amd64"]


# --- the project's config/ package, found beside the stack file ------------------------------------------

def test_a_stack_file_outside_a_project_root_is_exit_2_naming_the_missing_config(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text((DEV_STACK).read_text())
    with pytest.raises(PreflightError, match="needs the eks-gpu-spot project's config/ package beside the stack file"):
        project_config(stack)
    code, out, err = run_cli("--stack-config", str(stack), "--instance-shapes", "builtin",
                             str(EXAMPLES / "cuda-vector-add.yaml"))
    assert (code, out) == (2, "")
    assert f"{tmp_path / 'config'} is not there" in err and "--stack-output" in err


def test_the_config_package_beside_the_stack_file_is_the_one_used(tmp_path: Path) -> None:
    import config

    assert project_config(DEV_STACK) is config
    stack = project_copy(tmp_path) / "Pulumi.dev.yaml"
    stack.write_text(DEV_STACK.read_text())
    assert project_config(stack) is config  # the same package, through the link
    assert [g.name for g in groups_from_stack_config(stack, shape_source="builtin").groups] == ["general", "gpu-small"]


def test_a_different_config_module_already_loaded_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "config").mkdir(parents=True)
    (other / "config" / "__init__.py").write_text("")
    (other / "Pulumi.dev.yaml").write_text(DEV_STACK.read_text())
    with pytest.raises(PreflightError, match="a different module named 'config' is already imported"):
        project_config(other / "Pulumi.dev.yaml")


def test_a_negative_capacity_in_a_stack_output_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="capacity cpu: '-4' must be greater than or equal to 0"):
        groups_from_stack_output({"gpu": {"template": {"capacity": {"cpu": "-4"}}}})


def test_the_config_templates_are_what_the_asg_tags_give_the_autoscaler(monkeypatch: pytest.MonkeyPatch) -> None:
    # A taint tag whose value lacks ':<Effect>' is skipped by the Cluster Autoscaler
    # (aws_manager.go); the preflight reads the same tags back, so it skips it too.
    from components.node_template import CA_TAINT_PREFIX, NodeTemplate

    rendered = NodeTemplate.autoscaler_tags

    def without_effects(self: NodeTemplate, cluster_name: str) -> dict[str, str]:
        return {key: value.rsplit(":", 1)[0] if key.startswith(CA_TAINT_PREFIX) else value
                for key, value in rendered(self, cluster_name).items()}

    general, gpu = groups_from_stack_config(DEV_STACK, shape_source="builtin").groups
    assert gpu.taints == (GPU_TAINT,)
    monkeypatch.setattr(NodeTemplate, "autoscaler_tags", without_effects)
    general_seen, gpu_seen = groups_from_stack_config(DEV_STACK, shape_source="builtin").groups
    assert gpu_seen.taints == ()
    # Everything else is read back unchanged.
    assert gpu_seen.labels == gpu.labels and gpu_seen.capacity == gpu.capacity
    assert general_seen == general


def test_the_on_demand_fallback_groups_are_groups_of_their_own() -> None:
    from components.preflight.templates import groups_from_stack_output
    from tests.harness import run_program

    run = run_program({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "onDemandFallback": True}]})
    output = run.outputs["nodeGroups"]["gpu"]
    assert output["template"]["labels"]["lifecycle"] == "Ec2Spot"
    assert output["onDemandTemplate"]["labels"]["lifecycle"] == "OnDemand"
    assert "onDemandTemplate" not in run.outputs["nodeGroups"]["general"]
    groups = {g.name: g for g in groups_from_stack_output(run.outputs)}
    assert set(groups) == {"general", "gpu", "gpu-on-demand"}
    assert groups["gpu-on-demand"].labels["lifecycle"] == "OnDemand"
    assert groups["gpu-on-demand"].taints == groups["gpu"].taints
