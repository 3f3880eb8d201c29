"""AWS limits counted on what the program sends, for the largest configs it accepts: a 100-character
cluster name, 8 GPU pools over 6 zones, 32-character pool names."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.addons.termination_handler import event_patterns
from components.cluster import control_plane_logical_name
from tests.harness import ProgramRun, run_program

CLUSTER_100 = "c" * 60 + "-" + "x" * 39
SIX_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f", "us-east-1g"]
POOL_TYPES = [["g5.xlarge", "g6.xlarge"], ["g5.2xlarge", "g6.2xlarge"], ["g5.12xlarge", "g6.12xlarge"], ["g4dn.xlarge"],
              ["g4dn.2xlarge"], ["g6e.xlarge"], ["p3dn.24xlarge"], ["g4dn.12xlarge"]]
BIG = {
    "clusterName": CLUSTER_100,
    "availabilityZoneCount": 6,
    "tags": {f"tag-{i}": "v" * 100 for i in range(10)},
    "gpuPools": [{"name": f"pool-{i}-" + "p" * 24, "instanceTypes": types, "maxSizePerAz": 4,
                  "labels": {"example.com/team": f"team-{i}"}, "taints": [f"example.com/team=team-{i}:NoSchedule"]}
                 for i, types in enumerate(POOL_TYPES)],
}
# Physical-name limits of the types the program lets Pulumi name (logical name + 8 characters).
AUTONAME_LIMITS = {
    "aws:iam/role:Role": 64,
    "aws:iam/policy:Policy": 128,
    "aws:iam/instanceProfile:InstanceProfile": 128,
    "aws:sqs/queue:Queue": 80,
    "aws:cloudwatch/eventRule:EventRule": 64,
    "aws:ec2/launchTemplate:LaunchTemplate": 128,
}
# Limits of names the program sets itself.
NAME_LIMITS = {
    "aws:autoscaling/group:Group": 255,
    "aws:autoscaling/lifecycleHook:LifecycleHook": 255,
    "aws:kms/alias:Alias": 256,
    "eks:index:Cluster": 100,
}


@pytest.fixture(scope="module")
def big() -> ProgramRun:
    return run_program(BIG, zones=SIX_ZONES)


def test_the_largest_config_deploys_every_group(big: ProgramRun) -> None:
    groups = big.of_type("aws:autoscaling/group:Group")
    assert len(groups) == 1 + 8 * 6
    assert len(big.of_type("aws:autoscaling/lifecycleHook:LifecycleHook")) == 1 + 8 * 6


def test_every_physical_name_fits(big: ProgramRun) -> None:
    for resource in big.resources:
        if resource.type in NAME_LIMITS:
            assert len(resource.inputs["name"]) <= NAME_LIMITS[resource.type], (resource.type, resource.inputs["name"])
        elif resource.type in AUTONAME_LIMITS and "name" not in resource.inputs:
            assert len(resource.name) + 8 <= AUTONAME_LIMITS[resource.type], (resource.type, resource.name)
    # pulumi-eks names the control plane role `<logical>-eksRole-role` (+8): mocks never see it.
    (control_plane,) = big.of_type("eks:index:Cluster")
    assert control_plane.name == control_plane_logical_name(CLUSTER_100)
    assert len(control_plane.name + "-eksRole-role") + 8 <= 64


def test_a_short_cluster_name_keeps_its_logical_name() -> None:
    # Existing stacks keep the URN of their control plane.
    assert control_plane_logical_name("eks-gpu-spot-dev") == "eks-gpu-spot-dev"
    assert control_plane_logical_name(CLUSTER_100) != control_plane_logical_name(CLUSTER_100[:-1] + "y")


def _compact(document: Any) -> str:
    return re.sub(r"\s", "", document if isinstance(document, str) else json.dumps(document))


def test_iam_documents_stay_under_the_managed_policy_size(big: ProgramRun) -> None:
    documents = [r.inputs["policy"] for r in big.of_type("aws:iam/policy:Policy")]
    assert len(documents) >= 2
    for document in documents:
        assert len(_compact(document)) <= 6144


def test_every_tag_set_fits_aws_limits(big: ProgramRun) -> None:
    for resource in big.resources:
        tags = resource.inputs.get("tags")
        if isinstance(tags, list):  # Auto Scaling group tags
            tags = {t["key"]: t["value"] for t in tags}
        sets = [tags] if isinstance(tags, dict) else []
        sets += [spec["tags"] for spec in resource.inputs.get("tagSpecifications", [])]
        for found in sets:
            assert len(found) <= 50, (resource.name, len(found))
            for key, value in found.items():
                assert len(key) <= 128 and len(value) <= 256 and not key.lower().startswith("aws:"), key


def test_termination_handler_event_patterns_fit_eventbridge(big: ProgramRun) -> None:
    # EventBridge refuses a pattern over 2,048 characters and a description over 512.
    registered = big.of_type("aws:cloudwatch/eventRule:EventRule")
    rules = {suffix: rule for suffix in event_patterns(CLUSTER_100) for rule in registered
             if rule.name == f"node-termination-handler-{suffix}"}
    assert len(rules) == len(registered) == 4
    for rule in rules.values():
        assert len(_compact(rule.inputs["eventPattern"])) <= 2048, rule.name
        assert len(rule.inputs["description"]) <= 512, rule.name
    # The lifecycle rule matches the cluster's 49 ASGs by their name prefix, not by a list that
    # would grow with every pool and zone.
    pattern = json.loads(rules["asg-lifecycle"].inputs["eventPattern"])
    assert pattern["detail"]["AutoScalingGroupName"] == [{"prefix": f"{CLUSTER_100}-"}]
    asg_names = [g.inputs["name"] for g in big.of_type("aws:autoscaling/group:Group")]
    assert len(asg_names) == 49 and all(name.startswith(f"{CLUSTER_100}-") for name in asg_names)
    assert not any(name in rules["asg-lifecycle"].inputs["eventPattern"] for name in asg_names)
