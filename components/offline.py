"""A Pulumi program run offline: AWS answered from facts on disk, every registration recorded.

No AWS account and no Pulumi CLI: `run_program` runs a program file (the project's `__main__.py`,
or a library user's own) under Pulumi's mocks. `FakeAws` answers the invokes such programs make
(zones with their IDs, what each zone offers, instance shapes from the instance catalog, an
existing VPC, quotas, EKS clusters that exist already (their version, subnets, role and Auto
Scaling groups), the managed add-ons' default versions, AMIs and their releases in SSM, the caller's
account, region and partition) for the stack's own region, and
fakes pulumi-eks's remote `eks:index:Cluster` outputs, including the `eksCluster` resource
reference (see FIELD-NOTES). `eks-gpu-spot-render` writes what such a run registers
(`render.py`); the project's tests assert on it.

Values that only exist after a real deployment (IDs, ARNs, the cluster endpoint) are stand-ins
built from the resource's name, the account `FAKE_ACCOUNT` and the region.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import re
import runpy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .ami import RECOMMENDED, ami_parameter_name
from .instance_catalog import KNOWN_SHAPES
from .versions import DEFAULT_AMI_RELEASE_VERSION

FAKE_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
FAKE_VPC_ID = "vpc-0a1b2c3d4e5f67890"
# An EKS AMI parameter: /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/<leaf>/<name>
_AMI_PARAMETER = re.compile(r"/aws/service/eks/optimized-ami/(?P<k8s>[\d.]+)/amazon-linux-2023/(?P<arch>\w+)/"
                            r"(?P<variant>\w+)/(?P<leaf>[\w.-]+)/(?P<name>image_id|release_version)")
# EC2 vCPU quotas answered when none is given: enough for any pool, so only a run that sets
# `quotas` sees quota warnings.
GENEROUS_QUOTA_VCPUS = 10000.0
QUOTA_UNREADABLE = "unreadable"  # a `quotas` value that makes the invoke fail, as AccessDenied does
# pulumi's wire encoding of a resource reference (sdk/python/lib/pulumi/runtime/rpc.py).
_RESOURCE_REFERENCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"

# Zone name -> zone ID as one real account maps them (the mapping differs per account). us-east-1e
# is use1-az3, where EKS refuses control-plane subnets.
US_EAST_1_ZONE_IDS = {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2",
                      "us-east-1d": "use1-az4", "us-east-1e": "use1-az3", "us-east-1f": "use1-az5"}
# How many standard zones a region has; a region not listed gets three.
ZONE_COUNTS = {"us-east-1": 6, "us-east-2": 3, "us-west-1": 2, "us-west-2": 4, "ca-central-1": 3,
               "eu-west-1": 3, "eu-central-1": 3, "eu-north-1": 3, "ap-northeast-1": 3, "ap-southeast-1": 3,
               "ap-southeast-2": 3, "ap-south-1": 3, "sa-east-1": 3}
# The default version of each managed add-on per Kubernetes minor, as `aws.eks.get_addon_version`
# (most_recent false) answers. Figures from the Amazon EKS User Guide's version tables as stored
# offline (latest EKS add-on version per minor, used here for the default): kube-proxy and CoreDNS from
# docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-kube-proxy.md and managing-coredns.md (the
# newest snapshot, with 1.36); vpc-cni from managing-vpc-cni (v1.20.1-eksbuild.3, the same build for
# every minor listed, 1.27-1.33; no snapshot lists 1.35 or 1.36, so that build stands in);
# eks-pod-identity-agent v1.3.10-eksbuild.2, as pinned in a public terraform-aws-eks configuration
# (its build does not depend on the minor). A minor missing here fails the invoke, as AWS does.
ADDON_DEFAULT_VERSIONS: dict[str, dict[str, str]] = {
    minor: {"vpc-cni": "v1.20.1-eksbuild.3", "eks-pod-identity-agent": "v1.3.10-eksbuild.2",
            "kube-proxy": kube_proxy, "coredns": coredns}
    for minor, kube_proxy, coredns in (
        ("1.32", "v1.32.13-eksbuild.16", "v1.11.4-eksbuild.40"),
        ("1.33", "v1.33.10-eksbuild.13", "v1.12.4-eksbuild.18"),
        ("1.34", "v1.34.6-eksbuild.13", "v1.13.2-eksbuild.11"),
        ("1.35", "v1.35.3-eksbuild.13", "v1.14.3-eksbuild.3"),
        ("1.36", "v1.36.0-eksbuild.14", "v1.14.3-eksbuild.3"),
    )
}
# Compound directions take two letters in a zone ID's region code (ap-southeast-1 -> apse1).
_DIRECTION_CODES = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def region_code(region: str) -> str:
    """The region part of its zone IDs: us-east-1 -> use1, ap-southeast-2 -> apse2."""
    area, *directions, number = region.split("-")
    return area + "".join(_DIRECTION_CODES.get(d, d[0]) for d in directions) + number


def zone_id(zone: str) -> str:
    """The zone ID of a zone name (us-east-1 as `US_EAST_1_ZONE_IDS`; elsewhere a -> az1, b -> az2...)."""
    if zone in US_EAST_1_ZONE_IDS:
        return US_EAST_1_ZONE_IDS[zone]
    return f"{region_code(zone[:-1])}-az{ord(zone[-1]) - ord('a') + 1}"


def region_zones(region: str) -> tuple[str, ...]:
    return tuple(f"{region}{letter}" for letter in "abcdefgh"[:ZONE_COUNTS.get(region, 3)])


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


@dataclass
class FakeAws:
    """What AWS knows, for the invokes a program makes.

    - `region`, `account`: of the caller.
    - `zones`: the region's standard zones (default: all of `region_zones(region)`), with
      `zone_id` IDs.
    - every type of the instance catalog is offered in every zone, except `not_offered`
      (zone name -> types); a type the catalog lacks is offered nowhere and recorded in
      `missing_types`.
    - `subnet_zones`, `subnet_vpcs`, `subnet_cidrs`, `vpc_cidrs`: existing subnets (their zone, VPC
      (default FAKE_VPC_ID) and CIDR (default the n-th /20 of the VPC's first CIDR)) and the
      existing VPC's CIDRs.
    - `quotas`: EC2 vCPU quota code -> value, or QUOTA_UNREADABLE (default GENEROUS_QUOTA_VCPUS).
    - `clusters`: EKS clusters that exist already, name -> Kubernetes version (default: none), on
      the subnets `cluster_subnets` (name -> subnet IDs; `deployed` makes both from a run), whose
      tags are `subnet_tags` (any known subnet with the tags asked for answers a subnet search),
      with the IAM role `cluster_roles` (name -> ARN; default pulumi-eks's role of a component of
      the cluster's name).
    - managed add-ons: each minor's default builds `addon_defaults` (default `ADDON_DEFAULT_VERSIONS`)
      and newest builds `addon_newest` (minor -> add-on -> build; default: the default build); the
      builds each cluster runs, `addons` (cluster -> add-on -> build; `deployed` records a run's) and
      their `addon_tags` (cluster -> add-on -> tags); any other add-on is not found.
    - `groups`: Auto Scaling groups that exist already, name -> tags (`deployed` records a run's).
    - `recommended_ami_release`: the release SSM recommends (default: the package's pinned one);
      every release up to it has its AMIs (`fake_ami_id`), a later one is not found; None: the
      `recommended` parameters cannot be read (AccessDenied), the release-specific ones can.
    - `snapshots`: EBS snapshot ID -> size in GiB of the snapshots the account can read; any other
      ID is not found, as DescribeSnapshots answers. `snapshot_tags`: ID -> its tags (default none).
    """

    region: str = DEFAULT_REGION
    account: str = FAKE_ACCOUNT
    zones: Sequence[str] | None = None
    not_offered: Mapping[str, set[str]] = field(default_factory=dict)
    subnet_zones: Mapping[str, str] = field(default_factory=dict)
    subnet_vpcs: Mapping[str, str] = field(default_factory=dict)
    subnet_cidrs: Mapping[str, str] = field(default_factory=dict)
    vpc_cidrs: Sequence[str] = ("10.50.0.0/16",)
    quotas: Mapping[str, float | str] = field(default_factory=dict)
    clusters: Mapping[str, str] = field(default_factory=dict)
    snapshots: Mapping[str, int] = field(default_factory=dict)
    snapshot_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    missing_types: set[str] = field(default_factory=set)
    recommended_ami_release: str | None = DEFAULT_AMI_RELEASE_VERSION
    cluster_subnets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    subnet_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    cluster_roles: Mapping[str, str] = field(default_factory=dict)
    addon_defaults: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: ADDON_DEFAULT_VERSIONS)
    addon_newest: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    addons: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    addon_tags: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    groups: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.zones is None:
            self.zones = region_zones(self.region)

    @property
    def zone_names(self) -> list[str]:
        return list(self.zones or ())

    def deployed(self, run: ProgramRun) -> FakeAws:
        """These facts once `run` is deployed: its EKS cluster exists, on the subnets the run gave it,
        and so do its subnets and Auto Scaling groups."""
        control_plane = run.one("eks:index:Cluster")
        created = {f"{s.name}-id": s for s in run.of_type("aws:ec2/subnet:Subnet")}
        groups = {g.inputs["name"]: {t["key"]: t["value"] for t in g.inputs.get("tags") or []}
                  for g in run.of_type("aws:autoscaling/group:Group")}
        subnet_ids = [*control_plane.inputs["privateSubnetIds"], *(control_plane.inputs.get("publicSubnetIds") or [])]
        vpc_id = control_plane.inputs["vpcId"]
        name = control_plane.inputs["name"]
        return replace(
            self,
            clusters={**self.clusters, name: control_plane.inputs["version"]},
            cluster_subnets={**self.cluster_subnets, name: subnet_ids},
            subnet_zones={**self.subnet_zones, **{i: s.inputs["availabilityZone"] for i, s in created.items()}},
            subnet_vpcs={**self.subnet_vpcs, **dict.fromkeys(created, vpc_id)},
            subnet_cidrs={**self.subnet_cidrs, **{i: s.inputs["cidrBlock"] for i, s in created.items()}},
            subnet_tags={**self.subnet_tags, **{i: dict(s.inputs.get("tags") or {}) for i, s in created.items()}},
            cluster_roles={**self.cluster_roles,
                           name: self.eks_cluster_state(control_plane.name, control_plane.inputs)["roleArn"]},
            addons={**self.addons, name: {a.inputs["addonName"]: a.inputs["addonVersion"]
                                          for a in run.of_type("aws:eks/addon:Addon")}},
            addon_tags={**self.addon_tags, name: {a.inputs["addonName"]: dict(a.inputs.get("tags") or {})
                                                  for a in run.of_type("aws:eks/addon:Addon")}},
            groups={**self.groups, **groups},
        )

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{partition_of(self.region)[0]}:{service}:{self.region}:{self.account}:{resource}"

    # --- invokes -------------------------------------------------------------------------------

    def answer(self, token: str, args: dict[str, Any]) -> Any:
        """The invoke's result, or a (result, failures) pair for a failed invoke."""
        handler = self._handlers().get(token)
        if handler is None:
            raise AssertionError(f"the program made an invoke the offline AWS does not answer: {token}")
        return handler(args)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "aws:servicequotas/getServiceQuota:getServiceQuota": self._service_quota,
            "aws:index/getAvailabilityZones:getAvailabilityZones": self._availability_zones,
            "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": self._offerings,
            "aws:ec2/getInstanceType:getInstanceType": lambda args: instance_type_result(args["instanceType"]),
            "aws:ec2/getVpc:getVpc": self._vpc,
            "aws:ssm/getParameter:getParameter": self._ssm_parameter,
            "aws:ec2/getSubnet:getSubnet": self._subnet,
            "aws:ec2/getSubnets:getSubnets": self._subnets,
            "aws:autoscaling/getAmiIds:getAmiIds": self._groups,
            "aws:index/getCallerIdentity:getCallerIdentity": self._caller_identity,
            "aws:index/getPartition:getPartition": self._partition,
            "aws:index/getRegion:getRegion": self._region,
            "aws:eks/getClusters:getClusters": lambda _args: {"id": self.region, "names": list(self.clusters)},
            "aws:eks/getCluster:getCluster": self._cluster,
            "aws:eks/getAddonVersion:getAddonVersion": self._addon_version,
            "aws:eks/getAddon:getAddon": self._addon,
            "aws:ebs/getSnapshot:getSnapshot": self._snapshot,
        }

    def _cluster(self, args: dict[str, Any]) -> Any:
        name = args["name"]
        if name not in self.clusters:
            return {}, [("name", f"ResourceNotFoundException: No cluster found for name: {name}.")]
        subnet_ids = list(self.cluster_subnets.get(name, ()))
        vpc_id = next((self.subnet_vpcs.get(s, FAKE_VPC_ID) for s in subnet_ids), FAKE_VPC_ID)
        state = self.eks_cluster_state(name, {"name": name, "version": self.clusters[name]})
        state["roleArn"] = self.cluster_roles.get(name, state["roleArn"])
        return {**state, "id": name,
                "status": "ACTIVE", "platformVersion": "eks.1",
                "vpcConfig": {"subnetIds": subnet_ids, "vpcId": vpc_id, "securityGroupIds": [],
                              "clusterSecurityGroupId": "sg-0c1a2b3c4d5e6f701", "endpointPrivateAccess": True,
                              "endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}}

    def _addon_version(self, args: dict[str, Any]) -> Any:
        name, minor, most_recent = args["addonName"], args["kubernetesVersion"], bool(args.get("mostRecent"))
        version = self.addon_defaults.get(minor, {}).get(name)
        if version is None:
            return {}, [("kubernetesVersion", f"no version of add-on {name} found for Kubernetes {minor}")]
        if most_recent:
            version = self.addon_newest.get(minor, {}).get(name, version)
        return {"id": name, "addonName": name, "kubernetesVersion": minor, "mostRecent": most_recent,
                "region": self.region, "version": version}

    def _addon(self, args: dict[str, Any]) -> Any:
        cluster, name = args["clusterName"], args["addonName"]
        version = self.addons.get(cluster, {}).get(name)
        if version is None:
            # The data source's words when DescribeAddon finds nothing (ResourceNotFoundException).
            return {}, [("addonName", f"reading EKS Add-On ({cluster}:{name}): couldn't find resource")]
        return {"id": f"{cluster}:{name}", "addonName": name, "addonVersion": version, "clusterName": cluster,
                "arn": self.arn("eks", f"addon/{cluster}/{name}/00000000-0000-0000-0000-000000000000"),
                "configurationValues": "", "createdAt": "2026-07-01T00:00:00Z", "modifiedAt": "2026-07-01T00:00:00Z",
                "podIdentityAssociations": [], "serviceAccountRoleArn": "", "region": self.region,
                "tags": dict(self.addon_tags.get(cluster, {}).get(name, {}))}

    def _service_quota(self, args: dict[str, Any]) -> Any:
        code = args["quotaCode"]
        value = self.quotas.get(code, GENEROUS_QUOTA_VCPUS)
        if value == QUOTA_UNREADABLE:
            # The SDK raises "invoke of ... failed: <reason> (<property>)".
            return {}, [("quotaCode", "AccessDeniedException: not authorized to perform "
                                      "servicequotas:GetServiceQuota")]
        return {"id": f"ec2/{code}", "serviceCode": args["serviceCode"], "quotaCode": code, "quotaName": code,
                "value": float(value), "defaultValue": 0.0, "adjustable": True, "globalQuota": False,
                "region": self.region, "serviceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                "arn": self.arn("servicequotas", f"ec2/{code}"), "usageMetrics": []}

    def _snapshot(self, args: dict[str, Any]) -> Any:
        (snapshot_id,) = args["snapshotIds"]
        if snapshot_id not in self.snapshots:
            # The provider's words when DescribeSnapshots finds nothing.
            return {}, [("snapshotIds", "Your query returned no results. Please change your search criteria and "
                                        "try again.")]
        return {"id": snapshot_id, "snapshotId": snapshot_id, "snapshotIds": [snapshot_id],
                "volumeSize": self.snapshots[snapshot_id], "state": "completed", "encrypted": True,
                "ownerId": self.account, "arn": self.arn("ec2", f"snapshot/{snapshot_id}"),
                "volumeId": "vol-0123456789abcdef0", "storageTier": "standard",
                "tags": dict(self.snapshot_tags.get(snapshot_id, {}))}

    def _availability_zones(self, _args: dict[str, Any]) -> Any:
        return {"id": self.region, "names": self.zone_names, "zoneIds": [zone_id(z) for z in self.zone_names]}

    def _offerings(self, args: dict[str, Any]) -> Any:
        (wanted,) = [f["values"] for f in args["filters"] if f["name"] == "instance-type"]
        self.missing_types.update(t for t in wanted if t not in KNOWN_SHAPES)
        offered = [(t, zone_id(z)) for z in self.zone_names for t in wanted
                   if t in KNOWN_SHAPES and t not in self.not_offered.get(z, set())]
        return {"id": self.region, "instanceTypes": [t for t, _ in offered], "locations": [z for _, z in offered],
                "locationTypes": ["availability-zone-id"] * len(offered)}

    def _vpc(self, args: dict[str, Any]) -> Any:
        return {"id": args["id"], "cidrBlock": self.vpc_cidrs[0],
                "cidrBlockAssociations": [{"cidrBlock": c, "associationId": f"a-{i}", "state": "associated"}
                                          for i, c in enumerate(self.vpc_cidrs)]}

    def _ssm_parameter(self, args: dict[str, Any]) -> Any:
        name = args["name"]
        found = _AMI_PARAMETER.fullmatch(name)
        recommended = self.recommended_ami_release
        if found is None or found["name"] == "release_version" and found["leaf"] != RECOMMENDED:
            return {}, [("name", f"ParameterNotFound: {name}")]
        if found["leaf"] == RECOMMENDED and recommended is None:
            return {}, [("name", f"AccessDeniedException: not authorized to perform ssm:GetParameter on {name}")]
        if found["name"] == "release_version":
            value = f"{found['k8s']}.1-{str(recommended).removeprefix('v')}"
        else:
            release = recommended if found["leaf"] == RECOMMENDED else found["leaf"].rsplit("-", 1)[-1]
            if recommended is not None and str(release) > recommended:
                return {}, [("name", f"ParameterNotFound: {name}")]
            value = fake_ami_id(found["k8s"], found["variant"] == "nvidia", found["arch"], str(release))
        return {"id": name, "name": name, "type": "String", "value": value, "insecureValue": value,
                "arn": self.arn("ssm", f"parameter{name}"), "version": 1}

    def _subnet(self, args: dict[str, Any]) -> Any:
        subnet_id = args["id"]
        zone = self.subnet_zones[subnet_id]
        slices = ipaddress.IPv4Network(self.vpc_cidrs[0]).subnets(new_prefix=20)
        default_cidr = str(next(itertools.islice(slices, list(self.subnet_zones).index(subnet_id), None)))
        return {"id": subnet_id, "availabilityZone": zone, "availabilityZoneId": zone_id(zone),
                "vpcId": self.subnet_vpcs.get(subnet_id, FAKE_VPC_ID),
                "cidrBlock": self.subnet_cidrs.get(subnet_id, default_cidr),
                "tags": dict(self.subnet_tags.get(subnet_id, {}))}

    def _subnets(self, args: dict[str, Any]) -> Any:
        ids = [i for i in self.subnet_zones if _matches(args, {
            "vpc-id": [self.subnet_vpcs.get(i, FAKE_VPC_ID)], "subnet-id": [i]}, self.subnet_tags.get(i, {}))]
        return {"id": self.region, "ids": ids, "filters": args.get("filters") or []}

    def _groups(self, args: dict[str, Any]) -> Any:
        names = [n for n, tags in self.groups.items()
                 if (not args.get("names") or n in args["names"]) and _matches(args, {}, tags)]
        return {"id": self.region, "names": names, "arns": [self.arn(
            "autoscaling", f"autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/{n}")
                                                           for n in names]}

    def _caller_identity(self, _args: dict[str, Any]) -> Any:
        partition = partition_of(self.region)[0]
        return {"id": self.account, "accountId": self.account, "arn": f"arn:{partition}:iam::{self.account}:user/deployer",
                "userId": "AIDAEXAMPLE"}

    def _partition(self, _args: dict[str, Any]) -> Any:
        partition, dns_suffix = partition_of(self.region)
        return {"id": partition, "partition": partition, "dnsSuffix": dns_suffix,
                "reverseDnsPrefix": ".".join(reversed(dns_suffix.split(".")))}

    def _region(self, _args: dict[str, Any]) -> Any:
        return {"id": self.region, "region": self.region, "name": self.region,
                "endpoint": f"ec2.{self.region}.{partition_of(self.region)[1]}", "description": self.region}

    # --- resources ------------------------------------------------------------------------------

    def resource_state(self, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The state of a new custom resource: its inputs plus the outputs the program reads."""
        state: dict[str, Any] = {**inputs, "arn": self.arn("mock", f"{type_.split(':')[-1].lower()}/{name}")}
        if type_ == "aws:kms/key:Key":
            state["keyId"] = f"{name}-key-id"
            state["arn"] = self.arn("kms", f"key/{state['keyId']}")
        if type_ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = self.arn("logs", f"log-group:{inputs.get('name', name)}")
        if type_ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        if type_ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{self.region}.{partition_of(self.region)[1]}/{self.account}/{name}"
            state["arn"] = self.arn("sqs", name)
        if type_ == "aws:autoscaling/group:Group":
            state["arn"] = self.arn("autoscaling", "autoScalingGroup:00000000-0000-0000-0000-000000000000:"
                                                   f"autoScalingGroupName/{inputs.get('name', name)}")
        if "name" not in inputs and type_.startswith("aws:"):
            state["name"] = f"{name}-generated"
        return state

    def eks_cluster_state(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The state of the pulumi-eks cluster `eksCluster` child (an `aws:eks/cluster:Cluster`)."""
        cluster_name = inputs.get("name", name)
        return {
            "name": cluster_name,
            "arn": self.arn("eks", f"cluster/{cluster_name}"),
            "endpoint": f"https://{cluster_name}.gr7.{self.region}.eks.{partition_of(self.region)[1]}",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
            "version": inputs.get("version"),
            # pulumi-eks's own cluster role: `<logical name>-eksRole-role` plus Pulumi's suffix.
            "roleArn": f"arn:{partition_of(self.region)[0]}:iam::{self.account}:role/{name}-eksRole-role-7c1d2e3",
        }


def _matches(args: Mapping[str, Any], fields: Mapping[str, Sequence[str]], tags: Mapping[str, str]) -> bool:
    """Whether a resource with these filterable `fields` and `tags` passes every EC2-style filter of
    `args` (`tag-key`, `tag:<key>`, or a field); a filter this fake does not know fails the invoke."""
    for found in args.get("filters") or []:
        name, values = found["name"], set(found["values"])
        if name == "tag-key":
            have = set(tags)
        elif name.startswith("tag:"):
            have = {tags[name[4:]]} if name[4:] in tags else set()
        elif name in fields:
            have = set(fields[name])
        else:
            raise AssertionError(f"the offline AWS does not answer the filter {name}")
        if not have & values:
            return False
    return True


def fake_ami_id(kubernetes_version: str, gpu: bool, architecture: str, release: str) -> str:
    """The offline AMI ID of an EKS AL2023 AMI: one per minor, variant, architecture and release."""
    name = ami_parameter_name(kubernetes_version, gpu, architecture, release)
    return "ami-" + hashlib.sha256(name.encode()).hexdigest()[:17]


def instance_type_result(instance_type: str) -> dict[str, Any]:
    """aws.ec2.get_instance_type's result for a type of the instance catalog."""
    shape = KNOWN_SHAPES[instance_type]
    gpus = [{"count": shape.gpus, "manufacturer": shape.gpu_manufacturer, "name": shape.gpu_name,
             "memorySize": shape.gpu_memory_mib}] if shape.gpus else []
    return {
        "id": instance_type,
        "instanceType": instance_type,
        "defaultVcpus": shape.vcpus,
        "memorySize": shape.memory_mib,
        "gpuses": gpus,
        "maximumNetworkInterfaces": shape.enis,
        "maximumIpv4AddressesPerInterface": shape.ipv4_per_eni,
        # nodeadm counts the default card's ENIs only; multi-card types list the other cards too.
        "defaultNetworkCardIndex": 0,
        "networkCards": [{"index": i, "maximumInterfaces": shape.default_card_enis, "baselineBandwidth": 10.0,
                          "peakBandwidth": 25.0, "performance": "Up to 25 Gigabit"}
                         for i in range(shape.network_cards)],
        "supportedArchitectures": ["arm64" if shape.arch == "arm64" else "x86_64"],
        "inferenceAccelerators": [],
        # EC2's instance store total and hypervisor, which instance_catalog.nvme_instance_store_gb reads.
        # The table knows neither the disks (none are listed: nothing reads them) nor the store of the Xen
        # types whose store is not NVMe (x1, d2, ...: answered without one, which that rule gives 0 anyway).
        "instanceStorageSupported": bool(shape.local_nvme_gb),
        "totalInstanceStorage": shape.local_nvme_gb,
        "instanceDisks": [],
        "hypervisor": shape.hypervisor,
        "bareMetal": not shape.hypervisor,
        "neuronDevices": [{"count": 1, "name": shape.neuron_device, "coreCount": 2, "coreVersion": 2,
                           "memorySize": 32768}] if shape.neuron_device else [],
    }


@dataclass
class Registered:
    """One resource as the program registered it."""

    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    custom: bool
    protect: bool
    ignore_changes: list[str]
    depends_on: list[str]
    provider: str
    aliases: list[str] = field(default_factory=list)  # alias URNs (aliases given as full URNs)
    deleted_with: str = ""  # the URN of the resource whose deletion takes this one with it
    delete_timeout: str = ""  # `custom_timeouts.delete`, such as "15m"; "" for the provider's own


@dataclass
class ProgramRun:
    """What a run registered and exported, the invokes it made, and the error that stopped it."""

    aws: FakeAws = field(default_factory=FakeAws)
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)  # (severity, message) of pulumi.log
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def children_of(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants_of(self, ancestor: Registered) -> list[Registered]:
        found, frontier = [], [ancestor.urn]
        while frontier:
            urn = frontier.pop()
            kids = [r for r in self.resources if r.parent == urn]
            found.extend(kids)
            frontier.extend(k.urn for k in kids)
        return found

    def kubernetes_objects(self) -> list[Registered]:
        return [r for r in self.resources if r.type.startswith("kubernetes:") and r.custom
                and not r.type.startswith("pulumi:providers:")]


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun) -> None:
        self.run = run
        self.monitor: pulumi_mocks.MockMonitor | None = None

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.run.invokes.append((args.token, dict(args.args)))
        return self.run.aws.answer(args.token, dict(args.args))

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ == "eks:index:Cluster":
            return f"{args.name}-id", self._eks_cluster_outputs(args.name, inputs)
        return f"{args.name}-id", self.run.aws.resource_state(args.typ, args.name, inputs)

    def _eks_cluster_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """pulumi-eks's remote component shows no children under mocks: its `eksCluster` output is
        a resource reference to a child registered here by hand."""
        assert self.monitor is not None
        state = self.run.aws.eks_cluster_state(name, inputs)
        urn = self.monitor.make_urn("", "aws:eks/cluster:Cluster", f"{name}-eksCluster")
        self.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, state["name"], state)
        kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": state["name"], "cluster": {
            "server": state["endpoint"], "certificate-authority-data": state["certificateAuthority"]["data"]}}]}
        return {
            **inputs,
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig),
            "clusterSecurityGroupId": "sg-0c1a2b3c4d5e6f701",
            "nodeSecurityGroupId": "sg-0a1b2c3d4e5f67890",
            "eksCluster": {_SPECIAL_SIG_KEY: _RESOURCE_REFERENCE_SIG, "urn": urn, "id": state["name"]},
        }


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also records parents and resource options, which `Mocks` never sees, and
    gives the URNs the engine gives."""

    def __init__(self, mocks: _Mocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self.run = run

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's whole type chain (the root stack's type left out), then the
        type. Pulumi's own mock keeps only the parent's last type, so a renamed component type, or an
        alias derived from a parent's URN, would look right under mocks and differ in a real stack."""
        if parent:
            chain = parent.split("::")[2]
            if chain != "pulumi:pulumi:Stack":
                type_ = f"{chain}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.run.resources.append(Registered(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object),
                custom=bool(request.custom),
                protect=bool(request.protect),
                ignore_changes=list(request.ignoreChanges),
                depends_on=list(request.dependencies),
                provider=request.provider,
                aliases=[alias.urn for alias in request.aliases if alias.urn],
                deleted_with=request.deletedWith,
                delete_timeout=request.customTimeouts.delete,
            ))
        return response


def config_strings(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values as Pulumi hands them to a program: strings, with objects and lists as JSON."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def stack_config(path: Path) -> dict[str, Any]:
    """The `config:` of a Pulumi.<stack>.yaml file."""
    return dict(yaml.safe_load(path.read_text()).get("config") or {})


def project_name(project_dir: Path) -> str:
    """The `name:` of a project's Pulumi.yaml."""
    return str(yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"])


def run_program(config: Mapping[str, Any], *, main: Path, project: str, stack: str,
                aws: FakeAws | None = None, catch_errors: bool = False) -> ProgramRun:
    """Run the program file `main` with `config` under mocks answered by `aws`.

    `config` keys with a namespace (`aws:region`) are taken as they are; others are the project's
    (`<project>:<key>`). `aws` defaults to the facts of the config's `aws:region`. With
    `catch_errors`, an error the program raises is returned in `.error`, with whatever was
    registered before it; otherwise it propagates.
    """
    full_config = {key if ":" in key else f"{project}:{key}": value for key, value in config.items()}
    region = str(full_config.get("aws:region") or DEFAULT_REGION)
    full_config.setdefault("aws:region", region)
    run = ProgramRun(aws=aws or FakeAws(region=region))
    program_mocks = _Mocks(run)
    monitor = _RecordingMonitor(program_mocks, run)
    program_mocks.monitor = monitor
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(program_mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config_strings(full_config))

    exports: dict[str, Any] = {}

    async def resolve_exports() -> None:
        for name, value in exports.items():
            output = pulumi.Output.from_input(value)
            run.outputs[name] = await output.future()
            if await output.is_secret():
                run.secret_outputs.add(name)

    def recorded(severity: str, write: Callable[..., None]) -> Callable[..., None]:
        def log(message: str, *args: Any, **kwargs: Any) -> None:
            run.logs.append((severity, message))
            write(message, *args, **kwargs)
        return log

    def program() -> Any:
        with mock.patch.object(pulumi, "export", lambda name, value: exports.__setitem__(name, value)), \
                mock.patch.object(pulumi.log, "info", recorded("info", pulumi.log.info)), \
                mock.patch.object(pulumi.log, "warn", recorded("warning", pulumi.log.warn)):
            runpy.run_path(str(main), run_name="__main__")
        return resolve_exports()

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as error:  # noqa: BLE001 handed to the caller
        if not catch_errors:
            raise
        run.error = error
    return run
