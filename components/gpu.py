"""GPU identity and sharing facts of a pool: names the autoscaler knows, per-GPU memory, time-slicing.

Pure functions over `InstanceShape`s; `pool_spec.build_node_template` turns them into labels and
capacity, and the device-plugin add-on into its configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import InvalidValueError
from .node_template import InstanceShape

# NVIDIA GPU feature discovery's label for the memory of one GPU, in MiB. Kubelet registers it
# (and the autoscaler's tags carry it), so a workload can select GPUs by memory from zero nodes.
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"
# The NVIDIA device plugin's own label for "which config does this node use" (its Helm chart's
# config-manager watches it); here kubelet registers it and a DaemonSet per config selects on it.
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"

# EC2's GPU model names (GpuInfo.Gpus[].Name) -> the Cluster Autoscaler AWS provider's GPU types:
# `availableGPUTypes` in cluster-autoscaler/cloudprovider/aws/aws_cloud_provider.go at tag
# cluster-autoscaler-1.36.1 (commit 35e8a280). CA reads the type from the
# `k8s.amazonaws.com/accelerator` label; its GPU metrics report any value outside that list as
# `not-listed` (utils/gpu/gpu.go, `validateGpuType`). Its `nvidia-tesla-p100` matches no EC2 GPU;
# K80 (p2) is retired but kept so the table covers the whole list.
CA_GPU_TYPES: dict[str, str] = {
    "T4": "nvidia-tesla-t4",
    "V100": "nvidia-tesla-v100",
    "A100": "nvidia-tesla-a100",
    "A10G": "nvidia-a10g",
    "L4": "nvidia-l4",
    "L40S": "nvidia-l40s",
    "K80": "nvidia-tesla-k80",
}

# A pool whose GPUs differ by more than this share of the larger one's memory is refused: a
# workload sized for the larger GPU would be scheduled on the smaller one.
MAX_GPU_MEMORY_SPREAD = 0.10

# Replicas the device plugin accepts in a timeSlicing resource: at least 2 (api/config/v1/replicas.go,
# `ReplicatedResource.UnmarshalJSON`: "number of replicas must be >= 2", NVIDIA/k8s-device-plugin
# v0.20.0). 1 here means "no sharing", and no sharing section is written at all.
MIN_SHARED_REPLICAS = 2


def ca_gpu_type(model: str) -> str:
    """The autoscaler's name for an EC2 GPU model, or "" when its list has none."""
    return CA_GPU_TYPES.get(model.strip().upper(), "") if model else ""


def gpu_models(shapes: Sequence[InstanceShape]) -> list[str]:
    """The distinct GPU models of the shapes, in order of first appearance."""
    return list(dict.fromkeys(s.gpu_model for s in shapes if s.gpu_count and s.gpu_model))


def check_gpu_memory(shapes: Sequence[InstanceShape]) -> None:
    """Refuse a pool whose GPUs' memory differs by more than 10% of the larger.

    T4 (16384 MiB) with A10G or L4 (22888 MiB as EC2 reports both) is refused; A10G with L4 is fine.
    Types whose GPU memory is unknown (0) are not compared.
    """
    known = [s for s in shapes if s.gpu_count and s.gpu_memory_mib]
    if not known:
        return
    smallest = min(known, key=lambda s: s.gpu_memory_mib)
    largest = max(known, key=lambda s: s.gpu_memory_mib)
    if smallest.gpu_memory_mib < largest.gpu_memory_mib * (1 - MAX_GPU_MEMORY_SPREAD):
        listed = ", ".join(f"{s.instance_type} ({s.gpu_model or 'GPU'} {s.gpu_memory_mib} MiB)" for s in known)
        raise InvalidValueError(
            "instance_types", [s.instance_type for s in known],
            f"GPU memory differs by more than {MAX_GPU_MEMORY_SPREAD:.0%} within one pool: {listed}. "
            f"A workload sized for {largest.gpu_memory_mib} MiB would land on {smallest.instance_type} with "
            f"{smallest.gpu_memory_mib} MiB; put GPUs of different memory in different pools")


def gpu_memory_label_value(shapes: Sequence[InstanceShape]) -> str:
    """`nvidia.com/gpu.memory` of a pool: the smallest per-GPU memory (MiB) among its types, "" if unknown."""
    known = [s.gpu_memory_mib for s in shapes if s.gpu_count and s.gpu_memory_mib]
    return str(min(known)) if known else ""


def check_time_slicing_replicas(replicas: object, *, gpu_pool: bool, gpus_per_node: int = 0,
                                max_pods: int = 0) -> int:
    """Time-slicing replicas of a pool: 1 (off) or 2 and more, on a GPU pool only.

    The device plugin refuses a timeSlicing resource with fewer than 2 replicas, so 1 means no
    sharing config. Above, every GPU becomes `replicas` schedulable `nvidia.com/gpu`; more
    replicas on a node than it has pod slots could never all be used, yet the autoscaler would
    count them, so `gpus_per_node x replicas` must not exceed `max_pods` (when given).
    """
    field = "time_slicing_replicas"
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise InvalidValueError(field, replicas, f"time-slicing replicas must be a whole number, 1 (no sharing) "
                                                 f"or at least {MIN_SHARED_REPLICAS} (the device plugin refuses fewer)")
    if replicas > 1 and not gpu_pool:
        raise InvalidValueError(field, replicas, "time-slicing applies to GPU pools only")
    if replicas > 1 and max_pods and gpus_per_node * replicas > max_pods:
        raise InvalidValueError(field, replicas, f"{replicas} time-slicing replicas of {gpus_per_node} GPU(s) make "
                                                 f"{gpus_per_node * replicas} schedulable GPUs, more than the node's "
                                                 f"{max_pods} pods")
    return replicas


def check_gpu_utilization_threshold(value: object, *, gpu_pool: bool) -> float:
    """A GPU pool's `scaledowngpuutilizationthreshold`, 0 to 1.

    On a node with the GPU label the autoscaler ignores CPU and memory and calls the node a
    scale-down candidate when its pods' `nvidia.com/gpu` requests over allocatable are at or below
    this (cluster-autoscaler 1.36.1 simulator/utilization/info.go `Calculate`,
    core/scaledown/eligibility/eligibility.go; default 0.5). 0: only nodes without GPU pods.
    """
    field = "scale_down_gpu_utilization_threshold"
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidValueError(field, value, "GPU utilization threshold must be a number from 0 to 1")
    if not gpu_pool:
        raise InvalidValueError(field, value, "a GPU utilization threshold applies to GPU pools only")
    return float(value)


def time_slicing_config_name(replicas: int) -> str:
    """The device-plugin config a pool's nodes select through `nvidia.com/device-plugin.config`, "" for none.

    Named after its content, so pools with the same replica count share one config and one DaemonSet.
    """
    return f"time-slicing-{replicas}" if replicas > 1 else ""
