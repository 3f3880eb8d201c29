"""Image cache volumes: an EBS volume made from a snapshot that already holds the pool's images (pure).

A node whose image store starts full runs a cached image without pulling it (aws-ia
terraform-aws-eks-blueprints `patterns/ml-container-cache`: a 9.5 GB PyTorch image started in under
5 s from such a volume, 334 s uncached). That pattern mounts the volume at /var/lib/containerd on
AL2. On AL2023 with nodeadm's FastImagePull, containerd's metadata and content stay in
/var/lib/containerd while the unpacked layers live in the SOCI snapshotter's
/var/lib/soci-snapshotter-grpc (nodeadm/internal/containerd/config2.template.toml: proxy plugin
`soci`, root /var/lib/soci-snapshotter-grpc), and the two must stay together. So the volume holds
one XFS filesystem with both directories:

    /mnt/image-cache/containerd              -> bind-mounted on /var/lib/containerd
    /mnt/image-cache/soci-snapshotter-grpc   -> bind-mounted on /var/lib/soci-snapshotter-grpc

The mounts are systemd units written by a `text/x-shellscript` user data part. cloud-init runs it
after nodeadm-config.service (which only writes configuration) and before nodeadm-run.service
(`After=cloud-final.service`), which sets up the instance store and then starts containerd; the
units are also ordered `Before=` and `RequiredBy=` containerd.service and soci-snapshotter.service,
so containerd never starts on an empty store, on any boot.

With nodeadm's `localStorage: RAID0`, setup-local-disks would bind-mount both directories onto the
instance store array: the NodeConfig's `disabledMounts: [Containerd, SOCI]` keeps them on the cache
volume while kubelet and pod logs go to the array (setup-local-disks also skips a directory whose
mount unit is already active, which these units are).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from . import validation
from .errors import Checks, InvalidValueError
from .userdata import OVERLAYFS_SNAPSHOTTER, SOCI_SNAPSHOTTER

# EBS snapshot IDs: snap- and 8 (older) or 17 hexadecimal digits.
SNAPSHOT_ID = re.compile(r"snap-(?:[0-9a-f]{8}|[0-9a-f]{17})")
MAX_VOLUME_GIB = 16384  # gp3
# The launch template's device name for the volume (the root is /dev/xvda). On Nitro instances it
# appears as an NVMe namespace whose serial is the volume ID; the script finds it by that.
DEVICE_NAME = "/dev/xvdb"
MOUNT_POINT = "/mnt/image-cache"
# Image store directory -> its directory on the volume.
STORE_DIRECTORIES = {
    "/var/lib/containerd": "containerd",
    "/var/lib/soci-snapshotter-grpc": "soci-snapshotter-grpc",
}
# Units the mounts must precede: containerd and the SOCI snapshotter read the store; nodeadm-run
# starts them (and sets up the instance store) in the run phase.
STORE_USERS = ("containerd.service", "soci-snapshotter.service")
BEFORE = (*STORE_USERS, "kubelet.service", "nodeadm-run.service")
FILESYSTEM_LABEL = "eks-img-cache"  # XFS labels hold at most 12 characters
SCRIPT_CONTENT_TYPE = "text/x-shellscript"


@dataclass(frozen=True)
class ImageCacheSpec:
    """An image cache volume for a pool's nodes: gp3, encrypted, made from `snapshot_id`.

    `size_gib` (unset: the snapshot's size) must be at least the snapshot's size (checked against
    AWS at preview); the filesystem is grown to it at first boot, room for images pulled later and
    containers' writable layers. `fast_snapshot_restore` enables EBS Fast Snapshot Restore for the
    snapshot in each zone of the pool, so volumes made from it are fully fast from the start
    instead of loading blocks from S3 on first read.
    """

    snapshot_id: str
    size_gib: int | None = None
    fast_snapshot_restore: bool = False

    def __post_init__(self) -> None:
        checks = Checks()
        with checks.check():
            validation.string("snapshot_id", self.snapshot_id, pattern=SNAPSHOT_ID,
                              allowed="must be an EBS snapshot ID such as 'snap-0123456789abcdef0'")
        if self.size_gib is not None:
            with checks.check():
                validation.whole_number("size_gib", self.size_gib, 1, MAX_VOLUME_GIB)
        with checks.check():
            validation.boolean("fast_snapshot_restore", self.fast_snapshot_restore)
        checks.done()

    def volume_gib(self, snapshot_gib: int) -> int:
        return self.size_gib or snapshot_gib


SNAPSHOT_NOT_FOUND = ("must be an EBS snapshot that exists in the stack's region and that this account may read "
                      "(its own, or shared with it); copy it to the region with `aws ec2 copy-snapshot`")


def check_snapshot_size(cache: ImageCacheSpec, snapshot_gib: int) -> None:
    """Refuse (`size_gib`) a volume smaller than its snapshot, which EC2 refuses at launch."""
    if cache.size_gib is not None and cache.size_gib < snapshot_gib:
        raise InvalidValueError("size_gib", cache.size_gib,
                                f"must be at least the size of snapshot {cache.snapshot_id} ({snapshot_gib} GiB): "
                                "EC2 cannot make a volume smaller than its snapshot")


# --- Which snapshotter unpacked the snapshot's images ---------------------------------------------

# scripts/image_cache.py tags each snapshot it builds with the snapshotter that unpacked its images.
# Images unpacked by one are invisible to the other: the nodes would pull them all again, silently.
SNAPSHOTTER_TAG = "eks-gpu-spot/snapshotter"
SNAPSHOTTER_LAYOUTS = {
    SOCI_SNAPSHOTTER: "FastImagePull's SOCI snapshotter, layers unpacked in /var/lib/soci-snapshotter-grpc",
    OVERLAYFS_SNAPSHOTTER: "containerd's overlayfs snapshotter, layers unpacked in /var/lib/containerd",
}


def _used(node_snapshotters: Mapping[str, str]) -> str:
    by_snapshotter: dict[str, list[str]] = {}
    for instance_type, used in node_snapshotters.items():
        by_snapshotter.setdefault(used, []).append(instance_type)
    if len(by_snapshotter) == 1:
        return SNAPSHOTTER_LAYOUTS[next(iter(by_snapshotter))]
    return "; ".join(f"{used} on {', '.join(types)}" for used, types in by_snapshotter.items())


def check_snapshotter(cache: ImageCacheSpec, tags: Mapping[str, str], node_snapshotters: Mapping[str, str],
                      pool_name: str) -> str:
    """Refuse (`snapshot_id`) a snapshot whose SNAPSHOTTER_TAG names a snapshotter that nodes of the
    pool do not use (`node_snapshotters`: instance type -> its nodes' snapshotter); return a warning
    for a snapshot without the tag (built elsewhere), "" otherwise."""
    built_with = tags.get(SNAPSHOTTER_TAG)
    if built_with is None:
        expected = sorted(set(node_snapshotters.values()))
        return (f"pool '{pool_name}': image cache snapshot {cache.snapshot_id} has no {SNAPSHOTTER_TAG} tag (not built "
                f"by scripts/image_cache.py), so preview cannot check it holds what the nodes read: "
                f"{_used(node_snapshotters)}. Images unpacked by the other snapshotter are invisible to them and "
                f"are pulled again. Once you know, tag it: `aws ec2 create-tags --resources {cache.snapshot_id} "
                f"--tags Key={SNAPSHOTTER_TAG},Value={expected[0]}`")
    if any(used != built_with for used in node_snapshotters.values()):
        wanted = set(node_snapshotters.values())
        how = ("split the pool: no one snapshot serves both" if len(wanted) > 1 else
               "build one with scripts/image_cache.py --no-fast-image-pull" if wanted == {OVERLAYFS_SNAPSHOTTER} else
               "build one with scripts/image_cache.py without --no-fast-image-pull")
        raise InvalidValueError(
            "snapshot_id", cache.snapshot_id,
            f"must hold images unpacked by the snapshotter the pool's nodes use: its tag {SNAPSHOTTER_TAG}="
            f"{built_with} says {SNAPSHOTTER_LAYOUTS.get(built_with, 'another snapshotter')}, but the nodes read "
            f"{_used(node_snapshotters)}, and would pull every image again; {how}")
    return ""


# --- Fast Snapshot Restore (Amazon EBS User Guide, "Amazon EBS fast snapshot restore") ----------------

# Snapshots a region may have fast snapshot restore enabled for, by default (a Service Quota).
FSR_DEFAULT_SNAPSHOTS_PER_REGION = 5
# EBS optimises a snapshot for fast restore in about 60 minutes per TiB.
FSR_MINUTES_PER_TIB = 60
# The AWS provider's default create timeout for aws.ebs.FastSnapshotRestore: it waits for `enabled`.
FSR_PROVIDER_TIMEOUT_MINUTES = 10


def fsr_volumes_per_hour(snapshot_gib: int) -> int:
    """Fully initialised volumes one zone can make from the snapshot per hour: its credit bucket
    size and refill rate, floor(1024 / snapshot GiB), at least 1 and at most 10."""
    return max(1, min(10, 1024 // max(1, snapshot_gib)))


def fsr_optimization_minutes(snapshot_gib: int) -> int:
    return math.ceil(FSR_MINUTES_PER_TIB * snapshot_gib / 1024)


def fsr_create_timeout(snapshot_gib: int) -> str:
    """The create timeout of a FastSnapshotRestore: the provider waits until the snapshot is
    optimised, which takes longer than its 10-minute default for snapshots above ~170 GiB."""
    return f"{max(FSR_PROVIDER_TIMEOUT_MINUTES, fsr_optimization_minutes(snapshot_gib) + 10)}m"


def fsr_credit_warning(pool_name: str, cache: ImageCacheSpec, snapshot_gib: int, nodes_per_zone: int) -> str:
    """A warning when a zone may launch more nodes at once than its restore credits cover; "" otherwise."""
    credits = fsr_volumes_per_hour(snapshot_gib)
    if not cache.fast_snapshot_restore or nodes_per_zone <= credits:
        return ""
    return (f"pool '{pool_name}': fast snapshot restore of {cache.snapshot_id} ({snapshot_gib} GiB) makes "
            f"{credits} fully initialised volume(s) per zone per hour (floor(1024 / {snapshot_gib}), 1 to 10), and a "
            f"zone may launch {nodes_per_zone} nodes: volumes past the credits load their blocks from S3 on first "
            "read, and those nodes start cached images slowly. Lower the pool's maximum size (maxSizePerAz, maxSize "
            "on the general pool), or use a smaller snapshot")


# --- The user data part that mounts the volume before containerd ---------------------------------------

def unit_name(path: str, suffix: str = "mount") -> str:
    """systemd's name for the unit of `path` (`systemd-escape --path --suffix=mount`): / -> -, and
    every character other than ASCII letters, digits, ':', '_' and a non-leading '.' as \\xNN."""
    parts = [p for p in path.split("/") if p]
    escaped = []
    for text in ("/".join(parts) or "/"):
        if text == "/":
            escaped.append("-")
        elif re.fullmatch(r"[A-Za-z0-9:_]", text) or (text == "." and escaped):
            escaped.append(text)
        else:
            escaped.append("".join(f"\\x{b:02x}" for b in text.encode()))
    return "".join(escaped) + "." + suffix


def mount_units(device: str) -> dict[str, str]:
    """The systemd units (name -> text): the volume's filesystem at MOUNT_POINT, and each image store
    directory bind-mounted from it, all before containerd and the SOCI snapshotter."""
    volume_unit = unit_name(MOUNT_POINT)
    units = {volume_unit: "\n".join([
        "[Unit]",
        "Description=eks-gpu-spot image cache volume",
        f"Before={' '.join(BEFORE)}",
        "[Mount]",
        f"What={device}",
        f"Where={MOUNT_POINT}",
        "Type=xfs",
        "Options=defaults,noatime",
        "[Install]",
        f"RequiredBy={' '.join(STORE_USERS)}",
        "",
    ])}
    for where, directory in STORE_DIRECTORIES.items():
        units[unit_name(where)] = "\n".join([
            "[Unit]",
            f"Description=eks-gpu-spot image store {where} on the image cache volume",
            f"Requires={volume_unit}",
            f"After={volume_unit}",
            f"Before={' '.join(BEFORE)}",
            "[Mount]",
            f"What={MOUNT_POINT}/{directory}",
            f"Where={where}",
            "Type=none",
            "Options=bind",
            "[Install]",
            f"RequiredBy={' '.join(STORE_USERS)}",
            "",
        ])
    return units


# The shell variable holding the volume's stable device path, found at boot.
_DEVICE_VARIABLE = "${cache_device}"


def mount_script(*, prepare_empty_volume: bool = False) -> str:
    """The bash script of the user data part.

    It waits for the one EBS volume besides the root disk and names it by its volume-ID path
    (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol..., the NVMe serial EBS sets), which stays
    the same across reboots while nvme numbering may not. Then it writes and starts the units and
    grows the filesystem to the volume (a volume larger than its snapshot).

    `prepare_empty_volume` (the snapshot builder, scripts/image_cache.py): format a blank volume and
    copy the AMI's own image store onto it first (the pinned pause image nodeadm uses), so the
    snapshot holds the store exactly as a node of this AMI would have it.
    """
    units = mount_units(_DEVICE_VARIABLE)
    lines = [
        "#!/bin/bash",
        "# eks-gpu-spot: mount the image cache volume before containerd starts. cloud-init runs this",
        "# before nodeadm-run.service starts containerd; the units order themselves before it on every boot.",
        "set -o errexit -o nounset -o pipefail",
        'root_disk="$(lsblk -no PKNAME "$(findmnt -no SOURCE /)")"',
        'cache_device=""',
        "for attempt in $(seq 1 120); do",
        "  found=()",
        "  for link in /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol*; do",
        '    case "${link}" in *-part*|*_[0-9]*) continue ;; esac',
        '    [ -e "${link}" ] || continue',
        '    [ "$(basename "$(readlink -f "${link}")")" = "${root_disk}" ] && continue',
        '    found+=("${link}")',
        "  done",
        '  if [ "${#found[@]}" -eq 1 ]; then cache_device="${found[0]}"; break; fi',
        "  sleep 1",
        "done",
        'if [ -z "${cache_device}" ]; then',
        '  echo "eks-gpu-spot image cache: no single EBS volume besides the root disk appeared" >&2',
        "  exit 1",
        "fi",
        'echo "eks-gpu-spot image cache: ${cache_device} ($(readlink -f "${cache_device}"))"',
    ]
    if prepare_empty_volume:
        lines += [
            'if [ -z "$(blkid -o value -s TYPE "${cache_device}" || true)" ]; then',
            f'  mkfs.xfs -L {FILESYSTEM_LABEL} "${{cache_device}}"',
            "fi",
        ]
    for name, text in units.items():
        # Unquoted here-document: only ${cache_device} is expanded; the units hold no other '$'.
        lines += [f"cat > {shlex.quote('/etc/systemd/system/' + name)} <<EOF", text.rstrip("\n"), "EOF"]
    volume_unit = unit_name(MOUNT_POINT)
    lines += [
        "systemctl daemon-reload",
        f"systemctl enable --now {shlex.quote(volume_unit)}",
        # A volume larger than its snapshot: the filesystem takes the rest.
        f"xfs_growfs {MOUNT_POINT}",
    ]
    for where, directory in STORE_DIRECTORIES.items():
        lines.append(f"mkdir -p {MOUNT_POINT}/{directory}")
        if prepare_empty_volume:
            lines.append(f'[ -d {where} ] && cp -a {where}/. {MOUNT_POINT}/{directory}/')
    lines.append("systemctl enable --now " + " ".join(shlex.quote(unit_name(w)) for w in STORE_DIRECTORIES))
    return "\n".join(lines) + "\n"
