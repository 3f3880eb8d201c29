"""One description of a node group, from which labels, taints, kubelet flags and autoscaler tags derive.

Kubelet registers labels and taints; the Cluster Autoscaler reads the same facts from ASG tags
when a group is at zero. Deriving both from one `NodeTemplate` keeps them from disagreeing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import validation
from .errors import InvalidValueError

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


CA_LABEL_PREFIX = f"{CA_TEMPLATE_PREFIX}/label/"
CA_TAINT_PREFIX = f"{CA_TEMPLATE_PREFIX}/taint/"
CA_RESOURCE_PREFIX = f"{CA_TEMPLATE_PREFIX}/resources/"
CA_OPTION_PREFIX = f"{CA_TEMPLATE_PREFIX}/autoscaling-options/"
SCALE_DOWN_UNNEEDED_OPTION = "scaledownunneededtime"
_TAINT_TEXT = re.compile(r"([^=:]+)=([^=:]*):([A-Za-z]+)")
# How the autoscaler's AWS provider reads a taint tag's value (aws_manager.go, extractTaintsFromAsg):
# anything else is skipped without a word.
_CA_TAINT_VALUE = re.compile(r"(.*):(NoSchedule|NoExecute|PreferNoSchedule)")


@dataclass(frozen=True)
class Taint:
    """A node taint; refuses what the Kubernetes API would (key, value and effect syntax)."""

    key: str
    value: str
    effect: str

    def __post_init__(self) -> None:
        validation.qualified_name("key", self.key)
        validation.label_value("value", self.value)
        validation.choice("effect", self.effect, TAINT_EFFECTS)

    @classmethod
    def parse(cls, text: object) -> Taint:
        """A taint written as kubelet's `--register-with-taints` takes it: `key=value:Effect`."""
        allowed = "must be a taint 'key=value:Effect' with Effect one of " + ", ".join(TAINT_EFFECTS)
        match = _TAINT_TEXT.fullmatch(validation.string("", text, allowed=allowed))
        if match is None:
            raise InvalidValueError("", text, allowed)
        try:
            return cls(match[1], match[2], match[3])
        except InvalidValueError as error:
            raise InvalidValueError("", text, f"{error.field} {error.allowed}") from None

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
    other_accelerators: tuple[str, ...] = ()  # non-GPU accelerators (Inferentia, Trainium)
    # NVMe instance store (InstanceStorageInfo): the total over all disks in GB (10^9 bytes, as EC2
    # counts it), 0 when the type has none or its instance store is not NVMe (nodeadm's
    # setup-local-disks only finds `NVMe_Instance_Storage` devices).
    local_nvme_gb: int = 0

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
            tags[f"{CA_LABEL_PREFIX}{key}"] = value
        for taint in self.taints:
            # The effect is mandatory: CA ignores taint tags without ':<Effect>'.
            tags[f"{CA_TAINT_PREFIX}{taint.key}"] = f"{taint.value}:{taint.effect}"
        # Every capacity entry, cpu, memory and pods included: CA's AWS provider builds a template
        # node from the instance type (full vCPU and memory, 110 pods), lets these tags override
        # each resource, then takes capacity as allocatable (aws_manager.go, buildNodeFromTemplate,
        # cluster-autoscaler-1.36.1). The template carries allocatable values, so CA simulates the
        # node kubelet will really report.
        for name, quantity in self.capacity.items():
            tags[f"{CA_RESOURCE_PREFIX}{name}"] = quantity
        options = dict(self.extra_autoscaling_options)
        if self.scale_down_unneeded_time:
            options[SCALE_DOWN_UNNEEDED_OPTION] = self.scale_down_unneeded_time
        for option, value in options.items():
            tags[f"{CA_OPTION_PREFIX}{option}"] = value
        return tags

    def to_json(self) -> dict[str, object]:
        """The form the stack output and the preflight tool share."""
        return {
            "labels": dict(self.labels),
            "taints": [t.to_json() for t in self.taints],
            "capacity": dict(self.capacity),
        }



def template_from_tags(tags: Mapping[str, str]) -> NodeTemplate:
    """The node template the Cluster Autoscaler's AWS provider builds from an ASG's tags.

    Parsed as its `aws_manager.go` does: `label/<key>` tags are labels; `taint/<key>` tags are
    taints whose value must be `value:Effect` (others are skipped); `resources/<name>` tags are
    capacity quantities; `autoscaling-options/<option>` tags are per-group options.
    """
    labels: dict[str, str] = {}
    taints: list[Taint] = []
    capacity: dict[str, str] = {}
    options: dict[str, str] = {}
    for key, value in tags.items():
        if key.startswith(CA_LABEL_PREFIX):
            labels[key.removeprefix(CA_LABEL_PREFIX)] = value
        elif key.startswith(CA_TAINT_PREFIX):
            match = _CA_TAINT_VALUE.fullmatch(value)
            if match is not None:
                taints.append(Taint(key.removeprefix(CA_TAINT_PREFIX), match[1], match[2]))
        elif key.startswith(CA_RESOURCE_PREFIX):
            capacity[key.removeprefix(CA_RESOURCE_PREFIX)] = value
        elif key.startswith(CA_OPTION_PREFIX):
            options[key.removeprefix(CA_OPTION_PREFIX)] = value
    unneeded = options.pop(SCALE_DOWN_UNNEEDED_OPTION, "")
    return NodeTemplate(labels=labels, taints=tuple(taints), capacity=capacity,
                        scale_down_unneeded_time=unneeded, extra_autoscaling_options=options)
