"""The offline table of EC2 instance shapes, and the pod limit nodeadm gives kubelet.

The one copy of these facts in the project: the preflight tool falls back to it when no AWS
credentials are at hand, and the test harness answers `aws.ec2.get_instance_type` from it.
`KNOWN_SHAPES` holds every type of components/instance_types_generated.py, which
scripts/generate_instance_catalog.py writes from upstream tables generated from EC2
(`describe-instance-types`): ENIs of the default network card and IPv4 per ENI from nodeadm's own
table (awslabs/amazon-eks-ami), vCPU, memory, GPUs, accelerators and NVMe instance store from
Karpenter's generated instance-type reference, network cards from Karpenter's VPC limits
(aws/karpenter-provider-aws); that module's header names the commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from .instance_types_generated import COLUMNS, SHAPES
from .node_template import InstanceShape


def max_pods(default_card_enis: int, ipv4_per_eni: int) -> int:
    """kubelet's maxPods on an EKS AL2023 node, exactly as nodeadm computes it.

    ENIs of the DEFAULT network card x (IPv4 addresses per ENI - 1) + 2, with no cap
    (awslabs/amazon-eks-ami v20260724, nodeadm/internal/kubelet/eni_max_pods.go,
    `calculateStandardMaxPods`). Multi-card types count one card only: p4d.24xlarge has 4 cards of
    15 ENIs and gets 15 x 49 + 2 = 737, not 60 x 49 + 2. The 110/250 cap of the AL2 `max-pods-calculator`
    is gone on AL2023.
    """
    if default_card_enis < 1 or ipv4_per_eni < 2:
        raise ValueError(f"cannot compute max pods from {default_card_enis} ENIs of {ipv4_per_eni} IPv4 addresses")
    return default_card_enis * (ipv4_per_eni - 1) + 2


def default_card_enis(cards: Iterable[tuple[int, int]], default_index: int, total_enis: int) -> int:
    """The ENIs of the default network card from EC2's (index, maximum interfaces) card list.

    Like nodeadm (nodeadm/internal/util/ec2.go, `GetInstanceInfo`): the card whose index is the
    type's DefaultNetworkCardIndex. A description without cards (single-card types in older API
    answers) falls back to the type's total, which is then the one card's.
    """
    for index, maximum in cards:
        if index == default_index:
            return maximum
    return total_enis


@dataclass(frozen=True)
class Gpu:
    """One GPU model of an instance type, as EC2 describes it."""

    count: int
    name: str
    manufacturer: str
    memory_mib: int  # of one GPU


def instance_shape(instance_type: str, *, vcpus: int, memory_mib: int, gpus: Sequence[Gpu],
                   cards: Iterable[tuple[int, int]], default_card_index: int, total_enis: int, ipv4_per_eni: int,
                   architectures: Iterable[str], other_accelerators: Iterable[str] = (),
                   local_nvme_gb: int = 0) -> InstanceShape:
    """The one builder of `InstanceShape` from what EC2 says of a type, whichever way it was asked
    (the Pulumi invoke, boto3, or the table below): max pods and architecture follow one rule."""
    card_enis = default_card_enis(cards, default_card_index, total_enis)
    return InstanceShape(
        instance_type=instance_type,
        vcpus=vcpus,
        memory_mib=memory_mib,
        gpu_count=sum(gpu.count for gpu in gpus),
        gpu_model=gpus[0].name if gpus else "",
        gpu_manufacturer=gpus[0].manufacturer if gpus else "",
        max_pods=max_pods(card_enis, ipv4_per_eni),
        default_card_enis=card_enis,
        ipv4_per_eni=ipv4_per_eni,
        gpu_memory_mib=gpus[0].memory_mib if gpus else 0,
        # Kubernetes' name (kubernetes.io/arch): EC2 says x86_64 where Kubernetes says amd64.
        architecture="arm64" if "arm64" in architectures else "amd64",
        other_accelerators=tuple(other_accelerators),
        local_nvme_gb=local_nvme_gb,
    )


def nvme_instance_store_gb(supported: bool | None, total_gb: int | None, nvme: bool) -> int:
    """The instance store nodeadm can put in a RAID0 array, in GB: EC2's TotalSizeInGB when the
    type has instance store and it is NVMe (`nvme`), else 0. nodeadm's setup-local-disks only
    finds `NVMe_Instance_Storage` devices, so the HDD/SSD of older Xen types is never used."""
    return int(total_gb or 0) if supported and nvme else 0


@dataclass(frozen=True)
class KnownShape:
    """One type of the offline table, as EC2 describes it (see instance_types_generated.py)."""

    vcpus: int
    memory_mib: int
    default_card_enis: int
    ipv4_per_eni: int
    gpus: int = 0
    gpu_name: str = ""  # EC2's spelling (GpuInfo.Gpus[].Name): T4, A10G, L40S, H100, ...
    gpu_memory_mib: int = 0  # of one GPU
    arch: str = "amd64"
    gpu_manufacturer: str = "NVIDIA"
    neuron_device: str = ""  # a non-GPU accelerator: AWS Inferentia / Trainium, or an inference accelerator
    network_cards: int = 1
    total_enis: int = 0  # over all network cards; 0 = the default card's (single-card types)
    local_nvme_gb: int = 0  # NVMe instance store over all disks, GB (InstanceStorageInfo.TotalSizeInGB)

    @property
    def enis(self) -> int:
        """EC2's MaximumNetworkInterfaces: every card's ENIs."""
        return self.total_enis or self.default_card_enis

    def instance_shape(self, instance_type: str) -> InstanceShape:
        gpus = [Gpu(self.gpus, self.gpu_name, self.gpu_manufacturer, self.gpu_memory_mib)] if self.gpus else []
        return instance_shape(instance_type, vcpus=self.vcpus, memory_mib=self.memory_mib, gpus=gpus,
                              cards=[(index, self.default_card_enis) for index in range(self.network_cards)],
                              default_card_index=0, total_enis=self.enis, ipv4_per_eni=self.ipv4_per_eni,
                              architectures=["arm64" if self.arch == "arm64" else "x86_64"],
                              other_accelerators=[self.neuron_device] if self.neuron_device else [],
                              local_nvme_gb=self.local_nvme_gb)


# The generated rows are positional: they must follow KnownShape's fields.
if COLUMNS != tuple(f.name for f in fields(KnownShape)):
    raise ImportError("instance_types_generated.py was written for other KnownShape fields: run "
                      "scripts/generate_instance_catalog.py")

KNOWN_SHAPES: dict[str, KnownShape] = {name: KnownShape(*row) for name, row in SHAPES.items()}
