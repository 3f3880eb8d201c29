"""The autoscaler's tag contract read back: ASG tags -> the template the autoscaler's AWS provider
builds -> the labels and taints kubelet registers agree, for every pool."""

from __future__ import annotations

import base64

import pytest

from components.node_template import GPU_TAINT, NodeTemplate, Taint, template_from_tags
from tests.harness import ProgramRun, run_program
from tests.test_nodegroup import CONFIG, launch_template_of
from tests.test_userdata import parse_node_configs


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(CONFIG)


def registered_flags(run: ProgramRun, group) -> list[str]:  # noqa: ANN001
    (config,) = parse_node_configs(base64.b64decode(launch_template_of(run, group).inputs["userData"]).decode())
    return list(config["spec"]["kubelet"]["flags"])


def test_every_groups_tags_rebuild_the_template_kubelet_registers(run: ProgramRun) -> None:
    groups = run.of_type("aws:autoscaling/group:Group")
    assert len(groups) == 7
    for group in groups:
        tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
        template = template_from_tags(tags)
        assert template.kubelet_flags() == registered_flags(run, group), group.name
        # The stack output (and so the preflight) holds exactly what the autoscaler reads back.
        assert run.outputs["nodeGroups"][template.labels["node-pool"]]["template"] == template.to_json()


def test_the_parse_follows_the_autoscaler_rules() -> None:
    template = NodeTemplate(labels={"a": "1"}, taints=(GPU_TAINT, Taint("team", "", "PreferNoSchedule")),
                            capacity={"nvidia.com/gpu": "4"}, scale_down_unneeded_time="5m",
                            extra_autoscaling_options={"scaledowngpuutilizationthreshold": "0.1"})
    tags = template.autoscaler_tags("ml")
    parsed = template_from_tags(tags)
    assert parsed == template
    # A taint value without a known effect is skipped, as the autoscaler skips it.
    broken = {**tags, "k8s.io/cluster-autoscaler/node-template/taint/team": "true"}
    assert template_from_tags(broken).taints == (GPU_TAINT,)
