"""Bad stack config fails with an error naming the key, the value and what is allowed,
before any resource is registered."""

from __future__ import annotations

import pytest

from config import ConfigError
from tests.harness import assert_refused, run_program

BAD_INPUTS = [
    pytest.param({"generalPool": {"minSize": 5, "maxSize": 3}},
                 "eks-gpu-spot:generalPool.minSize", "must not exceed the maximum size (3)", id="min-above-max"),
    pytest.param({"gpuPools": [{"name": "gpu", "minSizePerAz": 3, "maxSizePerAz": 2}]},
                 "eks-gpu-spot:gpuPools[0].minSizePerAz", "must not exceed the maximum size (2)", id="gpu-min-above-max"),
    pytest.param({"generalPool": {"minSize": -1}},
                 "eks-gpu-spot:generalPool.minSize", "must be a whole number from 0 to 1000", id="negative-size"),
    pytest.param({"gpuPools": [{"name": "gpu", "maxSizePerAz": -2}]},
                 "eks-gpu-spot:gpuPools[0].maxSizePerAz", "must be a whole number from 1 to 1000", id="negative-max"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": []}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "must list 1 to 40 instance types", id="empty-types"),
    pytest.param({"generalPool": {"instanceTypes": ["m5.xlarge", "m6i.xlarge", "m5.xlarge"]}},
                 "eks-gpu-spot:generalPool.instanceTypes", "must not repeat a value (repeated: m5.xlarge)",
                 id="duplicate-type"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5 xlarge"]}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes[0]", "must be an EC2 instance type such as 'g5.xlarge'",
                 id="malformed-type"),
    pytest.param({"generalPool": {"instanceTypes": ["M5.XLARGE"]}},
                 "eks-gpu-spot:generalPool.instanceTypes[0]", "must be an EC2 instance type", id="uppercase-type"),
    pytest.param({"vpcCidr": "10.0.0.0/33"},
                 "eks-gpu-spot:vpcCidr", "must be an IPv4 CIDR", id="invalid-cidr"),
    pytest.param({"vpcCidr": "10.0.0.1/16"},
                 "eks-gpu-spot:vpcCidr", "host bits zero", id="cidr-host-bits"),
    pytest.param({"vpcCidr": "10.0.0.0/26"},
                 "eks-gpu-spot:vpcCidr", "must be between /16 and /22", id="vpc-too-small"),
    pytest.param({"privateSubnetCidrs": ["10.0.0.0/19", "10.0.32.0/19", "10.1.0.0/19"]},
                 "eks-gpu-spot:privateSubnetCidrs[2]", "must lie inside the VPC CIDR 10.0.0.0/16", id="subnet-outside-vpc"),
    pytest.param({"privateSubnetCidrs": ["10.0.0.0/19", "10.0.32.0/19"]},
                 "eks-gpu-spot:privateSubnetCidrs", "one CIDR per Availability Zone (3)", id="subnet-count"),
    pytest.param({"publicSubnetCidrs": ["10.0.0.0/24", "10.0.240.0/24", "10.0.241.0/24"]},
                 "eks-gpu-spot:publicSubnetCidrs[0]", "must not overlap (overlaps 10.0.0.0/19)", id="subnet-overlap"),
    pytest.param({"availabilityZoneCount": 1},
                 "eks-gpu-spot:availabilityZoneCount", "must be a whole number from 2 to 6", id="one-az"),
    pytest.param({"kubernetesVersion": "v1.35"},
                 "eks-gpu-spot:kubernetesVersion", "must be one of: 1.32, 1.33, 1.34, 1.35",
                 id="malformed-version"),
    pytest.param({"kubernetesVersion": "1.29"},
                 "eks-gpu-spot:kubernetesVersion", "must be one of: 1.32, 1.33, 1.34, 1.35",
                 id="unsupported-version"),
    pytest.param({"gpuPools": [{"name": "gpu", "maxSizePerZone": 3}]},
                 "eks-gpu-spot:gpuPools[0].maxSizePerZone", "unknown key. Did you mean 'maxSizePerAz'?",
                 id="unknown-gpu-pool-field"),
    pytest.param({"kubernetesVersoin": "1.34"},
                 "eks-gpu-spot:kubernetesVersoin", "unknown key. Did you mean 'kubernetesVersion'?",
                 id="unknown-key-near-miss"),
    pytest.param({"colour": "blue"},
                 "eks-gpu-spot:colour", "unknown key. Known keys:", id="unknown-key"),
    pytest.param({"clusterAutoscaler": {"expandr": "least-waste"}},
                 "eks-gpu-spot:clusterAutoscaler.expandr", "Did you mean 'expander'?", id="unknown-addon-field"),
    pytest.param({"natGateways": "two"},
                 "eks-gpu-spot:natGateways", "must be one of: single, perAz", id="nat-mode"),
    pytest.param({"publicAccessCidrs": ["my-office"]},
                 "eks-gpu-spot:publicAccessCidrs[0]", "must be an IPv4 CIDR", id="public-access-cidr"),
    pytest.param({"clusterLogTypes": ["api", "kubelet"]},
                 "eks-gpu-spot:clusterLogTypes[1]", "must be one of: api, audit, authenticator, controllerManager, scheduler",
                 id="log-type"),
    pytest.param({"existingPrivateSubnetIds": ["subnet-0a1b2c3d4e5f6a7b8", "subnet-0a1b2c3d4e5f6a7b9"]},
                 "eks-gpu-spot:existingPrivateSubnetIds", "subnet IDs need existingVpcId too", id="subnets-without-vpc"),
    pytest.param({"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": ["subnet-0a1b2c3d4e5f6a7b8"]},
                 "eks-gpu-spot:existingPrivateSubnetIds", "at least 2 private subnets", id="one-existing-subnet"),
    pytest.param({"gpuPools": [{"name": "gpu", "taints": ["dedicated=gpu"]}]},
                 "eks-gpu-spot:gpuPools[0].taints[0]", "must be a taint 'key=value:Effect'", id="taint-without-effect"),
    pytest.param({"gpuPools": [{"name": "gpu", "taints": ["dedicated=gpu:NoScheduleX"]}]},
                 "eks-gpu-spot:gpuPools[0].taints[0]", "effect must be one of: NoSchedule", id="taint-bad-effect"),
    pytest.param({"gpuPools": [{"name": "gpu", "labels": {"nvidia.com/gpu": "false"}}]},
                 "eks-gpu-spot:gpuPools[0].labels.nvidia.com/gpu", "reserved label keys", id="reserved-label"),
    pytest.param({"gpuPools": [{"name": "gpu-a"}, {"name": "gpu-a"}]},
                 "eks-gpu-spot:gpuPools[1].name", "must be unique", id="duplicate-pool"),
    pytest.param({"gpuPools": [{"name": "GPU"}]},
                 "eks-gpu-spot:gpuPools[0].name", "lowercase letters", id="pool-name"),
    pytest.param({"nvidiaDevicePlugin": {"image": "nvcr.io/nvidia/k8s-device-plugin:latest"}},
                 "eks-gpu-spot:nvidiaDevicePlugin.image", "with an explicit tag other than 'latest', or a digest", id="latest-image"),
    pytest.param({"nvidiaDevicePlugin": {"image": "nvcr.io/nvidia/k8s-device-plugin"}},
                 "eks-gpu-spot:nvidiaDevicePlugin.image", "with an explicit tag other than 'latest', or a digest", id="untagged-image"),
    pytest.param({"clusterAutoscaler": {"scaleDownUnneededTime": "ten minutes"}},
                 "eks-gpu-spot:clusterAutoscaler.scaleDownUnneededTime", "must be a duration", id="duration"),
    pytest.param({"clusterAutoscaler": {"imageTags": {"1.35": "v1.34.1"}}},
                 "eks-gpu-spot:clusterAutoscaler.imageTags.1.35", "of the same minor", id="ca-tag-minor"),
    pytest.param({"generalPool": {"onDemandPercentageAboveBase": 150}},
                 "eks-gpu-spot:generalPool.onDemandPercentageAboveBase", "from 0 to 100", id="on-demand-percentage"),
    pytest.param({"generalPool": {"spotAllocationStrategy": "cheapest"}},
                 "eks-gpu-spot:generalPool.spotAllocationStrategy", "price-capacity-optimized", id="allocation"),
    pytest.param({"availabilityZoneCount": "three"},
                 "eks-gpu-spot:availabilityZoneCount", "must be a whole number from 2 to 6, not a string", id="not-an-integer"),
    pytest.param({"endpointPublicAccess": "yes"},
                 "eks-gpu-spot:endpointPublicAccess", "must be true or false, not a string", id="not-a-boolean"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), BAD_INPUTS)
def test_bad_config_is_rejected_before_any_resource(config: dict, key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


def test_az_count_above_what_the_region_offers() -> None:
    run = run_program({"availabilityZoneCount": 4}, zones=["us-east-1a", "us-east-1b", "us-east-1c"],
                      expect_error=True)
    assert_refused(run, "eks-gpu-spot:availabilityZoneCount",
                   "must be from 2 to 3: region us-east-1 has 3 Availability Zones that EKS supports")


def test_existing_subnets_in_one_zone() -> None:
    subnets = {"subnet-0a1b2c3d4e5f6a7b8": "us-east-1a", "subnet-0a1b2c3d4e5f6a7b9": "us-east-1a"}
    run = run_program({"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": list(subnets)},
                      subnet_zones=subnets, expect_error=True)
    assert isinstance(run.error, ConfigError)
    assert "must span at least 2 Availability Zones (all are in us-east-1a)" in str(run.error)
    assert run.resources == []


def test_missing_region() -> None:
    run = run_program({"aws:region": ""}, expect_error=True)
    assert isinstance(run.error, ConfigError)
    assert run.error.key == "aws:region"
    assert run.resources == []
