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

from . import validation
from .ami import ami_parameter_name
from .aws_facts import snapshots
from .cluster import ACCESS_ENTRY_TYPE, child_urn
from .connection import ClusterConnection
from .errors import InvalidValueError, within
from .image_cache import DEVICE_NAME as CACHE_DEVICE_NAME
from .image_cache import SNAPSHOT_NOT_FOUND, fsr_create_timeout, mount_script
from .network import PrivateSubnet, cluster_tag
from .node_role import NodeRole, NodeRoleArgs
from .node_template import InstanceShape, NodeTemplate
from .pool_spec import (
    ON_DEMAND_SUFFIX,
    NodePoolSpec,
    build_node_template,
    check_image_cache,
    check_pool_shapes,
    node_local_storage,
)
from .rollout import (
    HOOK_DEFAULT_RESULT,
    HOOK_HEARTBEAT_SECONDS,
    TERMINATING,
    TERMINATION_HOOK_NAME,
    RefreshPolicy,
    group_delete_timeout,
    refresh_policy,
)
from .userdata import ClusterBootstrap, feature_gates, render_user_data

ROOT_DEVICE = "/dev/xvda"  # the root device name of the AL2023 EKS AMIs
IMDS_HOP_LIMIT = 1  # no pod of ours reads IMDS; 1 keeps pods off the node's credentials


@dataclass(frozen=True)
class NodeGroupArgs:
    """Inputs of `NodeGroup`.

    - `pool`: the pool (instance types, sizes, labels, taints, Spot settings).
    - `shapes`: the shape of each of `pool.instance_types`, in the same order.
    - `cluster`: the cluster to join.
    - `subnets`: private subnets with their zones. A GPU pool gets one ASG per subnet.
    - `node_role`: an existing `NodeRole` (with its access entry to this cluster). Leave it unset to
      create one here (for clusters built elsewhere).
    - `propagated_tags`: tags put on the ASG and every instance it launches.
    - `termination_hook_heartbeat_seconds`: with the termination handler, the heartbeat timeout of
      the TERMINATING lifecycle hook each group is created with (the pool's drain timeout); None: no hook.
    - `partition`, `tags`: the AWS partition and the tags of every resource.
    - `image_cache_snapshot_gib`: the size of the pool's image cache snapshot (`aws_facts`); 0
      reads it here (`aws.ebs.get_snapshot`).
    - `depends_on`: resources every group waits for, and that Pulumi therefore deletes only after
      the groups: the termination handler's `outlives_groups`, so that it drains the groups' last
      nodes while they are deleted.
    """

    pool: NodePoolSpec
    shapes: Sequence[InstanceShape]
    cluster: ClusterConnection
    subnets: Sequence[PrivateSubnet]
    node_role: NodeRole | None = None
    propagated_tags: Mapping[str, str] = field(default_factory=dict)
    termination_hook_heartbeat_seconds: int | None = None
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)
    image_cache_snapshot_gib: int = 0
    depends_on: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.pool, NodePoolSpec):
            raise validation.wrong_kind("pool", self.pool, "a NodePoolSpec")
        if not isinstance(self.cluster, ClusterConnection):
            raise validation.wrong_kind("cluster", self.cluster, "a ClusterConnection")
        if len(self.shapes) != len(self.pool.instance_types) or any(
                shape.instance_type != t for shape, t in zip(self.shapes, self.pool.instance_types, strict=False)):
            raise InvalidValueError("shapes", [getattr(s, "instance_type", s) for s in self.shapes],
                                    f"must be the shapes of the pool's instance types, in order: "
                                    f"{', '.join(self.pool.instance_types)}")
        if not self.subnets:
            raise InvalidValueError("subnets", list(self.subnets), "must list at least one private subnet")
        for name in ("propagated_tags", "tags"):
            for key, value in validation.string_map(name, getattr(self, name)).items():
                validation.tag(f"{name}.{key}", key, value)
        if self.termination_hook_heartbeat_seconds is not None:
            validation.whole_number("termination_hook_heartbeat_seconds", self.termination_hook_heartbeat_seconds,
                                    *HOOK_HEARTBEAT_SECONDS)


def asg_tags(cluster_name: str, template: NodeTemplate, name: str, propagated: Mapping[str, str],
             tags: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    """(key, value, propagate_at_launch) for an ASG: autoscaler tags and the resource tags stay on
    the group (the launch template tags the instances); `propagated` goes to every instance."""
    found = [(key, value, False) for key, value in template.autoscaler_tags(cluster_name).items()]
    found.append(("Name", name, True))
    found.extend((key, value, True) for key, value in propagated.items())
    taken = {key for key, _, _ in found}
    found.extend((key, value, False) for key, value in tags.items() if key not in taken)
    return found


def instance_tags(cluster_name: str, pool: NodePoolSpec, tags: Mapping[str, str]) -> dict[str, str]:
    """The tags the launch template puts on each instance and volume."""
    return {**tags, "Name": f"{cluster_name}-{pool.name}", cluster_tag(cluster_name): "owned"}


@dataclass(frozen=True)
class AsgPlan:
    """One Auto Scaling group of a pool: its key, its name, its zone ("" = all), and whether it is
    the pool's all On-Demand fallback group."""

    key: str
    name: str
    zone: str = ""
    on_demand_fallback: bool = False


def asg_plans(cluster_name: str, pool: NodePoolSpec, zones: Sequence[str]) -> list[AsgPlan]:
    """The pool's groups: one over all zones for the general pool; one per zone for a GPU pool,
    plus, with `on_demand_fallback`, one all On-Demand group per zone (`<pool>-<zone>-on-demand`)."""
    if not pool.gpu:
        return [AsgPlan(pool.name, f"{cluster_name}-{pool.name}")]
    plans = [AsgPlan(f"{pool.name}-{zone}", f"{cluster_name}-{pool.name}-{zone}", zone) for zone in dict.fromkeys(zones)]
    if pool.on_demand_fallback:
        plans += [AsgPlan(p.key + ON_DEMAND_SUFFIX, p.name + ON_DEMAND_SUFFIX, p.zone, True) for p in list(plans)]
    return plans


def instance_refresh(policy: RefreshPolicy | None) -> aws.autoscaling.GroupInstanceRefreshArgs | None:
    """The group's instance refresh. The AWS provider starts one whenever the launch template version
    or the mixed instances policy changes (the version is a number, never $Latest, so it does), does
    not wait for it, and cancels one in progress when it starts the next. Skip matching: a node
    already on the new template stays. No auto rollback: the provider saves the new configuration on
    the group before it starts the refresh, so a rollback would go back to the new template itself
    (hashicorp/terraform-provider-aws#34189, still open); a rollout is undone by reverting the config
    (docs/upgrades.md)."""
    if policy is None:
        return None
    return aws.autoscaling.GroupInstanceRefreshArgs(
        strategy="Rolling",
        preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
            min_healthy_percentage=policy.min_healthy_percentage,
            max_healthy_percentage=policy.max_healthy_percentage,
            instance_warmup=str(policy.instance_warmup_seconds),
            skip_matching=True,
            auto_rollback=False,
            checkpoint_percentages=list(policy.checkpoint_percentages) or None,
            checkpoint_delay=str(policy.checkpoint_delay_seconds) if policy.checkpoint_percentages else None,
        ),
    )


def termination_hooks(heartbeat_seconds: int | None) -> list[aws.autoscaling.GroupInitialLifecycleHookArgs] | None:
    """The TERMINATING hook the group is created with, so it drains nodes from its first instance
    until its last, while the group itself is being deleted too."""
    if heartbeat_seconds is None:
        return None
    return [aws.autoscaling.GroupInitialLifecycleHookArgs(
        name=TERMINATION_HOOK_NAME, lifecycle_transition=TERMINATING, default_result=HOOK_DEFAULT_RESULT,
        heartbeat_timeout=heartbeat_seconds)]


def check_node_group_tags(cluster_name: str, pool: NodePoolSpec, shapes: Sequence[InstanceShape],
                          zones: Sequence[str], propagated: Mapping[str, str], tags: Mapping[str, str], *,
                          labels_field: str = "pool.labels", tags_field: str = "tags") -> None:
    """Counts the tags of every ASG and instance of the pool as they will be sent; too many are
    blamed on the pool's labels (`labels_field`) when it has labels or taints, else on the
    resource tags (`tags_field`)."""
    templates = {fallback: build_node_template(pool, shapes, on_demand_fallback=fallback) for fallback in (False, True)}
    validation.tags_as_sent(tags_field, dict(tags), list(instance_tags(cluster_name, pool, tags).items()),
                            f"the instances of pool {pool.name}")
    for plan in asg_plans(cluster_name, pool, zones):
        sent = [(key, value) for key, value, _ in asg_tags(cluster_name, templates[plan.on_demand_fallback], plan.name,
                                                             propagated, tags)]
        by_pool = bool(pool.labels or pool.taints)
        validation.tags_as_sent(labels_field if by_pool else tags_field, dict(pool.labels if by_pool else tags),
                                sent, f"the Auto Scaling group {plan.name}")


def block_devices(pool: NodePoolSpec) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgs]:
    """The encrypted gp3 root volume and, with an image cache, the volume made from its snapshot
    (its size unset: the snapshot's). Both take the pool's throughput and IOPS: image pulls write
    to the root volume, or to the cache volume that holds the image store."""
    def gp3(size_gib: int | None, snapshot_id: str | None = None) -> aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs:
        return aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gib, snapshot_id=snapshot_id, volume_type="gp3", encrypted="true",
            delete_on_termination="true",
            # Unset keeps gp3's included 125 MiB/s and 3000 IOPS.
            throughput=pool.root_volume_throughput_mibps, iops=pool.root_volume_iops,
        )

    devices = [aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name=ROOT_DEVICE, ebs=gp3(pool.root_volume_gib))]
    if pool.image_cache is not None:
        devices.append(aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=CACHE_DEVICE_NAME, ebs=gp3(pool.image_cache.size_gib, pool.image_cache.snapshot_id)))
    return devices


def snapshot_size(snapshot_id: str) -> int:
    """The size in GiB of an EBS snapshot this account can use in the provider's region; refuses
    (`image_cache.snapshot_id`) one AWS does not find."""
    size = snapshots([snapshot_id])[0][snapshot_id]
    if size is None:
        raise InvalidValueError("image_cache.snapshot_id", snapshot_id, SNAPSHOT_NOT_FOUND)
    return size


def check_warm_nodes(pool: NodePoolSpec, zone_count: int) -> None:
    """Refuse (`warm_nodes`, a total for the pool) more warm nodes than the pool's groups in its
    `zone_count` zones may hold: the placeholders past that would stay pending, and each would count
    as a node the autoscaler cannot add. The On-Demand fallback groups count: they carry the pool's
    label, and the autoscaler turns to them for placeholders the Spot groups cannot take."""
    most = pool.max_nodes(zone_count)
    if pool.warm_nodes > most:
        fallback = " x 2 (each zone's On-Demand fallback group)" if pool.on_demand_fallback else ""
        raise InvalidValueError("warm_nodes", pool.warm_nodes,
                                f"must not exceed the nodes the pool may have: maxSizePerAz {pool.max_size} x "
                                f"{zone_count} zone(s){fallback} = {most}")


class NodeGroup(pulumi.ComponentResource):
    """One node pool: a launch template and its Spot Auto Scaling groups.

    Creates, unless `node_role` is given, a `NodeRole` (role, instance profile, EC2_LINUX access entry); a
    launch template (EKS AL2023 AMI from SSM, `standard` or `nvidia`, of the cluster's pinned
    release or the recommended one; nodeadm user data registering the pool's labels and taints, with fast
    image pull on GPU nodes; IMDSv2 required; encrypted gp3 root volume with the pool's throughput
    and IOPS; the node security
    group; instance and volume tags); and Auto Scaling groups with a MixedInstancesPolicy (types in
    pool order, Spot allocation strategy, the pool's capacity rebalance). A general pool is one ASG
    over all subnets; a GPU pool is one ASG per zone with AZRebalance suspended, min 0 and desired 0.
    Every ASG carries Cluster Autoscaler discovery and node-template tags, and Pulumi ignores its
    desired capacity so `pulumi up` never undoes the autoscaler. The general pool's groups, and a GPU
    pool's with `replace_busy_nodes`, roll onto a changed launch template by instance refresh
    (`rollout.refresh_policy`); with `termination_hook_heartbeat_seconds` every group is created with
    the termination handler's TERMINATING lifecycle hook, and may take that long plus 10 minutes to
    delete (`rollout.group_delete_timeout`).

    Refused before anything is created: shapes that differ within the pool, a GPU pool without
    NVIDIA GPUs, mixed CPU architectures, more tags on a group or instance than AWS allows.

    A GPU pool with `on_demand_fallback` also gets, per zone, an all On-Demand ASG (base 0, 100%
    above base) with its own launch template: the same template and taints, lifecycle label
    `OnDemand`. The Spot groups' lifecycle label says `Ec2Spot`, and a group whose distribution
    mixes both has none (`pool_spec.lifecycle_label_value`).

    Outputs: `asg_plans`, `asgs` and `asg_names` (by ASG key: `<pool>`, or `<pool>-<zone>` and
    `<pool>-<zone>-on-demand` for GPU pools), `template` (the `NodeTemplate` of the pool's own
    groups), `on_demand_template` (of the fallback groups, or None), `launch_template`,
    `on_demand_launch_template`, `instance_types`, `role`.
    """

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        pool, cluster = args.pool, args.cluster
        zones = [subnet.availability_zone for subnet in args.subnets]
        # Refused before the component or any child exists.
        with within("pool"):
            check_pool_shapes(pool, {shape.instance_type: shape for shape in args.shapes})
            check_warm_nodes(pool, len(set(zones)) if pool.gpu else 1)
            snapshot_gib = 0
            if pool.image_cache is not None:
                snapshot_gib = args.image_cache_snapshot_gib or snapshot_size(pool.image_cache.snapshot_id)
                check_image_cache(pool, snapshot_gib)
        check_node_group_tags(cluster.name, pool, args.shapes, zones, args.propagated_tags, args.tags)
        super().__init__("eks-gpu-spot:nodegroup:NodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.template = build_node_template(pool, args.shapes)
        self.instance_types = list(pool.instance_types)
        # Known before the groups exist: what waits on a name need not wait on a group.
        self.asg_plans = asg_plans(cluster.name, pool, zones)
        self.asg_names: dict[str, str] = {plan.key: plan.name for plan in self.asg_plans}

        self.role = args.node_role
        if self.role is None:
            # The access entry was this component's own child `<name>-access` before `NodeRole`
            # created it: the alias moves it in existing stacks.
            # The name read with the endpoint: when the control plane is created in the same
            # program, the endpoint is its output, so the entry waits for the cluster to exist.
            self.role = NodeRole(f"{name}-node", NodeRoleArgs(
                cluster_name=pulumi.Output.all(cluster.name, cluster.endpoint).apply(lambda values: values[0]),
                partition=args.partition,
                access_entry_aliases=[self.urn.apply(lambda urn: child_urn(urn, [ACCESS_ENTRY_TYPE], f"{name}-access"))],
                tags=args.tags,
            ), opts=child)

        # `value` is always marked secret; an AMI ID is not, and previews must show when it changes.
        image_id = aws.ssm.get_parameter_output(
            name=ami_parameter_name(cluster.kubernetes_version, pool.gpu, args.shapes[0].architecture,
                                    release_version=cluster.ami_release_version),
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).insecure_value
        self.launch_template = self._launch_template(f"{name}-lt", args, image_id, self.template,
                                                     f"EKS {cluster.name} node pool {pool.name}")
        self.on_demand_template: NodeTemplate | None = None
        self.on_demand_launch_template: aws.ec2.LaunchTemplate | None = None
        if pool.on_demand_fallback:
            # Its own launch template: kubelet's labels come from the user data, and only the
            # lifecycle label differs from the Spot groups'.
            self.on_demand_template = build_node_template(pool, args.shapes, on_demand_fallback=True)
            self.on_demand_launch_template = self._launch_template(
                f"{name}{ON_DEMAND_SUFFIX}-lt", args, image_id, self.on_demand_template,
                f"EKS {cluster.name} node pool {pool.name}, On-Demand fallback")

        self.asgs: dict[str, aws.autoscaling.Group] = {}
        refresh = instance_refresh(refresh_policy(pool.gpu, pool.replace_busy_nodes))
        hooks = termination_hooks(args.termination_hook_heartbeat_seconds)
        heartbeat = args.termination_hook_heartbeat_seconds
        delete_timeout = None if heartbeat is None else pulumi.CustomTimeouts(delete=group_delete_timeout(heartbeat))
        for plan in self.asg_plans:
            subnets = [s for s in args.subnets if not plan.zone or s.availability_zone == plan.zone]
            on_demand = plan.on_demand_fallback
            launch_template = self.on_demand_launch_template if on_demand else self.launch_template
            template = self.on_demand_template if on_demand else self.template
            assert launch_template is not None and template is not None
            self.asgs[plan.key] = aws.autoscaling.Group(
                name + plan.key.removeprefix(pool.name),
                name=plan.name,
                vpc_zone_identifiers=[s.subnet_id for s in subnets],
                # A fallback group holds no node of its own: it grows only when Spot cannot.
                min_size=0 if on_demand else pool.min_size,
                max_size=pool.max_size,
                desired_capacity=0 if on_demand else pool.desired_size,
                # Rebalancing replaces Spot instances at risk; an On-Demand group has none.
                capacity_rebalance=pool.capacity_rebalance and not on_demand,
                instance_refresh=refresh,
                initial_lifecycle_hooks=hooks,
                suspended_processes=["AZRebalance"] if pool.gpu else None,
                mixed_instances_policy=aws.autoscaling.GroupMixedInstancesPolicyArgs(
                    instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                        # The fallback: every instance On-Demand, in the pool's type order.
                        on_demand_base_capacity=0 if on_demand else pool.on_demand_base_capacity,
                        on_demand_percentage_above_base_capacity=(
                            100 if on_demand else pool.on_demand_percentage_above_base),
                        spot_allocation_strategy=pool.spot_allocation_strategy,
                    ),
                    launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                        launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                            launch_template_id=launch_template.id,
                            version=launch_template.latest_version.apply(str),
                        ),
                        overrides=[
                            aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                            for t in pool.instance_types
                        ],
                    ),
                ),
                tags=[aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=propagate)
                      for key, value, propagate in asg_tags(cluster.name, template, plan.name,
                                                            args.propagated_tags, args.tags)],
                # Instances launch only once their role's access entry exists: kubelet registers at boot.
                # The initial hooks are ignored after creation: Terraform applies them only when it
                # creates a group and marks them ForceNew, so a change (or their first appearance on a
                # group created without them) would replace the group and every node in it. The
                # termination handler's own LifecycleHook resource keeps the hook's settings current.
                # Deleting the group scales it to zero and waits for every node to leave, each held by its
                # hook while the handler drains it: longer than the provider's default 10 minutes.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity", "initialLifecycleHooks"],
                                            depends_on=[self.role.access_entry, *args.depends_on],
                                            custom_timeouts=delete_timeout),
            )
        # Nothing waits for these: nodes launched before a snapshot is optimised only load blocks lazily.
        self.fast_snapshot_restores: dict[str, aws.ebs.FastSnapshotRestore] = {}
        cache = pool.image_cache
        if cache is not None and cache.fast_snapshot_restore:
            for zone in dict.fromkeys(zones):
                self.fast_snapshot_restores[zone] = aws.ebs.FastSnapshotRestore(
                    f"{name}-image-cache-{zone}",
                    availability_zone=zone,
                    snapshot_id=cache.snapshot_id,
                    timeouts=aws.ebs.FastSnapshotRestoreTimeoutsArgs(create=fsr_create_timeout(snapshot_gib)),
                    opts=child,
                )
        self.register_outputs({
            "asg_names": list(self.asg_names.values()),
            "instance_types": self.instance_types,
            "template": self.template.to_json(),
        })

    def _launch_template(self, resource_name: str, args: NodeGroupArgs, image_id: pulumi.Input[str],
                         template: NodeTemplate, description: str) -> aws.ec2.LaunchTemplate:
        """A launch template whose nodes register `template`'s labels and taints."""
        pool, cluster = args.pool, args.cluster
        assert self.role is not None
        kubelet_flags = template.kubelet_flags()
        local_storage = node_local_storage(pool, args.shapes)
        scripts = [mount_script()] if pool.image_cache is not None else []
        user_data = pulumi.Output.all(cluster.endpoint, cluster.certificate_authority).apply(
            lambda values: base64.b64encode(render_user_data(
                ClusterBootstrap(cluster.name, values[0], values[1], cluster.service_cidr), kubelet_flags,
                feature_gates(pool.gpu), max_pods=pool.max_pods, local_storage=local_storage, scripts=scripts,
            ).encode()).decode()
        )
        tags_of_instances = instance_tags(cluster.name, pool, args.tags)
        return aws.ec2.LaunchTemplate(
            resource_name,
            description=description,
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
            block_device_mappings=block_devices(pool),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags_of_instances)
                for kind in ("instance", "volume")
            ],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
