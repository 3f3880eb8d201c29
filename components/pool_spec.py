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
    # gp3 root volume performance; None keeps gp3's baseline (125 MiB/s, 3000 IOPS) at no cost.
    root_volume_throughput_mibps: int | None = None
    root_volume_iops: int | None = None
    # An EKS AL2023 AMI release such as "v20260714"; empty: the `recommended` one at each `pulumi up`.
    ami_release_version: str = ""

    def all_taints(self) -> tuple[Taint, ...]:
        if not self.gpu:
            return self.taints
        return (GPU_TAINT,) + tuple(t for t in self.taints if t != GPU_TAINT)


# gp3 limits (Amazon EBS User Guide, "General Purpose SSD volumes", gp3): 3,000 IOPS and
# 125 MiB/s included; more IOPS up to 16,000 at no more than 500 IOPS per GiB; more throughput up
# to 1,000 MiB/s at no more than 0.25 MiB/s per provisioned IOPS (so 1,000 MiB/s needs 4,000 IOPS).
# AWS has since raised the ceilings for larger volumes (API references list up to 2,000 MiB/s);
# these are the limits every gp3 volume accepts, and they cover nodeadm's FastImagePull advice.
GP3_BASELINE_IOPS = 3000
GP3_MAX_IOPS = 16000
GP3_MAX_IOPS_PER_GIB = 500
GP3_BASELINE_THROUGHPUT_MIBPS = 125
GP3_MAX_THROUGHPUT_MIBPS = 1000
GP3_MAX_MIBPS_PER_IOPS = 0.25

# GPU pools pull large images (CUDA, model servers) with nodeadm's FastImagePull on (see
# userdata.py). nodeadm's docs (doc/examples.md, "Enabling fast image pull") recommend at least
# 600 MiB/s; below that parallel pull can be slower than serial. 600 MiB/s is about what the
# default GPU types can take in anyway (EBS burst bandwidth of g4dn/g5 .xlarge up to 3.5 Gbps,
# g6.xlarge/.2xlarge up to 5 Gbps, ~596 MiB/s, per the EC2 instance type specifications; see
# `aws ec2 describe-instance-types --query 'InstanceTypes[].EbsInfo'`), and it fits under the baseline 3,000 IOPS
# (3,000 x 0.25 = 750 MiB/s), so no IOPS are bought. Large pools (12xlarge: 16-20 Gbps) may set
# 1,000 MiB/s with 4,000 IOPS.
GPU_DEFAULT_ROOT_VOLUME_THROUGHPUT_MIBPS = 600


def check_gp3_iops(iops: int, size_gib: int) -> None:
    """Raise ValueError unless gp3 accepts `iops` on a volume of `size_gib`."""
    if not GP3_BASELINE_IOPS <= iops <= GP3_MAX_IOPS:
        raise ValueError(f"gp3 IOPS must be from {GP3_BASELINE_IOPS} to {GP3_MAX_IOPS}")
    if iops > GP3_BASELINE_IOPS and iops > GP3_MAX_IOPS_PER_GIB * size_gib:
        raise ValueError(f"gp3 allows at most {GP3_MAX_IOPS_PER_GIB} IOPS per GiB: a {size_gib} GiB root volume "
                         f"takes at most {GP3_MAX_IOPS_PER_GIB * size_gib} IOPS")


def check_gp3_throughput(throughput_mibps: int, iops: int) -> None:
    """Raise ValueError unless gp3 accepts `throughput_mibps` (MiB/s) with `iops` provisioned."""
    if not GP3_BASELINE_THROUGHPUT_MIBPS <= throughput_mibps <= GP3_MAX_THROUGHPUT_MIBPS:
        raise ValueError(f"gp3 throughput must be from {GP3_BASELINE_THROUGHPUT_MIBPS} to "
                         f"{GP3_MAX_THROUGHPUT_MIBPS} MiB/s")
    if throughput_mibps > GP3_MAX_MIBPS_PER_IOPS * iops:
        needed = int(-(-throughput_mibps // GP3_MAX_MIBPS_PER_IOPS))
        raise ValueError(f"gp3 allows at most {GP3_MAX_MIBPS_PER_IOPS} MiB/s per provisioned IOPS: {iops} IOPS "
                         f"carry at most {int(GP3_MAX_MIBPS_PER_IOPS * iops)} MiB/s; provision at least "
                         f"{needed} IOPS")


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
