"""Frozen, typed settings of a whole GPU Spot cluster.

The project's `config/` makes them from stack config and validates them; library users may build
them directly and hand them to `GpuSpotCluster`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .logs import DEFAULT_LOG_RETENTION_DAYS
from .pool_spec import NodePoolSpec

DEFAULT_PUBLIC_ACCESS_CIDRS = ("0.0.0.0/0",)
DEFAULT_LOG_TYPES = ("api", "audit", "authenticator")
DEFAULT_SERVICE_CIDR = "172.20.0.0/16"
# Cluster Autoscaler expanders this project configures (the first is the default).
EXPANDERS = ("priority,least-waste", "least-waste", "priority")


@dataclass(frozen=True)
class ClusterSettings:
    name: str
    kubernetes_version: str
    tags: Mapping[str, str] = field(default_factory=dict)
    endpoint_public_access: bool = True
    public_access_cidrs: tuple[str, ...] = DEFAULT_PUBLIC_ACCESS_CIDRS
    log_types: tuple[str, ...] = DEFAULT_LOG_TYPES
    service_cidr: str = DEFAULT_SERVICE_CIDR
    deletion_protection: bool = False
    managed_addon_versions: Mapping[str, str] = field(default_factory=dict)
    # Days CloudWatch keeps control-plane logs (one of logs.CLOUDWATCH_RETENTION_DAYS).
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS


@dataclass(frozen=True)
class NetworkSettings:
    """A new VPC (`existing_vpc_id` empty) or an existing one with its subnets."""

    vpc_cidr: str = "10.0.0.0/16"
    az_count: int = 3
    nat_mode: str = "single"
    private_subnet_cidrs: tuple[str, ...] = ()
    public_subnet_cidrs: tuple[str, ...] = ()
    existing_vpc_id: str = ""
    existing_private_subnet_ids: tuple[str, ...] = ()
    existing_public_subnet_ids: tuple[str, ...] = ()
    # VPC flow logs to CloudWatch, for a new VPC only (an existing VPC's are its owner's).
    flow_logs: bool = False
    flow_log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS

    @property
    def creates_vpc(self) -> bool:
        return not self.existing_vpc_id


@dataclass(frozen=True)
class DevicePluginSettings:
    enabled: bool
    image: str


@dataclass(frozen=True)
class ClusterAutoscalerSettings:
    enabled: bool
    image: str
    expander: str
    scale_down_unneeded_time: str
    scale_down_delay_after_add: str
    scale_down_utilization_threshold: str
    max_node_provision_time: str


@dataclass(frozen=True)
class TerminationHandlerSettings:
    enabled: bool
    image: str
    heartbeat_timeout_seconds: int


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    region: str
    cluster: ClusterSettings
    network: NetworkSettings
    general_pool: NodePoolSpec
    gpu_pools: tuple[NodePoolSpec, ...]
    device_plugin: DevicePluginSettings
    cluster_autoscaler: ClusterAutoscalerSettings
    termination_handler: TerminationHandlerSettings

    @property
    def pools(self) -> tuple[NodePoolSpec, ...]:
        return (self.general_pool,) + self.gpu_pools
