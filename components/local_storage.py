"""Where a pool's nodes keep kubelet, containerd and pod logs: the NVMe instance store or the root volume (pure).

nodeadm's NodeConfig `spec.instance.localStorage.strategy` (awslabs/amazon-eks-ami
nodeadm/api/v1alpha1/nodeconfig_types.go, `LocalStorageStrategy`: RAID0, RAID10, Mount) runs
setup-local-disks in nodeadm's run phase, before it starts containerd and kubelet
(cmd/nodeadm/init/init.go: the local-disk aspect, then the daemons):

- `RAID0`: one md array of every NVMe instance store disk, XFS, with /var/lib/kubelet,
  /var/lib/containerd, /var/lib/soci-snapshotter-grpc and /var/log/pods bind-mounted onto it
  (templates/al2023/runtime/bin/setup-local-disks). kubelet's ephemeral storage is then the
  array's (allocatable.raid0_filesystem_mib), and image pulls write to local NVMe, not EBS.
- `Mount`: each disk formatted and mounted at /mnt/k8s-disks/<n>, nothing bind-mounted: kubelet
  stays on the root volume, the disks are there for hostPath volumes.
- `RAID10`: refused here. It mirrors disks that a Spot node loses with the instance anyway (half
  the space for no durability), and setup-local-disks fails the boot with fewer than 4 disks.

`disabledMounts` (Containerd, PodLogs since v20250620; SOCI since v20260120, commit 415d3fc3)
keeps a directory off the array; an image cache volume uses it for the image store
(image_cache.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import validation
from .allocatable import RAID0
from .errors import InvalidValueError
from .node_template import InstanceShape

MOUNT = "Mount"
NONE = "none"
# The values a pool may set; unset ("") is automatic: RAID0 when every type has NVMe instance store.
LOCAL_STORAGE_CHOICES = (RAID0, MOUNT, NONE)
AUTOMATIC = ""
# nodeadm's DisabledMount names (nodeconfig_types.go) and the first AMI release that knows each.
DISABLED_MOUNT_CONTAINERD = "Containerd"
DISABLED_MOUNT_SOCI = "SOCI"
DISABLED_MOUNT_SOCI_SINCE = "v20260120"


def check_local_storage(value: object) -> str:
    """A pool's `local_storage`: "" (automatic), RAID0, Mount or none."""
    allowed = (f"must be one of: {', '.join(LOCAL_STORAGE_CHOICES)} (unset: {RAID0} when every instance type of "
               "the pool has NVMe instance store)")
    text = validation.string("local_storage", value, allowed=allowed)
    if text == "RAID10":
        raise InvalidValueError("local_storage", value, "RAID10 mirrors instance store that a Spot node loses with "
                                                        "the instance anyway (half the space for no durability), and "
                                                        f"nodeadm fails the boot with fewer than 4 disks; {allowed}")
    if text and text not in LOCAL_STORAGE_CHOICES:
        raise InvalidValueError("local_storage", value, allowed)
    return text


def without_nvme(shapes: Sequence[InstanceShape]) -> list[str]:
    return [s.instance_type for s in shapes if not s.local_nvme_gb]


def resolve_local_storage(choice: str, shapes: Sequence[InstanceShape]) -> str:
    """The strategy nodeadm gets ("" for none): a set strategy needs NVMe instance store on every type
    (refused otherwise, naming the first without); automatic is RAID0 when every type has it, and
    none when any lacks it (`local_storage_note` says so at preview)."""
    missing = without_nvme(shapes)
    if choice == NONE:
        return ""
    if choice == AUTOMATIC:
        return "" if missing else RAID0
    if missing:
        raise InvalidValueError("local_storage", choice,
                                f"needs NVMe instance store on every instance type of the pool, and {missing[0]} has "
                                "none: its nodes would keep kubelet on the root volume while the autoscaler's "
                                "template counts the array. Use types with instance store (g4dn, g5, g6, g6e, "
                                f"p4d, p5) or set {NONE}")
    return choice


def local_storage_note(pool_name: str, choice: str, shapes: Sequence[InstanceShape]) -> str:
    """What to tell at preview when the automatic choice falls back to the root volume in a pool
    whose types only partly have instance store; "" otherwise."""
    missing = without_nvme(shapes)
    if choice != AUTOMATIC or not missing or len(missing) == len(shapes):
        return ""
    return (f"pool '{pool_name}': kubelet, containerd and pod logs stay on the root volume: "
            f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no NVMe instance store, so nodeadm's "
            "localStorage RAID0 is not used on any type of the pool (its template must hold for every node). Give "
            "the pool only types with instance store to use it, or set localStorage: none to silence this")
