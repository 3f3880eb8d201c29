"""Build an image cache snapshot for a pool's `imageCache.snapshotId` (docs/performance.md).

    venv/bin/python scripts/image_cache.py --region us-east-1 --subnet-id subnet-0abc... \\
        --kubernetes-version 1.35 nvcr.io/nvidia/pytorch:25.02-py3 [IMAGE ...]
    make image-cache IMAGES="nvcr.io/nvidia/pytorch:25.02-py3" SUBNET=subnet-0abc... [REGION=...]

It launches one instance from the EKS AL2023 AMI the pool's nodes run (the same SSM parameter,
`ami.ami_parameter_name`: the NVIDIA variant unless `--standard`, the stack's `--ami-release`, by
default the package's pinned one), with a blank encrypted gp3 volume at /dev/xvdb and user data that:

1. gives nodeadm a NodeConfig for no cluster (its config phase writes containerd's configuration
   exactly as on a node, with FastImagePull's SOCI snapshotter unless `--no-fast-image-pull`;
   `InstanceIdNodeName` spares it the EC2 call for the node name);
2. formats the volume, copies the AMI's own image store onto it (its pinned pause image) and mounts
   it where the nodes mount it (`image_cache.mount_script`, the same units);
3. starts containerd, pulls every image into the k8s.io namespace with the snapshotter nodeadm
   chose (ECR registries through `aws ecr get-login-password`, which needs `--instance-profile`
   with ECR read access), writes the list to the volume, stops containerd and powers off.

The instance needs egress to the registries (a private subnet with a NAT gateway, as the
cluster's). Once it has stopped, the tool checks the result line on its console, snapshots the
volume, tags the snapshot with the snapshotter (`eks-gpu-spot/snapshotter`: `soci` or `overlayfs`,
which the stack's preview compares with the pool's), waits for it and terminates the instance (the
volume goes with it), also when something fails. It prints the snapshot ID and its size. Build
on an instance type that gets the pool's FastImagePull decision (at least 4 vCPUs and 7 GiB:
`--instance-type`, default m6i.xlarge): images unpacked by one snapshotter are invisible to the other.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.ami import ami_parameter_name  # noqa: E402
from components.image_cache import DEVICE_NAME, MOUNT_POINT, SNAPSHOTTER_TAG, mount_script  # noqa: E402
from components.userdata import (  # noqa: E402
    FAST_IMAGE_PULL,
    NODECONFIG_CONTENT_TYPE,
    OVERLAYFS_SNAPSHOTTER,
    SOCI_SNAPSHOTTER,
    ClusterBootstrap,
    node_config,
)
from components.versions import DEFAULT_AMI_RELEASE_VERSION  # noqa: E402

RESULT = "eks-gpu-spot image cache:"
DONE, FAILED = f"{RESULT} done", f"{RESULT} failed"
BUILDER_TAG = "eks-gpu-spot/image-cache-builder"
# A cluster that does not exist: nodeadm's config phase only needs the fields to be there.
NO_CLUSTER = ClusterBootstrap("image-cache-builder", "https://image-cache-builder.invalid", "aW1hZ2UtY2FjaGU=",
                              "172.20.0.0/16")


class BuildError(RuntimeError):
    pass


def pull_script(images: Sequence[str], *, fast_image_pull: bool) -> str:
    """The user data part that fills the mounted volume: pull, list, stop, power off. The last
    console line says whether it worked (`RESULT done` or `failed`)."""
    quoted = " ".join(shlex.quote(image) for image in images)
    lines = [
        "#!/bin/bash",
        "set -o nounset -o pipefail",
        "result=failed",
        f"trap 'echo \"{RESULT} ${{result}}\" > /dev/console; systemctl poweroff' EXIT",
        "set -o errexit",
        "snapshotter=overlayfs",
        "grep -q 'snapshotter = \"soci\"' /etc/containerd/config.toml && snapshotter=soci",
    ]
    if fast_image_pull:
        lines += [
            'if [ "${snapshotter}" != soci ]; then',
            '  echo "nodeadm did not turn FastImagePull on: the instance type is below 4 vCPUs or 7 GiB" >&2',
            "  exit 1",
            "fi",
        ]
    lines += [
        # nodeadm's config phase wrote containerd's configuration (and its SOCI dependency) already.
        "systemctl start containerd",
        f"for image in {quoted}; do",
        '  registry="${image%%/*}"',
        '  if [[ "${registry}" == *.dkr.ecr.*.amazonaws.com* ]]; then',
        '    region="$(cut -d. -f4 <<< "${registry}")"',
        '    aws ecr get-login-password --region "${region}" | nerdctl login --username AWS --password-stdin "${registry}"',
        "  fi",
        '  nerdctl --namespace k8s.io --snapshotter "${snapshotter}" pull --quiet "${image}"',
        "done",
        f"nerdctl --namespace k8s.io --snapshotter \"${{snapshotter}}\" images > {MOUNT_POINT}/IMAGES",
        "systemctl stop kubelet containerd soci-snapshotter.service 2>/dev/null || true",
        "sync",
        "result=done",
    ]
    return "\n".join(lines) + "\n"


def builder_user_data(images: Sequence[str], *, fast_image_pull: bool = True) -> str:
    """MIME user data: nodeadm's NodeConfig, the mount script that prepares the blank volume, the pull script."""
    gates = {"InstanceIdNodeName": True, **({FAST_IMAGE_PULL: True} if fast_image_pull else {})}
    document = MIMEMultipart(boundary="//eks-gpu-spot-image-cache//")
    config = MIMEText(yaml.safe_dump(node_config(NO_CLUSTER, [], gates), sort_keys=False), "plain")
    config.replace_header("Content-Type", f'{NODECONFIG_CONTENT_TYPE}; charset="us-ascii"')
    document.attach(config)
    document.attach(MIMEText(mount_script(prepare_empty_volume=True), "x-shellscript"))
    document.attach(MIMEText(pull_script(images, fast_image_pull=fast_image_pull), "x-shellscript"))
    return document.as_string()


@dataclass(frozen=True)
class BuildRequest:
    region: str
    subnet_id: str
    kubernetes_version: str
    images: Sequence[str]
    gpu: bool = True
    ami_release: str = DEFAULT_AMI_RELEASE_VERSION
    instance_type: str = "m6i.xlarge"
    size_gib: int = 100
    fast_image_pull: bool = True
    instance_profile: str = ""
    security_group_ids: Sequence[str] = ()
    timeout_seconds: int = 3600


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    size_gib: int


class Builder:
    """The API choreography, with its EC2 and SSM clients (boto3) and its clock given."""

    def __init__(self, ec2: Any, ssm: Any, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, log: Callable[[str], None] = print) -> None:
        self.ec2, self.ssm, self.sleep, self.clock, self.log = ec2, ssm, sleep, clock, log

    def ami(self, request: BuildRequest) -> str:
        name = ami_parameter_name(request.kubernetes_version, request.gpu, "x86_64", request.ami_release)
        return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]

    def launch(self, request: BuildRequest) -> str:
        arguments: dict[str, Any] = {
            "ImageId": self.ami(request),
            "InstanceType": request.instance_type,
            "SubnetId": request.subnet_id,
            "MinCount": 1,
            "MaxCount": 1,
            "UserData": builder_user_data(request.images, fast_image_pull=request.fast_image_pull),
            "InstanceInitiatedShutdownBehavior": "stop",
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
            "BlockDeviceMappings": [{"DeviceName": DEVICE_NAME, "Ebs": {
                "VolumeSize": request.size_gib, "VolumeType": "gp3", "Encrypted": True, "DeleteOnTermination": True,
                "Throughput": 600, "Iops": 3000}}],
            "TagSpecifications": [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": BUILDER_TAG},
                                                                  {"Key": BUILDER_TAG, "Value": "true"}]}
                                  for kind in ("instance", "volume")],
        }
        if request.instance_profile:
            arguments["IamInstanceProfile"] = {"Name": request.instance_profile}
        if request.security_group_ids:
            arguments["SecurityGroupIds"] = list(request.security_group_ids)
        (instance,) = self.ec2.run_instances(**arguments)["Instances"]
        return instance["InstanceId"]

    def instance(self, instance_id: str) -> dict[str, Any]:
        return self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]

    def wait_until_stopped(self, instance_id: str, timeout_seconds: int) -> None:
        deadline = self.clock() + timeout_seconds
        while (state := self.instance(instance_id)["State"]["Name"]) != "stopped":
            if state in ("terminated", "shutting-down"):
                raise BuildError(f"instance {instance_id} is {state}")
            if self.clock() > deadline:
                raise BuildError(f"instance {instance_id} still {state} after {timeout_seconds} s")
            self.sleep(15)

    def console_text(self, instance_id: str) -> str:
        return self.ec2.get_console_output(InstanceId=instance_id, Latest=True).get("Output", "")

    def check_result(self, instance_id: str) -> None:
        lines = [line.strip() for line in self.console_text(instance_id).splitlines() if line.strip().startswith(RESULT)]
        if not lines or lines[-1] != DONE:
            raise BuildError(f"instance {instance_id} did not report '{DONE}' on its console "
                             f"({lines[-1] if lines else 'no result line'}); see `aws ec2 get-console-output "
                             f"--instance-id {instance_id} --latest`")

    def cache_volume(self, instance_id: str) -> str:
        for mapping in self.instance(instance_id).get("BlockDeviceMappings", []):
            if mapping["DeviceName"] == DEVICE_NAME:
                return mapping["Ebs"]["VolumeId"]
        raise BuildError(f"instance {instance_id} has no volume at {DEVICE_NAME}")

    def snapshot(self, instance_id: str, request: BuildRequest) -> Snapshot:
        volume_id = self.cache_volume(instance_id)
        description = f"eks-gpu-spot image cache: {' '.join(request.images)}"[:255]
        # The pull script fails unless nodeadm gave containerd the SOCI snapshotter when asked for
        # fast image pull; without the gate nodeadm keeps overlayfs. The stack's preview compares this
        # tag with the snapshotter of the pool's nodes.
        used = SOCI_SNAPSHOTTER if request.fast_image_pull else OVERLAYFS_SNAPSHOTTER
        snapshot = self.ec2.create_snapshot(VolumeId=volume_id, Description=description, TagSpecifications=[{
            "ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": "eks-gpu-spot-image-cache"},
                                                 {"Key": "eks-gpu-spot/kubernetes-version",
                                                  "Value": request.kubernetes_version},
                                                 {"Key": SNAPSHOTTER_TAG, "Value": used}]}])
        self.ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot["SnapshotId"]],
                                                       WaiterConfig={"Delay": 15, "MaxAttempts": 480})
        return Snapshot(snapshot["SnapshotId"], int(snapshot["VolumeSize"]))

    def build(self, request: BuildRequest) -> Snapshot:
        instance_id = self.launch(request)
        self.log(f"launched {instance_id}; waiting for it to pull {len(request.images)} image(s) and stop")
        try:
            self.wait_until_stopped(instance_id, request.timeout_seconds)
            self.check_result(instance_id)
            found = self.snapshot(instance_id, request)
        finally:
            self.ec2.terminate_instances(InstanceIds=[instance_id])
            self.log(f"terminated {instance_id}")
        return found


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(prog="scripts/image_cache.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--region", required=True)
    result.add_argument("--subnet-id", required=True, help="a subnet with egress to the registries")
    result.add_argument("--kubernetes-version", required=True, help="the cluster's minor, e.g. 1.35")
    result.add_argument("--ami-release", default=DEFAULT_AMI_RELEASE_VERSION,
                        help=f"the stack's amiReleaseVersion, or recommended (default {DEFAULT_AMI_RELEASE_VERSION}, "
                             "the stacks' default)")
    result.add_argument("--standard", action="store_true", help="the standard AMI (general pools), not NVIDIA")
    result.add_argument("--no-fast-image-pull", action="store_true",
                        help="for pools without FastImagePull (the general pool): the overlayfs snapshotter")
    result.add_argument("--instance-type", default="m6i.xlarge")
    result.add_argument("--size-gib", type=int, default=100, help="the volume, hence the snapshot, size")
    result.add_argument("--instance-profile", default="", help="for private ECR images: ECR read access")
    result.add_argument("--security-group-id", action="append", default=[])
    result.add_argument("--timeout-minutes", type=int, default=60)
    result.add_argument("images", nargs="+", metavar="IMAGE")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import boto3  # only the tool needs it

    session = boto3.session.Session(region_name=args.region)
    request = BuildRequest(region=args.region, subnet_id=args.subnet_id, kubernetes_version=args.kubernetes_version,
                           images=args.images, gpu=not args.standard, ami_release=args.ami_release,
                           instance_type=args.instance_type, size_gib=args.size_gib,
                           fast_image_pull=not args.no_fast_image_pull, instance_profile=args.instance_profile,
                           security_group_ids=args.security_group_id, timeout_seconds=args.timeout_minutes * 60)
    try:
        snapshot = Builder(session.client("ec2"), session.client("ssm")).build(request)
    except BuildError as error:
        print(f"image cache: {error}", file=sys.stderr)
        return 1
    print(f"{snapshot.snapshot_id} ({snapshot.size_gib} GiB). In the stack:\n"
          f"  imageCache: {{snapshotId: {snapshot.snapshot_id}, fastSnapshotRestore: true}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
