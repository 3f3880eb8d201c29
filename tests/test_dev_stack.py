"""The whole program under mocks with Pulumi.dev.yaml."""

from __future__ import annotations

import pytest

from tests.harness import ROOT, ProgramRun, run_program, stack_config


@pytest.fixture(scope="module")
def dev() -> ProgramRun:
    return run_program(stack_config(ROOT / "Pulumi.dev.yaml"), stack="dev")


def test_dev_stack_registers_network_cluster_and_node_groups(dev: ProgramRun) -> None:
    assert len(dev.of_type("aws:ec2/vpc:Vpc")) == 1
    assert len(dev.of_type("aws:ec2/subnet:Subnet")) == 6
    assert len(dev.of_type("aws:ec2/natGateway:NatGateway")) == 1
    cluster = dev.one("eks:index:Cluster")
    assert cluster.inputs["name"] == "eks-gpu-spot-dev"
    assert cluster.inputs["version"] == "1.35"
    groups = dev.of_type("aws:autoscaling/group:Group")
    assert sorted(g.inputs["name"] for g in groups) == [
        "eks-gpu-spot-dev-general",
        "eks-gpu-spot-dev-gpu-small-us-east-1a",
        "eks-gpu-spot-dev-gpu-small-us-east-1b",
        "eks-gpu-spot-dev-gpu-small-us-east-1c",
    ]


def test_dev_stack_uses_its_configured_pools(dev: ProgramRun) -> None:
    general = dev.one("aws:autoscaling/group:Group", "general")
    overrides = general.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == ["m6i.2xlarge", "m6a.2xlarge", "m5.2xlarge", "m5a.2xlarge", "m7i.2xlarge"]
    assert (general.inputs["minSize"], general.inputs["maxSize"]) == (2, 6)
    vpc = dev.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["environment"] == "dev"
    assert vpc.inputs["tags"]["owner"] == "ml-platform"


def test_every_resource_has_a_parent_component(dev: ProgramRun) -> None:
    components = {r.urn for r in dev.resources if r.type.startswith("eks-gpu-spot:")}
    top_level = [r for r in dev.resources if r.urn not in components and r.parent not in components]
    assert top_level == [], [r.name for r in top_level]


def test_stack_outputs(dev: ProgramRun) -> None:
    assert dev.outputs["clusterName"] == "eks-gpu-spot-dev"
    assert dev.outputs["serviceCidr"] == "172.20.0.0/16"
    assert "kubeconfig" in dev.secret_outputs
    assert set(dev.outputs["nodeGroups"]) == {"general", "gpu-small"}
