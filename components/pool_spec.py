"""The typed description of a node pool that the node-group component builds from."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .allocatable import DEFAULT_MEMORY_OVERHEAD_PERCENT, pool_allocatable
from .gpu import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_MEMORY_LABEL,
    ca_gpu_type,
    check_gpu_utilization_threshold,
    check_time_slicing_replicas,
    gpu_memory_label_value,
    gpu_models,
    time_slicing_config_name,
)
from .node_template import (
    ACCELERATOR_LABEL,
    GPU_LABEL,
    GPU_RESOURCE,
    GPU_TAINT,
    LIFECYCLE_LABEL,
    POOL_LABEL,
    SPOT_LIFECYCLE,
    InstanceShape,
    NodeTemplate,
    Taint,
)

SPOT_ALLOCATION_STRATEGIES = (
    "price-capacity-optimized",
    "capacity-optimized",
    "capacity-optimized-prioritized",
    "lowest-price",
)


@dataclass(frozen=True)
class NodePoolSpec:
    """A node pool: instance types of one shape, sizes, and what its nodes register with.

    For a GPU pool (`gpu=True`) the sizes are per Availability Zone: the node-group component
    builds one Auto Scaling group per AZ so the autoscaler can pick the zone a pod needs.
    """

    name: str
    instance_types: tuple[str, ...]
    gpu: bool = False
    min_size: int = 0
    max_size: int = 1
    desired_size: int = 0
    root_volume_gib: int = 50
    on_demand_base_capacity: int = 0
    on_demand_percentage_above_base: int = 0
    spot_allocation_strategy: str = "price-capacity-optimized"
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    scale_down_unneeded_time: str = ""
    accelerator: str = ""
    # GPU time-slicing: each GPU is advertised as this many `nvidia.com/gpu` (1 = not shared).
    time_slicing_replicas: int = 1
    # Memory the OS does not report, in percent of the instance type's memory (allocatable.py).
    memory_overhead_percent: float = DEFAULT_MEMORY_OVERHEAD_PERCENT
    # kubelet maxPods; 0 = nodeadm's ENI rule. When set, nodeadm must get it as maxPodsExpression.
    max_pods: int = 0
    # The autoscaler's per-group `scaledowngpuutilizationthreshold` (None: its default, 0.5).
    scale_down_gpu_utilization_threshold: float | None = None

    def all_taints(self) -> tuple[Taint, ...]:
        if not self.gpu:
            return self.taints
        return (GPU_TAINT,) + tuple(t for t in self.taints if t != GPU_TAINT)


def accelerator_label_value(shapes: Sequence[InstanceShape]) -> str:
    """`k8s.amazonaws.com/accelerator` of a pool.

    One GPU model: the Cluster Autoscaler's own name for it where it has one (`nvidia-tesla-t4`,
    `nvidia-a10g`, `nvidia-l4`, ...; see gpu.CA_GPU_TYPES), else `nvidia-<model>`. Several models:
    a combined value such as `nvidia-a10g-l4`, which no per-type autoscaler limit matches.
    """
    models = gpu_models(shapes)
    if len(models) == 1 and ca_gpu_type(models[0]):
        return ca_gpu_type(models[0])
    vendors = sorted({(s.gpu_manufacturer or "nvidia").lower() for s in shapes if s.gpu_count})
    value = "-".join(vendors[:1] + sorted(m.lower() for m in models)) or "gpu"
    return re.sub(r"[^a-z0-9.-]", "-", value)[:63].strip("-.")


def build_node_template(spec: NodePoolSpec, shapes: Sequence[InstanceShape]) -> NodeTemplate:
    """The node template of a pool. `shapes` follow `spec.instance_types`; CA sizes from the first.

    Capacity holds what kubelet will report as ALLOCATABLE (allocatable.py), because the
    autoscaler takes the template's capacity as allocatable: the least over the pool's types, so
    every node the group launches has at least what the template promises.
    """
    first = shapes[0]
    labels: dict[str, str] = {POOL_LABEL: spec.name, LIFECYCLE_LABEL: SPOT_LIFECYCLE}
    allocatable = pool_allocatable(shapes, spec.root_volume_gib, memory_overhead_percent=spec.memory_overhead_percent,
                                   max_pods=spec.max_pods)
    capacity = allocatable.quantities()
    replicas = check_time_slicing_replicas(spec.time_slicing_replicas, gpu_pool=spec.gpu,
                                           gpus_per_node=first.gpu_count, max_pods=allocatable.pods)
    if spec.gpu:
        labels[GPU_LABEL] = "true"
        labels[ACCELERATOR_LABEL] = spec.accelerator or accelerator_label_value(shapes)
        gpu_memory = gpu_memory_label_value(shapes)
        if gpu_memory:
            labels[GPU_MEMORY_LABEL] = gpu_memory
        if replicas > 1:
            labels[DEVICE_PLUGIN_CONFIG_LABEL] = time_slicing_config_name(replicas)
        capacity[GPU_RESOURCE] = str(first.gpu_count * replicas)
    labels.update(spec.labels)
    options: dict[str, str] = {}
    if spec.scale_down_gpu_utilization_threshold is not None:
        threshold = check_gpu_utilization_threshold(spec.scale_down_gpu_utilization_threshold, gpu_pool=spec.gpu)
        options["scaledowngpuutilizationthreshold"] = f"{threshold:g}"  # CA parses it with strconv.ParseFloat
    return NodeTemplate(
        labels=labels,
        taints=spec.all_taints(),
        capacity=capacity,
        scale_down_unneeded_time=spec.scale_down_unneeded_time,
        extra_autoscaling_options=options,
    )
