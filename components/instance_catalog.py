"""A small table of well-known EC2 instance shapes, and the pod limit nodeadm gives kubelet.

The one copy of these facts in the project: the preflight tool falls back to it when no AWS
credentials are at hand, and the test harness answers `aws.ec2.get_instance_type` from it.
Figures are EC2's (`describe-instance-types`): vCPU, memory, GPUs and per-GPU memory as Karpenter's
generated instance-type reference lists them (aws/karpenter-provider-aws
website/content/en/docs/reference/instance-types.md at 1d927085, August 2026); ENIs of the default
network card and IPv4 per ENI as nodeadm's own table lists them (awslabs/amazon-eks-ami
nodeadm/internal/kubelet/instance-info.jsonl at v20260724, commit 81fec2e8).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
                   architectures: Iterable[str], other_accelerators: Iterable[str] = ()) -> InstanceShape:
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
    )


@dataclass(frozen=True)
class KnownShape:
    vcpus: int
    memory_mib: int
    default_card_enis: int
    ipv4_per_eni: int
    gpus: int = 0
    gpu_name: str = ""
    gpu_memory_mib: int = 0  # of one GPU
    arch: str = "amd64"
    gpu_manufacturer: str = "NVIDIA"
    neuron_device: str = ""  # AWS Inferentia / Trainium
    network_cards: int = 1
    total_enis: int = 0  # over all network cards; 0 = the default card's (single-card types)

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
                              other_accelerators=[self.neuron_device] if self.neuron_device else [])


# Per-GPU memory in MiB as EC2 reports it. EC2 reports A10G and L4 alike at 22888 MiB (of their
# nominal 24 GB), L40S at 45776, T4 at 16384.
T4_MIB = 16384
A10G_MIB = 22888
L4_MIB = 22888
L40S_MIB = 45776
V100_MIB = 16384
A100_40GB_MIB = 40960

KNOWN_SHAPES: dict[str, KnownShape] = {
    "m5.xlarge": KnownShape(4, 16384, 4, 15),
    "m5a.xlarge": KnownShape(4, 16384, 4, 15),
    "m6i.xlarge": KnownShape(4, 16384, 4, 15),
    "m6a.xlarge": KnownShape(4, 16384, 4, 15),
    "m7i.xlarge": KnownShape(4, 16384, 4, 15),
    "m5.2xlarge": KnownShape(8, 32768, 4, 15),
    "m5a.2xlarge": KnownShape(8, 32768, 4, 15),
    "m6i.2xlarge": KnownShape(8, 32768, 4, 15),
    "m6a.2xlarge": KnownShape(8, 32768, 4, 15),
    "m7i.2xlarge": KnownShape(8, 32768, 4, 15),
    "m5.4xlarge": KnownShape(16, 65536, 8, 30),
    "m5a.4xlarge": KnownShape(16, 65536, 8, 30),
    "m6i.4xlarge": KnownShape(16, 65536, 8, 30),
    "m6a.4xlarge": KnownShape(16, 65536, 8, 30),
    "m7i.4xlarge": KnownShape(16, 65536, 8, 30),
    "c5.2xlarge": KnownShape(8, 16384, 4, 15),
    "g4dn.xlarge": KnownShape(4, 16384, 3, 10, 1, "T4", T4_MIB),
    "g4dn.2xlarge": KnownShape(8, 32768, 3, 10, 1, "T4", T4_MIB),
    "g4dn.12xlarge": KnownShape(48, 196608, 8, 30, 4, "T4", T4_MIB),
    "g5.xlarge": KnownShape(4, 16384, 4, 15, 1, "A10G", A10G_MIB),
    "g5.2xlarge": KnownShape(8, 32768, 4, 15, 1, "A10G", A10G_MIB),
    "g5.12xlarge": KnownShape(48, 196608, 15, 50, 4, "A10G", A10G_MIB),
    "g6.xlarge": KnownShape(4, 16384, 4, 15, 1, "L4", L4_MIB),
    "g6.2xlarge": KnownShape(8, 32768, 4, 15, 1, "L4", L4_MIB),
    "g6.12xlarge": KnownShape(48, 196608, 8, 30, 4, "L4", L4_MIB),
    "g6e.xlarge": KnownShape(4, 32768, 4, 15, 1, "L40S", L40S_MIB),
    "p3.2xlarge": KnownShape(8, 62464, 4, 15, 1, "V100", V100_MIB),
    # Four network cards of 15 ENIs each (60 in all); nodeadm counts the default card's 15.
    "p4d.24xlarge": KnownShape(96, 1179648, 15, 50, 8, "A100", A100_40GB_MIB, network_cards=4, total_enis=60),
    "m6g.xlarge": KnownShape(4, 16384, 4, 15, arch="arm64"),
    "m7g.xlarge": KnownShape(4, 16384, 4, 15, arch="arm64"),
    "g5g.xlarge": KnownShape(4, 8192, 4, 15, 1, "T4g", 16384, arch="arm64"),
    "g4ad.xlarge": KnownShape(4, 16384, 2, 4, 1, "Radeon Pro V520", 8192, gpu_manufacturer="AMD"),
    "inf2.xlarge": KnownShape(4, 16384, 4, 15, neuron_device="Inferentia2"),
}
