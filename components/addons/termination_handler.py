"""aws-node-termination-handler in queue mode: cordon and drain a node before EC2 takes it away.

EventBridge sends Spot interruption warnings, instance state changes, ASG terminate lifecycle
actions and AWS Health scheduled changes to an SQS queue; one Deployment reads the queue and drains
the node, within the 2-minute Spot warning. The lifecycle hook holds an ASG termination (scale-in,
capacity rebalance, instance refresh) until the drain is done, or its heartbeat timeout passes.

No rule for rebalance recommendations: in queue mode the handler cordons and drains at once on one
(`pkg/interruptionevent/draincordon/handler.go`), and a group with capacity rebalance then drains the
same node a second time through its hook, after launching the replacement. The handler's README
(v1.25.6, "Create Amazon EventBridge Rules") says groups with capacity rebalance need no rebalance
rule. A pool that turns capacity rebalance off (GPU pools, by default) wants no early eviction at
all, so the rule would be wrong for it too: a warning that may never become an interruption.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..iam import cluster_asgs_arn, partition_for_region, to_json
from ..node_template import Taint, ca_cluster_tag
from ..rollout import (
    HOOK_DEFAULT_RESULT,
    SPOT_WARNING_SECONDS,
    TERMINATING,
    TERMINATION_HOOK_NAME,
    handler_drain_seconds,
)
from .common import (
    general_pool_deployment_manifest,
    kubernetes_object,
    metadata,
    pod_identity_role,
    rule,
    service_account_with_cluster_role,
)

APP = "aws-node-termination-handler"
NAME = "aws-node-termination-handler"
MANAGED_TAG = "aws-node-termination-handler/managed"
LIFECYCLE_HOOK_NAME = TERMINATION_HOOK_NAME
PROBES_PORT = 8080
RUN_AS = 1000  # the uid of the upstream image
# Past the 2-minute Spot warning a message is useless; a short retention keeps stale ones out.
MESSAGE_RETENTION_SECONDS = 300
REQUESTS = {"cpu": "50m", "memory": "64Mi"}
LIMITS = {"memory": "128Mi"}

DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeTags",
    "ec2:DescribeInstances",
)
LIFECYCLE_ACTIONS = ("autoscaling:CompleteLifecycleAction",)
QUEUE_ACTIONS = ("sqs:DeleteMessage", "sqs:ReceiveMessage")


def asg_name_prefix(cluster_name: str) -> str:
    """What every ASG name of the cluster starts with (they are named `<cluster>-<pool>[-<zone>]`)."""
    return f"{cluster_name}-"


def event_patterns(cluster_name: str) -> dict[str, dict[str, Any]]:
    """Rule name suffix -> EventBridge pattern. Lifecycle actions only of this cluster's ASGs.

    The ASGs are matched by their name prefix, not listed: the rule then waits for no ASG, stays the
    same when pools change, and never grows past EventBridge's 2,048-character pattern limit. A
    cluster whose name starts with this one's plus `-` would match too; its events only reach this
    handler, which cannot complete their lifecycle actions (its IAM policy names this cluster's
    ASGs) and finds no such node in its cluster.
    """
    return {
        "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        "asg-lifecycle": {
            "source": ["aws.autoscaling"],
            "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
            "detail": {"AutoScalingGroupName": [{"prefix": asg_name_prefix(cluster_name)}]},
        },
        "scheduled-change": {
            "source": ["aws.health"],
            "detail-type": ["AWS Health Event"],
            "detail": {"service": ["EC2"], "eventTypeCategory": ["scheduledChange"]},
        },
    }


def queue_policy(queue_arn: str) -> dict[str, Any]:
    """Lets EventBridge (and SQS itself) deliver to the queue; nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeSendMessage",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        }],
    }


def managed_instance_tags() -> dict[str, str]:
    """The tag every instance the handler may drain carries (it checks for it before draining)."""
    return {MANAGED_TAG: "true"}


def termination_handler_policy(queue_arn: str, cluster_name: str, asgs_arn: str) -> dict[str, Any]:
    """The handler's IAM policy: the six actions it uses, each on the narrowest resource it allows.

    Lifecycle actions are scoped by the cluster's ASG name prefix (`asgs_arn`) and its autoscaler
    tag, not by a list of ASGs, so the document stays the same size however many groups there are.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Describe", "Effect": "Allow", "Action": list(DESCRIBE_ACTIONS), "Resource": "*"},
            {"Sid": "CompleteLifecycleActions", "Effect": "Allow", "Action": list(LIFECYCLE_ACTIONS),
             "Resource": asgs_arn,
             "Condition": {"StringEquals": {f"aws:ResourceTag/{ca_cluster_tag(cluster_name)}": "owned"}}},
            {"Sid": "ConsumeQueue", "Effect": "Allow", "Action": list(QUEUE_ACTIONS), "Resource": queue_arn},
        ],
    }


def cluster_role_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(NAME, APP, None),
        "rules": [
            rule([""], ["nodes"], ["get", "list", "patch", "update"]),
            rule([""], ["pods"], ["list", "get"]),
            rule([""], ["pods/eviction"], ["create"]),
            rule(["apps"], ["daemonsets"], ["get"]),
            rule([""], ["events"], ["create", "patch"]),
        ],
    }


def deployment_manifest(image: str, queue_url: pulumi.Input[str], region: str, general_pool: str = "general",
                        general_pool_taints: Sequence[Taint] = (),
                        drain_seconds: int = SPOT_WARNING_SECONDS) -> dict[str, Any]:
    """The queue-mode Deployment. `queue_url` may be an output; everything else is plain data.
    `drain_seconds`: how long the handler keeps draining one node (`rollout.handler_drain_seconds`)."""
    def field_ref(name: str, path: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}

    env = [
        field_ref("NODE_NAME", "spec.nodeName"),
        field_ref("POD_NAME", "metadata.name"),
        field_ref("NAMESPACE", "metadata.namespace"),
        {"name": "ENABLE_SQS_TERMINATION_DRAINING", "value": "true"},
        {"name": "QUEUE_URL", "value": queue_url},
        {"name": "AWS_REGION", "value": region},
        # Only instances of this project's ASGs (they carry the tag) are drained.
        {"name": "CHECK_TAG_BEFORE_DRAINING", "value": "true"},
        {"name": "MANAGED_TAG", "value": MANAGED_TAG},
        {"name": "DELETE_LOCAL_DATA", "value": "true"},
        {"name": "IGNORE_DAEMON_SETS", "value": "true"},
        {"name": "POD_TERMINATION_GRACE_PERIOD", "value": "-1"},
        # The drain helper's timeout: the 2-minute Spot warning, or the longest drain timeout a pool
        # sets (its hook still ends that pool's wait). It also starts a scheduled-event drain this
        # long before the event; it never delays one.
        {"name": "NODE_TERMINATION_GRACE_PERIOD", "value": str(drain_seconds)},
        {"name": "EMIT_KUBERNETES_EVENTS", "value": "true"},
        {"name": "ENABLE_PROBES_SERVER", "value": "true"},
        {"name": "PROBES_SERVER_PORT", "value": str(PROBES_PORT)},
        {"name": "PROBES_SERVER_ENDPOINT", "value": "/healthz"},
        {"name": "LOG_LEVEL", "value": "info"},
    ]
    return general_pool_deployment_manifest(NAME, APP, run_as=RUN_AS, general_pool=general_pool,
                                            general_pool_taints=general_pool_taints, container={
        "name": "aws-node-termination-handler",
        "image": image,
        "env": env,
        "ports": [{"name": "liveness-probe", "containerPort": PROBES_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": PROBES_PORT},
            "initialDelaySeconds": 5,
            "periodSeconds": 5,
        },
        "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
    })


@dataclass(frozen=True)
class NodeTerminationHandlerArgs:
    """Inputs of `NodeTerminationHandler`.

    - `cluster_name`, `region`: the EKS cluster and its region.
    - `image`: the handler image, a pinned v1.25.x.
    - `provider`: the Kubernetes provider of the cluster.
    - `asgs`: every ASG of the cluster, by a stable key used in resource names (e.g. the ASG name).
      Each gets a TERMINATING lifecycle hook; its instances must carry `MANAGED_TAG`. Groups created
      after the handler (so that they can depend on `outlives_groups`) get theirs from `add_hooks`.
    - `heartbeat_timeout_seconds`: how long a lifecycle hook waits for the handler.
    - `hook_heartbeats`: by ASG key, a heartbeat other than `heartbeat_timeout_seconds` (a pool's
      drain timeout); the handler's drain limit covers the longest of these and the default.
    - `general_pool`, `general_pool_taints`: where the handler runs, and the taints it tolerates there.
    - `pod_identity_agent`: the eks-pod-identity-agent add-on the association waits for.
    - `control_plane`: the cluster's control plane (the `eks.Cluster`): the handler's Kubernetes
      objects are deleted with it rather than before it, so the handler keeps draining nodes while
      `pulumi destroy` deletes the groups.
    """

    cluster_name: str
    region: str
    image: str
    provider: pulumi.ProviderResource
    asgs: Mapping[str, aws.autoscaling.Group] = field(default_factory=dict)
    heartbeat_timeout_seconds: int = 300
    hook_heartbeats: Mapping[str, int] = field(default_factory=dict)
    general_pool: str = "general"
    general_pool_taints: Sequence[Taint] = ()
    pod_identity_agent: pulumi.Resource | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    control_plane: pulumi.Resource | None = None


class NodeTerminationHandler(pulumi.ComponentResource):
    """aws-node-termination-handler in queue mode.

    Creates an SQS queue (SSE-SQS encryption, 5-minute retention) with a policy letting EventBridge
    send to it; four EventBridge rules (`event_patterns`) targeting it; a TERMINATING lifecycle hook
    (default result CONTINUE) on every ASG, deleted with its group; an IAM role trusted by EKS Pod Identity with
    `termination_handler_policy` as its own managed policy, and its Pod Identity association; and in kube-system a
    ServiceAccount, ClusterRole and binding, and the Deployment (`deployment_manifest`).

    A group deleted while the handler is gone terminates its nodes undrained once their hooks time
    out. So groups should depend on `outlives_groups` (the queue, its policy, the rules and targets,
    the IAM role and policy: all created within seconds, long before any group can be), which
    Pulumi then deletes only after them; the Kubernetes objects go with `control_plane`.

    Outputs: `queue_url`, `queue_arn`, `role_arn`, `outlives_groups`.
    """

    def __init__(self, name: str, args: NodeTerminationHandlerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:addons:NodeTerminationHandler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self._name, self._args = name, args
        # The handler's Kubernetes objects vanish with the cluster: `pulumi destroy` leaves them
        # running until then instead of deleting them while the groups still drain.
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider, deleted_with=args.control_plane)

        self.queue = aws.sqs.Queue(f"{name}-queue", sqs_managed_sse_enabled=True,
                                   message_retention_seconds=MESSAGE_RETENTION_SECONDS, tags=tags, opts=child)
        self.outlives_groups: list[pulumi.Resource] = [self.queue, aws.sqs.QueuePolicy(
            f"{name}-queue-policy", queue_url=self.queue.url,
            policy=self.queue.arn.apply(lambda arn: to_json(queue_policy(arn))), opts=child)]

        for suffix, pattern in event_patterns(args.cluster_name).items():
            rule_resource = aws.cloudwatch.EventRule(
                f"{name}-{suffix}",
                description=f"{suffix} events for aws-node-termination-handler of EKS cluster {args.cluster_name}",
                event_pattern=json.dumps(pattern, sort_keys=True),
                tags=tags,
                opts=child,
            )
            self.outlives_groups += [rule_resource, aws.cloudwatch.EventTarget(
                f"{name}-{suffix}", rule=rule_resource.name, arn=self.queue.arn, opts=child)]

        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        policy = pulumi.Output.all(self.queue.arn, account).apply(lambda values: to_json(termination_handler_policy(
            str(values[0]), args.cluster_name,
            cluster_asgs_arn(partition_for_region(args.region), args.region, str(values[1]), args.cluster_name))))
        identity = pod_identity_role(
            name, cluster_name=args.cluster_name, service_account=NAME, policy=policy,
            description=f"aws-node-termination-handler of EKS cluster {args.cluster_name}",
            pod_identity_agent=args.pod_identity_agent, tags=args.tags, parent=self)
        # Not the association: it waits for the Pod Identity agent add-on, a minute after the control
        # plane, which would hold back every group's creation. Once it is deleted, the handler's
        # session credentials stay valid until they expire (DeletePodIdentityAssociation).
        self.outlives_groups += identity.iam

        before_deployment: list[pulumi.Resource] = [
            identity.association, *service_account_with_cluster_role(name, NAME, APP, cluster_role_manifest(), k8s_opts)]
        self.deployment = kubernetes_object(
            f"{name}-deployment",
            deployment_manifest(args.image, self.queue.url, args.region, args.general_pool, args.general_pool_taints,
                                handler_drain_seconds([args.heartbeat_timeout_seconds,
                                                       *args.hook_heartbeats.values()])),
            pulumi.ResourceOptions(parent=self, provider=args.provider, deleted_with=args.control_plane,
                                   depends_on=before_deployment))
        self.add_hooks(args.asgs)

        self.queue_url = self.queue.url
        self.queue_arn = self.queue.arn
        self.role_arn = identity.association.role_arn
        self.register_outputs({"queue_url": self.queue_url, "queue_arn": self.queue_arn, "role_arn": self.role_arn})

    def add_hooks(self, asgs: Mapping[str, aws.autoscaling.Group]) -> None:
        """A TERMINATING lifecycle hook on each of `asgs` (by ASG key, as `NodeTerminationHandlerArgs.asgs`),
        with its heartbeat from `hook_heartbeats`, else `heartbeat_timeout_seconds`."""
        name, args = self._name, self._args
        hooks = {key: args.hook_heartbeats.get(key, args.heartbeat_timeout_seconds) for key in asgs}
        for key, asg in asgs.items():
            # The group is created with this same hook (NodeGroup's initial lifecycle hooks), but it
            # only keeps it from its creation on: this resource gives groups created before that their
            # hook, and keeps every hook's heartbeat current (Terraform never updates initial hooks).
            # `deleted_with`: when the group goes too (a pool or zone removed), the hook is left to go
            # with it. Deleting it first, as Pulumi deletes dependents first, would let the group's
            # own deletion terminate its nodes undrained; and since it has the name of the group's
            # initial hook, deleting it removes that hook too.
            aws.autoscaling.LifecycleHook(
                f"{name}-{key}",
                name=LIFECYCLE_HOOK_NAME,
                autoscaling_group_name=asg.name,
                lifecycle_transition=TERMINATING,
                default_result=HOOK_DEFAULT_RESULT,
                heartbeat_timeout=hooks[key],
                opts=pulumi.ResourceOptions(parent=self, deleted_with=asg),
            )
