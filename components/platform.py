"""The whole GPU Spot cluster as one component: network, control plane, node groups, add-ons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from .addon_versions import AddonPlan, resolve_addon_versions
from .addons import (
    AutoscaledPool,
    ClusterAutoscaler,
    ClusterAutoscalerArgs,
    NodeTerminationHandler,
    NodeTerminationHandlerArgs,
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
    WarmNodes,
    WarmNodesArgs,
    WarmPool,
)
from .addons.termination_handler import managed_instance_tags
from .aws_facts import AwsFacts
from .cluster import Cluster, ClusterArgs
from .errors import InvalidValueError, within
from .iam import partition_for_region
from .network import ExistingVpcArgs, Network, NewVpcArgs, PrivateSubnet
from .node_role import NodeRole, NodeRoleArgs
from .nodegroup import NodeGroup, NodeGroupArgs, asg_plans
from .plan import ClusterPlan, plan_cluster
from .quotas import pool_needs, quota_warnings
from .rollout import hook_heartbeat_seconds
from .settings import ExistingVpcSettings, Settings
from .subnet_capacity import ZoneSubnet, subnet_warnings
from .versions import PAUSE_IMAGE


@dataclass(frozen=True)
class GpuSpotClusterArgs:
    """Inputs of `GpuSpotCluster`.

    - `settings`: the settings (`Settings` checks its own values; the project's
      `config.load_settings()` makes them from stack config).
    - `facts`: what AWS says about the region, the instance types and an existing VPC
      (`aws_facts.read(settings)`); the component checks the settings against them first.
    """

    settings: Settings
    facts: AwsFacts

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Settings):
            raise InvalidValueError("settings", self.settings, "must be a Settings")
        if not isinstance(self.facts, AwsFacts):
            raise InvalidValueError("facts", self.facts, "must be AwsFacts (aws_facts.read(settings))")


def warn_if_api_open_to_the_world(settings: Settings) -> None:
    """A public API endpoint that any address may reach is allowed, but never silently."""
    cluster = settings.cluster
    if cluster.endpoint_public_access and any(cidr.endswith("/0") for cidr in cluster.public_access_cidrs):
        pulumi.log.warn(
            f"cluster {cluster.name}: the Kubernetes API's public endpoint accepts connections from "
            f"{', '.join(c for c in cluster.public_access_cidrs if c.endswith('/0'))} (config publicAccessCidrs). "
            "Restrict it, e.g. `pulumi config set --path 'publicAccessCidrs[0]' 203.0.113.0/24`, or set "
            "endpointPublicAccess to false. See docs/security.md.")


def quota_warning_lines(settings: Settings, facts: AwsFacts, plan: ClusterPlan) -> list[str]:
    """The EC2 vCPU quota warnings of `quotas.quota_warnings` for these pools: a GPU pool's maximum
    is per zone, times the zones it gets an Auto Scaling group in."""
    groups = {pool.name: len(plan.pool_zones[pool.name]) if pool.gpu else 1 for pool in settings.pools}
    needs, unknown = pool_needs(settings.pools, facts.shapes, groups)
    return quota_warnings(needs, unknown, facts.quotas, settings.region, facts.quota_read_errors)


def managed_addon_versions(settings: Settings, facts: AwsFacts) -> AddonPlan:
    """`addon_versions.resolve_addon_versions` for the stack's cluster as it runs (none yet: every
    add-on unpinned takes the EKS default); fields are those of `Settings`."""
    deployed = facts.deployed_cluster
    with within("cluster"):
        live = deployed.addon_versions if deployed else {}
        return resolve_addon_versions(settings.cluster.managed_addon_versions, live,
                                      {name: deployed.addon_minor(name) for name in live} if deployed else {},
                                      settings.cluster.kubernetes_version, facts.addon_builds)


def node_subnets(settings: Settings, facts: AwsFacts, plan: ClusterPlan) -> list[ZoneSubnet]:
    """The node subnets with their zones and the stack key that sets each."""
    network = settings.network
    if isinstance(network, ExistingVpcSettings):
        return [ZoneSubnet(facts.subnets[s].zone.name, facts.subnets[s].cidr_block, f"existingPrivateSubnetIds[{i}]")
                for i, s in enumerate(network.private_subnet_ids)]
    # Given CIDRs pair with the zone IDs in their order (without them, with the zones by name).
    order = list(network.availability_zone_ids) or [s.zone.zone_id for s in plan.subnets]
    return [ZoneSubnet(s.zone.name, s.private_cidr, f"privateSubnetCidrs[{order.index(s.zone.zone_id)}]"
                       if network.private_subnet_cidrs else "vpcCidr") for s in plan.subnets]


class GpuSpotCluster(pulumi.ComponentResource):
    """An EKS cluster whose GPU nodes are Spot and scale from zero and back to zero.

    Creates a `Network` (new VPC or existing one), the `Cluster`, a `NodeRole` per pool (role,
    instance profile and the pool's EKS access entry), a `NodeGroup` per pool (the general pool first; one ASG per zone for
    GPU pools), managed CoreDNS once nodes exist, and the enabled add-ons: `NvidiaDevicePlugin`,
    `ClusterAutoscaler`, `NodeTerminationHandler`, and `WarmNodes` for GPU pools with `warm_nodes`.
    Each piece is also usable on its own.

    Before anything is created it checks the settings against the AWS facts (`plan.plan_cluster`):
    zones (pinned by ID, or the first by ID that EKS supports and that offer the general pool's
    types; a deployed cluster keeps its own) and each zone's subnet CIDRs, an existing VPC's
    subnets and CIDRs, one shape and architecture per pool, tag counts. The control plane gets the
    subnets of the zones it was created in (EKS never changes them). A GPU pool gets new ASGs only
    in zones offering one of its types (said at preview); a live one stays. The plan's notes and
    warnings (a newer AMI release, a stack to pin, a kept group) are logged at preview.

    Outputs: `network`, `cluster`, `node_groups` (pool name -> `NodeGroup`), `plan`, `outputs()`
    for stack exports.
    """

    def __init__(self, name: str, args: GpuSpotClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings = args.settings
        # The handler only drains instances that carry its managed tag.
        propagated_tags = managed_instance_tags() if settings.termination_handler.enabled else {}
        # Every check that needs AWS facts, before the component or any child exists.
        self.plan = plan_cluster(settings, args.facts, propagated_tags)
        addons = managed_addon_versions(settings, args.facts)
        self.addon_versions = addons.versions
        super().__init__("eks-gpu-spot:index:GpuSpotCluster", name, None, opts)
        for note in [*self.plan.notes, *addons.notes]:
            pulumi.log.info(note, resource=self)
        # Too little quota is allowed (it may be raised later), but never silent: the autoscaler only
        # backs off when EC2 refuses the launch.
        for warning in [*quota_warning_lines(settings, args.facts, self.plan), *self.plan.warnings, *addons.warnings]:
            pulumi.log.warn(warning, resource=self)
        for warning in subnet_warnings(node_subnets(settings, args.facts, self.plan), settings.pools,
                                       args.facts.shapes, self.plan.pool_zones):
            pulumi.log.warn(warning, resource=self)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = settings.cluster.name
        self.settings = settings
        tags = settings.cluster.resource_tags
        partition = partition_for_region(settings.region)
        warn_if_api_open_to_the_world(settings)

        self.network = Network("network", self._network_args(settings, self.plan, tags), opts=child)
        private_subnet_ids, public_subnet_ids = self._control_plane_subnets(args.facts)
        self.cluster = Cluster(cluster_name, ClusterArgs(
            name=cluster_name,
            kubernetes_version=settings.cluster.kubernetes_version,
            vpc_id=self.network.vpc_id,
            private_subnet_ids=private_subnet_ids,
            public_subnet_ids=public_subnet_ids,
            endpoint_public_access=settings.cluster.endpoint_public_access,
            public_access_cidrs=settings.cluster.public_access_cidrs,
            log_types=settings.cluster.log_types,
            service_cidr=settings.cluster.service_cidr,
            deletion_protection=settings.cluster.deletion_protection,
            managed_addon_versions=self.addon_versions,
            managed_addon_minors=addons.held,
            ami_release_version=settings.cluster.ami_release_version,
            log_retention_days=settings.cluster.log_retention_days,
            tags=tags,
            deployed_role_arn=args.facts.deployed_cluster.role_arn if args.facts.deployed_cluster else "",
        ), opts=child)

        # The node roles' access entries wait for the control plane (its name output), and used to
        # be pulumi-eks's: each aliases its old URN there.
        node_roles = {pool.name: NodeRole(f"{pool.name}-node", NodeRoleArgs(
            cluster_name=self.cluster.control_plane_name,
            partition=partition,
            access_entry_aliases=[self.cluster.legacy_access_entry_urn(pool.name)],
            tags=tags,
        ), opts=child) for pool in settings.pools}
        connection = self.cluster.connection()
        handler = settings.termination_handler
        # Each pool's hook holds its terminating nodes for the pool's drain timeout.
        self.hook_heartbeats = {pool.name: hook_heartbeat_seconds(pool.drain_timeout, handler.heartbeat_timeout_seconds)
                                for pool in settings.pools} if handler.enabled else {}
        # Before the groups, which depend on the handler's queue, rules and IAM: deleted after them.
        self.termination_handler = self._termination_handler(tags, child) if handler.enabled else None
        self.node_groups = {
            pool.name: NodeGroup(pool.name, NodeGroupArgs(
                pool=pool,
                shapes=[args.facts.shapes[t] for t in pool.instance_types],
                cluster=connection,
                subnets=[s for s in self.network.private_subnets
                         if s.availability_zone in self.plan.pool_zones[pool.name]],
                node_role=node_roles[pool.name],
                propagated_tags=propagated_tags,
                termination_hook_heartbeat_seconds=self.hook_heartbeats.get(pool.name),
                partition=partition,
                tags=tags,
                image_cache_snapshot_gib=args.facts.snapshots.get(pool.image_cache.snapshot_id) or 0
                if pool.image_cache else 0,
                depends_on=self.termination_handler.outlives_groups if self.termination_handler else (),
            ), opts=child)
            for pool in settings.pools
        }
        if self.termination_handler:
            # By ASG key, so a hook keeps its name when other groups change.
            self.termination_handler.add_hooks({key: asg for group in self.node_groups.values()
                                                for key, asg in group.asgs.items()})
        self.cluster.add_coredns(after=[self.node_groups[settings.general_pool.name]])
        self._add_addons(tags, child)
        self.register_outputs(self.outputs())

    def _control_plane_subnets(self, facts: AwsFacts) -> tuple[list[pulumi.Input[str]], list[pulumi.Input[str]]]:
        """The private and public subnets of the zones the control plane keeps (`plan.control_plane_zones`:
        EKS fixes them when it creates the cluster); the node groups follow every zone."""
        network, zones = self.settings.network, set(self.plan.control_plane_zones)
        public_zones = ([facts.subnets[s].zone.name for s in network.public_subnet_ids]
                        if isinstance(network, ExistingVpcSettings) else [z.name for z in self.plan.zones])
        return ([s.subnet_id for s in self.network.private_subnets if s.availability_zone in zones],
                [s for s, zone in zip(self.network.public_subnet_ids, public_zones, strict=True) if zone in zones])

    @staticmethod
    def _network_args(settings: Settings, plan: ClusterPlan, tags: Mapping[str, str]) -> NewVpcArgs | ExistingVpcArgs:
        network = settings.network
        zones = [zone.name for zone in plan.zones]
        if isinstance(network, ExistingVpcSettings):
            return ExistingVpcArgs(
                vpc_id=network.vpc_id,
                private_subnets=[PrivateSubnet(zone, subnet_id) for zone, subnet_id
                                 in zip(zones, network.private_subnet_ids, strict=True)],
                public_subnet_ids=network.public_subnet_ids,
            )
        return NewVpcArgs(
            cluster_name=settings.cluster.name,
            cidr=network.vpc_cidr,
            availability_zones=zones,
            private_subnet_cidrs=[s.private_cidr for s in plan.subnets],
            public_subnet_cidrs=[s.public_cidr for s in plan.subnets],
            nat_per_az=network.nat_mode == "perAz",
            tags=tags,
            flow_logs=network.flow_logs,
            flow_log_retention_days=network.flow_log_retention_days,
        )

    def _add_addons(self, tags: Mapping[str, str], child: pulumi.ResourceOptions) -> None:
        settings, cluster = self.settings, self.cluster
        general = settings.general_pool
        if settings.device_plugin.enabled and settings.gpu_pools:
            NvidiaDevicePlugin("nvidia-device-plugin", NvidiaDevicePluginArgs(
                image=settings.device_plugin.image,
                provider=cluster.provider,
                gpu_pool_taints=[t for pool in settings.gpu_pools for t in pool.all_taints()],
                # Each distinct count above 1 gets its config and DaemonSet; the pool's nodes
                # register the matching nvidia.com/device-plugin.config label (pool_spec.py).
                time_slicing_replicas=[pool.time_slicing_replicas for pool in settings.gpu_pools],
            ), opts=child)
        autoscaler = settings.cluster_autoscaler
        if autoscaler.enabled:
            ClusterAutoscaler("cluster-autoscaler", ClusterAutoscalerArgs(
                cluster_name=cluster.name,
                region=settings.region,
                image=autoscaler.image,
                provider=cluster.provider,
                pools=[self._autoscaled_pool(pool.name, pool.gpu) for pool in settings.pools],
                general_pool=general.name,
                general_pool_taints=general.taints,
                expander=autoscaler.expander,
                scale_down_unneeded_time=autoscaler.scale_down_unneeded_time,
                scale_down_delay_after_add=autoscaler.scale_down_delay_after_add,
                scale_down_utilization_threshold=autoscaler.scale_down_utilization_threshold,
                max_node_provision_time=autoscaler.max_node_provision_time,
                pod_identity_agent=cluster.pod_identity_agent,
                tags=tags,
            ), opts=child)
        warm = [WarmPool(pool.name, pool.warm_nodes, self.node_groups[pool.name].template)
                for pool in settings.gpu_pools if pool.warm_nodes]
        if warm:
            WarmNodes("warm-nodes", WarmNodesArgs(pools=warm, image=PAUSE_IMAGE, provider=cluster.provider), opts=child)

    def _termination_handler(self, tags: Mapping[str, str], child: pulumi.ResourceOptions) -> NodeTerminationHandler:
        """The handler, without hooks yet (`add_hooks` once the groups exist); each pool's drain
        timeout set for its groups' keys, which `asg_plans` names before the groups exist."""
        settings, cluster = self.settings, self.cluster
        return NodeTerminationHandler("node-termination-handler", NodeTerminationHandlerArgs(
            cluster_name=cluster.name,
            region=settings.region,
            image=settings.termination_handler.image,
            provider=cluster.provider,
            heartbeat_timeout_seconds=settings.termination_handler.heartbeat_timeout_seconds,
            hook_heartbeats={plan.key: self.hook_heartbeats[pool.name] for pool in settings.pools if pool.drain_timeout
                             for plan in asg_plans(cluster.name, pool, self.plan.pool_zones[pool.name])},
            general_pool=settings.general_pool.name,
            general_pool_taints=settings.general_pool.taints,
            pod_identity_agent=cluster.pod_identity_agent,
            tags=tags,
            control_plane=cluster.eks_cluster,
        ), opts=child)

    def _autoscaled_pool(self, pool: str, gpu: bool) -> AutoscaledPool:
        """The pool's Spot groups and On-Demand fallback groups, for the priority expander."""
        plans = self.node_groups[pool].asg_plans
        return AutoscaledPool(pool, gpu, [p.name for p in plans if not p.on_demand_fallback],
                              [p.name for p in plans if p.on_demand_fallback])

    def outputs(self) -> dict[str, Any]:
        """The stack outputs of the cluster (the kubeconfig is secret)."""
        network, cluster = self.network, self.cluster
        return {
            "vpcId": network.vpc_id,
            "privateSubnets": [{"availabilityZone": s.availability_zone, "subnetId": s.subnet_id}
                               for s in network.private_subnets],
            "publicSubnetIds": network.public_subnet_ids,
            "clusterName": cluster.name,
            "clusterEndpoint": cluster.endpoint,
            "clusterCertificateAuthority": cluster.certificate_authority,
            "serviceCidr": cluster.service_cidr,
            "clusterSecurityGroupId": cluster.cluster_security_group_id,
            "nodeSecurityGroupId": cluster.node_security_group_id,
            "kubeconfig": cluster.kubeconfig,
            "nodeGroups": {
                name: {"asgNames": list(group.asg_names.values()), "instanceTypes": group.instance_types,
                       "template": group.template.to_json(),
                       # The On-Demand fallback groups' template (only its lifecycle label differs).
                       **({"onDemandTemplate": group.on_demand_template.to_json()} if group.on_demand_template else {})}
                for name, group in self.node_groups.items()
            },
        }
