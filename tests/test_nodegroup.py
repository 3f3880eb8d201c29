"""Node groups under the mocks harness: per-AZ GPU ASGs, Spot, scale-from-zero tags, launch templates."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from components.offline import fake_ami_id
from components.versions import DEFAULT_AMI_RELEASE_VERSION
from config import ConfigError
from tests.harness import ZONES, ProgramRun, Registered, run_program
from tests.test_userdata import parse_node_configs

CA = "k8s.io/cluster-autoscaler"
CONFIG = {
    "clusterName": "ml",
    "gpuPools": [
        {"name": "gpu-small", "instanceTypes": ["g5.xlarge", "g6.xlarge"], "maxSizePerAz": 3},
        {"name": "gpu-quad", "instanceTypes": ["g5.12xlarge", "g6.12xlarge"], "maxSizePerAz": 1,
         "taints": ["team=research:NoSchedule"], "labels": {"team": "research"}, "scaleDownUnneededTime": "5m"},
    ],
}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(CONFIG, zones=ZONES[:3])


def asg_tags(group: Registered) -> dict[str, tuple[str, bool]]:
    return {t["key"]: (t["value"], t["propagateAtLaunch"]) for t in group.inputs["tags"]}


def launch_template_of(run: ProgramRun, group: Registered) -> Registered:
    spec = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]
    return next(lt for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate") if f"{lt.name}-id" == spec["launchTemplateId"])


def kubelet_flags(launch_template: Registered) -> dict[str, str]:
    (config,) = parse_node_configs(base64.b64decode(launch_template.inputs["userData"]).decode())
    return dict(flag.removeprefix("--").split("=", 1) for flag in config["spec"]["kubelet"]["flags"])


def gpu_groups(run: ProgramRun, pool: str) -> list[Registered]:
    return [g for g in run.of_type("aws:autoscaling/group:Group") if g.name.startswith(f"{pool}-us-")]


def test_one_gpu_asg_per_pool_per_zone(run: ProgramRun) -> None:
    subnet_zone = {f"{s.name}-id": s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet")
                   if "kubernetes.io/role/internal-elb" in s.inputs["tags"]}
    for pool in ("gpu-small", "gpu-quad"):
        groups = gpu_groups(run, pool)
        assert len(groups) == 3
        zones = []
        for group in groups:
            (subnet,) = group.inputs["vpcZoneIdentifiers"]
            zones.append(subnet_zone[subnet])
            assert group.inputs["name"] == f"ml-{pool}-{subnet_zone[subnet]}"
        assert sorted(zones) == list(ZONES[:3])
    assert len(run.of_type("aws:autoscaling/group:Group")) == 2 * 3 + 1


def test_gpu_asgs_scale_from_and_to_zero(run: ProgramRun) -> None:
    for group in gpu_groups(run, "gpu-small"):
        assert (group.inputs["minSize"], group.inputs["maxSize"], group.inputs["desiredCapacity"]) == (0, 3, 0)
        assert group.inputs["suspendedProcesses"] == ["AZRebalance"]
        assert group.ignore_changes == ["desiredCapacity", "initialLifecycleHooks"]
        # No early replacement on a rebalance recommendation by default (docs/upgrades.md).
        assert group.inputs["capacityRebalance"] is False


def test_autoscaler_tags_say_what_kubelet_registers(run: ProgramRun) -> None:
    for pool in ("gpu-small", "gpu-quad"):
        for group in gpu_groups(run, pool):
            tags = asg_tags(group)
            flags = kubelet_flags(launch_template_of(run, group))
            labels = dict(pair.split("=", 1) for pair in flags["node-labels"].split(","))
            taints = {key: rest for key, rest in (t.split("=", 1) for t in flags["register-with-taints"].split(","))}
            label_tags = {k.removeprefix(f"{CA}/node-template/label/"): v for k, (v, _) in tags.items()
                          if k.startswith(f"{CA}/node-template/label/")}
            taint_tags = {k.removeprefix(f"{CA}/node-template/taint/"): v for k, (v, _) in tags.items()
                          if k.startswith(f"{CA}/node-template/taint/")}
            assert label_tags == labels
            assert taint_tags == taints
            assert labels["nvidia.com/gpu"] == "true"
            assert labels["node-pool"] == pool
            assert labels["lifecycle"] == "Ec2Spot"
            assert taints["nvidia.com/gpu"] == "true:NoSchedule"
            for key, (_, propagate) in tags.items():
                if key.startswith(CA):
                    assert propagate is False, key
            assert tags[f"{CA}/enabled"][0] == "true"
            assert tags[f"{CA}/ml"][0] == "owned"


def test_gpu_pool_specific_tags(run: ProgramRun) -> None:
    small = asg_tags(gpu_groups(run, "gpu-small")[0])
    assert small[f"{CA}/node-template/resources/nvidia.com/gpu"][0] == "1"
    # Allocatable of the instance store array (g5.xlarge and g6.xlarge: 1 x 250 GB NVMe, so nodeadm's
    # localStorage RAID0 by default), not of the 100 GiB root volume: 250e9 B = 238418 MiB, less mdadm's
    # 0.5% (1193 MiB) and the XFS allowance (365 MiB) = 236860 MiB, less kubeReserved 1024 MiB and the
    # 10% nodefs eviction threshold (23686 MiB).
    assert small[f"{CA}/node-template/resources/ephemeral-storage"][0] == "212150Mi"
    assert small[f"{CA}/node-template/resources/cpu"][0] == "3920m"
    # g5.xlarge and g6.xlarge alike: 4 ENIs x 14 IPv4 -> 58 pods, 14162Mi (g4dn.xlarge, 29 pods,
    # is no longer in the pool: its T4 has 16384 MiB against their 22888).
    assert small[f"{CA}/node-template/resources/memory"][0] == "14162Mi"
    assert small[f"{CA}/node-template/resources/pods"][0] == "58"
    # The GPU pools' default: a short idle tail (docs/autoscaling.md, section 5).
    assert small[f"{CA}/node-template/autoscaling-options/scaledownunneededtime"][0] == "5m"
    assert small[f"{CA}/node-template/label/k8s.amazonaws.com/accelerator"][0] == "nvidia-a10g-l4"
    assert small[f"{CA}/node-template/label/nvidia.com/gpu.memory"][0] == "22888"
    quad = asg_tags(gpu_groups(run, "gpu-quad")[0])
    assert quad[f"{CA}/node-template/resources/nvidia.com/gpu"][0] == "4"
    assert quad[f"{CA}/node-template/autoscaling-options/scaledownunneededtime"][0] == "5m"
    assert quad[f"{CA}/node-template/taint/team"][0] == "research:NoSchedule"
    assert quad[f"{CA}/node-template/label/team"][0] == "research"


def test_general_asg_spans_all_zones_and_is_all_spot(run: ProgramRun) -> None:
    general = run.one("aws:autoscaling/group:Group", "general")
    private = [f"{s.name}-id" for s in run.of_type("aws:ec2/subnet:Subnet")
               if "kubernetes.io/role/internal-elb" in s.inputs["tags"]]
    assert sorted(general.inputs["vpcZoneIdentifiers"]) == sorted(private)
    assert (general.inputs["minSize"], general.inputs["maxSize"]) == (2, 20)
    policy = general.inputs["mixedInstancesPolicy"]
    distribution = policy["instancesDistribution"]
    assert distribution["onDemandBaseCapacity"] == 0
    assert distribution["onDemandPercentageAboveBaseCapacity"] == 0
    assert distribution["spotAllocationStrategy"] == "price-capacity-optimized"
    assert [o["instanceType"] for o in policy["launchTemplate"]["overrides"]] == [
        "m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge"]
    assert general.ignore_changes == ["desiredCapacity", "initialLifecycleHooks"]
    assert general.inputs["capacityRebalance"] is True
    assert "suspendedProcesses" not in general.inputs
    flags = kubelet_flags(launch_template_of(run, general))
    assert flags == {"node-labels": "lifecycle=Ec2Spot,node-pool=general"}


def test_launch_templates_are_secure_by_default(run: ProgramRun) -> None:
    templates = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 3
    for lt in templates:
        assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
        assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        (volume,) = lt.inputs["blockDeviceMappings"]
        assert volume["deviceName"] == "/dev/xvda"
        assert volume["ebs"]["encrypted"] == "true"
        assert volume["ebs"]["volumeType"] == "gp3"
        assert lt.inputs["vpcSecurityGroupIds"] == ["sg-0a1b2c3d4e5f67890"]
        assert lt.inputs["iamInstanceProfile"]["arn"].endswith("-node-profile")
        kinds = {spec["resourceType"]: spec["tags"] for spec in lt.inputs["tagSpecifications"]}
        assert set(kinds) == {"instance", "volume"}
        assert kinds["instance"]["kubernetes.io/cluster/ml"] == "owned"
    sizes = {lt.name: lt.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] for lt in templates}
    assert sizes == {"general-lt": 50, "gpu-small-lt": 100, "gpu-quad-lt": 100}


def test_amis_come_from_ssm_standard_or_nvidia(run: ProgramRun) -> None:
    names = sorted(args["name"] for token, args in run.invokes if token == "aws:ssm/getParameter:getParameter"
                   and args["name"].endswith("/image_id"))
    base, release = "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64", DEFAULT_AMI_RELEASE_VERSION
    assert names == [
        f"{base}/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.35-{release}/image_id",
        f"{base}/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.35-{release}/image_id",
        f"{base}/standard/amazon-eks-node-al2023-x86_64-standard-1.35-{release}/image_id",
    ]
    image_ids = {lt.name: lt.inputs["imageId"] for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    assert image_ids == {"general-lt": fake_ami_id("1.35", False, "x86_64", release),
                         "gpu-small-lt": fake_ami_id("1.35", True, "x86_64", release),
                         "gpu-quad-lt": fake_ami_id("1.35", True, "x86_64", release)}


def test_node_roles_have_only_node_policies(run: ProgramRun) -> None:
    for pool in ("general", "gpu-small", "gpu-quad"):
        role = run.one("aws:iam/role:Role", f"{pool}-node-role")
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
        node_role = run.one("eks-gpu-spot:nodegroup:NodeRole", f"{pool}-node")
        attached = sorted(a.inputs["policyArn"] for a in run.children_of(node_role)
                          if a.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        assert attached == sorted(f"arn:aws:iam::aws:policy/{p}" for p in (
            "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore"))
    # The one inline policy is the cluster role's, for the Secrets key (test_security.py).
    assert [p.name for p in run.of_type("aws:iam/rolePolicy:RolePolicy")] == ["ml-secrets-key-use"]


def test_stack_output_describes_each_group(run: ProgramRun) -> None:
    groups = run.outputs["nodeGroups"]
    assert groups["gpu-small"]["asgNames"] == [f"ml-gpu-small-{z}" for z in ZONES[:3]]
    assert groups["gpu-small"]["instanceTypes"] == ["g5.xlarge", "g6.xlarge"]
    assert groups["gpu-small"]["template"] == {
        "labels": {"node-pool": "gpu-small", "lifecycle": "Ec2Spot", "nvidia.com/gpu": "true",
                   "k8s.amazonaws.com/accelerator": "nvidia-a10g-l4", "nvidia.com/gpu.memory": "22888"},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
        # The least allocatable of the two types (tests/test_allocatable.py shows the arithmetic).
        "capacity": {"cpu": "3920m", "memory": "14162Mi", "pods": "58", "ephemeral-storage": "212150Mi",
                     "nvidia.com/gpu": "1"},
    }
    assert groups["general"]["asgNames"] == ["ml-general"]


def test_on_demand_share_and_strategy_are_configurable() -> None:
    run = run_program({"generalPool": {"onDemandBaseCapacity": 1, "onDemandPercentageAboveBase": 25,
                                       "spotAllocationStrategy": "capacity-optimized"}})
    distribution = run.one("aws:autoscaling/group:Group", "general").inputs["mixedInstancesPolicy"]["instancesDistribution"]
    assert distribution == {"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 25,
                            "spotAllocationStrategy": "capacity-optimized"}


SHAPE_ERRORS = [
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g4dn.xlarge", "g4dn.2xlarge"]}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "g4dn.2xlarge",
                 "is 8 vCPU / 32 GiB / 1 GPU but the first type g4dn.xlarge is 4 vCPU / 16 GiB / 1 GPU", id="gpu-vcpu"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge", "g6e.xlarge"]}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "g6e.xlarge", "4 vCPU / 32 GiB / 1 GPU", id="gpu-memory"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.12xlarge", "g5.xlarge"]}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "g5.xlarge", "same vCPU, memory and GPU count", id="gpu-count"),
    pytest.param({"generalPool": {"instanceTypes": ["m5.2xlarge", "c5.2xlarge"]}},
                 "eks-gpu-spot:generalPool.instanceTypes", "c5.2xlarge", "8 vCPU / 16 GiB / 0 GPU", id="general-memory"),
    pytest.param({"generalPool": {"instanceTypes": ["m5.xlarge", "m5.4xlarge"]}},
                 "eks-gpu-spot:generalPool.instanceTypes", "m5.4xlarge", "sizes the whole group from its first type",
                 id="general-size"),
    pytest.param({"gpuPools": [{"name": "gpu", "instanceTypes": ["m5.xlarge"]}]},
                 "eks-gpu-spot:gpuPools[0].instanceTypes", "m5.xlarge", "has no GPU; a GPU pool ('gpu') needs GPU instance types",
                 id="gpu-pool-without-gpu"),
    pytest.param({"generalPool": {"instanceTypes": ["g4dn.xlarge"]}},
                 "eks-gpu-spot:generalPool.instanceTypes", "g4dn.xlarge", "the general pool must not use GPU instance types",
                 id="general-pool-with-gpu"),
]


@pytest.mark.parametrize(("config", "key", "value", "allowed"), SHAPE_ERRORS)
def test_mixed_shape_and_wrong_kind_pools_are_rejected(config: dict, key: str, value: str, allowed: str) -> None:
    run = run_program(config, expect_error=True)
    assert isinstance(run.error, ConfigError), run.error
    assert run.error.key == key
    assert run.error.value == value
    assert allowed in str(run.error)
    assert run.resources == []


def test_a_pool_for_a_cluster_built_elsewhere_brings_its_own_role_and_access_entry() -> None:
    from tests.harness import ROOT

    run = run_program({}, main=ROOT / "tests" / "programs" / "extra_gpu_pool.py")
    # Exactly one entry, the one of the pool's NodeRole, moved from where NodeGroup used to create it.
    entry = run.one("aws:eks/accessEntry:AccessEntry")
    role = run.one("eks-gpu-spot:nodegroup:NodeRole")
    group = run.one("eks-gpu-spot:nodegroup:NodeGroup")
    assert entry.parent == role.urn and role.parent == group.urn
    assert entry.inputs["clusterName"] == "existing"
    assert entry.inputs["type"] == "EC2_LINUX"
    assert entry.inputs["principalArn"].endswith("/extra-gpu-node-role")
    group_prefix, _group_name = group.urn.rsplit("::", 1)
    assert entry.aliases == [f"{group_prefix}$aws:eks/accessEntry:AccessEntry::extra-gpu-access"]
    assert all(entry.urn in asg.depends_on for asg in run.of_type("aws:autoscaling/group:Group"))
    assert len(run.of_type("aws:autoscaling/group:Group")) == 2
    assert run.outputs["asgNames"] == ["existing-extra-gpu-us-east-1a", "existing-extra-gpu-us-east-1b"]
    assert run.of_type("eks:index:Cluster") == []


def test_an_added_pool_in_the_clusters_own_program_waits_for_the_control_plane(tmp_path: Path) -> None:
    # examples/consumer adds a pool to a cluster it creates: the pool's access entry reads the
    # cluster name with the endpoint, so it is not created before the control plane exists.
    from tests.harness import ROOT

    source = (ROOT / "examples" / "consumer" / "__main__.py").read_text().replace("eks_gpu_spot", "components")
    (tmp_path / "__main__.py").write_text(source)
    run = run_program({}, main=tmp_path / "__main__.py", project="eks-gpu-spot-consumer")
    entry = run.one("aws:eks/accessEntry:AccessEntry", "gpu-l40s-node-access")
    assert entry.inputs["clusterName"] == "research"
    assert run.one("eks:index:Cluster").urn in entry.depends_on
