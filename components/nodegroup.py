"""A self-managed Spot node group: launch template plus one or more Auto Scaling groups.

pulumi-eks cannot do this itself: `NodeGroupV2` takes one instance type and no metadata options,
and `ManagedNodeGroup` cannot tag its ASG, which scale-from-zero needs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .ami import ami_parameter_name
from .network import PrivateSubnet, cluster_tag
from .node_role import NodeRole, NodeRoleArgs
from .node_template import InstanceShape, NodeTemplate
from .pool_spec import NodePoolSpec, build_node_template
from .userdata import ClusterBootstrap, feature_gates, render_user_data

ROOT_DEVICE = "/dev/xvda"  # the root device name of the AL2023 EKS AMIs
IMDS_HOP_LIMIT = 1  # no pod of ours reads IMDS; 1 keeps pods off the node's credentials


@dataclass(frozen=True)
class ClusterConnection:
    """What nodes need from a cluster, whether built by this project or elsewhere.

    `name` and `service_cidr` are plain strings; `endpoint`, `certificate_authority` (base64 PEM)
    and `node_security_group_id` may be outputs.
    """

    name: str
    kubernetes_version: str
    endpoint: pulumi.Input[str]
    certificate_authority: pulumi.Input[str]
    service_cidr: str
    node_security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class NodeGroupArgs:
    """Inputs of `NodeGroup`.

    - `pool`: the pool (instance types, sizes, labels, taints, Spot settings).
    - `shapes`: the shape of each of `pool.instance_types`, in the same order.
    - `cluster`: the cluster to join.
    - `subnets`: private subnets with their zones. A GPU pool gets one ASG per subnet.
    - `node_role`: an existing `NodeRole` whose access entry the cluster already has. Leave it
      unset to create a role here together with its EKS access entry (for clusters built elsewhere).
    - `propagated_tags`: tags put on the ASG and every instance it launches.
    - `partition`, `tags`: the AWS partition and the tags of every resource.
    """

    pool: NodePoolSpec
    shapes: Sequence[InstanceShape]
    cluster: ClusterConnection
    subnets: Sequence[PrivateSubnet]
    node_role: NodeRole | None = None
    propagated_tags: Mapping[str, str] = field(default_factory=dict)
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)


def asg_tags(cluster_name: str, template: NodeTemplate, name: str,
             propagated: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    """(key, value, propagate_at_launch) for an ASG: autoscaler tags stay on the group only."""
    tags = [(key, value, False) for key, value in template.autoscaler_tags(cluster_name).items()]
    tags.append(("Name", name, True))
    tags.extend((key, value, True) for key, value in propagated.items())
    return tags


def group_plan(pool: NodePoolSpec, subnets: Sequence[PrivateSubnet]) -> list[tuple[str, list[PrivateSubnet]]]:
    """(name suffix, subnets) of each ASG: one spanning all zones, or one per zone for GPUs."""
    if not pool.gpu:
        return [("", list(subnets))]
    return [(f"-{subnet.availability_zone}", [subnet]) for subnet in subnets]


class NodeGroup(pulumi.ComponentResource):
    """One node pool: a launch template and its Spot Auto Scaling groups.

    Creates, unless `node_role` is given, a `NodeRole` and an EC2_LINUX EKS access entry; a
    launch template (EKS AL2023 AMI from SSM, `standard` or `nvidia`, the recommended one or the
    pool's pinned release; nodeadm user data registering the pool's labels and taints, with fast
    image pull on GPU nodes; IMDSv2 required; encrypted gp3 root volume with the pool's throughput
    and IOPS; the node security
    group; instance and volume tags); and Auto Scaling groups with a MixedInstancesPolicy (types in
    pool order, Spot allocation strategy, capacity rebalance). A general pool is one ASG over all
    subnets; a GPU pool is one ASG per zone with AZRebalance suspended, min 0 and desired 0. Every
    ASG carries Cluster Autoscaler discovery and node-template tags, and Pulumi ignores its desired
    capacity so `pulumi up` never undoes the autoscaler.

    Outputs: `asgs`, `asg_names`, `template` (the `NodeTemplate`), `instance_types`, `role`.
    """

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:nodegroup:NodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool, cluster = args.pool, args.cluster
        self.template = build_node_template(pool, args.shapes)
        self.instance_types = list(pool.instance_types)

        self.role = args.node_role
        if self.role is None:
            self.role = NodeRole(f"{name}-node", NodeRoleArgs(partition=args.partition, tags=args.tags), opts=child)
            aws.eks.AccessEntry(f"{name}-access", cluster_name=cluster.name, principal_arn=self.role.role.arn,
                                type="EC2_LINUX", tags=dict(args.tags), opts=child)

        image_id = aws.ssm.get_parameter_output(
            name=ami_parameter_name(cluster.kubernetes_version, pool.gpu, release_version=pool.ami_release_version),
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).value
        kubelet_flags = self.template.kubelet_flags()
        user_data = pulumi.Output.all(cluster.endpoint, cluster.certificate_authority).apply(
            lambda values: base64.b64encode(render_user_data(
                ClusterBootstrap(cluster.name, values[0], values[1], cluster.service_cidr), kubelet_flags,
                feature_gates(pool.gpu),
            ).encode()).decode()
        )
        instance_tags = {**args.tags, "Name": f"{cluster.name}-{pool.name}", cluster_tag(cluster.name): "owned"}
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"EKS {cluster.name} node pool {pool.name}",
            image_id=image_id,
            user_data=user_data,
            update_default_version=True,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=self.role.instance_profile.arn),
            vpc_security_group_ids=[cluster.node_security_group_id],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=pool.root_volume_gib, volume_type="gp3", encrypted="true",
                    delete_on_termination="true",
                    # Unset keeps gp3's included 125 MiB/s and 3000 IOPS.
                    throughput=pool.root_volume_throughput_mibps, iops=pool.root_volume_iops,
                ),
            )],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in ("instance", "volume")
            ],
            tags=dict(args.tags),
            opts=child,
        )

        self.asgs: list[aws.autoscaling.Group] = []
        # Plain strings (the ASGs are named explicitly): whatever only needs a name, such as the
        # autoscaler's priority ConfigMap, need not wait for the groups to exist.
        self.asg_names: list[str] = []
        for suffix, subnets in group_plan(pool, args.subnets):
            asg_name = f"{cluster.name}-{pool.name}{suffix}"
            self.asg_names.append(asg_name)
            self.asgs.append(aws.autoscaling.Group(
                f"{name}{suffix}",
                name=asg_name,
                vpc_zone_identifiers=[s.subnet_id for s in subnets],
                min_size=pool.min_size,
                max_size=pool.max_size,
                desired_capacity=pool.desired_size,
                capacity_rebalance=True,
                suspended_processes=["AZRebalance"] if pool.gpu else None,
                mixed_instances_policy=aws.autoscaling.GroupMixedInstancesPolicyArgs(
                    instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                        on_demand_base_capacity=pool.on_demand_base_capacity,
                        on_demand_percentage_above_base_capacity=pool.on_demand_percentage_above_base,
                        spot_allocation_strategy=pool.spot_allocation_strategy,
                    ),
                    launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                        launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                            launch_template_id=self.launch_template.id,
                            version=self.launch_template.latest_version.apply(str),
                        ),
                        overrides=[
                            aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                            for t in pool.instance_types
                        ],
                    ),
                ),
                tags=[aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=propagate)
                      for key, value, propagate in asg_tags(cluster.name, self.template, asg_name,
                                                            args.propagated_tags)],
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
            ))
        self.register_outputs({
            "asg_names": self.asg_names,
            "instance_types": self.instance_types,
            "template": self.template.to_json(),
        })
