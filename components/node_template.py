"""One description of a node group, from which labels, taints, kubelet flags and autoscaler tags derive.

Kubelet registers labels and taints; the Cluster Autoscaler reads the same facts from ASG tags
when a group is at zero. Deriving both from one `NodeTemplate` keeps them from disagreeing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_LABEL = "nvidia.com/gpu"
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
POOL_LABEL = "node-pool"
LIFECYCLE_LABEL = "lifecycle"
SPOT_LIFECYCLE = "Ec2Spot"

CA_PREFIX = "k8s.io/cluster-autoscaler"
CA_ENABLED_TAG = f"{CA_PREFIX}/enabled"
CA_TEMPLATE_PREFIX = f"{CA_PREFIX}/node-template"


def ca_cluster_tag(cluster_name: str) -> str:
    """The discovery tag that scopes an ASG (and the autoscaler's IAM) to one cluster."""
    return f"{CA_PREFIX}/{cluster_name}"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    def kubelet_form(self) -> str:
        return f"{self.key}={self.value}:{self.effect}"

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value, "effect": self.effect}


GPU_TAINT = Taint(GPU_TAINT_KEY, "true", "NoSchedule")


@dataclass(frozen=True)
class InstanceShape:
    """What the autoscaler's arithmetic needs to know about an instance type."""

    instance_type: str
    vcpus: int
    memory_mib: int
    gpu_count: int = 0
    gpu_model: str = ""
    gpu_manufacturer: str = ""
    max_pods: int = 110
    # Network facts nodeadm's max-pods rule reads (see `instance_catalog.max_pods`): the ENIs of the
    # DEFAULT network card only, and the IPv4 addresses of one ENI. 0 = unknown.
    default_card_enis: int = 0
    ipv4_per_eni: int = 0
    # Memory of ONE GPU in MiB, as EC2 reports it (GpuInfo.Gpus[].MemoryInfo.SizeInMiB). 0 = unknown.
    gpu_memory_mib: int = 0
    # Kubernetes' name for the CPU architecture (`kubernetes.io/arch`): amd64 or arm64.
    architecture: str = "amd64"

    def same_size_as(self, other: InstanceShape) -> bool:
        return (self.vcpus, self.memory_mib, self.gpu_count) == (
            other.vcpus,
            other.memory_mib,
            other.gpu_count,
        )


@dataclass(frozen=True)
class NodeTemplate:
    """The labels, taints and capacity a node of a group registers with."""

    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    capacity: Mapping[str, str]
    scale_down_unneeded_time: str = ""
    extra_autoscaling_options: Mapping[str, str] = field(default_factory=dict)

    def kubelet_flags(self) -> list[str]:
        flags = []
        if self.labels:
            flags.append("--node-labels=" + ",".join(f"{k}={v}" for k, v in sorted(self.labels.items())))
        if self.taints:
            flags.append("--register-with-taints=" + ",".join(t.kubelet_form() for t in self.taints))
        return flags

    def autoscaler_tags(self, cluster_name: str) -> dict[str, str]:
        """ASG tags for discovery and scale-from-zero (set with propagate_at_launch=False)."""
        tags = {CA_ENABLED_TAG: "true", ca_cluster_tag(cluster_name): "owned"}
        for key, value in self.labels.items():
            tags[f"{CA_TEMPLATE_PREFIX}/label/{key}"] = value
        for taint in self.taints:
            # The effect is mandatory: CA ignores taint tags without ':<Effect>'.
            tags[f"{CA_TEMPLATE_PREFIX}/taint/{taint.key}"] = f"{taint.value}:{taint.effect}"
        # Every capacity entry, cpu, memory and pods included: CA's AWS provider builds a template
        # node from the instance type (full vCPU and memory, 110 pods), lets these tags override
        # each resource, then takes capacity as allocatable (aws_manager.go, buildNodeFromTemplate,
        # cluster-autoscaler-1.36.1). The template carries allocatable values, so CA simulates the
        # node kubelet will really report.
        for name, quantity in self.capacity.items():
            tags[f"{CA_TEMPLATE_PREFIX}/resources/{name}"] = quantity
        options = dict(self.extra_autoscaling_options)
        if self.scale_down_unneeded_time:
            options["scaledownunneededtime"] = self.scale_down_unneeded_time
        for option, value in options.items():
            tags[f"{CA_TEMPLATE_PREFIX}/autoscaling-options/{option}"] = value
        return tags

    def to_json(self) -> dict[str, object]:
        """The form the stack output and the preflight tool share."""
        return {
            "labels": dict(self.labels),
            "taints": [t.to_json() for t in self.taints],
            "capacity": dict(self.capacity),
        }

