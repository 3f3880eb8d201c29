"""aws-node-termination-handler in queue mode: queue, EventBridge rules, lifecycle hooks, IAM, Deployment."""

from __future__ import annotations

import kubernetes_validate
import pytest

from components.addons.termination_handler import event_patterns
from components.versions import NODE_TERMINATION_HANDLER_IMAGE
from tests.addon_helpers import (
    CLUSTER,
    DEV_ASGS,
    child,
    cluster_provider_ref,
    component,
    dev_run,
    document,
    k8s_child,
    pod_spec,
)

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:node-termination-handler-queue"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/node-termination-handler-queue"


def descendants(resource_type: str, **overrides: object):
    run = dev_run(**overrides)
    return [r for r in run.descendants_of(component(run, "termination handler")) if r.type == resource_type]


def test_default_image_is_a_pinned_1_25() -> None:
    assert NODE_TERMINATION_HANDLER_IMAGE.startswith("public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.25.")


def test_queue_is_encrypted_and_only_eventbridge_may_send() -> None:
    queue = child(dev_run(), "termination handler", "aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 300
    queue_policy = child(dev_run(), "termination handler", "aws:sqs/queuePolicy:QueuePolicy")
    assert queue_policy.inputs["queueUrl"] == QUEUE_URL
    (statement,) = document(queue_policy.inputs["policy"])["Statement"]
    assert statement == {"Sid": "EventBridgeSendMessage", "Effect": "Allow",
                         "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                         "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}


def test_four_eventbridge_rules_send_to_the_queue() -> None:
    rules = {r.name: document(r.inputs["eventPattern"])
             for r in descendants("aws:cloudwatch/eventRule:EventRule")}
    prefix = "node-termination-handler-"
    assert rules == {
        f"{prefix}spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        f"{prefix}state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        f"{prefix}asg-lifecycle": {"source": ["aws.autoscaling"],
                                   "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
                                   "detail": {"AutoScalingGroupName": [{"prefix": f"{CLUSTER}-"}]}},
        f"{prefix}scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
                                      "detail": {"service": ["EC2"], "eventTypeCategory": ["scheduledChange"]}},
    }
    assert all(name.startswith(f"{CLUSTER}-") for name in DEV_ASGS)
    # Matched by prefix, the rules wait for no ASG.
    for rule in descendants("aws:cloudwatch/eventRule:EventRule"):
        assert not [d for d in rule.depends_on if "autoscaling/group" in d], rule.name
    targets = descendants("aws:cloudwatch/eventTarget:EventTarget")
    assert sorted(t.name for t in targets) == sorted(rules)
    for target in targets:
        assert target.inputs["arn"] == QUEUE_ARN
        assert target.inputs["rule"] == f"{target.name}-generated"


def test_event_patterns_are_the_kinds_nth_reads_but_rebalance_recommendations() -> None:
    assert set(event_patterns("c")) == {"spot-interruption", "state-change", "asg-lifecycle", "scheduled-change"}


def test_a_terminating_lifecycle_hook_on_every_asg() -> None:
    hooks = descendants("aws:autoscaling/lifecycleHook:LifecycleHook")
    assert sorted(h.inputs["autoscalingGroupName"] for h in hooks) == sorted(DEV_ASGS)
    assert len(dev_run().of_type("aws:autoscaling/group:Group")) == len(hooks) == 4
    for hook in hooks:
        assert hook.inputs["lifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
        assert hook.inputs["defaultResult"] == "CONTINUE"
        assert hook.inputs["heartbeatTimeout"] == 300
        assert hook.inputs["name"] == "aws-node-termination-handler"


def test_lifecycle_hook_heartbeat_follows_config() -> None:
    hooks = descendants("aws:autoscaling/lifecycleHook:LifecycleHook",
                        nodeTerminationHandler={"heartbeatTimeoutSeconds": 600})
    assert {h.inputs["heartbeatTimeout"] for h in hooks} == {600}


def test_every_instance_carries_the_managed_tag() -> None:
    for group in dev_run().of_type("aws:autoscaling/group:Group"):
        tags = {t["key"]: t for t in group.inputs["tags"]}
        assert tags["aws-node-termination-handler/managed"]["propagateAtLaunch"] is True


def test_iam_policy_has_exactly_the_field_notes_actions_on_the_narrowest_resources() -> None:
    run = dev_run()
    policy = document(child(run, "termination handler", "aws:iam/policy:Policy").inputs["policy"])
    describe, lifecycle, queue = policy["Statement"]
    assert (set(describe["Action"]), describe["Resource"]) == (
        {"autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeTags", "ec2:DescribeInstances"}, "*")
    assert lifecycle["Action"] == ["autoscaling:CompleteLifecycleAction"]
    # Scoped by name prefix and the cluster's autoscaler tag, not by a list that grows with the groups.
    assert lifecycle["Resource"] == (f"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:"
                                     f"autoScalingGroupName/{CLUSTER}-*")
    assert lifecycle["Condition"] == {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}": "owned"}}
    every_asg = [g.inputs["name"] for g in run.of_type("aws:autoscaling/group:Group")]
    assert all(name.startswith(f"{CLUSTER}-") for name in every_asg)
    assert (set(queue["Action"]), queue["Resource"]) == ({"sqs:DeleteMessage", "sqs:ReceiveMessage"}, QUEUE_ARN)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"autoscaling:CompleteLifecycleAction", "autoscaling:DescribeAutoScalingInstances",
                       "autoscaling:DescribeTags", "ec2:DescribeInstances", "sqs:DeleteMessage",
                       "sqs:ReceiveMessage"}
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_iam_role_is_for_pod_identity() -> None:
    run = dev_run()
    trust = document(child(run, "termination handler", "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    association = child(run, "termination handler", "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.inputs["clusterName"], association.inputs["namespace"], association.inputs["serviceAccount"]) \
        == (CLUSTER, "kube-system", "aws-node-termination-handler")
    assert run.one("aws:eks/addon:Addon", f"{CLUSTER}-pod-identity-agent").urn in association.depends_on


def test_deployment_runs_queue_mode_on_general_nodes() -> None:
    run = dev_run()
    deployment = k8s_child(run, "termination handler", "Deployment")
    assert deployment.provider == cluster_provider_ref(run)
    pod = pod_spec(deployment)
    assert pod["nodeSelector"] == {"node-pool": "general"}
    assert pod["serviceAccountName"] == "aws-node-termination-handler"
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (main,) = pod["containers"]
    assert main["image"] == NODE_TERMINATION_HANDLER_IMAGE
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in main["env"]}
    assert env["ENABLE_SQS_TERMINATION_DRAINING"] == "true"
    assert env["QUEUE_URL"] == QUEUE_URL
    assert env["AWS_REGION"] == "us-east-1"
    assert env["CHECK_TAG_BEFORE_DRAINING"] == "true"
    assert env["MANAGED_TAG"] == "aws-node-termination-handler/managed"
    # The hooks' default heartbeat while no pool sets a longer drain timeout (test_rollout.py).
    assert env["NODE_TERMINATION_GRACE_PERIOD"] == "300"
    assert env["ENABLE_PROBES_SERVER"] == "true"
    assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert main["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert main["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                       "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    association = child(run, "termination handler", "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.urn in deployment.depends_on


def test_rbac_is_what_the_handler_uses() -> None:
    run = dev_run()
    role = k8s_child(run, "termination handler", "ClusterRole")
    assert role.inputs["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "get"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ]
    binding = k8s_child(run, "termination handler", "ClusterRoleBinding")
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": "aws-node-termination-handler",
                                           "namespace": "kube-system"}]


@pytest.mark.parametrize("version", ["1.32", "1.35"])
def test_every_object_is_valid_kubernetes(version: str) -> None:
    run = dev_run(kubernetesVersion=version)
    objects = [r for r in run.descendants_of(component(run, "termination handler")) if r.type.startswith("kubernetes:")]
    assert sorted(o.type.rsplit(":", 1)[1] for o in objects) == [
        "ClusterRole", "ClusterRoleBinding", "Deployment", "ServiceAccount"]
    for registered in objects:
        kubernetes_validate.validate(registered.inputs, version, strict=True)
