"""A consumer of the eks_gpu_spot package: the whole cluster from typed settings, then one more
GPU pool added piece by piece from that cluster's outputs."""

import pulumi
from eks_gpu_spot import aws_facts
from eks_gpu_spot.nodegroup import NodeGroup, NodeGroupArgs
from eks_gpu_spot.platform import GpuSpotCluster, GpuSpotClusterArgs
from eks_gpu_spot.pool_spec import NodePoolSpec
from eks_gpu_spot.settings import (
    ClusterAutoscalerSettings,
    ClusterSettings,
    DevicePluginSettings,
    NetworkSettings,
    Settings,
    TerminationHandlerSettings,
)

# The stack's region (`pulumi config set aws:region ...`), the one the AWS provider deploys to.
region = pulumi.Config("aws").require("region")

settings = Settings(
    project=pulumi.get_project(),
    stack=pulumi.get_stack(),
    region=region,
    cluster=ClusterSettings(name="research", kubernetes_version="1.35", tags={"team": "research"}),
    network=NetworkSettings(
        vpc_cidr="10.42.0.0/16",
        az_count=2,
        private_subnet_cidrs=("10.42.0.0/19", "10.42.32.0/19"),
        public_subnet_cidrs=("10.42.224.0/22", "10.42.228.0/22"),
    ),
    general_pool=NodePoolSpec(name="general", instance_types=("m6i.xlarge", "m6a.xlarge", "m5.xlarge"),
                              min_size=2, max_size=6, desired_size=2),
    gpu_pools=(NodePoolSpec(name="gpu-t4", instance_types=("g4dn.xlarge",), gpu=True, max_size=2,
                            root_volume_gib=100, scale_down_unneeded_time="10m"),),
    device_plugin=DevicePluginSettings(enabled=True, image="nvcr.io/nvidia/k8s-device-plugin:v0.18.2"),
    cluster_autoscaler=ClusterAutoscalerSettings(
        enabled=True, image="registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2",
        expander="priority,least-waste", scale_down_unneeded_time="10m", scale_down_delay_after_add="10m",
        scale_down_utilization_threshold="0.5", max_node_provision_time="15m"),
    termination_handler=TerminationHandlerSettings(
        enabled=True, image="public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.25.3",
        heartbeat_timeout_seconds=300),
)
zones = aws_facts.availability_zones()[:2]
shapes = aws_facts.instance_shapes(["m6i.xlarge", "m6a.xlarge", "m5.xlarge", "g4dn.xlarge", "g6e.xlarge"])
platform = GpuSpotCluster("research", GpuSpotClusterArgs(settings=settings, zones=zones, shapes=shapes))

# The second GPU pool knows the cluster only through its outputs (a ClusterConnection, which can
# also be built by hand for a cluster of another stack); without a node role given, it creates its own role and EKS access entry.
# The autoscaler finds it by its discovery tags.
large_gpu = NodeGroup("gpu-l40s", NodeGroupArgs(
    pool=NodePoolSpec(name="gpu-l40s", instance_types=("g6e.xlarge",), gpu=True, max_size=1,
                      root_volume_gib=200, scale_down_unneeded_time="10m"),
    shapes=[shapes["g6e.xlarge"]],
    cluster=platform.cluster.connection(),
    subnets=platform.network.private_subnets,
))

pulumi.export("kubeconfig", platform.cluster.kubeconfig)
pulumi.export("gpuAsgNames", [*platform.node_groups["gpu-t4"].asg_names, *large_gpu.asg_names])
