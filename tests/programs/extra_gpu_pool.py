"""A program that adds one GPU pool to a cluster built elsewhere, using only that cluster's outputs."""

import pulumi

from components.connection import ClusterConnection
from components.network import PrivateSubnet
from components.node_template import InstanceShape
from components.nodegroup import NodeGroup, NodeGroupArgs
from components.pool_spec import NodePoolSpec

L4 = InstanceShape("g6.xlarge", 4, 16384, 1, "L4", "NVIDIA", 58)
group = NodeGroup("extra-gpu", NodeGroupArgs(
    pool=NodePoolSpec(name="extra-gpu", instance_types=("g6.xlarge",), gpu=True, max_size=2,
                      scale_down_unneeded_time="10m"),
    shapes=[L4],
    cluster=ClusterConnection(
        name="existing", kubernetes_version="1.34", endpoint="https://existing.example",
        certificate_authority="Q0E=", service_cidr="10.100.0.0/16", node_security_group_id="sg-0123456789abcdef0"),
    subnets=[PrivateSubnet("us-east-1a", "subnet-0a1b2c3d4e5f6a7b8"), PrivateSubnet("us-east-1b", "subnet-0a1b2c3d4e5f6a7b9")],
))
pulumi.export("asgNames", list(group.asg_names.values()))
