"""Image cache volumes (issue 20): the volume in the launch template, its mount ordered before
containerd, the layout with RAID0, one fast snapshot restore per zone that nothing waits for, and the
refusals (snapshot ID form, a snapshot AWS does not find, a volume smaller than its snapshot)."""

from __future__ import annotations

import base64
import configparser
import re
import subprocess
from typing import Any

import pytest

from components.errors import InvalidValueError
from components.image_cache import (
    BEFORE,
    MOUNT_POINT,
    SNAPSHOTTER_TAG,
    STORE_DIRECTORIES,
    ImageCacheSpec,
    check_snapshotter,
    fsr_create_timeout,
    fsr_volumes_per_hour,
    mount_script,
    unit_name,
)
from components.userdata import feature_gates, snapshotter
from tests.harness import ZONES, ProgramRun, assert_refused, run_program
from tests.test_local_storage import validate
from tests.test_nodegroup import launch_template_of
from tests.test_userdata import parse_node_configs, parts_of

SNAPSHOT = "snap-0123456789abcdef0"
SMALL = "snap-0123456789abcde20"
SNAPSHOTS = {SNAPSHOT: 100, "snap-0fedcba9876543210": 600, SMALL: 20}
CACHE = {"snapshotId": SNAPSHOT, "sizeGiB": 150, "fastSnapshotRestore": True}
GPU = {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"], "imageCache": CACHE}
ASG = "aws:autoscaling/group:Group"
FSR = "aws:ebs/fastSnapshotRestore:FastSnapshotRestore"


def cached(config: dict[str, Any], **kwargs: Any) -> ProgramRun:
    return run_program(config, snapshots=SNAPSHOTS, **kwargs)


def user_data(run: ProgramRun, pool: str = "gpu") -> str:
    group = next(g for g in run.of_type(ASG) if g.name.startswith(pool))
    return base64.b64decode(launch_template_of(run, group).inputs["userData"]).decode()


def units_in(script: str) -> dict[str, configparser.ConfigParser]:
    """The systemd units the script writes (here-documents into /etc/systemd/system)."""
    found = {}
    for name, text in re.findall(r"cat > '?/etc/systemd/system/([^' ]+)'? <<EOF\n(.*?)\nEOF", script, re.DOTALL):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment]
        parser.read_string(text)
        found[name] = parser
    return found


def test_unit_names_are_systemds() -> None:
    # As `systemd-escape --path --suffix=mount` writes them (and setup-local-disks looks them up).
    assert unit_name("/var/lib/soci-snapshotter-grpc") == "var-lib-soci\\x2dsnapshotter\\x2dgrpc.mount"
    assert unit_name("/mnt/image-cache/") == "mnt-image\\x2dcache.mount"
    assert unit_name("/var/lib/containerd") == "var-lib-containerd.mount"
    assert unit_name("/.hidden/a.b") == "\\x2ehidden-a.b.mount"


def test_the_cache_volume_is_mounted_before_containerd() -> None:
    run = cached({"gpuPools": [GPU]})
    (script,) = parts_of(user_data(run), "text/x-shellscript")
    assert script == mount_script()
    units = units_in(script)
    volume = unit_name(MOUNT_POINT)
    assert set(units) == {volume, *(unit_name(path) for path in STORE_DIRECTORIES)}
    for name, unit in units.items():
        before = unit["Unit"]["Before"].split()
        assert {"containerd.service", "soci-snapshotter.service", "nodeadm-run.service"} <= set(before), name
        # Enabled units pull themselves in for containerd on every boot: no containerd without them.
        assert {"containerd.service", "soci-snapshotter.service"} <= set(unit["Install"]["RequiredBy"].split()), name
        enabled = [line for line in script.splitlines() if line.startswith("systemctl enable --now ")]
        assert any(name in line.replace("'", "").split() for line in enabled), name
    assert units[volume]["Mount"]["Where"] == MOUNT_POINT
    assert units[volume]["Mount"]["What"] == "${cache_device}"  # the volume-ID path found at boot
    for path, directory in STORE_DIRECTORIES.items():
        unit = units[unit_name(path)]
        assert (unit["Mount"]["What"], unit["Mount"]["Where"], unit["Mount"]["Options"]) == (
            f"{MOUNT_POINT}/{directory}", path, "bind")
        assert unit["Unit"]["Requires"] == unit["Unit"]["After"] == volume
    # Within the script: the volume unit starts before the bind mounts, and the filesystem grows first.
    assert script.index(f"enable --now '{volume}'") < script.index("xfs_growfs") < script.index(
        "enable --now var-lib-containerd.mount")
    assert set(BEFORE) >= {"containerd.service", "nodeadm-run.service"}


def test_the_script_is_valid_bash() -> None:
    for prepare in (False, True):
        subprocess.run(["bash", "-n"], input=mount_script(prepare_empty_volume=prepare).encode(), check=True)


def test_the_device_is_found_by_its_volume_id_path() -> None:
    script = mount_script()
    assert "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol*" in script
    assert "root_disk" in script  # the root volume is the other EBS volume, left out
    assert "mkfs" not in script  # a node never formats its cache
    assert "mkfs.xfs" in mount_script(prepare_empty_volume=True)


def test_the_launch_template_attaches_an_encrypted_gp3_volume_from_the_snapshot() -> None:
    run = cached({"gpuPools": [GPU]})
    group = next(g for g in run.of_type(ASG) if g.name.startswith("gpu"))
    root, cache = launch_template_of(run, group).inputs["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert cache["deviceName"] == "/dev/xvdb"
    assert cache["ebs"] == {"snapshotId": SNAPSHOT, "volumeSize": 150, "volumeType": "gp3", "encrypted": "true",
                            "deleteOnTermination": "true", "throughput": 600}


def test_with_raid0_the_image_store_stays_on_the_cache_volume() -> None:
    run = cached({"gpuPools": [GPU]})
    (config,) = parse_node_configs(user_data(run))
    assert config["spec"]["instance"]["localStorage"] == {"strategy": "RAID0",
                                                           "disabledMounts": ["Containerd", "SOCI"]}
    validate(config)
    # Without RAID0 nothing needs keeping off the array.
    run = cached({"gpuPools": [{**GPU, "localStorage": "none"}]})
    (config,) = parse_node_configs(user_data(run))
    assert "instance" not in config["spec"]
    assert parts_of(user_data(run), "text/x-shellscript") == [mount_script()]


def test_pools_without_a_cache_have_no_script_and_no_second_volume() -> None:
    run = cached({"gpuPools": [{**GPU, "imageCache": None}]})
    assert parts_of(user_data(run), "text/x-shellscript") == []
    assert run.of_type(FSR) == []


def test_one_fast_snapshot_restore_per_zone_of_the_pool_and_nothing_waits_for_it() -> None:
    run = cached({"gpuPools": [GPU]}, not_offered={ZONES[2]: {"g5.xlarge", "g6.xlarge"}})
    restores = run.of_type(FSR)
    assert sorted(r.inputs["availabilityZone"] for r in restores) == sorted(ZONES[:2])
    assert {r.inputs["snapshotId"] for r in restores} == {SNAPSHOT}
    # The provider waits until the snapshot is optimised (60 minutes per TiB): 100 GiB -> 6 + 10 minutes.
    assert {r.inputs["timeouts"]["create"] for r in restores} == {"16m"}
    urns = {r.urn for r in restores}
    assert not [r.name for r in run.resources if urns & set(r.depends_on)]
    # Off by default.
    run = cached({"gpuPools": [{**GPU, "imageCache": {"snapshotId": SNAPSHOT}}]})
    assert run.of_type(FSR) == []
    group = next(g for g in run.of_type(ASG) if g.name.startswith("gpu"))
    assert "volumeSize" not in launch_template_of(run, group).inputs["blockDeviceMappings"][1]["ebs"]


def test_restore_credits_and_timeouts() -> None:
    assert [fsr_volumes_per_hour(gib) for gib in (50, 100, 103, 512, 600, 2048)] == [10, 10, 9, 2, 1, 1]
    assert fsr_create_timeout(100) == "16m"
    assert fsr_create_timeout(1) == "11m"
    assert fsr_create_timeout(2048) == "130m"


def test_more_nodes_per_zone_than_restore_credits_is_warned_at_preview() -> None:
    big = {"snapshotId": "snap-0fedcba9876543210", "fastSnapshotRestore": True}
    run = cached({"gpuPools": [{**GPU, "imageCache": big, "maxSizePerAz": 2}]})
    warnings = [m for severity, m in run.logs if severity == "warning" and "fast snapshot restore" in m]
    assert len(warnings) == 1 and "1 fully initialised volume(s) per zone per hour" in warnings[0]
    run = cached({"gpuPools": [{**GPU, "imageCache": big, "maxSizePerAz": 1}]})
    assert not [m for _, m in run.logs if "per zone per hour" in m]
    notes = [m for severity, m in run.logs if severity == "info" and "fast snapshot restore is enabled" in m]
    assert notes and "allows 5 by default" in notes[0]


def test_the_general_pools_nodes_per_zone_are_its_maximum_spread_over_its_zones() -> None:
    # 600 GiB: 1 restore credit per zone and hour. maxSize 3 over 3 zones is 1 a zone; 4 is 2 in one.
    big = {"snapshotId": "snap-0fedcba9876543210", "fastSnapshotRestore": True}
    run = cached({"generalPool": {"imageCache": big, "maxSize": 3}})
    assert not [m for _, m in run.logs if "per zone per hour" in m]
    run = cached({"generalPool": {"imageCache": big, "maxSize": 4}})
    (warning,) = [m for severity, m in run.logs if severity == "warning" and "per zone per hour" in m]
    assert "a zone may launch 2 nodes" in warning


REFUSED = [
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "snapshotId": "snap-123"}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.snapshotId", "must be an EBS snapshot ID", id="snapshot-id-form"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "snapshotId": "ami-0123456789abcdef0"}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.snapshotId", "must be an EBS snapshot ID", id="not-a-snapshot"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "snapshotId": "snap-0aaaaaaaaaaaaaaaa"}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.snapshotId", "must be an EBS snapshot that exists",
                 id="snapshot-not-found"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "sizeGiB": 99}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.sizeGiB", "at least the size of snapshot", id="smaller-than-snapshot"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "sizeGiB": -5}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.sizeGiB", "from 1 to 16384", id="negative-size"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "fastSnapshotRestore": "yes"}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.fastSnapshotRestore", "true or false", id="fsr-not-bool"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "snapshot": SNAPSHOT}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.snapshot", "unknown key", id="unknown-key"),
    pytest.param({"gpuPools": [GPU, {**GPU, "name": "gpu-b"}]},
                 "eks-gpu-spot:gpuPools[1].imageCache.fastSnapshotRestore", "enable it on one pool only",
                 id="fsr-twice-for-one-snapshot"),
    pytest.param({"generalPool": {"imageCache": {"snapshotId": SNAPSHOT, "sizeGiB": 20}}},
                 "eks-gpu-spot:generalPool.imageCache.sizeGiB", "(100 GiB)", id="general-pool-too-small"),
    pytest.param({"amiReleaseVersion": "v20260107", "gpuPools": [GPU]}, "eks-gpu-spot:gpuPools[0].imageCache",
                 "disabledMounts SOCI, since AMI release v20260120", id="raid0-on-an-older-ami"),
    pytest.param({"gpuPools": [{**GPU, "rootVolumeIops": 16000, "rootVolumeGiB": 100,
                                "imageCache": {"snapshotId": SMALL}}]},
                 "eks-gpu-spot:gpuPools[0].imageCache.sizeGiB", "make it at least 32 GiB", id="iops-beyond-the-volume"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_refused_by_key_before_any_resource(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(cached(config, expect_error=True), key, allowed)


@pytest.mark.parametrize("config", [
    pytest.param({"gpuPools": [{**GPU, "imageCache": {**CACHE, "sizeGiB": 100}}]}, id="size-of-the-snapshot"),
    pytest.param({"gpuPools": [{**GPU, "imageCache": {"snapshotId": SNAPSHOT}}]}, id="size-unset"),
    pytest.param({"gpuPools": [GPU, {**GPU, "name": "gpu-b", "imageCache": {"snapshotId": SNAPSHOT}}]},
                 id="one-snapshot-two-pools-fsr-on-one"),
    pytest.param({"generalPool": {"imageCache": {"snapshotId": SNAPSHOT}}}, id="general-pool"),
    pytest.param({"gpuPools": [{**GPU, "rootVolumeIops": 16000, "rootVolumeGiB": 100,
                                "imageCache": {"snapshotId": SMALL, "sizeGiB": 32}}]}, id="iops-within-the-volume"),
    pytest.param({"amiReleaseVersion": "v20260120", "gpuPools": [GPU]}, id="raid0-since-v20260120"),
    pytest.param({"amiReleaseVersion": "v20260107", "gpuPools": [{**GPU, "localStorage": "none"}]},
                 id="older-ami-without-raid0"),
])
def test_the_nearest_good_value_deploys(config: dict[str, Any]) -> None:
    assert cached(config).of_type(ASG)


# --- the snapshotter the snapshot was built for ---------------------------------------------------

GENERAL_CACHE = {"generalPool": {"imageCache": {"snapshotId": SNAPSHOT}}}
GPU_CACHE = {"gpuPools": [{**GPU, "imageCache": {"snapshotId": SNAPSHOT}}]}


def built_for(used: str) -> dict[str, dict[str, str]]:
    return {SNAPSHOT: {SNAPSHOTTER_TAG: used, "Name": "eks-gpu-spot-image-cache"}}


def tag_warnings(run: ProgramRun) -> list[str]:
    return [m for severity, m in run.logs if severity == "warning" and SNAPSHOTTER_TAG in m]


def test_a_snapshot_built_for_the_other_snapshotter_is_refused_naming_the_key() -> None:
    # GPU pools pull with FastImagePull's SOCI snapshotter; the general pool with overlayfs.
    run = cached(GPU_CACHE, snapshot_tags=built_for("overlayfs"), expect_error=True)
    assert_refused(run, "eks-gpu-spot:gpuPools[0].imageCache.snapshotId",
                   f"its tag {SNAPSHOTTER_TAG}=overlayfs says containerd's overlayfs snapshotter")
    assert "without --no-fast-image-pull" in str(run.error)
    run = cached(GENERAL_CACHE, snapshot_tags=built_for("soci"), expect_error=True)
    assert_refused(run, "eks-gpu-spot:generalPool.imageCache.snapshotId", "scripts/image_cache.py --no-fast-image-pull")


@pytest.mark.parametrize(("config", "used"), [(GPU_CACHE, "soci"), (GENERAL_CACHE, "overlayfs")])
def test_a_snapshot_built_for_the_pools_snapshotter_deploys_without_a_word(config: dict[str, Any], used: str) -> None:
    run = cached(config, snapshot_tags=built_for(used))
    assert run.of_type(ASG) and tag_warnings(run) == []


def test_a_snapshot_without_the_tag_deploys_with_a_warning_saying_what_the_pool_reads() -> None:
    (warning,) = tag_warnings(cached(GPU_CACHE))
    assert f"snapshot {SNAPSHOT} has no {SNAPSHOTTER_TAG} tag" in warning
    assert "SOCI snapshotter, layers unpacked in /var/lib/soci-snapshotter-grpc" in warning
    assert f"--tags Key={SNAPSHOTTER_TAG},Value=soci" in warning
    (warning,) = tag_warnings(cached(GENERAL_CACHE))
    assert "overlayfs snapshotter, layers unpacked in /var/lib/containerd" in warning


def test_nodeadm_gives_soci_only_with_the_gate_4_vcpus_and_7_gib() -> None:
    gates = feature_gates(gpu=True)
    assert snapshotter(gates, 4, 8192) == "soci"
    assert snapshotter(gates, 2, 8192) == snapshotter(gates, 4, 4096) == snapshotter({}, 8, 32768) == "overlayfs"
    # A pool whose types differ can use no one snapshot.
    with pytest.raises(InvalidValueError, match="split the pool"):
        check_snapshotter(ImageCacheSpec(SNAPSHOT), {SNAPSHOTTER_TAG: "soci"},
                          {"g5.xlarge": "soci", "small.large": "overlayfs"}, "gpu")
