"""GPU identity: the autoscaler's GPU type names, one memory class per pool, the GPU memory label."""

from __future__ import annotations

import pytest

from components.gpu import (
    CA_GPU_TYPES,
    ca_gpu_type,
    check_gpu_memory,
    check_gpu_utilization_threshold,
    gpu_memory_label_value,
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
