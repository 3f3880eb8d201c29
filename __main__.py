"""eks-gpu-spot: an EKS cluster whose GPU nodes are Spot, scale from zero and back to zero."""

from __future__ import annotations

import pulumi

import config
from components import aws_facts
from components.addons import (
    AutoscaledPool,
    ClusterAutoscaler,
    ClusterAutoscalerArgs,
    NodeTerminationHandler,
    NodeTerminationHandlerArgs,
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
)
from components.cluster import Cluster, ClusterArgs
from components.iam import partition_for_region
from components.network import ExistingVpcArgs, Network, NewVpcArgs, PrivateSubnet
from components.node_role import NodeRole, NodeRoleArgs
from components.nodegroup import ClusterConnection, NodeGroup, NodeGroupArgs, group_plan

# Everything that can be wrong with the config is checked before the first resource.
settings = config.load_settings()
network_settings = settings.network
if network_settings.creates_vpc:
    zones = aws_facts.availability_zones()
    config.check_zone_count(settings, zones)
    zones = zones[: network_settings.az_count]
else:
    zones = aws_facts.subnet_zones(network_settings.existing_private_subnet_ids)
    config.check_distinct_zones(settings, zones)
shapes = aws_facts.instance_shapes(t for pool in settings.pools for t in pool.instance_types)
config.check_instance_shapes(settings, shapes)

cluster_name = settings.cluster.name
tags = {**settings.cluster.tags, "eks-gpu-spot/cluster": cluster_name}
partition = partition_for_region(settings.region)

if network_settings.creates_vpc:
    network = Network("network", NewVpcArgs(
        cluster_name=cluster_name,
        cidr=network_settings.vpc_cidr,
        availability_zones=zones,
        private_subnet_cidrs=network_settings.private_subnet_cidrs,
        public_subnet_cidrs=network_settings.public_subnet_cidrs,
        nat_per_az=network_settings.nat_mode == "perAz",
        tags=tags,
    ))
else:
    network = Network("network", ExistingVpcArgs(
        vpc_id=network_settings.existing_vpc_id,
        private_subnets=[PrivateSubnet(zone, subnet_id) for zone, subnet_id
                         in zip(zones, network_settings.existing_private_subnet_ids, strict=False)],
        public_subnet_ids=network_settings.existing_public_subnet_ids,
    ))

node_roles = {pool.name: NodeRole(f"{pool.name}-node", NodeRoleArgs(partition=partition, tags=tags))
              for pool in settings.pools}

cluster = Cluster(cluster_name, ClusterArgs(
    name=cluster_name,
    kubernetes_version=settings.cluster.kubernetes_version,
    vpc_id=network.vpc_id,
    private_subnet_ids=[s.subnet_id for s in network.private_subnets],
    public_subnet_ids=network.public_subnet_ids,
    node_role_arns={pool: role.arn for pool, role in node_roles.items()},
    endpoint_public_access=settings.cluster.endpoint_public_access,
    public_access_cidrs=settings.cluster.public_access_cidrs,
    log_types=settings.cluster.log_types,
    service_cidr=settings.cluster.service_cidr,
    deletion_protection=settings.cluster.deletion_protection,
    managed_addon_versions=settings.cluster.managed_addon_versions,
    tags=tags,
))

connection = ClusterConnection(
    name=cluster_name,
    kubernetes_version=settings.cluster.kubernetes_version,
    endpoint=cluster.endpoint,
    certificate_authority=cluster.certificate_authority,
    service_cidr=settings.cluster.service_cidr,
    node_security_group_id=cluster.node_security_group_id,
)
propagated_tags = {"aws-node-termination-handler/managed": "true"} if settings.termination_handler.enabled else {}
node_groups = {
    pool.name: NodeGroup(pool.name, NodeGroupArgs(
        pool=pool,
        shapes=[shapes[t] for t in pool.instance_types],
        cluster=connection,
        subnets=network.private_subnets,
        node_role=node_roles[pool.name],
        propagated_tags=propagated_tags,
        partition=partition,
        tags=tags,
    ))
    for pool in settings.pools
}
cluster.add_coredns(after=[node_groups[settings.general_pool.name]])

general = settings.general_pool
if settings.device_plugin.enabled and settings.gpu_pools:
    NvidiaDevicePlugin("nvidia-device-plugin", NvidiaDevicePluginArgs(
        image=settings.device_plugin.image,
        provider=cluster.provider,
        gpu_pool_taints=[t for pool in settings.gpu_pools for t in pool.all_taints()],
    ))
autoscaler = settings.cluster_autoscaler
if autoscaler.enabled:
    ClusterAutoscaler("cluster-autoscaler", ClusterAutoscalerArgs(
        cluster_name=cluster_name,
        region=settings.region,
        image=autoscaler.image,
        provider=cluster.provider,
        pools=[AutoscaledPool(pool.name, pool.gpu, node_groups[pool.name].asg_names) for pool in settings.pools],
        general_pool=general.name,
        general_pool_taints=general.taints,
        expander=autoscaler.expander,
        scale_down_unneeded_time=autoscaler.scale_down_unneeded_time,
        scale_down_delay_after_add=autoscaler.scale_down_delay_after_add,
        scale_down_utilization_threshold=autoscaler.scale_down_utilization_threshold,
        max_node_provision_time=autoscaler.max_node_provision_time,
        pod_identity_agent=cluster.pod_identity_agent,
        tags=tags,
    ))
if settings.termination_handler.enabled:
    NodeTerminationHandler("node-termination-handler", NodeTerminationHandlerArgs(
        cluster_name=cluster_name,
        region=settings.region,
        image=settings.termination_handler.image,
        provider=cluster.provider,
        # Keyed by the ASG's own name suffix, so a hook keeps its name when other groups change.
        asgs={f"{pool.name}{suffix}": asg for pool in settings.pools
              for (suffix, _), asg in zip(group_plan(pool, network.private_subnets), node_groups[pool.name].asgs,
                                          strict=True)},
        heartbeat_timeout_seconds=settings.termination_handler.heartbeat_timeout_seconds,
        general_pool=general.name,
        general_pool_taints=general.taints,
        pod_identity_agent=cluster.pod_identity_agent,
        tags=tags,
    ))

pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnets", [{"availabilityZone": s.availability_zone, "subnetId": s.subnet_id}
                                 for s in network.private_subnets])
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("clusterName", cluster_name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("clusterCertificateAuthority", cluster.certificate_authority)
pulumi.export("serviceCidr", settings.cluster.service_cidr)
pulumi.export("clusterSecurityGroupId", cluster.cluster_security_group_id)
pulumi.export("nodeSecurityGroupId", cluster.node_security_group_id)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("nodeGroups", {
    name: {"asgNames": group.asg_names, "instanceTypes": group.instance_types, "template": group.template.to_json()}
    for name, group in node_groups.items()
})
