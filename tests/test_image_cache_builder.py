"""scripts/image_cache.py against moto: the AMI the pool runs, the instance and its blank volume,
the wait, the result check, the snapshot, and the instance terminated whatever happens. moto cannot
run the instance, so the user data is checked as text (and by bash -n)."""

from __future__ import annotations

import email
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.ssm.models import Parameter, ssm_backends

from components.ami import ami_parameter_name
from components.image_cache import DEVICE_NAME, SNAPSHOTTER_TAG, mount_script
from tests.harness import ROOT
from tests.test_local_storage import validate

SPEC = importlib.util.spec_from_file_location("image_cache_tool", ROOT / "scripts" / "image_cache.py")
assert SPEC is not None and SPEC.loader is not None
tool = importlib.util.module_from_spec(SPEC)
sys.modules["image_cache_tool"] = tool
SPEC.loader.exec_module(tool)

REGION = "us-east-1"
IMAGES = ["nvcr.io/nvidia/pytorch:25.02-py3", "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/model:v3"]


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        ssm = boto3.client("ssm", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        # AWS publishes the EKS AMI parameters under /aws/, which PutParameter refuses: put it where moto keeps them.
        name = ami_parameter_name("1.35", True, "x86_64", "v20260724")
        backend: Any = ssm_backends[DEFAULT_ACCOUNT_ID][REGION]
        backend._parameters[name].append(Parameter(
            account_id=DEFAULT_ACCOUNT_ID, name=name, value=ami, parameter_type="String", description=None,
            allowed_pattern=None, keyid=None, last_modified_date=utcnow(), version=1, data_type="text"))
        yield {"ec2": ec2, "ssm": ssm, "subnet": subnet, "ami": ami}


def request(aws: dict[str, Any]) -> Any:
    return tool.BuildRequest(region=REGION, subnet_id=aws["subnet"], kubernetes_version="1.35", images=IMAGES,
                             ami_release="v20260724", timeout_seconds=600)


class Machine:
    """The instance's side, which moto cannot play: after a while it powers itself off."""

    def __init__(self, ec2: Any, console: str) -> None:
        self.ec2, self.console, self.now, self.sleeps = ec2, console, 0.0, 0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.sleeps == 3:
            (reservation,) = self.ec2.describe_instances(Filters=[
                {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]
            self.ec2.stop_instances(InstanceIds=[reservation["Instances"][0]["InstanceId"]])


def builder(aws: dict[str, Any], machine: Machine, console: str | None = None) -> Any:
    built = tool.Builder(aws["ec2"], aws["ssm"], sleep=machine.sleep, clock=lambda: machine.now, log=lambda _: None)
    if console is not None:
        built.console_text = lambda _instance_id: console
    return built


def ours(ec2: Any) -> list[dict[str, Any]]:
    return ec2.describe_snapshots(Filters=[{"Name": "tag:Name", "Values": ["eks-gpu-spot-image-cache"]}])["Snapshots"]


def only_instance(ec2: Any) -> dict[str, Any]:
    (reservation,) = ec2.describe_instances()["Reservations"]
    (instance,) = reservation["Instances"]
    return instance


def test_a_build_launches_the_pools_ami_snapshots_the_volume_and_terminates(aws: dict[str, Any]) -> None:
    machine = Machine(aws["ec2"], "")
    snapshot = builder(aws, machine, console=f"boot...\n{tool.DONE}\n").build(request(aws))
    instance = only_instance(aws["ec2"])
    assert instance["ImageId"] == aws["ami"]
    assert instance["InstanceType"] == "m6i.xlarge"
    assert instance["State"]["Name"] == "terminated"
    assert machine.sleeps >= 3  # it waited for the instance to stop
    found = aws["ec2"].describe_snapshots(SnapshotIds=[snapshot.snapshot_id])["Snapshots"][0]
    assert found["VolumeSize"] == snapshot.size_gib == 100
    assert found["State"] == "completed"
    assert "nvcr.io/nvidia/pytorch:25.02-py3" in found["Description"]
    assert {"Key": "eks-gpu-spot/kubernetes-version", "Value": "1.35"} in found["Tags"]
    # FastImagePull (the default, as on GPU pools): the SOCI snapshotter unpacked the images.
    assert {"Key": SNAPSHOTTER_TAG, "Value": "soci"} in found["Tags"]
    assert ours(aws["ec2"]) == [found]


def test_a_build_without_fast_image_pull_tags_its_snapshot_overlayfs(aws: dict[str, Any]) -> None:
    overlayfs = replace(request(aws), fast_image_pull=False)
    snapshot = builder(aws, Machine(aws["ec2"], ""), console=f"{tool.DONE}\n").build(overlayfs)
    found = aws["ec2"].describe_snapshots(SnapshotIds=[snapshot.snapshot_id])["Snapshots"][0]
    assert {tag["Key"]: tag["Value"] for tag in found["Tags"]}[SNAPSHOTTER_TAG] == "overlayfs"


def test_the_instance_gets_a_blank_encrypted_gp3_volume_where_nodes_mount_the_cache(aws: dict[str, Any]) -> None:
    built = builder(aws, Machine(aws["ec2"], ""))
    instance_id = built.launch(request(aws))
    assert built.cache_volume(instance_id).startswith("vol-")
    volume = aws["ec2"].describe_volumes(VolumeIds=[built.cache_volume(instance_id)])["Volumes"][0]
    assert (volume["Size"], volume["VolumeType"], volume["Encrypted"]) == (100, "gp3", True)
    assert volume["Attachments"][0]["Device"] == DEVICE_NAME
    described = aws["ec2"].describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert described["UserData"]["Value"]  # sent; its content is checked below


def test_a_build_whose_instance_did_not_report_done_is_cleaned_up_without_a_snapshot(aws: dict[str, Any]) -> None:
    machine = Machine(aws["ec2"], "")
    # moto's console is a sample kernel log without the result line: the build fails.
    with pytest.raises(tool.BuildError, match="did not report"):
        builder(aws, machine).build(request(aws))
    assert only_instance(aws["ec2"])["State"]["Name"] == "terminated"
    assert ours(aws["ec2"]) == []
    with pytest.raises(tool.BuildError, match="failed"):
        builder(aws, Machine(aws["ec2"], ""), console=f"{tool.FAILED}\n").build(request(aws))


def test_a_build_that_never_stops_times_out_and_is_cleaned_up(aws: dict[str, Any]) -> None:
    class Stuck(Machine):
        def sleep(self, seconds: float) -> None:
            self.now += seconds

    with pytest.raises(tool.BuildError, match="still running after 600 s"):
        builder(aws, Stuck(aws["ec2"], "")).build(request(aws))
    assert only_instance(aws["ec2"])["State"]["Name"] == "terminated"


def user_data_parts() -> list[tuple[str, str]]:
    message = email.message_from_string(tool.builder_user_data(IMAGES))
    parts = []
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append((part.get_content_type(), payload.decode()))
    return parts


def test_the_user_data_configures_containerd_as_a_node_mounts_as_a_node_then_pulls() -> None:
    (config_type, config), (mount_type, mount), (pull_type, pull) = user_data_parts()
    assert (config_type, mount_type, pull_type) == ("application/node.eks.aws", "text/x-shellscript",
                                                   "text/x-shellscript")
    node_config = yaml.safe_load(config)
    validate(node_config)
    assert node_config["spec"]["featureGates"] == {"InstanceIdNodeName": True, "FastImagePull": True}
    # The same units as the nodes', on a volume it formats first and seeds with the AMI's store.
    assert mount == mount_script(prepare_empty_volume=True)
    assert mount.index("mkfs.xfs") < mount.index("systemctl enable --now") < mount.index("cp -a /var/lib/containerd/.")
    for image in IMAGES:
        assert image in pull
    assert "aws ecr get-login-password" in pull
    assert pull.index("systemctl start containerd") < pull.index("pull --quiet") < pull.index("result=done")
    assert "systemctl poweroff" in pull and tool.RESULT in pull
    for script in (mount, pull):
        subprocess.run(["bash", "-n"], input=script.encode(), check=True)


def test_without_fast_image_pull_the_overlayfs_snapshotter_is_accepted() -> None:
    assert "did not turn FastImagePull on" in tool.pull_script(IMAGES, fast_image_pull=True)
    assert "did not turn FastImagePull on" not in tool.pull_script(IMAGES, fast_image_pull=False)
    message = tool.builder_user_data(IMAGES, fast_image_pull=False)
    assert "FastImagePull" not in message


def test_the_command_line() -> None:
    args = tool.parser().parse_args(["--region", REGION, "--subnet-id", "subnet-1", "--kubernetes-version", "1.35",
                                     "--standard", "--no-fast-image-pull", "img:1"])
    assert (args.standard, args.no_fast_image_pull, args.images, args.size_gib) == (True, True, ["img:1"], 100)
