"""Faster GPU image pulls (root volume throughput and IOPS) and pinned AMI releases."""

from __future__ import annotations

import base64

import pytest

from components.ami import ami_parameter_name, check_ami_release_version
from components.pool_spec import check_gp3_iops, check_gp3_throughput
from tests.harness import ProgramRun, assert_refused, run_program
from tests.test_userdata import parse_node_configs

POOLS = {"gpuPools": [{"name": "gpu-small"},
                      {"name": "gpu-big", "instanceTypes": ["g6.12xlarge"], "rootVolumeGiB": 300,
                       "rootVolumeThroughput": 1000, "rootVolumeIops": 4000}]}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(POOLS)


def root_volumes(run: ProgramRun) -> dict[str, dict]:
    return {lt.name.removesuffix("-lt"): lt.inputs["blockDeviceMappings"][0]["ebs"]
            for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate")}


def test_gpu_root_volumes_get_the_throughput_fast_image_pull_needs(run: ProgramRun) -> None:
    volumes = root_volumes(run)
    assert volumes["gpu-small"]["throughput"] == 600  # nodeadm's recommended minimum
    assert "iops" not in volumes["gpu-small"]  # gp3's included 3000 carry up to 750 MiB/s
    assert (volumes["gpu-big"]["throughput"], volumes["gpu-big"]["iops"]) == (1000, 4000)
    # The general pool keeps the gp3 baseline: no throughput or IOPS set, nothing to pay.
    assert "throughput" not in volumes["general"] and "iops" not in volumes["general"]


def test_only_gpu_nodes_turn_on_fast_image_pull(run: ProgramRun) -> None:
    for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        (config,) = parse_node_configs(base64.b64decode(lt.inputs["userData"]).decode())
        gates = config["spec"].get("featureGates")
        assert gates == (None if lt.name == "general-lt" else {"FastImagePull": True}), lt.name


def test_general_pool_throughput_can_be_raised() -> None:
    run = run_program({"generalPool": {"rootVolumeThroughput": 250, "rootVolumeIops": 3000}})
    assert (root_volumes(run)["general"]["throughput"], root_volumes(run)["general"]["iops"]) == (250, 3000)


BAD_VOLUMES = [
    pytest.param({"gpuPools": [{"name": "gpu", "rootVolumeThroughput": 1000}]},
                 "eks-gpu-spot:gpuPools[0].rootVolumeThroughput", "provision at least 4000 IOPS", id="over-iops-4"),
    pytest.param({"gpuPools": [{"name": "gpu", "rootVolumeThroughput": 1001, "rootVolumeIops": 16000}]},
                 "eks-gpu-spot:gpuPools[0].rootVolumeThroughput", "from 125 to 1000 MiB/s", id="over-1000"),
    pytest.param({"generalPool": {"rootVolumeThroughput": 100}},
                 "eks-gpu-spot:generalPool.rootVolumeThroughput", "from 125 to 1000 MiB/s", id="under-125"),
    pytest.param({"generalPool": {"rootVolumeIops": 2000}},
                 "eks-gpu-spot:generalPool.rootVolumeIops", "from 3000 to 16000", id="under-3000"),
    pytest.param({"generalPool": {"rootVolumeIops": 16001}},
                 "eks-gpu-spot:generalPool.rootVolumeIops", "from 3000 to 16000", id="over-16000"),
    pytest.param({"generalPool": {"rootVolumeGiB": 20, "rootVolumeIops": 12000}},
                 "eks-gpu-spot:generalPool.rootVolumeIops", "at most 10000 IOPS", id="over-500-per-gib"),
    pytest.param({"generalPool": {"rootVolumeThroughput": "fast"}},
                 "eks-gpu-spot:generalPool.rootVolumeThroughput", "whole number of MiB/s", id="not-a-number"),
    pytest.param({"amiReleaseVersion": "20260714"},
                 "eks-gpu-spot:amiReleaseVersion", "such as 'v20260714'", id="release-without-v"),
    pytest.param({"amiReleaseVersion": "latest"},
                 "eks-gpu-spot:amiReleaseVersion", "such as 'v20260714'", id="release-latest"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), BAD_VOLUMES)
def test_what_gp3_or_ssm_would_refuse_is_refused_before_any_resource(config: dict, key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


def test_gp3_limits_at_their_edges() -> None:
    check_gp3_throughput(125, 3000)
    check_gp3_throughput(750, 3000)
    check_gp3_throughput(1000, 4000)
    check_gp3_iops(16000, 32)
    check_gp3_iops(3000, 1)  # the included 3000 need no size
    with pytest.raises(ValueError, match="0.25 MiB/s per provisioned IOPS"):
        check_gp3_throughput(751, 3000)
    with pytest.raises(ValueError, match="500 IOPS per GiB"):
        check_gp3_iops(16000, 31)


def test_recommended_follows_the_recommended_parameter() -> None:
    run = run_program({**POOLS, "amiReleaseVersion": "recommended"})
    names = {args["name"] for token, args in run.invokes if token == "aws:ssm/getParameter:getParameter"}
    # Nothing else is read: with `recommended` there is no pinned release to compare.
    assert names == {
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/image_id",
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/recommended/image_id",
    }


def test_a_pinned_release_reads_each_familys_release_parameter() -> None:
    run = run_program({**POOLS, "kubernetesVersion": "1.36", "amiReleaseVersion": "v20260714"})
    names = {args["name"] for token, args in run.invokes if token == "aws:ssm/getParameter:getParameter"
             and args["name"].endswith("/image_id")}
    base = "/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/x86_64"
    assert names == {
        f"{base}/standard/amazon-eks-node-al2023-x86_64-standard-1.36-v20260714/image_id",
        f"{base}/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.36-v20260714/image_id",
    }


def test_release_parameter_names() -> None:
    assert ami_parameter_name("1.35", gpu=True, architecture="amd64", release_version="v20260714") == (
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/"
        "amazon-eks-node-al2023-x86_64-nvidia-1.35-v20260714/image_id")
    assert ami_parameter_name("1.34", gpu=False, architecture="arm64", release_version="recommended") == (
        "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id")
    check_ami_release_version("v20260724")
    assert check_ami_release_version("recommended") == "recommended"
    # Empty used to mean `recommended`; it is refused rather than guessed.
    for bad in ("v2026071", "v20260714-1", "Recommended", "", "latest"):
        with pytest.raises(ValueError):
            check_ami_release_version(bad)
