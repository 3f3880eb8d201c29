"""GPU identity: the autoscaler's GPU type names, one memory class per pool, the GPU memory label."""

from __future__ import annotations

import pytest

from components.errors import InvalidValueError
from components.gpu import (
    CA_GPU_TYPES,
    ca_gpu_type,
    check_gpu_memory,
    check_gpu_utilization_threshold,
    check_time_slicing_replicas,
    gpu_memory_label_value,
    gpu_models,
    time_slicing_config_name,
)
from components.instance_catalog import KNOWN_SHAPES
from components.node_template import InstanceShape
from components.pool_spec import NodePoolSpec, accelerator_label_value, build_node_template

# cluster-autoscaler/cloudprovider/aws/aws_cloud_provider.go `availableGPUTypes`, tag cluster-autoscaler-1.36.1.
CA_AVAILABLE_GPU_TYPES = {"nvidia-tesla-k80", "nvidia-tesla-p100", "nvidia-tesla-v100", "nvidia-tesla-t4",
                          "nvidia-tesla-a100", "nvidia-a10g", "nvidia-l4", "nvidia-l40s"}


def shape(instance_type: str) -> InstanceShape:
    return KNOWN_SHAPES[instance_type].instance_shape(instance_type)


def test_every_mapped_name_is_one_the_autoscaler_lists() -> None:
    assert set(CA_GPU_TYPES.values()) <= CA_AVAILABLE_GPU_TYPES


@pytest.mark.parametrize(("instance_type", "expected"), [
    ("g4dn.xlarge", "nvidia-tesla-t4"),
    ("g5.xlarge", "nvidia-a10g"),
    ("g6.xlarge", "nvidia-l4"),
    ("g6e.xlarge", "nvidia-l40s"),
    ("p3dn.24xlarge", "nvidia-tesla-v100"),
    ("p4d.24xlarge", "nvidia-tesla-a100"),
])
def test_a_single_model_pool_uses_the_autoscalers_name(instance_type: str, expected: str) -> None:
    assert accelerator_label_value([shape(instance_type)]) == expected
    pool = NodePoolSpec(name="gpu", instance_types=(instance_type,), gpu=True)
    assert build_node_template(pool, [shape(instance_type)]).labels["k8s.amazonaws.com/accelerator"] == expected


def test_several_models_or_an_unknown_model_keep_a_combined_value() -> None:
    assert accelerator_label_value([shape("g5.xlarge"), shape("g6.xlarge")]) == "nvidia-a10g-l4"
    assert accelerator_label_value([shape("g5.2xlarge"), shape("g5.xlarge")]) == "nvidia-a10g"
    assert ca_gpu_type("H100") == ""
    assert accelerator_label_value([InstanceShape("p5.48xlarge", 192, 2097152, 8, "H100", "NVIDIA")]) == "nvidia-h100"


def test_t4_with_a10g_or_l4_is_refused_naming_types_and_memory() -> None:
    for other in ("g5.xlarge", "g6.xlarge"):
        with pytest.raises(ValueError, match=r"g4dn\.xlarge \(T4 16384 MiB\).*22888 MiB") as error:
            check_gpu_memory([shape("g4dn.xlarge"), shape(other)])
        assert other in str(error.value) and "more than 10%" in str(error.value)


def test_a10g_with_l4_and_one_model_pools_are_accepted() -> None:
    check_gpu_memory([shape("g5.xlarge"), shape("g6.xlarge")])
    check_gpu_memory([shape("g4dn.xlarge")])
    check_gpu_memory([InstanceShape("x.large", 4, 16384, 1, "T4"), shape("g5.xlarge")])  # unknown memory: not compared


def test_the_limit_is_ten_percent_of_the_larger() -> None:
    def gpu(name: str, mib: int) -> InstanceShape:
        return InstanceShape(name, 4, 16384, 1, "X", "NVIDIA", gpu_memory_mib=mib)
    check_gpu_memory([gpu("a.xlarge", 9000), gpu("b.xlarge", 10000)])
    with pytest.raises(ValueError, match="more than 10%"):
        check_gpu_memory([gpu("a.xlarge", 8999), gpu("b.xlarge", 10000)])


def test_gpu_memory_label_is_the_smallest_per_gpu_memory_in_mib() -> None:
    assert gpu_memory_label_value([shape("g5.xlarge"), shape("g6.xlarge")]) == "22888"
    assert gpu_memory_label_value([shape("g4dn.12xlarge")]) == "16384"  # per GPU, not the 4 GPUs' total
    assert gpu_memory_label_value([InstanceShape("x.large", 4, 16384, 1, "T4")]) == ""
    pool = NodePoolSpec(name="gpu", instance_types=("g6.xlarge", "g5.xlarge"), gpu=True)
    template = build_node_template(pool, [shape("g6.xlarge"), shape("g5.xlarge")])
    assert template.labels["nvidia.com/gpu.memory"] == "22888"
    assert template.autoscaler_tags("ml")["k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.memory"] == "22888"
    assert "--node-labels=" in template.kubelet_flags()[0] and "nvidia.com/gpu.memory=22888" in template.kubelet_flags()[0]


def test_general_pools_get_no_gpu_labels() -> None:
    template = build_node_template(NodePoolSpec(name="general", instance_types=("m5.xlarge",)), [shape("m5.xlarge")])
    assert "nvidia.com/gpu.memory" not in template.labels and "k8s.amazonaws.com/accelerator" not in template.labels


def test_gpu_utilization_threshold_becomes_the_autoscalers_per_group_option() -> None:
    option = "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledowngpuutilizationthreshold"
    pool = NodePoolSpec(name="gpu", instance_types=("g5.12xlarge",), gpu=True, scale_down_gpu_utilization_threshold=0)
    assert build_node_template(pool, [shape("g5.12xlarge")]).autoscaler_tags("ml")[option] == "0"
    pool = NodePoolSpec(name="gpu", instance_types=("g5.12xlarge",), gpu=True, scale_down_gpu_utilization_threshold=0.25)
    assert build_node_template(pool, [shape("g5.12xlarge")]).autoscaler_tags("ml")[option] == "0.25"
    default = NodePoolSpec(name="gpu", instance_types=("g5.12xlarge",), gpu=True)
    assert option not in build_node_template(default, [shape("g5.12xlarge")]).autoscaler_tags("ml")


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "0.5"])
def test_bad_gpu_utilization_thresholds_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="GPU utilization threshold must be a number from 0 to 1"):
        check_gpu_utilization_threshold(bad, gpu_pool=True)


def test_a_gpu_utilization_threshold_on_a_general_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="GPU pools only"):
        check_gpu_utilization_threshold(0.5, gpu_pool=False)


# --- every table entry and every limit, at its edge --------------------------------------------------

@pytest.mark.parametrize(("model", "expected"), [
    ("T4", "nvidia-tesla-t4"), ("V100", "nvidia-tesla-v100"), ("A100", "nvidia-tesla-a100"), ("A10G", "nvidia-a10g"),
    ("L4", "nvidia-l4"), ("L40S", "nvidia-l40s"), ("K80", "nvidia-tesla-k80"),
])
def test_each_ec2_gpu_model_has_its_autoscaler_name(model: str, expected: str) -> None:
    assert ca_gpu_type(model) == expected
    assert ca_gpu_type(f" {model.lower()} ") == expected  # EC2's spelling varies in case and spacing


def test_a_model_the_autoscaler_does_not_list_has_no_name() -> None:
    assert [ca_gpu_type(model) for model in ("", "H100", "P100", "L40")] == ["", "", "", ""]


def test_gpu_models_are_those_of_gpu_shapes_in_order_without_repeats() -> None:
    shapes = [shape("g6.xlarge"), shape("m5.xlarge"), shape("g5.xlarge"), shape("g6.2xlarge")]
    assert gpu_models(shapes) == ["L4", "A10G"]
    # A model name on a shape without GPUs, or a GPU without a model name, names no model.
    assert gpu_models([InstanceShape("x.large", 4, 16384, 0, "T4"), InstanceShape("y.large", 4, 16384, 1, "")]) == []


def test_the_memory_refusal_names_the_field_and_every_type_compared() -> None:
    def gpu(name: str, model: str, mib: int) -> InstanceShape:
        return InstanceShape(name, 4, 16384, 1, model, "NVIDIA", gpu_memory_mib=mib)

    shapes = [gpu("a.xlarge", "T4", 16384), gpu("b.xlarge", "", 22888), InstanceShape("c.xlarge", 4, 16384, 1, "L4")]
    with pytest.raises(InvalidValueError) as raised:
        check_gpu_memory(shapes)
    assert (raised.value.field, raised.value.value) == ("instance_types", ["a.xlarge", "b.xlarge"])
    assert raised.value.allowed == (
        "GPU memory differs by more than 10% within one pool: a.xlarge (T4 16384 MiB), b.xlarge (GPU 22888 MiB). "
        "A workload sized for 22888 MiB would land on a.xlarge with 16384 MiB; put GPUs of different memory in "
        "different pools")


def test_utilization_threshold_limits_are_inclusive() -> None:
    assert check_gpu_utilization_threshold(0, gpu_pool=True) == 0.0
    assert check_gpu_utilization_threshold(1, gpu_pool=True) == 1.0
    assert isinstance(check_gpu_utilization_threshold(1, gpu_pool=True), float)
    for bad in (-0.01, 1.01):
        with pytest.raises(InvalidValueError) as raised:
            check_gpu_utilization_threshold(bad, gpu_pool=True)
        assert str(raised.value) == (f"scale_down_gpu_utilization_threshold: got {bad}; GPU utilization threshold "
                                     "must be a number from 0 to 1")
    with pytest.raises(InvalidValueError) as raised:
        check_gpu_utilization_threshold(0.5, gpu_pool=False)
    assert str(raised.value) == ("scale_down_gpu_utilization_threshold: got 0.5; a GPU utilization threshold applies "
                                 "to GPU pools only")


def test_time_slicing_replicas_against_the_nodes_pods_at_two_replicas() -> None:
    # g4dn.12xlarge-like: 4 GPUs. 2 replicas make 8 schedulable GPUs: 8 pods are enough, 7 are not.
    assert check_time_slicing_replicas(2, gpu_pool=True, gpus_per_node=4, max_pods=8) == 2
    with pytest.raises(InvalidValueError) as raised:
        check_time_slicing_replicas(2, gpu_pool=True, gpus_per_node=4, max_pods=7)
    assert str(raised.value) == ("time_slicing_replicas: got 2; 2 time-slicing replicas of 4 GPU(s) make 8 "
                                 "schedulable GPUs, more than the node's 7 pods")


def test_one_replica_shares_nothing_so_the_pod_count_does_not_limit_it() -> None:
    assert check_time_slicing_replicas(1, gpu_pool=True, gpus_per_node=8, max_pods=4) == 1
    assert check_time_slicing_replicas(1, gpu_pool=False) == 1


def test_without_the_nodes_shape_only_the_replicas_themselves_are_checked() -> None:
    # NodePoolSpec checks replicas before any shape is known: no GPU count, no pod count yet.
    assert check_time_slicing_replicas(64, gpu_pool=True) == 64
    assert check_time_slicing_replicas(64, gpu_pool=True, gpus_per_node=8) == 64
    assert check_time_slicing_replicas(64, gpu_pool=True, max_pods=1) == 64


@pytest.mark.parametrize(("bad", "why"), [
    (0, "time-slicing replicas must be a whole number, 1 (no sharing) or at least 2 (the device plugin refuses fewer)"),
    (2, "time-slicing applies to GPU pools only"),
])
def test_time_slicing_refusals_name_the_field_and_value(bad: int, why: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_time_slicing_replicas(bad, gpu_pool=bad == 0)
    assert str(raised.value) == f"time_slicing_replicas: got {bad}; {why}"


def test_the_device_plugin_config_is_named_after_its_replicas() -> None:
    assert [time_slicing_config_name(r) for r in (1, 2, 4)] == ["", "time-slicing-2", "time-slicing-4"]
