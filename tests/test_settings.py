"""The cluster-wide settings types (components/settings.py), constructed directly: every refusal at its
limit and one step past it, the message naming the field, and the defaults each part resolves."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from components.errors import InvalidValueError
from components.image_cache import ImageCacheSpec
from components.logs import DEFAULT_LOG_RETENTION_DAYS
from components.pool_spec import NodePoolSpec
from components.settings import (
    ClusterAutoscalerSettings,
    ClusterSettings,
    DevicePluginSettings,
    ExistingVpcSettings,
    NewVpcSettings,
    Settings,
    TerminationHandlerSettings,
    default_gpu_pools,
)
from components.userdata import MAX_PODS_EXPRESSION_SINCE
from components.versions import (
    CLUSTER_AUTOSCALER_IMAGE_REPOSITORY,
    CLUSTER_AUTOSCALER_TAGS,
    DEFAULT_AMI_RELEASE_VERSION,
    DEFAULT_KUBERNETES_VERSION,
    NODE_TERMINATION_HANDLER_IMAGE,
    NVIDIA_DEVICE_PLUGIN_IMAGE,
)

CA = CLUSTER_AUTOSCALER_IMAGE_REPOSITORY
SNAPSHOT = "snap-0123456789abcdef0"
OTHER_SNAPSHOT = "snap-0123456789abcdef1"


def refused(build: Callable[[], object]) -> list[tuple[str, object, str]]:
    """Every refused value of `build()`: (field, value, allowed), in the order found."""
    with pytest.raises(InvalidValueError) as raised:
        build()
    return [(e.field, e.value, e.allowed) for e in raised.value.errors]


def message(build: Callable[[], object]) -> str:
    with pytest.raises(InvalidValueError) as raised:
        build()
    return str(raised.value)


def settings(**overrides: Any) -> Settings:
    return Settings(**{"project": "p", "stack": "s", "region": "us-east-1", "cluster": ClusterSettings(name="ml"),
                       **overrides})


def gpu(name: str = "gpu", **fields: Any) -> NodePoolSpec:
    return NodePoolSpec(name=name, gpu=True, **fields)


def public_cidrs(count: int) -> list[str]:
    return [f"198.51.{i}.0/24" for i in range(count)]


# --- ClusterSettings ------------------------------------------------------------------------------

def test_cluster_defaults() -> None:
    cluster = ClusterSettings(name="ml")
    assert cluster.kubernetes_version == DEFAULT_KUBERNETES_VERSION
    assert (cluster.ami_release_version, cluster.ami_release_from_config) == (DEFAULT_AMI_RELEASE_VERSION, False)
    assert cluster.public_access_cidrs == ("0.0.0.0/0",)
    assert cluster.log_types == ("api", "audit", "authenticator")
    assert cluster.log_retention_days == DEFAULT_LOG_RETENTION_DAYS
    assert (cluster.service_cidr, cluster.service_network) == ("172.20.0.0/16", ipaddress.IPv4Network("172.20.0.0/16"))
    assert (cluster.tags, cluster.managed_addon_versions, cluster.deletion_protection) == ({}, {}, False)
    assert cluster.endpoint_public_access is True
    assert cluster.resource_tags == {"eks-gpu-spot/cluster": "ml"}


@pytest.mark.parametrize("release", [DEFAULT_AMI_RELEASE_VERSION, "v20250101", "recommended"])
def test_a_given_ami_release_is_kept_and_marked_as_from_config(release: str) -> None:
    cluster = ClusterSettings(name="ml", ami_release_version=release)
    assert (cluster.ami_release_version, cluster.ami_release_from_config) == (release, True)


def test_a_bad_ami_release_or_retention_is_refused() -> None:
    assert refused(lambda: ClusterSettings(name="ml", ami_release_version="latest"))[0][:2] == (
        "ami_release_version", "latest")
    assert refused(lambda: ClusterSettings(name="ml", log_retention_days=8))[0][:2] == ("log_retention_days", 8)
    assert ClusterSettings(name="ml", log_retention_days=7).log_retention_days == 7


@pytest.mark.parametrize("name", ["m", "x" * 100, "1ml", "ml_gpu-2", "ML"])
def test_cluster_names_accepted(name: str) -> None:
    assert ClusterSettings(name=name).name == name


NAME_RULE = "must be 1-100 letters, digits, '-' or '_', starting with a letter or digit"


@pytest.mark.parametrize("name", ["x" * 101, "", "-ml", "_ml", "ml.gpu", "ml gpu"])
def test_cluster_names_refused(name: str) -> None:
    assert refused(lambda: ClusterSettings(name=name)) == [("name", name, NAME_RULE)]


def test_a_cluster_name_that_is_not_a_string() -> None:
    assert message(lambda: ClusterSettings(name=5)) == (  # type: ignore[arg-type]
        "name: got 5; must be 1-100 letters, digits, '-' or '_', starting with a letter or digit, not a whole number")


def test_kubernetes_versions() -> None:
    assert ClusterSettings(name="ml", kubernetes_version="1.32").kubernetes_version == "1.32"
    assert refused(lambda: ClusterSettings(name="ml", kubernetes_version="1.31")) == [
        ("kubernetes_version", "1.31", "must be one of: 1.32, 1.33, 1.34, 1.35, 1.36")]


def test_user_tags_are_kept_as_a_dict_and_carried_with_the_projects() -> None:
    cluster = ClusterSettings(name="ml", tags=MappingProxyType({"team": "ml", "eks-gpu-spot": "x"}))
    assert type(cluster.tags) is dict and cluster.tags == {"team": "ml", "eks-gpu-spot": "x"}
    assert cluster.resource_tags == {"team": "ml", "eks-gpu-spot": "x", "eks-gpu-spot/cluster": "ml"}


MANAGED = ("the program manages the tags under '{}' (autoscaler discovery and node templates, Kubernetes cluster "
           "and subnet roles, EKS, the termination handler); choose another key")


@pytest.mark.parametrize(("key", "prefix"), [
    ("k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/"),
    ("kubernetes.io/cluster/ml", "kubernetes.io/"),
    ("Kubernetes.IO/role/elb", "kubernetes.io/"),
    ("eks:cluster-name", "eks:"),
    ("aws-node-termination-handler/managed", "aws-node-termination-handler/"),
    ("EKS-GPU-SPOT/cluster", "eks-gpu-spot/"),
])
def test_tags_under_a_managed_prefix_are_refused_naming_it(key: str, prefix: str) -> None:
    assert refused(lambda: ClusterSettings(name="ml", tags={key: "x"})) == [(f"tags.{key}", key, MANAGED.format(prefix))]


@pytest.mark.parametrize("key", ["k8s.io/other", "kubernetes.iox/role", "eks-x", "aws-node-termination-handler",
                                 "eks-gpu-spot"])
def test_tags_next_to_a_managed_prefix_are_accepted(key: str) -> None:
    assert ClusterSettings(name="ml", tags={key: "x"}).tags == {key: "x"}


def test_every_bad_tag_is_reported() -> None:
    errors = refused(lambda: ClusterSettings(name="ml", tags={"aws:a": "x", "ok": "y", "eks:b": "z"}))
    assert [field for field, _, _ in errors] == ["tags.aws:a", "tags.eks:b"]
    assert errors[1] == ("tags.eks:b", "eks:b", MANAGED.format("eks:"))
    assert refused(lambda: ClusterSettings(name="ml", tags=["a"]))[0][0] == "tags"  # type: ignore[arg-type]


def test_the_public_endpoint_and_its_cidrs() -> None:
    assert ClusterSettings(name="ml", endpoint_public_access=False).public_access_cidrs == ()
    given = ClusterSettings(name="ml", public_access_cidrs=["203.0.113.0/24", "172.15.0.0/16"])
    assert given.public_access_cidrs == ("203.0.113.0/24", "172.15.0.0/16")
    assert refused(lambda: ClusterSettings(name="ml", endpoint_public_access=False,
                                           public_access_cidrs=("203.0.113.0/24",))) == [
        ("public_access_cidrs", ["203.0.113.0/24"], "applies only while the public endpoint is on; remove it, or "
                                                    "turn the public endpoint on")]
    assert refused(lambda: ClusterSettings(name="ml", endpoint_public_access="no"))[0] == (  # type: ignore[arg-type]
        "endpoint_public_access", "no", "must be true or false, not a string")


def test_public_access_cidrs_number_1_to_40() -> None:
    allowed = "must list 1 to 40 CIDRs (EKS accepts at most 40 per cluster)"
    assert ClusterSettings(name="ml", public_access_cidrs=public_cidrs(40)).public_access_cidrs == tuple(public_cidrs(40))
    assert ClusterSettings(name="ml", public_access_cidrs=public_cidrs(1)).public_access_cidrs == ("198.51.0.0/24",)
    assert refused(lambda: ClusterSettings(name="ml", public_access_cidrs=public_cidrs(41))) == [
        ("public_access_cidrs", public_cidrs(41), allowed)]
    assert refused(lambda: ClusterSettings(name="ml", public_access_cidrs=[])) == [("public_access_cidrs", [], allowed)]


PUBLIC_ONLY = ("the public endpoint sees public source addresses only (private ones reach it through NAT), so a "
               "private (10/8, 172.16/12, 192.168/16), loopback or link-local range never matches; reach the API "
               "from inside the VPC through the private endpoint")


@pytest.mark.parametrize("cidr", ["10.1.0.0/16", "172.16.0.0/12", "172.31.255.0/24", "192.168.1.0/24", "127.0.0.0/8",
                                  "169.254.0.0/16"])
def test_private_loopback_and_link_local_sources_are_refused(cidr: str) -> None:
    assert refused(lambda: ClusterSettings(name="ml", public_access_cidrs=["203.0.113.0/24", cidr])) == [
        ("public_access_cidrs[1]", cidr, PUBLIC_ONLY)]


def test_every_bad_public_cidr_is_reported_with_the_example() -> None:
    assert refused(lambda: ClusterSettings(name="ml", public_access_cidrs=["10.0.0.0/8", "x"])) == [
        ("public_access_cidrs[0]", "10.0.0.0/8", PUBLIC_ONLY),
        ("public_access_cidrs[1]", "x", "must be an IPv4 CIDR such as '203.0.113.0/24' (host bits zero)")]


def test_log_types() -> None:
    every = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert ClusterSettings(name="ml", log_types=every).log_types == tuple(every)
    assert ClusterSettings(name="ml", log_types=[]).log_types == ()
    assert refused(lambda: ClusterSettings(name="ml", log_types=["api", "bogus", "audit", "x"])) == [
        ("log_types[1]", "bogus", "must be one of: " + ", ".join(every)),
        ("log_types[3]", "x", "must be one of: " + ", ".join(every))]
    assert refused(lambda: ClusterSettings(name="ml", log_types=["api", "audit", "api"])) == [
        ("log_types", ["api", "audit", "api"], "must not repeat a value (repeated: api)")]
    assert refused(lambda: ClusterSettings(name="ml", log_types="api"))[0][0] == "log_types"  # type: ignore[arg-type]


SERVICE_RULE = "EKS needs a private range (inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) from /12 to /24"


@pytest.mark.parametrize("cidr", ["10.0.0.0/12", "10.100.0.0/24", "172.16.0.0/12", "192.168.0.0/16"])
def test_service_cidrs_accepted(cidr: str) -> None:
    assert ClusterSettings(name="ml", service_cidr=cidr).service_network == ipaddress.IPv4Network(cidr)


@pytest.mark.parametrize("cidr", ["10.0.0.0/11", "10.100.0.0/25", "10.0.0.0/8", "100.64.0.0/16", "172.32.0.0/16"])
def test_service_cidrs_refused(cidr: str) -> None:
    assert refused(lambda: ClusterSettings(name="ml", service_cidr=cidr)) == [("service_cidr", cidr, SERVICE_RULE)]


def test_a_service_cidr_that_is_no_cidr_gets_the_example() -> None:
    assert refused(lambda: ClusterSettings(name="ml", service_cidr="10.0.0.1/16")) == [
        ("service_cidr", "10.0.0.1/16", "must be an IPv4 CIDR such as '172.20.0.0/16' (host bits zero)")]


def test_deletion_protection_is_a_boolean() -> None:
    assert ClusterSettings(name="ml", deletion_protection=True).deletion_protection is True
    assert refused(lambda: ClusterSettings(name="ml", deletion_protection="true")) == [  # type: ignore[arg-type]
        ("deletion_protection", "true", "must be true or false, not a string")]


ADDON_VERSION = "must be an EKS add-on version such as 'v1.19.2-eksbuild.1'"


def test_managed_addon_versions() -> None:
    versions = {"vpcCni": "v1.19.2-eksbuild.1", "kubeProxy": "v1.35.0-eksbuild.2", "coredns": "v1.11.4-eksbuild.10",
                "podIdentityAgent": "v1.3.4-eksbuild.1"}
    cluster = ClusterSettings(name="ml", managed_addon_versions=MappingProxyType(versions))
    assert type(cluster.managed_addon_versions) is dict and cluster.managed_addon_versions == versions
    assert refused(lambda: ClusterSettings(name="ml", managed_addon_versions={
        "cni": "v1.19.2-eksbuild.1", "coredns": "1.11.4", "kubeProxy": "v1.35.0-eksbuild.x"})) == [
        ("managed_addon_versions", "cni", "must be one of: vpcCni, kubeProxy, coredns, podIdentityAgent"),
        ("managed_addon_versions.coredns", "1.11.4", ADDON_VERSION),
        ("managed_addon_versions.kubeProxy", "v1.35.0-eksbuild.x", ADDON_VERSION)]
    assert refused(lambda: ClusterSettings(name="ml", managed_addon_versions="vpcCni=v1")) == [  # type: ignore[arg-type]
        ("managed_addon_versions", "vpcCni=v1", "must be an object of string values, not a string")]
    assert refused(lambda: ClusterSettings(name="ml", managed_addon_versions={"vpcCni": 1})) == [  # type: ignore[dict-item]
        ("managed_addon_versions.vpcCni", 1, "must be a string, not a whole number")]


def test_every_bad_cluster_field_is_reported_at_once() -> None:
    errors = refused(lambda: ClusterSettings(
        name="-", kubernetes_version="1.0", ami_release_version="x", log_retention_days=2, tags={"aws:x": "y"},
        public_access_cidrs=["10.0.0.0/8"], log_types=["x"], service_cidr="8.8.8.0/24",
        deletion_protection=0, managed_addon_versions={"x": "y"}))  # type: ignore[arg-type]
    assert [field for field, _, _ in errors] == [
        "ami_release_version", "log_retention_days", "name", "kubernetes_version", "tags.aws:x",
        "public_access_cidrs[0]", "log_types[0]", "service_cidr", "deletion_protection", "managed_addon_versions"]


# --- NewVpcSettings -------------------------------------------------------------------------------

def test_new_vpc_defaults() -> None:
    network = NewVpcSettings()
    assert (network.vpc_cidr, network.az_count, network.nat_mode) == ("10.0.0.0/16", 3, "single")
    assert (network.private_subnet_cidrs, network.public_subnet_cidrs, network.availability_zone_ids) == ((), (), ())
    assert (network.flow_logs, network.flow_log_retention_days) == (False, DEFAULT_LOG_RETENTION_DAYS)
    assert network.creates_vpc is True and ExistingVpcSettings("vpc-0abc1234", ("subnet-0abc1234",
                                                                               "subnet-0abc1235")).creates_vpc is False


def test_flow_logs() -> None:
    network = NewVpcSettings(flow_logs=True, flow_log_retention_days=7)
    assert (network.flow_logs, network.flow_log_retention_days) == (True, 7)
    assert refused(lambda: NewVpcSettings(flow_logs="yes", flow_log_retention_days=8)) == [  # type: ignore[arg-type]
        ("flow_logs", "yes", "must be true or false, not a string"),
        ("flow_log_retention_days", 8, refused(lambda: ClusterSettings(name="ml", log_retention_days=8))[0][2])]


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.0.0/22", "192.168.0.0/20"])
def test_vpc_cidrs_accepted(cidr: str) -> None:
    assert NewVpcSettings(vpc_cidr=cidr).vpc_cidr == cidr


@pytest.mark.parametrize("cidr", ["10.0.0.0/15", "10.0.0.0/23"])
def test_vpc_cidrs_refused(cidr: str) -> None:
    assert refused(lambda: NewVpcSettings(vpc_cidr=cidr)) == [
        ("vpc_cidr", cidr, "must be between /16 and /22 so that its subnets fit")]


@pytest.mark.parametrize("count", [2, 6])
def test_az_counts_accepted(count: int) -> None:
    assert NewVpcSettings(az_count=count).az_count == count


@pytest.mark.parametrize("count", [1, 7])
def test_az_counts_refused(count: int) -> None:
    assert refused(lambda: NewVpcSettings(az_count=count)) == [
        ("az_count", count, "must be a whole number from 2 to 6")]


def test_nat_modes() -> None:
    assert NewVpcSettings(nat_mode="perAz").nat_mode == "perAz"
    assert refused(lambda: NewVpcSettings(nat_mode="none")) == [("nat_mode", "none", "must be one of: single, perAz")]


def test_zone_ids_set_the_count() -> None:
    network = NewVpcSettings(availability_zone_ids=["use1-az4", "use1-az1"])
    assert (network.availability_zone_ids, network.az_count) == (("use1-az4", "use1-az1"), 2)
    six = [f"use1-az{i}" for i in (1, 2, 4, 5, 6)] + ["use1-az7"]
    assert NewVpcSettings(availability_zone_ids=six).az_count == 6


ZONE_ID_RULE = ("must be a zone ID such as 'use1-az1' (`aws ec2 describe-availability-zones --query "
                "'AvailabilityZones[].[ZoneName,ZoneId]'`), not a zone name")
ZONE_COUNT_RULE = "must list 2 to 6 zone IDs (EKS needs subnets in at least 2 zones)"


def test_zone_ids_refused() -> None:
    assert refused(lambda: NewVpcSettings(az_count=2, availability_zone_ids=["use1-az1", "use1-az2"])) == [
        ("availability_zone_ids", ["use1-az1", "use1-az2"], "sets the zones and so their number: leave the zone count "
                                                            "(availabilityZoneCount) unset")]
    # Not a list at all: refused alone, and the zone count is not taken from it.
    assert refused(lambda: NewVpcSettings(availability_zone_ids=5)) == [  # type: ignore[arg-type]
        ("availability_zone_ids", 5, "must be a list of zone IDs, not a whole number")]
    assert refused(lambda: NewVpcSettings(availability_zone_ids=["use1-az1", "us-east-1a", "USE1-AZ2"])) == [
        ("availability_zone_ids[1]", "us-east-1a", ZONE_ID_RULE), ("availability_zone_ids[2]", "USE1-AZ2", ZONE_ID_RULE)]
    assert refused(lambda: NewVpcSettings(availability_zone_ids=["use1-az1", "usw1-az2", "use1-az3"])) == [
        (f"availability_zone_ids[{i}]", zone, "EKS does not allow control-plane subnets in this zone (cac1-az3, "
                                              "use1-az3, usw1-az2); choose another") for i, zone in ((1, "usw1-az2"),
                                                                                                   (2, "use1-az3"))]
    assert refused(lambda: NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az2", "use1-az1"])) == [
        ("availability_zone_ids", ["use1-az1", "use1-az2", "use1-az1"], "must not repeat a value (repeated: use1-az1)")]


def test_zone_ids_number_2_to_6() -> None:
    seven = [f"use1-az{i}" for i in (1, 2, 4, 5, 6, 7, 8)]
    assert refused(lambda: NewVpcSettings(availability_zone_ids=["use1-az1"])) == [
        ("availability_zone_ids", ["use1-az1"], ZONE_COUNT_RULE)]
    assert refused(lambda: NewVpcSettings(availability_zone_ids=seven)) == [("availability_zone_ids", seven,
                                                                            ZONE_COUNT_RULE)]


def test_bad_zone_ids_leave_the_subnets_unchecked() -> None:
    # The subnet count follows the zone IDs: with those refused, a count would only mislead.
    errors = refused(lambda: NewVpcSettings(availability_zone_ids=["use1-az1", "x"],
                                            private_subnet_cidrs=["10.0.0.0/24"]))
    assert [field for field, _, _ in errors] == ["availability_zone_ids[1]"]


def test_given_subnets_one_per_zone() -> None:
    network = NewVpcSettings(az_count=2, private_subnet_cidrs=["10.0.0.0/24", "10.0.1.0/28"],
                             public_subnet_cidrs=["10.0.2.0/24", "10.0.3.0/24"])
    assert network.private_subnet_cidrs == ("10.0.0.0/24", "10.0.1.0/28")
    assert network.public_subnet_cidrs == ("10.0.2.0/24", "10.0.3.0/24")
    by_ids = NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az2"], public_subnet_cidrs=["10.0.2.0/24",
                                                                                                 "10.0.3.0/24"])
    assert by_ids.public_subnet_cidrs == ("10.0.2.0/24", "10.0.3.0/24")
    assert refused(lambda: NewVpcSettings(public_subnet_cidrs=["10.0.2.0/24", "10.0.3.0/24"])) == [
        ("public_subnet_cidrs", ["10.0.2.0/24", "10.0.3.0/24"], "must list one CIDR per Availability Zone (3)")]
    assert refused(lambda: NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az2"],
                                          private_subnet_cidrs=["10.0.2.0/24"])) == [
        ("private_subnet_cidrs", ["10.0.2.0/24"], "must list one CIDR per Availability Zone (2)")]


def test_given_subnets_inside_the_vpc_28_or_larger_and_apart() -> None:
    assert refused(lambda: NewVpcSettings(az_count=2, private_subnet_cidrs=["10.1.0.0/24", "10.0.1.0/29"],
                                          public_subnet_cidrs=["10.0.0.0/23", "x"])) == [
        ("private_subnet_cidrs[0]", "10.1.0.0/24", "each subnet must lie inside the VPC CIDR 10.0.0.0/16"),
        ("private_subnet_cidrs[1]", "10.0.1.0/29", "each subnet must be /28 or larger"),
        ("public_subnet_cidrs[1]", "x", "must be an IPv4 CIDR such as '10.0.0.0/19' (host bits zero)")]
    assert refused(lambda: NewVpcSettings(az_count=2, private_subnet_cidrs=["10.0.0.0/24", "10.0.1.0/24"],
                                          public_subnet_cidrs=["10.0.2.0/24", "10.0.1.0/25"])) == [
        ("public_subnet_cidrs[1]", "10.0.1.0/25", "subnets must not overlap (overlaps 10.0.1.0/24)")]
    assert refused(lambda: NewVpcSettings(az_count=2, private_subnet_cidrs=["10.0.0.0/23", "10.0.1.0/24"])) == [
        ("private_subnet_cidrs[1]", "10.0.1.0/24", "subnets must not overlap (overlaps 10.0.0.0/23)")]


def test_subnets_are_checked_only_against_a_good_vpc_and_count() -> None:
    assert [f for f, _, _ in refused(lambda: NewVpcSettings(vpc_cidr="10.0.0.0/24",
                                                            private_subnet_cidrs=["10.9.0.0/24"]))] == ["vpc_cidr"]
    assert [f for f, _, _ in refused(lambda: NewVpcSettings(az_count=1,
                                                            private_subnet_cidrs=["10.9.0.0/24"]))] == ["az_count"]


def test_every_bad_new_vpc_field_is_reported_at_once() -> None:
    errors = refused(lambda: NewVpcSettings(flow_logs=1, flow_log_retention_days=2, vpc_cidr="10.0.0.0/8",  # type: ignore[arg-type]
                                            az_count=9, nat_mode="x"))
    assert [field for field, _, _ in errors] == ["flow_logs", "flow_log_retention_days", "vpc_cidr", "az_count",
                                                 "nat_mode"]


# --- ExistingVpcSettings --------------------------------------------------------------------------

def test_existing_vpc_ids() -> None:
    network = ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234", "subnet-0123456789abcdef0"],
                                  ["subnet-0abc1235"])
    assert network.private_subnet_ids == ("subnet-0abc1234", "subnet-0123456789abcdef0")
    assert network.public_subnet_ids == ("subnet-0abc1235",) and network.az_count == 2
    assert ExistingVpcSettings("vpc-" + "a" * 17, ("subnet-0abc1234", "subnet-0abc1235")).vpc_id == "vpc-" + "a" * 17


@pytest.mark.parametrize("vpc_id", ["vpc-0abc123", "vpc-" + "a" * 18, "vpc-0ABC1234", "subnet-0abc1234"])
def test_existing_vpc_ids_refused(vpc_id: str) -> None:
    assert refused(lambda: ExistingVpcSettings(vpc_id, ("subnet-0abc1234", "subnet-0abc1235"))) == [
        ("vpc_id", vpc_id, "must be a VPC ID such as 'vpc-0abc1234'")]


def test_existing_subnet_ids_refused() -> None:
    rule = "must be a subnet ID such as 'subnet-0abc1234'"
    assert refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234", "subnet-0abc123"],
                                               ["subnet-" + "b" * 18])) == [
        ("private_subnet_ids[1]", "subnet-0abc123", rule), ("public_subnet_ids[0]", "subnet-" + "b" * 18, rule)]
    assert refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234", "subnet-0abc1234"])) == [
        ("private_subnet_ids", ["subnet-0abc1234", "subnet-0abc1234"],
         "must not repeat a value (repeated: subnet-0abc1234)")]
    assert refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234", "subnet-0abc1235"],
                                               ["subnet-0abc1236", "subnet-0abc1236"]))[0][0] == "public_subnet_ids"


def test_an_existing_vpc_needs_two_private_subnets_none_public_too() -> None:
    assert refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234"])) == [
        ("private_subnet_ids", ["subnet-0abc1234"], "an existing VPC needs at least 2 private subnets, in different "
                                                    "Availability Zones")]
    assert refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234", "subnet-0abc1235"],
                                               ["subnet-0abc1235", "subnet-0abc1236", "subnet-0abc1234"])) == [
        ("public_subnet_ids", ["subnet-0abc1235", "subnet-0abc1236", "subnet-0abc1234"],
         "a subnet cannot be both private and public (subnet-0abc1234, subnet-0abc1235)")]


def test_an_existing_vpcs_bad_subnet_ids_are_reported_alone() -> None:
    # One of two private IDs refused: "at least 2" would blame the count the user got right.
    assert [f for f, _, _ in refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-x", "subnet-0abc1234"],
                                                                 ["subnet-0abc1234"]))] == ["private_subnet_ids[0]"]
    assert [f for f, _, _ in refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-x"]))] == [
        "private_subnet_ids[0]"]
    assert [f for f, _, _ in refused(lambda: ExistingVpcSettings("vpc-0abc1234", ["subnet-0abc1234", "subnet-0abc1235"],
                                                                 ["subnet-0abc1234", "x"]))] == ["public_subnet_ids[1]"]


# --- the add-ons ----------------------------------------------------------------------------------

def test_device_plugin() -> None:
    plugin = DevicePluginSettings()
    assert (plugin.enabled, plugin.image) == (True, NVIDIA_DEVICE_PLUGIN_IMAGE)
    errors = refused(lambda: DevicePluginSettings(enabled=1, image="nvidia/k8s-device-plugin:latest"))  # type: ignore[arg-type]
    assert [(field, value) for field, value, _ in errors] == [("enabled", 1),
                                                             ("image", "nvidia/k8s-device-plugin:latest")]


def test_termination_handler() -> None:
    handler = TerminationHandlerSettings()
    assert (handler.enabled, handler.image, handler.heartbeat_timeout_seconds) == (True, NODE_TERMINATION_HANDLER_IMAGE,
                                                                                   300)
    errors = refused(lambda: TerminationHandlerSettings(enabled="no", image="x:latest"))  # type: ignore[arg-type]
    assert [(field, value) for field, value, _ in errors] == [("enabled", "no"), ("image", "x:latest")]


@pytest.mark.parametrize("seconds", [30, 7200])
def test_heartbeat_limits_accepted(seconds: int) -> None:
    assert TerminationHandlerSettings(heartbeat_timeout_seconds=seconds).heartbeat_timeout_seconds == seconds


@pytest.mark.parametrize("seconds", [29, 7201])
def test_heartbeat_limits_refused(seconds: int) -> None:
    assert refused(lambda: TerminationHandlerSettings(heartbeat_timeout_seconds=seconds)) == [
        ("heartbeat_timeout_seconds", seconds, "must be a whole number from 30 to 7200")]


def test_autoscaler_defaults() -> None:
    autoscaler = ClusterAutoscalerSettings()
    assert (autoscaler.enabled, autoscaler.image, autoscaler.image_tags, autoscaler.expander) == (
        True, "", {}, "priority,least-waste")
    assert (autoscaler.scale_down_unneeded_time, autoscaler.scale_down_delay_after_add,
            autoscaler.scale_down_utilization_threshold, autoscaler.max_node_provision_time) == ("10m", "5m", "0.5", "15m")


def test_autoscaler_enabled_image_and_expander() -> None:
    assert ClusterAutoscalerSettings(enabled=False).enabled is False
    for expander in ("priority,least-waste", "least-waste", "priority"):
        assert ClusterAutoscalerSettings(expander=expander).expander == expander
    errors = refused(lambda: ClusterAutoscalerSettings(enabled="yes", image=f"{CA}:latest", expander="random"))  # type: ignore[arg-type]
    assert [(field, value) for field, value, _ in errors] == [("enabled", "yes"), ("image", f"{CA}:latest"),
                                                             ("expander", "random")]
    assert errors[2][2] == "must be one of: priority,least-waste, least-waste, priority"


def test_autoscaler_image_tags_of_their_own_minor() -> None:
    tags = {"1.35": "v1.35.9", "1.36": "v1.36.10"}
    assert ClusterAutoscalerSettings(image_tags=tags).image_tags == tags
    bad = {"1.35": "v1.34.1", "1.36": "v1.36.1-rc.1", "1.34": "v1x34.1", "1.33": "1.33.0"}
    assert refused(lambda: ClusterAutoscalerSettings(image_tags=bad)) == [
        (f"image_tags.{minor}", tag, f"must be a Cluster Autoscaler tag of the same minor, such as 'v{minor}.0'")
        for minor, tag in bad.items()]
    assert refused(lambda: ClusterAutoscalerSettings(image_tags=["v1.35.0"])) == [  # type: ignore[arg-type]
        ("image_tags", ["v1.35.0"], "must be an object of string values, not a list")]


DURATIONS = [
    # field, at the lower limit, below it, at the upper limit, above it, the bounds in words
    ("scale_down_unneeded_time", "1m", "59s", "24h", "24h1s", "from 1m to 1440m"),
    ("scale_down_delay_after_add", "0s", None, "1440m", "86401s", "from 0s to 1440m"),
    ("max_node_provision_time", "60s", "59s", "1h", "3601s", "from 1m to 60m"),
]


@pytest.mark.parametrize(("field", "lowest", "below", "highest", "above", "bounds"), DURATIONS)
def test_autoscaler_duration_limits(field: str, lowest: str, below: str | None, highest: str, above: str,
                                    bounds: str) -> None:
    allowed = f"must be a duration such as '5m', '90s' or '1h30m', {bounds}"
    for good in (lowest, highest):
        values: dict[str, Any] = {field: good}
        assert getattr(ClusterAutoscalerSettings(**values), field) == good
    for bad in (below, above):
        if bad is not None:
            wrong: dict[str, Any] = {field: bad}
            assert refused(lambda wrong=wrong: ClusterAutoscalerSettings(**wrong)) == [(field, bad, allowed)]


@pytest.mark.parametrize("threshold", ["0", "1", "0.5", "0.05", "1.0", "1.00", "0.999"])
def test_utilization_thresholds_accepted(threshold: str) -> None:
    assert ClusterAutoscalerSettings(scale_down_utilization_threshold=threshold).scale_down_utilization_threshold == \
        threshold


@pytest.mark.parametrize("threshold", ["1.5", "2", ".5", "-0.1", "1.01", "0.", "00.5", 0.5])
def test_utilization_thresholds_refused(threshold: object) -> None:
    errors = refused(lambda: ClusterAutoscalerSettings(scale_down_utilization_threshold=threshold))  # type: ignore[arg-type]
    allowed = "must be a number from 0 to 1 written as a string, such as '0.5'"
    assert errors == [("scale_down_utilization_threshold", threshold,
                       allowed if isinstance(threshold, str) else allowed + ", not a decimal number")]


def test_the_autoscaler_image_of_a_minor() -> None:
    assert ClusterAutoscalerSettings().image_for("1.35") == f"{CA}:{CLUSTER_AUTOSCALER_TAGS['1.35']}"
    assert ClusterAutoscalerSettings().image_for("1.31") == f"{CA}:v1.31.5"
    assert ClusterAutoscalerSettings(image_tags={"1.35": "v1.35.9"}).image_for("1.35") == f"{CA}:v1.35.9"
    assert ClusterAutoscalerSettings(image_tags={"1.37": "v1.37.0"}).image_for("1.36") == \
        f"{CA}:{CLUSTER_AUTOSCALER_TAGS['1.36']}"
    assert ClusterAutoscalerSettings(image_tags={"1.37": "v1.37.0"}).image_for("1.37") == f"{CA}:v1.37.0"
    assert refused(lambda: ClusterAutoscalerSettings(image_tags={"1.36": "v1.36.1"}).image_for("1.37")) == [
        ("image_tags", {"1.36": "v1.36.1"}, "needs a Cluster Autoscaler tag for Kubernetes 1.37")]


@pytest.mark.parametrize("image", [f"{CA}:v1.35.3", f"{CA}:v1.35.3@sha256:" + "a" * 64, "mirror.example/ca:v1.35.0"])
def test_a_set_autoscaler_image_of_the_clusters_minor_is_used(image: str) -> None:
    assert ClusterAutoscalerSettings(image=image).image_for("1.35") == image


@pytest.mark.parametrize("image", [f"{CA}:v1.34.5", f"{CA}:v1x35.3", f"{CA}:1.35.3", f"{CA}@sha256:" + "a" * 64])
def test_a_set_autoscaler_image_of_another_minor_is_refused(image: str) -> None:
    assert refused(lambda: ClusterAutoscalerSettings(image=image).image_for("1.35")) == [
        ("image", image, "its tag must be a Cluster Autoscaler release of the cluster's minor, such as ':v1.35.0' (a "
                         "digest may follow '@'): the autoscaler's minor must equal the cluster's Kubernetes minor")]


# --- Settings -------------------------------------------------------------------------------------

def test_settings_defaults() -> None:
    whole = settings()
    assert whole.network == NewVpcSettings() and whole.general_pool == NodePoolSpec(name="general")
    assert whole.gpu_pools == default_gpu_pools() == (NodePoolSpec(name="gpu", gpu=True),)
    assert whole.device_plugin == DevicePluginSettings()
    assert whole.termination_handler == TerminationHandlerSettings()
    assert whole.cluster_autoscaler == ClusterAutoscalerSettings(image=f"{CA}:{CLUSTER_AUTOSCALER_TAGS['1.35']}")
    assert whole.pools == (whole.general_pool, *whole.gpu_pools)
    assert whole.pool_paths() == [("general_pool", whole.general_pool), ("gpu_pools[0]", whole.gpu_pools[0])]


def test_the_autoscaler_image_is_resolved_for_the_clusters_minor() -> None:
    assert settings(cluster=ClusterSettings(name="ml", kubernetes_version="1.34")).cluster_autoscaler.image == \
        f"{CA}:{CLUSTER_AUTOSCALER_TAGS['1.34']}"
    assert refused(lambda: settings(cluster_autoscaler=ClusterAutoscalerSettings(image=f"{CA}:v1.34.5")))[0][:2] == (
        "cluster_autoscaler.image", f"{CA}:v1.34.5")


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-7"])
def test_regions_accepted(region: str) -> None:
    assert settings(region=region).region == region


@pytest.mark.parametrize("region", ["useast1", "US-east-1", "us-east", "us-east-1a", "u-east-1", ""])
def test_regions_refused(region: str) -> None:
    assert refused(lambda: settings(region=region)) == [("region", region,
                                                         "must be an AWS region such as 'us-east-1'")]


@pytest.mark.parametrize("name", ["cluster", "network", "general_pool", "device_plugin", "cluster_autoscaler",
                                  "termination_handler"])
def test_each_part_must_be_its_settings_object(name: str) -> None:
    assert refused(lambda: settings(**{name: "x"})) == [(name, "x", f"must be a {name} settings object, not a string")]


def test_either_network_settings_object_is_one() -> None:
    existing = ExistingVpcSettings("vpc-0abc1234", ("subnet-0abc1234", "subnet-0abc1235"))
    assert settings(network=existing).network is existing


def test_gpu_pools_are_a_list_of_pools() -> None:
    assert settings(gpu_pools=[gpu("ga"), gpu("gb")]).gpu_pools == (gpu("ga"), gpu("gb"))
    assert settings(gpu_pools=()).gpu_pools == () and settings(gpu_pools=()).pool_paths() == [
        ("general_pool", NodePoolSpec(name="general"))]
    assert refused(lambda: settings(gpu_pools=[gpu(), "x"])) == [
        ("gpu_pools", [gpu(), "x"], "must be a list of GPU pools, not a list")]
    assert refused(lambda: settings(gpu_pools=gpu())) == [("gpu_pools", gpu(), "must be a list of GPU pools, not "
                                                                                "NodePoolSpec")]


def test_the_general_pool_has_no_gpus_and_at_least_one_node() -> None:
    assert refused(lambda: settings(general_pool=NodePoolSpec(name="general", gpu=True))) == [
        ("general_pool.gpu", True, "the general pool has no GPUs; GPU pools go in gpu_pools")]
    assert refused(lambda: settings(general_pool=NodePoolSpec(name="general", min_size=0))) == [
        ("general_pool.min_size", 0, "must be at least 1: CoreDNS, the Cluster Autoscaler and the termination handler "
                                     "run on the general pool (GPU nodes are tainted), so with no general node nothing "
                                     "could ever scale the cluster up")]
    assert settings(general_pool=NodePoolSpec(name="general", min_size=1)).general_pool.min_size == 1


def test_gpu_pools_have_gpus_and_names_of_their_own() -> None:
    assert refused(lambda: settings(gpu_pools=[gpu("ga"), NodePoolSpec(name="gb"), gpu("ga"), gpu("general")])) == [
        ("gpu_pools[1].gpu", False, "a GPU pool must have gpu=True"),
        ("gpu_pools[2].name", "ga", "must be unique among the pools"),
        ("gpu_pools[3].name", "general", "must be unique among the pools")]
    assert [p.name for p in settings(gpu_pools=[gpu("ga"), gpu("gb")]).gpu_pools] == ["ga", "gb"]


def max_pods_refusal(path: str, release: str) -> tuple[str, object, str]:
    return (f"{path}.max_pods", 50, "reaches nodeadm as maxPodsExpression, which nodeadm has only since AMI release "
                                    f"{MAX_PODS_EXPRESSION_SINCE}; the pinned release {release} would ignore it (pin "
                                    "a newer amiReleaseVersion)")


def test_max_pods_needs_an_ami_release_with_the_expression() -> None:
    def with_release(release: str) -> Settings:
        return settings(cluster=ClusterSettings(name="ml", ami_release_version=release),
                        general_pool=NodePoolSpec(name="general", max_pods=50), gpu_pools=[gpu(max_pods=50), gpu("gb")])

    assert refused(lambda: with_release("v20251006")) == [max_pods_refusal("general_pool", "v20251006"),
                                                          max_pods_refusal("gpu_pools[0]", "v20251006")]
    assert MAX_PODS_EXPRESSION_SINCE == "v20251007"
    assert with_release("v20251007").gpu_pools[0].max_pods == 50
    assert with_release("recommended").general_pool.max_pods == 50
    assert settings(cluster=ClusterSettings(name="ml", ami_release_version="v20251006")).cluster.ami_release_version \
        == "v20251006"


HANDLER_NEEDED = ("needs the termination handler (nodeTerminationHandler.enabled): without it no lifecycle hook holds "
                  "a node and nothing drains it, so a replaced node's pods would be killed where they run")


def test_draining_settings_need_the_termination_handler() -> None:
    off = TerminationHandlerSettings(enabled=False)
    pools = [gpu("ga", replace_busy_nodes=True), gpu("gb"), gpu("gc", replace_busy_nodes=True, drain_timeout="10m")]
    general = NodePoolSpec(name="general", drain_timeout="5m")
    assert refused(lambda: settings(termination_handler=off, general_pool=general, gpu_pools=pools)) == [
        ("general_pool.drain_timeout", "5m", HANDLER_NEEDED),
        ("gpu_pools[0].replace_busy_nodes", True, HANDLER_NEEDED),
        ("gpu_pools[2].replace_busy_nodes", True, HANDLER_NEEDED),
        ("gpu_pools[2].drain_timeout", "10m", HANDLER_NEEDED)]
    assert settings(general_pool=general, gpu_pools=pools).termination_handler.enabled is True
    assert settings(termination_handler=off).termination_handler.enabled is False


def cached(name: str, snapshot: str, restore: bool) -> NodePoolSpec:
    return gpu(name, image_cache=ImageCacheSpec(snapshot, fast_snapshot_restore=restore))


def test_fast_snapshot_restore_on_one_pool_per_snapshot() -> None:
    pools = [cached("ga", SNAPSHOT, True), cached("gb", SNAPSHOT, False), cached("gc", SNAPSHOT, True),
             cached("gd", OTHER_SNAPSHOT, True), cached("ge", SNAPSHOT, True)]
    general = NodePoolSpec(name="general", image_cache=ImageCacheSpec(OTHER_SNAPSHOT, fast_snapshot_restore=True))

    def twice(path: str, first: str, snapshot: str) -> tuple[str, object, str]:
        return (f"{path}.image_cache.fast_snapshot_restore", True,
                f"{first} already enables fast snapshot restore for {snapshot}: it is one setting per snapshot and zone "
                "for the whole account, so enable it on one pool only")

    assert refused(lambda: settings(general_pool=general, gpu_pools=pools)) == [
        twice("gpu_pools[2]", "gpu_pools[0]", SNAPSHOT), twice("gpu_pools[3]", "general_pool", OTHER_SNAPSHOT),
        twice("gpu_pools[4]", "gpu_pools[0]", SNAPSHOT)]
    assert len(settings(gpu_pools=pools[:2] + pools[3:4]).gpu_pools) == 3


WARM_NEEDS = ("needs the Cluster Autoscaler (which adds a node for each pending placeholder) and the NVIDIA device "
              "plugin (which advertises the GPUs the placeholders request): enable both, or set warm_nodes 0")


@pytest.mark.parametrize(("autoscaler", "plugin"), [(False, True), (True, False), (False, False)])
def test_warm_nodes_need_the_autoscaler_and_the_device_plugin(autoscaler: bool, plugin: bool) -> None:
    assert refused(lambda: settings(gpu_pools=[gpu("ga"), gpu("gb", warm_nodes=2)],
                                    cluster_autoscaler=ClusterAutoscalerSettings(enabled=autoscaler),
                                    device_plugin=DevicePluginSettings(enabled=plugin))) == [
        ("gpu_pools[1].warm_nodes", 2, WARM_NEEDS)]
    assert settings(gpu_pools=[gpu("ga")], cluster_autoscaler=ClusterAutoscalerSettings(enabled=autoscaler),
                    device_plugin=DevicePluginSettings(enabled=plugin)).gpu_pools == (gpu("ga"),)


def test_warm_nodes_with_both_deploy() -> None:
    assert settings(gpu_pools=[gpu(warm_nodes=1)]).gpu_pools[0].warm_nodes == 1


PRIORITY_NEEDED = ("needs the autoscaler's priority expander (expander 'priority' or 'priority,least-waste'): without "
                   "it Spot and On-Demand groups tie, and On-Demand may be bought while Spot is available")


def test_on_demand_fallback_needs_the_priority_expander() -> None:
    pools = [gpu("ga", on_demand_fallback=True), gpu("gb"), gpu("gc", on_demand_fallback=True)]
    assert refused(lambda: settings(gpu_pools=pools, cluster_autoscaler=ClusterAutoscalerSettings(
        expander="least-waste"))) == [("gpu_pools[0].on_demand_fallback", True, PRIORITY_NEEDED),
                                      ("gpu_pools[2].on_demand_fallback", True, PRIORITY_NEEDED)]
    for expander in ("priority", "priority,least-waste"):
        assert settings(gpu_pools=pools, cluster_autoscaler=ClusterAutoscalerSettings(expander=expander)).gpu_pools[
            0].on_demand_fallback is True
    assert settings(gpu_pools=pools[1:2], cluster_autoscaler=ClusterAutoscalerSettings(expander="least-waste"))


def test_the_service_cidr_stays_out_of_a_new_vpc() -> None:
    assert refused(lambda: settings(cluster=ClusterSettings(name="ml", service_cidr="10.0.128.0/24"))) == [
        ("cluster.service_cidr", "10.0.128.0/24", "must not overlap the VPC CIDR 10.0.0.0/16")]
    assert refused(lambda: settings(network=NewVpcSettings(vpc_cidr="172.20.0.0/20")))[0][:2] == (
        "cluster.service_cidr", "172.20.0.0/16")
    assert settings(cluster=ClusterSettings(name="ml", service_cidr="10.1.0.0/16")).cluster.service_cidr == "10.1.0.0/16"
    # An existing VPC's CIDRs are AWS facts, checked at plan time.
    existing = ExistingVpcSettings("vpc-0abc1234", ("subnet-0abc1234", "subnet-0abc1235"))
    assert settings(network=existing, cluster=ClusterSettings(name="ml", service_cidr="10.0.0.0/16")).network is existing


def test_every_cross_field_refusal_is_reported_at_once() -> None:
    errors = refused(lambda: settings(
        cluster=ClusterSettings(name="ml", service_cidr="10.0.0.0/16", ami_release_version="v20250101"),
        general_pool=NodePoolSpec(name="general", min_size=0, max_pods=40),
        gpu_pools=[gpu("ga", on_demand_fallback=True, warm_nodes=1, drain_timeout="5m")],
        termination_handler=TerminationHandlerSettings(enabled=False),
        device_plugin=DevicePluginSettings(enabled=False),
        cluster_autoscaler=ClusterAutoscalerSettings(expander="least-waste", image=f"{CA}:v1.34.5")))
    assert [field for field, _, _ in errors] == [
        "general_pool.min_size", "general_pool.max_pods", "gpu_pools[0].drain_timeout", "gpu_pools[0].warm_nodes",
        "gpu_pools[0].on_demand_fallback", "cluster.service_cidr", "cluster_autoscaler.image"]


# --- lists that are not lists ---------------------------------------------------------------------

@pytest.mark.parametrize(("build", "field", "what"), [
    (lambda: ClusterSettings(name="ml", log_types="api"), "log_types", "log types"),
    (lambda: ClusterSettings(name="ml", public_access_cidrs="203.0.113.0/24"), "public_access_cidrs", "CIDRs"),
    (lambda: NewVpcSettings(availability_zone_ids="use1-az1"), "availability_zone_ids", "zone IDs"),
    (lambda: NewVpcSettings(private_subnet_cidrs="10.0.0.0/24"), "private_subnet_cidrs", "CIDRs"),
    (lambda: NewVpcSettings(public_subnet_cidrs="10.0.0.0/24"), "public_subnet_cidrs", "CIDRs"),
    (lambda: ExistingVpcSettings("vpc-0abc1234", "subnet-0abc1234"), "private_subnet_ids", "subnet IDs"),
    (lambda: ExistingVpcSettings("vpc-0abc1234", ("subnet-0abc1234", "subnet-0abc1235"), "subnet-0abc1236"),
     "public_subnet_ids", "subnet IDs"),
])
def test_a_list_given_as_a_string_is_refused_saying_what_it_lists(build: Callable[[], object], field: str,
                                                                  what: str) -> None:
    errors = refused(build)
    assert [(f, allowed) for f, _, allowed in errors] == [(field, f"must be a list of {what}, not a string")]
