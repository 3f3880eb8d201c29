"""The offline table of EC2 instance shapes, and the pod limit nodeadm gives kubelet.

The one copy of these facts in the project: the preflight tool falls back to it when no AWS
credentials are at hand, and the test harness answers `aws.ec2.get_instance_type` from it.
`KNOWN_SHAPES` holds every type of components/instance_types_generated.py, which
scripts/generate_instance_catalog.py writes from upstream tables generated from EC2
(`describe-instance-types`): ENIs of the default network card and IPv4 per ENI from nodeadm's own
table (awslabs/amazon-eks-ami), vCPU, memory, GPUs, accelerators, NVMe instance store and hypervisor from
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
                   architectures: Iterable[str], other_accelerators: Iterable[str] = (), hypervisor: str,
                   instance_store_supported: bool | None, instance_store_gb: int | None) -> InstanceShape:
    """The one builder of `InstanceShape` from what EC2 says of a type, whichever way it was asked
    (the Pulumi invoke, boto3, or the table below): max pods, architecture and the NVMe instance
    store follow one rule each."""
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
        local_nvme_gb=nvme_instance_store_gb(instance_type, hypervisor, instance_store_supported, instance_store_gb),
    )


# The Xen families whose instance store EC2 gives as NVMe (InstanceStorageInfo.NvmeSupport "required"):
# of every type EC2 describes, i3 only. The list is closed: no new type runs on Xen (every type since
# 2017 is built on Nitro). tests/test_instance_catalog.py checks the rule below against EC2's own
# NvmeSupport of every type in moto's copy of DescribeInstanceTypes.
XEN_NVME_FAMILIES = frozenset({"i3"})


def nvme_instance_store_gb(instance_type: str, hypervisor: str, supported: bool | None, total_gb: int | None) -> int:
    """The instance store nodeadm's setup-local-disks puts in its array, in GB: EC2's TotalSizeInGB
    when that store is NVMe, else 0.

    setup-local-disks (awslabs/amazon-eks-ami templates/al2023/runtime/bin/setup-local-disks) takes
    every `/dev/disk/by-id/*NVMe_Instance_Storage_*` device and nothing else: the instance store disks
    exposed as NVMe, SSD and HDD alike (d3's HDDs are NVMe devices), never the SATA/SCSI-attached store
    of the older Xen types, whose pools then keep kubelet on the root volume. EC2 says which in
    `NvmeSupport`, which boto3 answers and `aws.ec2.get_instance_type` does not. All three ways of
    asking (the Pulumi invoke, the preflight's boto3 call, the offline table from Karpenter's labels)
    answer the type's name, its hypervisor and its instance store total, from which the same fact
    follows: a Nitro type's instance store ("nitro") and bare metal's (no hypervisor) is NVMe, a Xen
    type's only in XEN_NVME_FAMILIES. So each computes it here, from those three, and they agree.
    """
    nvme = hypervisor != "xen" or instance_type.split(".")[0] in XEN_NVME_FAMILIES
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
    # EC2's InstanceStorageInfo.TotalSizeInGB where its NvmeSupport is not "unsupported" (Karpenter's
    # instance-local-nvme label); 0 without instance store. The store of a Xen type whose NvmeSupport
    # is "unsupported" (x1, d2, ...) is not in the table at all.
    local_nvme_gb: int = 0
    hypervisor: str = "nitro"  # EC2's Hypervisor: nitro, xen, or "" (bare metal)

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
                              hypervisor=self.hypervisor, instance_store_supported=bool(self.local_nvme_gb),
                              instance_store_gb=self.local_nvme_gb)


# The generated rows are positional: they must follow KnownShape's fields.
if COLUMNS != tuple(f.name for f in fields(KnownShape)):
    raise ImportError("instance_types_generated.py was written for other KnownShape fields: run "
                      "scripts/generate_instance_catalog.py")

KNOWN_SHAPES: dict[str, KnownShape] = {name: KnownShape(*row) for name, row in SHAPES.items()}
