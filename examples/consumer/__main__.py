"""A consumer of the eks_gpu_spot package: the whole cluster from typed settings, then one more
GPU pool added piece by piece from that cluster's outputs.

The package's types check their values when they are built (`InvalidValueError` names the field);
`GpuSpotCluster` checks them against AWS facts before it creates anything. Every setting left out
takes the package's default.
"""

import pulumi
from eks_gpu_spot import aws_facts
from eks_gpu_spot.nodegroup import NodeGroup, NodeGroupArgs
from eks_gpu_spot.platform import GpuSpotCluster, GpuSpotClusterArgs
from eks_gpu_spot.pool_spec import NodePoolSpec
from eks_gpu_spot.settings import ClusterSettings, NewVpcSettings, Settings

settings = Settings(
    project=pulumi.get_project(),
    stack=pulumi.get_stack(),
    region=pulumi.Config("aws").require("region"),
    cluster=ClusterSettings(name="research", tags={"team": "research"}),
    network=NewVpcSettings(vpc_cidr="10.42.0.0/16", az_count=2),
    general_pool=NodePoolSpec(name="general", instance_types=("m6i.xlarge", "m6a.xlarge", "m5.xlarge"), max_size=6),
    gpu_pools=(NodePoolSpec(name="gpu-t4", instance_types=("g4dn.xlarge",), gpu=True),),
)
platform = GpuSpotCluster("research", GpuSpotClusterArgs(settings=settings, facts=aws_facts.read(settings)))

# The second GPU pool knows the cluster only through its outputs (a ClusterConnection, which can
# also be built by hand for a cluster of another stack); without a node role given, it creates its
# own role and EKS access entry. The autoscaler finds it by its discovery tags.
large_gpu = NodeGroup("gpu-l40s", NodeGroupArgs(
    pool=NodePoolSpec(name="gpu-l40s", instance_types=("g6e.xlarge",), gpu=True, max_size=1, root_volume_gib=200),
    shapes=list(aws_facts.instance_shapes(["g6e.xlarge"]).values()),
    cluster=platform.cluster.connection(),
    subnets=platform.network.private_subnets,
))

pulumi.export("kubeconfig", platform.cluster.kubeconfig)
pulumi.export("gpuAsgNames", [*platform.node_groups["gpu-t4"].asg_names.values(), *large_gpu.asg_names.values()])
