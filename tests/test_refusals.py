"""Issue-10 refusals: inputs AWS, EKS or kubelet would reject fail before any resource, with one
line naming the stack key; the nearest good value still deploys."""

from __future__ import annotations

from typing import Any

import pytest

from components.offline import fake_ami_id
from components.versions import DEFAULT_AMI_RELEASE_VERSION
from config import ConfigError
from tests.harness import ZONES, assert_refused, run_program

DIGEST = "sha256:" + "0" * 64
GPU = {"name": "gpu", "instanceTypes": ["g5.xlarge"]}

REFUSED = [
    # Sizes
    pytest.param({"generalPool": {"minSize": 3, "maxSize": 5, "desiredSize": 2}},
                 "eks-gpu-spot:generalPool.desiredSize", "must lie between the minimum (3) and maximum (5)", id="desired-below-min"),
    pytest.param({"gpuPools": [{**GPU, "maxSizePerAz": 100000}]},
                 "eks-gpu-spot:gpuPools[0].maxSizePerAz", "from 1 to 1000", id="size-beyond-api"),
    pytest.param({"generalPool": {"rootVolumeGiB": 10}},
                 "eks-gpu-spot:generalPool.rootVolumeGiB", "from 20 to 16384", id="root-volume-below-ami"),
    # Wrong types, worded the same at every level
    pytest.param({"generalPool": {"minSize": "3"}},
                 "eks-gpu-spot:generalPool.minSize", "must be a whole number from 0 to 1000, not a string", id="nested-string-int"),
    pytest.param({"gpuPools": [{**GPU, "minSizePerAz": True}]},
                 "eks-gpu-spot:gpuPools[0].minSizePerAz", "not true/false", id="nested-bool-int"),
    pytest.param({"generalPool": ["m5.xlarge"]},
                 "eks-gpu-spot:generalPool", "must be an object, not a list", id="object-as-list"),
    pytest.param({"gpuPools": {"name": "gpu"}},
                 "eks-gpu-spot:gpuPools", "must be a list of GPU pool objects, not an object", id="list-as-object"),
    pytest.param({"generalPool": {"instanceTypes": "m5.xlarge"}},
                 "eks-gpu-spot:generalPool.instanceTypes", "must be a list of instance types, not a string", id="string-as-list"),
    # Tags
    pytest.param({"tags": {"aws:owner": "me"}}, "eks-gpu-spot:tags.aws:owner", "must not start with 'aws:'", id="aws-prefix"),
    pytest.param({"tags": {"k" * 129: "v"}}, "eks-gpu-spot:tags." + "k" * 129, "1 to 128", id="tag-key-length"),
    pytest.param({"tags": {"team": "v" * 257}}, "eks-gpu-spot:tags.team.team", "at most 256", id="tag-value-length"),
    pytest.param({"tags": {f"t{i}": "x" for i in range(47)}}, "eks-gpu-spot:tags", "tags on each subnet; AWS allows 50",
                 id="too-many-tags-subnet"),
    pytest.param({"gpuPools": [{**GPU, "labels": {f"example.com/l{i}": "x" for i in range(40)}}]},
                 "eks-gpu-spot:gpuPools[0].labels", "AWS allows 50 tags per resource", id="too-many-tags-asg"),
    pytest.param({"gpuPools": [{**GPU, "labels": {"example.com/" + "a" * 63 + "/": "x"}}]},
                 "eks-gpu-spot:gpuPools[0].labels.example.com/" + "a" * 63 + "/", "Kubernetes key", id="label-key-syntax"),
    pytest.param({"gpuPools": [{**GPU, "labels": {"a" * 30 + ".example.com/" + "b" * 50: "x"}}]},
                 "eks-gpu-spot:gpuPools[0].labels." + "a" * 30 + ".example.com/" + "b" * 50, "would pass the 128",
                 id="label-tag-key-length"),
    # Kubernetes
    pytest.param({"gpuPools": [{**GPU, "labels": {"node-role.kubernetes.io/gpu": ""}}]},
                 "eks-gpu-spot:gpuPools[0].labels.node-role.kubernetes.io/gpu", "such a node never joins", id="kubelet-label"),
    pytest.param({"generalPool": {"labels": {"team.k8s.io/x": "y"}}},
                 "eks-gpu-spot:generalPool.labels.team.k8s.io/x", "kubelet refuses", id="kubelet-label-k8s-io"),
    pytest.param({"gpuPools": [{**GPU, "labels": {"team": "a b"}}]},
                 "eks-gpu-spot:gpuPools[0].labels.team", "Kubernetes label value", id="label-value"),
    pytest.param({"gpuPools": [{**GPU, "taints": ["team=a:NoSchedule", "team=b:NoExecute"]}]},
                 "eks-gpu-spot:gpuPools[0].taints[1]", "one taint per key", id="taint-key-twice"),
    pytest.param({"gpuPools": [{**GPU, "taints": ["nvidia.com/gpu=shared:NoSchedule"]}]},
                 "eks-gpu-spot:gpuPools[0].taints[0]", "cannot be replaced or added", id="gpu-taint-redefined"),
    pytest.param({"generalPool": {"taints": ["dedicated=system:NoSchedule"]}},
                 "eks-gpu-spot:generalPool.taints[0]", "use the PreferNoSchedule effect", id="general-hard-taint"),
    pytest.param({"gpuPools": [{**GPU, "acceleratorLabel": "T4 GPU"}]},
                 "eks-gpu-spot:gpuPools[0].acceleratorLabel", "Kubernetes label value", id="accelerator-label"),
    # serviceCidr
    pytest.param({"serviceCidr": "100.64.0.0/16"}, "eks-gpu-spot:serviceCidr", "private range", id="service-public"),
    pytest.param({"serviceCidr": "10.96.0.0/26"}, "eks-gpu-spot:serviceCidr", "from /12 to /24", id="service-small"),
    pytest.param({"serviceCidr": "10.0.0.0/8"}, "eks-gpu-spot:serviceCidr", "from /12 to /24", id="service-large"),
    pytest.param({"serviceCidr": "10.0.128.0/20"}, "eks-gpu-spot:serviceCidr", "must not overlap the VPC CIDR 10.0.0.0/16",
                 id="service-in-vpc"),
    # Keys that do not apply
    pytest.param({"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": ["subnet-0a1b2c3d4e5f6a7b8"],
                  "natGateways": "perAz"}, "eks-gpu-spot:natGateways", "applies only to a new VPC", id="nat-with-existing-vpc"),
    pytest.param({"existingVpcId": "vpc-0a1b2c3d4e5f67890", "availabilityZoneCount": 3},
                 "eks-gpu-spot:availabilityZoneCount", "applies only to a new VPC", id="az-count-with-existing-vpc"),
    pytest.param({"existingVpcId": "vpc-0a1b2c3d4e5f67890",
                  "existingPrivateSubnetIds": ["subnet-0a1b2c3d4e5f6a7b8", "subnet-0a1b2c3d4e5f6a7b9"],
                  "existingPublicSubnetIds": ["subnet-0a1b2c3d4e5f6a7b9"]},
                 "eks-gpu-spot:existingPublicSubnetIds", "both private and public", id="subnet-private-and-public"),
    pytest.param({"endpointPublicAccess": False, "publicAccessCidrs": ["203.0.113.0/24"]},
                 "eks-gpu-spot:publicAccessCidrs", "applies only while the public endpoint is on", id="cidrs-without-public"),
    # Add-ons
    pytest.param({"clusterAutoscaler": {"image": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.5"}},
                 "eks-gpu-spot:clusterAutoscaler.image", "minor must equal the cluster's", id="ca-image-other-minor"),
    pytest.param({"clusterAutoscaler": {"image": f"registry.k8s.io/autoscaling/cluster-autoscaler@{DIGEST}"}},
                 "eks-gpu-spot:clusterAutoscaler.image", "its tag must be a Cluster Autoscaler release", id="ca-image-digest-only"),
    pytest.param({"clusterAutoscaler": {"maxNodeProvisionTime": "0s"}},
                 "eks-gpu-spot:clusterAutoscaler.maxNodeProvisionTime", "from 1m to 60m", id="zero-duration"),
    pytest.param({"clusterAutoscaler": {"scaleDownUnneededTime": "48h"}},
                 "eks-gpu-spot:clusterAutoscaler.scaleDownUnneededTime", "from 1m to 1440m", id="long-duration"),
    pytest.param({"gpuPools": [{**GPU, "scaleDownUnneededTime": "5"}]},
                 "eks-gpu-spot:gpuPools[0].scaleDownUnneededTime", "must be a duration", id="duration-without-unit"),
    pytest.param({"nvidiaDevicePlugin": {"image": "nvcr.io:x/nvidia/k8s-device-plugin:v0.18.2"}},
                 "eks-gpu-spot:nvidiaDevicePlugin.image", "image reference", id="bad-registry-port"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_refused_before_any_resource_with_one_line_naming_the_key(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


AWS_REFUSED = [
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g9.xlarge"]}]}, {},
                 "eks-gpu-spot:gpuPools[0].instanceTypes[0]", "no Availability Zone of us-east-1 offers", id="unknown-type"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["inf2.xlarge"]}]}, {},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "NVIDIA GPU types only", id="inferentia"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g4ad.xlarge"]}]}, {},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "has AMD GPUs", id="amd-gpu"),
    pytest.param({"generalPool": {"instanceTypes": ["m6i.xlarge", "m6g.xlarge"]}}, {},
                 "eks-gpu-spot:generalPool.instanceTypes", "a pool has one CPU architecture", id="mixed-architecture"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"]}]},
                 # Only us-east-1e (use1-az3, which EKS refuses) offers the type.
                 {"zones": [*ZONES[:3], "us-east-1e"], "not_offered": {z: {"g5.xlarge"} for z in ZONES[:3]}},
                 "eks-gpu-spot:availabilityZoneIds", "none of the cluster's zones offers its types",
                 id="gpu-type-in-no-zone"),
]


@pytest.mark.parametrize(("config", "aws", "key", "allowed"), AWS_REFUSED)
def test_refused_against_aws_facts_before_any_resource(config: dict[str, Any], aws: dict[str, Any], key: str,
                                                       allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True, **aws), key, allowed)


def test_graviton_pools_get_the_arm64_ami() -> None:
    run = run_program({"generalPool": {"instanceTypes": ["m6g.xlarge", "m7g.xlarge"]},
                       "gpuPools": [{"name": "gpu-arm", "instanceTypes": ["g5g.xlarge"]}]})
    names = {args["name"] for token, args in run.invokes if token == "aws:ssm/getParameter:getParameter"}
    base = "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/arm64"
    assert {n for n in names if n.endswith("/image_id")} == {
        f"{base}/standard/amazon-eks-node-al2023-arm64-standard-1.35-{DEFAULT_AMI_RELEASE_VERSION}/image_id",
        f"{base}/nvidia/amazon-eks-node-al2023-arm64-nvidia-1.35-{DEFAULT_AMI_RELEASE_VERSION}/image_id"}


SUBNETS = {"subnet-0a1b2c3d4e5f6a7b8": "us-east-1a", "subnet-0a1b2c3d4e5f6a7b9": "us-east-1b"}
EXISTING = {"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": list(SUBNETS)}


def test_existing_subnets_must_belong_to_the_existing_vpc() -> None:
    run = run_program(EXISTING, subnet_zones=SUBNETS, subnet_vpcs={"subnet-0a1b2c3d4e5f6a7b9": "vpc-0ffffffffffffffff"},
                      expect_error=True)
    assert_refused(run, "eks-gpu-spot:existingPrivateSubnetIds[1]",
                   "belongs to vpc-0ffffffffffffffff, not to the existing VPC vpc-0a1b2c3d4e5f67890")


def test_existing_subnet_in_a_zone_eks_refuses() -> None:
    run = run_program(EXISTING, subnet_zones={**SUBNETS, "subnet-0a1b2c3d4e5f6a7b9": "us-east-1e"}, expect_error=True)
    assert isinstance(run.error, ConfigError)
    assert run.error.key == "eks-gpu-spot:existingPrivateSubnetIds[1]"
    assert "us-east-1e (use1-az3), where EKS does not allow control-plane subnets" in str(run.error)


def test_service_cidr_must_not_overlap_the_existing_vpc() -> None:
    run = run_program({**EXISTING, "serviceCidr": "10.51.0.0/16"}, subnet_zones=SUBNETS,
                      vpc_cidrs=["10.50.0.0/16", "10.51.0.0/16"], expect_error=True)
    assert isinstance(run.error, ConfigError)
    assert run.error.key == "eks-gpu-spot:serviceCidr"
    assert "must not overlap the CIDR 10.51.0.0/16 of the existing VPC" in str(run.error)
    fine = run_program({**EXISTING, "serviceCidr": "10.52.0.0/16"}, subnet_zones=SUBNETS,
                       vpc_cidrs=["10.50.0.0/16", "10.51.0.0/16"])
    assert fine.one("eks:index:Cluster").inputs["kubernetesServiceIpAddressRange"] == "10.52.0.0/16"


def test_zones_are_chosen_by_id_skipping_what_eks_refuses() -> None:
    # In this account us-east-1e is use1-az3: EKS refuses it, so the third zone is us-east-1f.
    run = run_program({}, zones=["us-east-1a", "us-east-1b", "us-east-1e", "us-east-1f"])
    zones = sorted(s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet"))
    assert zones == sorted(["us-east-1a", "us-east-1b", "us-east-1f"] * 2)


def test_zones_must_offer_the_general_pools_types() -> None:
    run = run_program({"generalPool": {"instanceTypes": ["m7i.xlarge"]}},
                      zones=list(ZONES[:4]), not_offered={"us-east-1b": {"m7i.xlarge"}})
    zones = {s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet")}
    assert zones == {"us-east-1a", "us-east-1c", "us-east-1d"}


def test_gpu_groups_only_in_zones_offering_the_pools_types() -> None:
    run = run_program({"gpuPools": [{"name": "gpu", "instanceTypes": ["g6e.xlarge"]}]},
                      not_offered={"us-east-1b": {"g6e.xlarge"}})
    names = sorted(g.inputs["name"] for g in run.of_type("aws:autoscaling/group:Group"))
    assert names == ["eks-gpu-spot-test-general", "eks-gpu-spot-test-gpu-us-east-1a", "eks-gpu-spot-test-gpu-us-east-1c"]


NEAREST_GOOD = [
    pytest.param({"gpuPools": [{**GPU, "minSizePerAz": 1}]}, id="min-size-per-az-1"),
    pytest.param({"clusterAutoscaler": {"image": "registry.example.com:5000/autoscaling/cluster-autoscaler:v1.35.2"}},
                 id="registry-with-port"),
    pytest.param({"nvidiaDevicePlugin": {"image": f"nvcr.io/nvidia/k8s-device-plugin@{DIGEST}"}}, id="image-by-digest"),
    pytest.param({"clusterAutoscaler": {"image": f"registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2@{DIGEST}"}},
                 id="ca-tag-and-digest"),
    pytest.param({"generalPool": {"taints": ["dedicated=system:PreferNoSchedule"]}}, id="general-soft-taint"),
    pytest.param({"gpuPools": [{**GPU, "labels": {"node.kubernetes.io/gpu-class": "a10g", "example.com/team": "ml"}}]},
                 id="kubelet-allowed-labels"),
    pytest.param({"serviceCidr": "192.168.0.0/24"}, id="service-cidr-24"),
    pytest.param({"tags": {f"t{i}": "x" for i in range(20)}}, id="twenty-tags"),
]


@pytest.mark.parametrize("config", NEAREST_GOOD)
def test_the_nearest_good_value_deploys(config: dict[str, Any]) -> None:
    run = run_program(config)
    assert run.of_type("aws:autoscaling/group:Group")


def test_min_size_per_az_gives_desired_within_bounds() -> None:
    run = run_program({"gpuPools": [{**GPU, "minSizePerAz": 1, "maxSizePerAz": 3}]})
    for group in run.of_type("aws:autoscaling/group:Group"):
        assert group.inputs["minSize"] <= group.inputs["desiredCapacity"] <= group.inputs["maxSize"]
        if group.name.startswith("gpu-"):
            assert (group.inputs["minSize"], group.inputs["desiredCapacity"]) == (1, 1)


REVIEW_REFUSED = [
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g4dn.xlarge"], "maxPods": 30}]},
                 "eks-gpu-spot:gpuPools[0].maxPods", "g4dn.xlarge's network interfaces give pods (29)",
                 id="max-pods-beyond-enis"),
    pytest.param({"amiReleaseVersion": "v20250901", "generalPool": {"maxPods": 20}},
                 "eks-gpu-spot:generalPool.maxPods", "only since AMI release v20251007", id="max-pods-old-ami"),
    pytest.param({"clusterAutoscaler": {"expander": "least-waste"},
                  "gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "onDemandFallback": True}]},
                 "eks-gpu-spot:gpuPools[0].onDemandFallback", "needs the autoscaler's priority expander",
                 id="fallback-without-priority"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REVIEW_REFUSED)
def test_review_findings_are_refused_before_any_resource(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


def test_fallback_groups_hold_no_node_of_their_own() -> None:
    run = run_program({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "minSizePerAz": 1,
                                     "maxSizePerAz": 3, "onDemandFallback": True}]})
    groups = {g.inputs["name"]: g.inputs for g in run.of_type("aws:autoscaling/group:Group")}
    spot, on_demand = groups["eks-gpu-spot-test-gpu-us-east-1a"], groups["eks-gpu-spot-test-gpu-us-east-1a-on-demand"]
    assert (spot["minSize"], spot["desiredCapacity"], spot["maxSize"]) == (1, 1, 3)
    assert (on_demand["minSize"], on_demand["desiredCapacity"], on_demand["maxSize"]) == (0, 0, 3)


def test_gpu_offerings_do_not_choose_the_zones() -> None:
    # The GPU type is offered only in us-east-1d and us-east-1f: the zones are still the first three
    # by ID (us-east-1b, c and d), and the pool gets a group in the one of them that offers it.
    run = run_program({"gpuPools": [{"name": "gpu", "instanceTypes": ["g6e.xlarge"]}]}, zones=list(ZONES),
                      not_offered={z: {"g6e.xlarge"} for z in ("us-east-1a", "us-east-1b", "us-east-1c")})
    zones = {s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet")}
    assert zones == {"us-east-1b", "us-east-1c", "us-east-1d"}
    gpu = sorted(g.inputs["name"] for g in run.of_type("aws:autoscaling/group:Group") if g.inputs["name"].startswith("eks-gpu-spot-test-gpu-"))
    assert gpu == ["eks-gpu-spot-test-gpu-us-east-1d"]


def test_the_ami_id_is_not_hidden_as_a_secret() -> None:
    run = run_program({})
    assert {lt.inputs["imageId"] for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate")} == {
        fake_ami_id("1.35", gpu, "x86_64", DEFAULT_AMI_RELEASE_VERSION) for gpu in (False, True)}
