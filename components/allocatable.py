"""What kubelet will report as allocatable on an EKS AL2023 node: the one computation of it.

The Cluster Autoscaler's AWS provider imagines a node at zero from the instance type (all vCPUs,
all nominal memory, 110 pods) and takes that as allocatable. A real AL2023 node reports less. This
module computes the real figure from the rules nodeadm writes into kubelet's configuration, read in
awslabs/amazon-eks-ami at tag v20260724 (commit 81fec2e895854f599974fe4d3d72f61c0a9aaffa):

- nodeadm/internal/kubelet/config.go, `withDefaultReservedResources`: kubeReserved
  cpu = `getCPUMillicoresToReserve` (6% of the first core, 1% of the second, 0.5% of cores 3-4,
  0.25% of every core above 4, integer millicores per range), memory = `getMemoryMebibytesToReserve`
  = 11 MiB x maxPods + 255 MiB, ephemeral-storage = 1Gi; no systemReserved.
- same file, `defaultKubeletSubConfig`: evictionHard memory.available 100Mi, nodefs.available 10%.
- nodeadm/internal/kubelet/eni_max_pods.go, `CalcMaxPods`: maxPods = ENIs of the default network
  card x (IPv4 per ENI - 1) + 2 (`instance_catalog.max_pods`), or the result of the NodeConfig's
  `spec.kubelet.maxPodsExpression`, and the memory reservation follows whichever it is.

kubelet: allocatable = capacity - kubeReserved - systemReserved - evictionHard.

Two figures are estimates, and both err towards a smaller template (see docs/autoscaling.md):

- memory capacity: kubelet reports the kernel's MemTotal, less than the type's nominal memory
  (firmware and hypervisor holes, the kernel's page tables for all memory, crash kernel, kernel
  image). `DEFAULT_MEMORY_OVERHEAD_PERCENT` = 7.5%, Karpenter's default `vmMemoryOverheadPercent`;
  real nodes lose roughly 3-6%. Overridable per pool.
- ephemeral-storage capacity: the root XFS filesystem is smaller than the EBS volume (the AMI's
  BIOS-boot and EFI partitions, the XFS log and headers): `filesystem_overhead_mib`. With nodeadm's
  `localStorage: RAID0` kubelet's directory is on the instance store array instead
  (`raid0_filesystem_mib`): the same XFS allowance, less what mdadm keeps on each disk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .errors import InvalidValueError
from .instance_catalog import max_pods as standard_max_pods
from .node_template import InstanceShape

DEFAULT_MEMORY_OVERHEAD_PERCENT = 7.5
MAX_MEMORY_OVERHEAD_PERCENT = 50.0

# nodeadm's defaults (config.go at v20260724).
KUBE_RESERVED_EPHEMERAL_MIB = 1024  # kubeReserved ephemeral-storage 1Gi
EVICTION_MEMORY_AVAILABLE_MIB = 100  # evictionHard memory.available 100Mi
EVICTION_NODEFS_AVAILABLE = Fraction(10, 100)  # evictionHard nodefs.available 10%
# nodeadm rejects a maxPodsExpression result outside 1..2^31-1 and then SILENTLY falls back to the
# standard value (eni_max_pods.go, `evaluateCustomMaxPodsExpression`): the template would disagree
# with the node, so such values are refused here instead.
MAX_PODS_LIMIT = 2**31 - 1

# nodeadm's CPU reservation: (range start, range end, basis points of the cores in that range).
_CPU_RANGES_MILLICORES = ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, None, 25))


@dataclass(frozen=True)
class Allocatable:
    """Allocatable resources of a node, in the units kubelet's arithmetic uses."""

    cpu_millicores: int
    memory_mib: int
    pods: int
    ephemeral_storage_mib: int

    def quantities(self) -> dict[str, str]:
        """Kubernetes quantities, e.g. {"cpu": "3920m", "memory": "14481Mi", "pods": "29", ...}."""
        return {
            "cpu": f"{self.cpu_millicores}m",
            "memory": f"{self.memory_mib}Mi",
            "pods": str(self.pods),
            "ephemeral-storage": f"{self.ephemeral_storage_mib}Mi",
        }


def kube_reserved_cpu_millicores(vcpus: int) -> int:
    """nodeadm's `getCPUMillicoresToReserve` for a node with `vcpus` logical cores (4 -> 80)."""
    total = vcpus * 1000
    reserved = 0
    for start, end, basis_points in _CPU_RANGES_MILLICORES:
        if total <= start:
            continue
        top = total if end is None else min(total, end)
        # Go's integer division, per range, as nodeadm does it.
        reserved += (top - start) * basis_points // 10000
    return reserved


def kube_reserved_memory_mib(pods: int) -> int:
    """nodeadm's `getMemoryMebibytesToReserve`: 11 MiB per pod plus 255 MiB."""
    return 11 * pods + 255


def memory_capacity_mib(nominal_mib: int, overhead_percent: float) -> int:
    """The memory kubelet will see (MemTotal), estimated as nominal less `overhead_percent`, rounded down."""
    overhead = Fraction(Decimal(str(overhead_percent))) / 100
    return nominal_mib - math.ceil(nominal_mib * overhead)


def filesystem_overhead_mib(volume_gib: int) -> int:
    """What the root volume loses before kubelet sees the filesystem: 128 MiB plus 0.1% of it.

    The AL2023 AMIs partition the volume (a 1 MiB BIOS-boot and a 10 MiB EFI partition) and XFS
    keeps its internal log out of the reported size (at least 64 MiB, about 1/2048 of the
    filesystem above that) plus allocation-group headers. 128 MiB + 0.1% covers all of it with room.
    """
    return 128 + math.ceil(volume_gib * 1024 / 1000)


# nodeadm's localStorage strategy that moves kubelet's directory (and so ephemeral storage) onto the
# instance store: setup-local-disks builds one md RAID0 array of every NVMe instance store disk,
# formats it XFS and bind-mounts /var/lib/kubelet, /var/lib/containerd,
# /var/lib/soci-snapshotter-grpc and /var/log/pods onto it (awslabs/amazon-eks-ami
# templates/al2023/runtime/bin/setup-local-disks, v20260724).
RAID0 = "RAID0"
# What mdadm keeps for itself, as a share of the array: a version 1.2 superblock sits 4 KiB into each
# member and the data starts after a reserved offset (128 MiB plus a little on large members, the
# "Data Offset 264192 sectors" mdadm --examine shows; not re-checked in this offline build). 0.5% of
# the array covers 129 MiB on every member of 26 GiB or more; the smallest NVMe instance store disk
# EC2 sells is 50 GB (c5d.large), and RAID0 rounds each member down to its 512 KiB chunk.
MD_OVERHEAD = Fraction(5, 1000)
MIB = 2**20


def raid0_filesystem_mib(local_nvme_gb: int) -> int:
    """The XFS filesystem kubelet sees on a RAID0 array of `local_nvme_gb` GB of instance store.

    EC2 counts instance store in GB (10^9 bytes): g5.xlarge's 250 GB disk is 238418 MiB. From that,
    mdadm's share (`MD_OVERHEAD`) and the filesystem's (`filesystem_overhead_mib`, as on the root
    volume: the XFS log and headers; the array has no partitions, so that errs on the small side).
    """
    array_mib = local_nvme_gb * 10**9 // MIB
    array_mib -= math.ceil(array_mib * MD_OVERHEAD)
    return array_mib - filesystem_overhead_mib(array_mib // 1024)


def check_memory_overhead_percent(value: object) -> float:
    """A memory overhead percentage, 0 to 50; anything else is refused (`memory_overhead_percent`)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_MEMORY_OVERHEAD_PERCENT:
        raise InvalidValueError("memory_overhead_percent", value,
                                f"memory overhead must be a number of percent from 0 to "
                                f"{MAX_MEMORY_OVERHEAD_PERCENT:g} (default {DEFAULT_MEMORY_OVERHEAD_PERCENT:g}, "
                                "Karpenter's)")
    return float(value)


def check_max_pods(value: object) -> int:
    """A per-pool maxPods: 0 (nodeadm's ENI rule) or a whole number nodeadm accepts, 1 to 2^31-1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PODS_LIMIT:
        raise InvalidValueError("max_pods", value, f"max pods must be a whole number from 1 to {MAX_PODS_LIMIT} "
                                                   "(0 or unset: nodeadm's ENI rule)")
    return value


def max_pods_expression(pods: int) -> str:
    """The NodeConfig `spec.kubelet.maxPodsExpression` for a fixed maxPods: a CEL integer literal.

    Through the expression (not `spec.kubelet.config.maxPods`) nodeadm sizes its memory
    reservation for the same number of pods.
    """
    return str(check_max_pods(pods))


def node_max_pods(shape: InstanceShape, max_pods: int = 0) -> int:
    """The pods kubelet will allow: `max_pods` when set, else nodeadm's rule for the shape."""
    if max_pods:
        return check_max_pods(max_pods)
    if shape.default_card_enis and shape.ipv4_per_eni:
        return standard_max_pods(shape.default_card_enis, shape.ipv4_per_eni)
    return shape.max_pods


def node_allocatable(shape: InstanceShape, root_volume_gib: int, *,
                     memory_overhead_percent: float = DEFAULT_MEMORY_OVERHEAD_PERCENT,
                     max_pods: int = 0, local_storage: str = "") -> Allocatable:
    """What kubelet will report as allocatable on an AL2023 node of `shape` with this root volume.

    `max_pods` (0 = nodeadm's ENI rule) must also reach nodeadm as `maxPodsExpression`
    (`max_pods_expression`), so its memory reservation is for the same number of pods.
    `local_storage` is nodeadm's strategy: with `RAID0` ephemeral storage is the instance store
    array's (the shape must have NVMe instance store), otherwise the root volume's.
    """
    check_memory_overhead_percent(memory_overhead_percent)
    pods = node_max_pods(shape, max_pods)
    memory = (memory_capacity_mib(shape.memory_mib, memory_overhead_percent)
              - kube_reserved_memory_mib(pods) - EVICTION_MEMORY_AVAILABLE_MIB)
    if local_storage == RAID0:
        if not shape.local_nvme_gb:
            raise ValueError(f"{shape.instance_type} has no NVMe instance store for a RAID0 array")
        filesystem_mib = raid0_filesystem_mib(shape.local_nvme_gb)
    else:
        filesystem_mib = root_volume_gib * 1024 - filesystem_overhead_mib(root_volume_gib)
    ephemeral = (filesystem_mib - KUBE_RESERVED_EPHEMERAL_MIB
                 - math.ceil(filesystem_mib * EVICTION_NODEFS_AVAILABLE))
    cpu = shape.vcpus * 1000 - kube_reserved_cpu_millicores(shape.vcpus)
    if min(memory, ephemeral, cpu) <= 0:
        raise InvalidValueError("max_pods" if memory <= 0 else "root_volume_gib", max_pods if memory <= 0 else root_volume_gib,
                                f"{shape.instance_type} with a {root_volume_gib} GiB root volume and {pods} pods leaves "
                                f"nothing allocatable (cpu {cpu}m, memory {memory}Mi, ephemeral-storage {ephemeral}Mi)")
    return Allocatable(cpu_millicores=cpu, memory_mib=memory, pods=pods, ephemeral_storage_mib=ephemeral)


def pool_allocatable(shapes: Sequence[InstanceShape], root_volume_gib: int, *,
                     memory_overhead_percent: float = DEFAULT_MEMORY_OVERHEAD_PERCENT,
                     max_pods: int = 0, local_storage: str = "") -> Allocatable:
    """The least any node of the pool will offer: `node_allocatable` of each type, resource by resource.

    The autoscaler sizes a whole group from one template, yet types of one vCPU/memory shape still
    differ in allocatable: g4dn.xlarge allows 29 pods and keeps 14481Mi, g5.xlarge allows 58 pods
    and keeps 14162Mi (nodeadm reserves 11 MiB per pod). A template of the first type alone could
    promise a pod memory that a g5.xlarge of the same group does not have.
    """
    if not shapes:
        raise ValueError("a pool needs at least one instance type")
    each = [node_allocatable(s, root_volume_gib, memory_overhead_percent=memory_overhead_percent, max_pods=max_pods,
                             local_storage=local_storage) for s in shapes]
    return Allocatable(
        cpu_millicores=min(a.cpu_millicores for a in each),
        memory_mib=min(a.memory_mib for a in each),
        pods=min(a.pods for a in each),
        ephemeral_storage_mib=min(a.ephemeral_storage_mib for a in each),
    )
