"""Pure tests of node templates: autoscaler tags derive from labels, taints and capacity."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.errors import InvalidValueError
from components.node_template import GPU_TAINT, InstanceShape, NodeTemplate, Taint, ca_cluster_tag, template_from_tags
from components.pool_spec import NodePoolSpec, accelerator_label_value, build_node_template

T4 = InstanceShape("g4dn.xlarge", 4, 16384, 1, "T4", "NVIDIA", 29)
A10G = InstanceShape("g5.xlarge", 4, 16384, 1, "A10G", "NVIDIA", 58)


def test_taint_tags_always_carry_the_effect() -> None:
    template = NodeTemplate(labels={}, taints=(GPU_TAINT, Taint("spot", "", "PreferNoSchedule")), capacity={})
    tags = template.autoscaler_tags("ml")
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/spot"] == ":PreferNoSchedule"


def test_every_capacity_entry_becomes_a_resource_tag_cpu_memory_and_pods_included() -> None:
    # CA's AWS provider overrides the instance type's vCPU, memory and its 110 pods with these tags.
    template = NodeTemplate(labels={}, taints=(), capacity={"cpu": "3920m", "memory": "14481Mi", "pods": "29",
                                                           "nvidia.com/gpu": "1", "ephemeral-storage": "90928Mi"})
    resource_tags = {k: v for k, v in template.autoscaler_tags("ml").items() if "/resources/" in k}
    prefix = "k8s.io/cluster-autoscaler/node-template/resources/"
    assert resource_tags == {f"{prefix}cpu": "3920m", f"{prefix}memory": "14481Mi", f"{prefix}pods": "29",
                             f"{prefix}nvidia.com/gpu": "1", f"{prefix}ephemeral-storage": "90928Mi"}


def test_gpu_pool_template_is_the_least_of_its_types_with_the_gpu_taint() -> None:
    pool = NodePoolSpec(name="gpu", instance_types=("g5.xlarge", "g4dn.xlarge"), gpu=True, root_volume_gib=80,
                        taints=(Taint("team", "a", "NoSchedule"),), scale_down_unneeded_time="10m")
    template = build_node_template(pool, [A10G, T4])
    assert template.taints == (GPU_TAINT, Taint("team", "a", "NoSchedule"))
    # Memory of g5.xlarge (58 pods: 16384 - 1229 (7.5%) - 893 (11 x 58 + 255) - 100 MiB), pods of
    # g4dn.xlarge (29): each the least of the two types. 4000m - 80m; 80 GiB = 81920 MiB - 210
    # overhead = 81710, - 1024 reserved - 8171 (10%) = 72515 MiB.
    assert template.capacity == {"cpu": "3920m", "memory": "14162Mi", "pods": "29",
                                 "ephemeral-storage": "72515Mi", "nvidia.com/gpu": "1"}
    assert template.labels["k8s.amazonaws.com/accelerator"] == "nvidia-a10g-t4"
    assert template.autoscaler_tags("ml")[
        "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownunneededtime"] == "10m"


def test_general_pool_template_has_no_gpu_facts() -> None:
    shape = InstanceShape("m5.xlarge", 4, 16384, max_pods=58)
    template = build_node_template(NodePoolSpec(name="general", instance_types=("m5.xlarge",)), [shape])
    assert template.labels == {"node-pool": "general", "lifecycle": "Ec2Spot"}
    assert template.taints == ()
    assert "nvidia.com/gpu" not in template.capacity
    assert not any("autoscaling-options" in k for k in template.autoscaler_tags("ml"))


def test_accelerator_label_is_a_valid_label_value() -> None:
    assert accelerator_label_value([T4]) == "nvidia-tesla-t4"  # the autoscaler's own name
    odd = InstanceShape("x.large", 4, 16384, 1, "H100 SXM/80GB", "NVIDIA")
    assert accelerator_label_value([odd]) == "nvidia-h100-sxm-80gb"


# --- taints: key, value and effect, each refused with its own field ----------------------------------

LABEL_VALUE_RULE = ("must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending "
                    "with a letter or digit (or empty)")


def refused(build: Callable[[], object]) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as raised:
        build()
    return raised.value


def test_a_taint_value_at_the_label_value_limit_is_accepted() -> None:
    taint = Taint("team", "v" * 63, "NoExecute")
    assert taint.kubelet_form() == f"team={'v' * 63}:NoExecute"
    assert taint.to_json() == {"key": "team", "value": "v" * 63, "effect": "NoExecute"}
    assert Taint("team", "", "NoSchedule").kubelet_form() == "team=:NoSchedule"


@pytest.mark.parametrize("value", ["v" * 64, "a b", "-a"])
def test_an_invalid_taint_value_is_refused_naming_the_value(value: str) -> None:
    assert str(refused(lambda: Taint("team", value, "NoSchedule"))) == f"value: got {value!r}; {LABEL_VALUE_RULE}"


def test_taint_key_and_effect_are_refused_with_their_own_field() -> None:
    assert refused(lambda: Taint("n" * 64, "a", "NoSchedule")).field == "key"
    assert str(refused(lambda: Taint("team", "a", "noschedule"))) == (
        "effect: got 'noschedule'; must be one of: NoSchedule, PreferNoSchedule, NoExecute")


def test_a_taint_parses_from_kubelets_form() -> None:
    assert Taint.parse("nvidia.com/gpu=true:NoSchedule") == GPU_TAINT
    assert Taint.parse("team=:PreferNoSchedule") == Taint("team", "", "PreferNoSchedule")


@pytest.mark.parametrize(("text", "allowed"), [
    ("team=a", "must be a taint 'key=value:Effect' with Effect one of NoSchedule, PreferNoSchedule, NoExecute"),
    ("team:NoSchedule", "must be a taint 'key=value:Effect' with Effect one of NoSchedule, PreferNoSchedule, NoExecute"),
    ("team=a:Sometimes", "effect must be one of: NoSchedule, PreferNoSchedule, NoExecute"),
    (f"team={'v' * 64}:NoSchedule", f"value {LABEL_VALUE_RULE}"),
])
def test_a_taint_that_does_not_parse_is_refused_whole(text: str, allowed: str) -> None:
    error = refused(lambda: Taint.parse(text))
    assert (error.field, error.value, error.allowed) == ("", text, allowed)


def test_a_taint_must_be_text_to_parse() -> None:
    assert str(refused(lambda: Taint.parse(3))) == (
        ": got 3; must be a taint 'key=value:Effect' with Effect one of NoSchedule, PreferNoSchedule, NoExecute, "
        "not a whole number")


# --- shapes, kubelet flags, autoscaler tags, and back ------------------------------------------------

def test_same_size_compares_vcpus_memory_and_gpus_only() -> None:
    assert T4.same_size_as(A10G)  # different GPU model and pods, same size
    assert not T4.same_size_as(InstanceShape("g4dn.2xlarge", 8, 16384, 1, "T4"))
    assert not T4.same_size_as(InstanceShape("g4dn.x", 4, 32768, 1, "T4"))
    assert not T4.same_size_as(InstanceShape("g4dn.x", 4, 16384, 2, "T4"))


def test_kubelet_flags_list_labels_sorted_and_taints_in_order() -> None:
    template = NodeTemplate(labels={"b": "2", "a": "1"}, capacity={},
                            taints=(Taint("z", "1", "NoSchedule"), Taint("y", "", "NoExecute")))
    assert template.kubelet_flags() == ["--node-labels=a=1,b=2", "--register-with-taints=z=1:NoSchedule,y=:NoExecute"]
    assert NodeTemplate(labels={}, taints=(GPU_TAINT,), capacity={}).kubelet_flags() == [
        "--register-with-taints=nvidia.com/gpu=true:NoSchedule"]
    assert NodeTemplate(labels={}, taints=(), capacity={}).kubelet_flags() == []


def test_autoscaler_tags_in_full() -> None:
    template = NodeTemplate(labels={"node-pool": "gpu"}, taints=(GPU_TAINT,), capacity={"nvidia.com/gpu": "1"},
                            scale_down_unneeded_time="5m",
                            extra_autoscaling_options={"scaledowngpuutilizationthreshold": "0.25"})
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert ca_cluster_tag("ml") == "k8s.io/cluster-autoscaler/ml"
    assert template.autoscaler_tags("ml") == {
        "k8s.io/cluster-autoscaler/enabled": "true",
        "k8s.io/cluster-autoscaler/ml": "owned",
        f"{prefix}/label/node-pool": "gpu",
        f"{prefix}/taint/nvidia.com/gpu": "true:NoSchedule",
        f"{prefix}/resources/nvidia.com/gpu": "1",
        f"{prefix}/autoscaling-options/scaledowngpuutilizationthreshold": "0.25",
        f"{prefix}/autoscaling-options/scaledownunneededtime": "5m",
    }
    assert template.to_json() == {"labels": {"node-pool": "gpu"},
                                  "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                                  "capacity": {"nvidia.com/gpu": "1"}}


def test_the_autoscalers_reading_of_the_tags_gives_the_template_back() -> None:
    template = NodeTemplate(labels={"node-pool": "gpu", "lifecycle": "Ec2Spot"},
                            taints=(GPU_TAINT, Taint("team", "", "PreferNoSchedule")),
                            capacity={"cpu": "3920m", "nvidia.com/gpu": "1"}, scale_down_unneeded_time="5m",
                            extra_autoscaling_options={"scaledowngpuutilizationthreshold": "0.25"})
    assert template_from_tags(template.autoscaler_tags("ml")) == template
    without_options = NodeTemplate(labels={}, taints=(), capacity={})
    assert template_from_tags(without_options.autoscaler_tags("ml")) == without_options


def test_taint_tags_the_autoscaler_would_skip_are_skipped() -> None:
    prefix = "k8s.io/cluster-autoscaler/node-template/taint/"
    read = template_from_tags({f"{prefix}a": "true", f"{prefix}b": "true:Sometimes", f"{prefix}c": "x:NoExecute",
                               "k8s.io/cluster-autoscaler/enabled": "true", "team": "ml"})
    assert read.taints == (Taint("c", "x", "NoExecute"),)
    assert (read.labels, read.capacity, read.scale_down_unneeded_time, read.extra_autoscaling_options) == ({}, {}, "", {})
