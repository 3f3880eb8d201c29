"""The typed description of a node pool that the node-group component builds from."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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

    def all_taints(self) -> tuple[Taint, ...]:
        if not self.gpu:
            return self.taints
        return (GPU_TAINT,) + tuple(t for t in self.taints if t != GPU_TAINT)


def accelerator_label_value(shapes: Sequence[InstanceShape]) -> str:
    """A label value naming the GPU models of a pool, e.g. `nvidia-t4` or `nvidia-a10g-l4-t4`."""
    vendors = sorted({(s.gpu_manufacturer or "nvidia").lower() for s in shapes if s.gpu_count})
    models = sorted({s.gpu_model.lower() for s in shapes if s.gpu_count and s.gpu_model})
    value = "-".join(vendors[:1] + models) or "gpu"
    return re.sub(r"[^a-z0-9.-]", "-", value)[:63].strip("-.")


def build_node_template(spec: NodePoolSpec, shapes: Sequence[InstanceShape]) -> NodeTemplate:
    """The node template of a pool. `shapes` follow `spec.instance_types`; CA sizes from the first."""
    first = shapes[0]
    labels: dict[str, str] = {POOL_LABEL: spec.name, LIFECYCLE_LABEL: SPOT_LIFECYCLE}
    capacity = {
        "cpu": str(first.vcpus),
        "memory": f"{first.memory_mib}Mi",
        "pods": str(first.max_pods),
        "ephemeral-storage": f"{spec.root_volume_gib}Gi",
    }
    if spec.gpu:
        labels[GPU_LABEL] = "true"
        labels[ACCELERATOR_LABEL] = spec.accelerator or accelerator_label_value(shapes)
        capacity[GPU_RESOURCE] = str(first.gpu_count)
    labels.update(spec.labels)
    return NodeTemplate(
        labels=labels,
        taints=spec.all_taints(),
        capacity=capacity,
        scale_down_unneeded_time=spec.scale_down_unneeded_time,
    )
