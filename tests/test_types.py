"""The package's own types refuse invalid values when constructed, so a library user gets the same
protection as a stack user (errors name the field, the value and what is allowed)."""

from __future__ import annotations

from typing import Any

import pytest

from components.connection import ClusterConnection
from components.errors import InvalidValueError
from components.network import PrivateSubnet
from components.node_template import InstanceShape, Taint
from components.nodegroup import NodeGroupArgs
from components.pool_spec import GPU_POOL_DEFAULTS, NodePoolSpec
from components.settings import (
    ClusterAutoscalerSettings,
    ClusterSettings,
    ExistingVpcSettings,
    NewVpcSettings,
    Settings,
    TerminationHandlerSettings,
)


def settings(**overrides: Any) -> Settings:
    return Settings(**{"project": "p", "stack": "s", "region": "us-east-1", "cluster": ClusterSettings(name="ml"),
                       **overrides})


REFUSED = [
    pytest.param(lambda: NodePoolSpec(name="gpu", gpu=True, min_size=3, max_size=1), "min_size", id="min-above-max"),
    pytest.param(lambda: NodePoolSpec(name="general", instance_types=()), "instance_types", id="no-types"),
    pytest.param(lambda: NodePoolSpec(name="general", instance_types=("m5.xlarge", "m5.xlarge")), "instance_types",
                 id="repeated-type"),
    pytest.param(lambda: NodePoolSpec(name="general", min_size="2"), "min_size", id="string-size"),  # type: ignore[arg-type]
    pytest.param(lambda: NodePoolSpec(name="GPU", gpu=True), "name", id="pool-name"),
    pytest.param(lambda: NodePoolSpec(name="gpu", gpu=True, labels={"kubernetes.io/role": "gpu"}),
                 "labels.kubernetes.io/role", id="kubelet-label"),
    pytest.param(lambda: NodePoolSpec(name="gpu", gpu=True, taints=(Taint("a", "b", "NoSchedule"),
                                                                      Taint("a", "c", "NoSchedule"))),
                 "taints[1]", id="taint-key-twice"),
    pytest.param(lambda: Taint("a b", "c", "NoSchedule"), "key", id="taint-key"),
    pytest.param(lambda: Taint("a", "c", "Sometimes"), "effect", id="taint-effect"),
    pytest.param(lambda: ClusterSettings(name="x" * 101), "name", id="cluster-name-101"),
    pytest.param(lambda: ClusterSettings(name="ml", service_cidr="100.64.0.0/16"), "service_cidr", id="public-service-cidr"),
    pytest.param(lambda: ClusterSettings(name="ml", tags={"aws:x": "y"}), "tags.aws:x", id="aws-tag"),
    pytest.param(lambda: ClusterSettings(name="ml", endpoint_public_access=False, public_access_cidrs=("1.2.3.0/24",)),
                 "public_access_cidrs", id="cidrs-without-endpoint"),
    pytest.param(lambda: NewVpcSettings(vpc_cidr="10.0.0.0/24"), "vpc_cidr", id="vpc-too-small"),
    pytest.param(lambda: ExistingVpcSettings(vpc_id="vpc-0123456789", private_subnet_ids=("subnet-0123456789",)),
                 "private_subnet_ids", id="one-subnet"),
    pytest.param(lambda: ClusterAutoscalerSettings(max_node_provision_time="0s"), "max_node_provision_time",
                 id="zero-duration"),
    pytest.param(lambda: TerminationHandlerSettings(heartbeat_timeout_seconds=10), "heartbeat_timeout_seconds",
                 id="heartbeat"),
    pytest.param(lambda: settings(cluster_autoscaler=ClusterAutoscalerSettings(
        image="registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.6")), "cluster_autoscaler.image", id="ca-minor"),
    pytest.param(lambda: settings(gpu_pools=(NodePoolSpec(name="general", gpu=True),)), "gpu_pools[0].name",
                 id="duplicate-pool"),
    pytest.param(lambda: settings(cluster=ClusterSettings(name="ml", service_cidr="10.0.0.0/16")), "cluster.service_cidr",
                 id="service-in-vpc"),
    pytest.param(lambda: NodeGroupArgs(
        pool=NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",)),
        shapes=[InstanceShape("g4dn.xlarge", 4, 16384, 1, "T4", "NVIDIA")],
        cluster=ClusterConnection("ml", "1.35", "https://x", "Q0E=", "sg-0"),
        subnets=[PrivateSubnet("us-east-1a", "subnet-0")]), "shapes", id="shapes-not-the-pools"),
    pytest.param(lambda: ClusterConnection("ml", "1.29", "https://x", "Q0E=", "sg-0"), "kubernetes_version",
                 id="connection-version"),
]


@pytest.mark.parametrize(("build", "field"), REFUSED)
def test_types_refuse_invalid_values(build: Any, field: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        build()
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: got ")


def test_the_error_is_a_pulumi_run_error_so_pulumi_prints_no_traceback() -> None:
    import pulumi

    with pytest.raises(pulumi.RunError):
        NodePoolSpec(name="gpu", gpu=True, max_size=0)


def test_defaults_come_from_the_pool_kind() -> None:
    pool = NodePoolSpec(name="gpu", gpu=True, min_size=1)
    assert pool.instance_types == GPU_POOL_DEFAULTS.instance_types
    assert (pool.min_size, pool.desired_size, pool.max_size) == (1, 1, GPU_POOL_DEFAULTS.max_size)
    assert pool.root_volume_gib == GPU_POOL_DEFAULTS.root_volume_gib
    general = NodePoolSpec(name="general", taints=["x=y:PreferNoSchedule"])  # type: ignore[list-item]
    assert general.taints == (Taint("x", "y", "PreferNoSchedule"),)


def test_the_autoscaler_image_follows_the_cluster_minor() -> None:
    assert settings().cluster_autoscaler.image.endswith(":v1.35.2")
    pinned = settings(cluster=ClusterSettings(name="ml", kubernetes_version="1.34"))
    assert pinned.cluster_autoscaler.image.endswith(":v1.34.5")


def test_a_node_with_nothing_allocatable_is_refused_with_the_field() -> None:
    from components.allocatable import node_allocatable

    tiny = InstanceShape("t3.nano", 2, 256, max_pods=4, default_card_enis=2, ipv4_per_eni=2)
    with pytest.raises(InvalidValueError) as raised:
        node_allocatable(tiny, 20, max_pods=4)
    assert raised.value.field == "max_pods"
    assert "leaves nothing allocatable" in str(raised.value)
