"""The Cluster Autoscaler: scales the GPU Auto Scaling groups from 0 for pending pods and back to 0.

It discovers only the ASGs tagged for this cluster, acts on AWS through an EKS Pod Identity role
whose mutating actions are limited to those ASGs, and runs on the general pool, never on a Spot GPU
node it might remove.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..iam import cluster_asgs_arn, partition_for_region, to_json
from ..node_template import CA_ENABLED_TAG, Taint, ca_cluster_tag
from ..settings import EXPANDERS
from .common import (
    KUBE_SYSTEM,
    binding_manifest,
    general_pool_deployment_manifest,
    kubernetes_object,
    metadata,
    pod_identity_role,
    rule,
    selector_labels,
    service_account_with_cluster_role,
)

APP = "cluster-autoscaler"
NAME = "cluster-autoscaler"
PRIORITY_CONFIGMAP = "cluster-autoscaler-priority-expander"
STATUS_CONFIGMAP = "cluster-autoscaler-status"
HEALTH_PORT = 8085
NOBODY = 65534
REQUESTS = {"cpu": "100m", "memory": "600Mi"}
# No CPU limit: throttling slows its simulation loop exactly when many pods are pending.
LIMITS = {"memory": "600Mi"}

DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
# No eks:DescribeNodegroup: the autoscaler calls it only for EKS managed node groups, and this
# project has none (its ASGs are self-managed).
SCALING_ACTIONS = (
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
)


@dataclass(frozen=True)
class AutoscaledPool:
    """A node pool as the priority expander sees it: its name, whether it has GPUs, the names of
    its own (Spot) ASGs and of its On-Demand fallback ASGs.

    The names are plain strings (ASGs are named explicitly), so the priority ConfigMap waits for
    nothing but the cluster.
    """

    name: str
    gpu: bool
    asg_names: Sequence[str]
    on_demand_asg_names: Sequence[str] = ()


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    """Inputs of `ClusterAutoscaler`.

    - `cluster_name`: the EKS cluster; scopes ASG discovery and the IAM condition.
    - `region`: the AWS region (the container's `AWS_REGION`).
    - `image`: the autoscaler image, whose minor must be the cluster's Kubernetes minor.
    - `provider`: the Kubernetes provider of the cluster.
    - `pools`: every pool, GPU pools in the order the priority expander should prefer them.
    - `general_pool`, `general_pool_taints`: where the autoscaler runs (label `node-pool`), and the
      taints it must tolerate there.
    - `expander`: `priority,least-waste`, `least-waste` or `priority`.
    - `scale_down_*`, `max_node_provision_time`: autoscaler flags of the same names.
    - `pod_identity_agent`: the eks-pod-identity-agent add-on the association waits for.
    """

    cluster_name: str
    region: str
    image: str
    provider: pulumi.ProviderResource
    pools: Sequence[AutoscaledPool] = ()
    general_pool: str = "general"
    general_pool_taints: Sequence[Taint] = ()
    expander: str = "priority,least-waste"
    scale_down_unneeded_time: str = "10m"
    scale_down_delay_after_add: str = "5m"
    scale_down_utilization_threshold: str = "0.5"
    max_node_provision_time: str = "15m"
    pod_identity_agent: pulumi.Resource | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def autoscaler_arguments(args: ClusterAutoscalerArgs) -> list[str]:
    """The container's full argument list."""
    if args.expander not in EXPANDERS:
        raise ValueError(f"expander {args.expander!r}: expected one of {', '.join(EXPANDERS)}")
    return [
        "--cloud-provider=aws",
        f"--node-group-auto-discovery=asg:tag={CA_ENABLED_TAG},{ca_cluster_tag(args.cluster_name)}",
        # One GPU ASG per zone on purpose: balancing would spread a pool's nodes over zones that
        # the pending pods (and their volumes) do not need.
        "--balance-similar-node-groups=false",
        f"--expander={args.expander}",
        "--skip-nodes-with-local-storage=false",
        f"--scale-down-unneeded-time={args.scale_down_unneeded_time}",
        f"--scale-down-delay-after-add={args.scale_down_delay_after_add}",
        # The delay after a scale-up holds scale-down of that group only, not of every group: a
        # general-pool scale-up no longer keeps idle GPU nodes (flag in config/flags/flags.go,
        # cluster-autoscaler-1.36.1; docs/autoscaling.md, section 5).
        "--scale-down-delay-type-local=true",
        f"--scale-down-utilization-threshold={args.scale_down_utilization_threshold}",
        f"--max-node-provision-time={args.max_node_provision_time}",
        "--stderrthreshold=info",
        "--v=4",
    ]


def autoscaler_policy(cluster_name: str, asgs_arn: str) -> dict[str, Any]:
    """The autoscaler's IAM policy: List-level reads (and DescribeTags, which has no resource-level
    permissions) on `*`; resizing only the ASGs `asgs_arn` names (this cluster's name prefix), and
    only while they carry this cluster's autoscaler tag."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Describe", "Effect": "Allow", "Action": list(DESCRIBE_ACTIONS), "Resource": "*"},
            {
                "Sid": "ScaleThisClustersGroups",
                "Effect": "Allow",
                "Action": list(SCALING_ACTIONS),
                "Resource": asgs_arn,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{ca_cluster_tag(cluster_name)}": "owned"}},
            },
        ],
    }


def _exact(name: str) -> str:
    return "^" + re.escape(name).replace("\\-", "-") + "$"


def expander_priorities(pools: Sequence[AutoscaledPool | tuple[str, bool, Sequence[str]]]) -> dict[int, list[str]]:
    """Priority -> ASG name regexes. Higher numbers win:

    1. the Spot groups of the GPU pools, pool by pool in the order given;
    2. then the On-Demand fallback groups of the GPU pools, in the same order, every one below
       every Spot group of every GPU pool: the autoscaler pays On-Demand prices only when no Spot
       group that fits the pod can scale up (backed off after a failed scale-up, or at its max);
    3. then the other pools.

    `pools` are `AutoscaledPool`s or (pool name, gpu, ASG names). Exact names, because a prefix of
    pool `gpu` would also match the ASGs of a pool `gpu-large`, and `<asg>` those of `<asg>-on-demand`.
    """
    found = [p if isinstance(p, AutoscaledPool) else AutoscaledPool(*p) for p in pools]
    spot = [pool.asg_names for pool in found if pool.gpu]
    on_demand = [pool.on_demand_asg_names for pool in found if pool.gpu and pool.on_demand_asg_names]
    other = [name for pool in found if not pool.gpu for name in (*pool.asg_names, *pool.on_demand_asg_names)]
    priorities: dict[int, list[str]] = {}
    for rank, asgs in enumerate(on_demand):
        priorities[10 * (len(on_demand) - rank + 1)] = [_exact(name) for name in asgs]
    for rank, asgs in enumerate(spot):
        priorities[10 * (len(on_demand) + len(spot) - rank + 1)] = [_exact(name) for name in asgs]
    if other:
        priorities[10] = [_exact(name) for name in other]
    return dict(sorted(priorities.items(), reverse=True))


def render_priorities(priorities: Mapping[int, Sequence[str]]) -> str:
    """The `priorities` YAML of the expander ConfigMap (JSON strings are valid YAML scalars)."""
    lines = []
    for priority in sorted(priorities, reverse=True):
        lines.append(f"{priority}:")
        lines.extend(f"  - {json.dumps(regex)}" for regex in priorities[priority])
    return "\n".join(lines) + "\n"


def priority_configmap_manifest(priorities_yaml: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(PRIORITY_CONFIGMAP, APP),
        "data": {"priorities": priorities_yaml},
    }


def cluster_role_manifest() -> dict[str, Any]:
    """The upstream example's ClusterRole (cluster-autoscaler-autodiscover.yaml), without `extensions`."""
    read = ["watch", "list", "get"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(NAME, APP, None),
        "rules": [
            rule([""], ["events", "endpoints"], ["create", "patch"]),
            rule([""], ["pods/eviction"], ["create"]),
            rule([""], ["pods/status"], ["update"]),
            rule([""], ["endpoints"], ["get", "update"], [NAME]),
            rule([""], ["nodes"], ["watch", "list", "get", "update"]),
            rule([""], ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims",
                        "persistentvolumes"], read),
            rule(["policy"], ["poddisruptionbudgets"], ["watch", "list"]),
            rule(["apps"], ["statefulsets", "replicasets", "daemonsets"], read),
            rule(["resource.k8s.io"], ["deviceclasses", "resourceslices", "resourceclaims"], read),
            rule(["storage.k8s.io"], ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities",
                                      "volumeattachments"], read),
            rule(["batch"], ["jobs"], ["get", "list", "watch", "patch"]),
            rule(["coordination.k8s.io"], ["leases"], ["create"]),
            rule(["coordination.k8s.io"], ["leases"], ["get", "update"], [NAME]),
        ],
    }


def role_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(NAME, APP),
        "rules": [
            rule([""], ["configmaps"], ["create", "list", "watch"]),
            rule([""], ["configmaps"], ["delete", "get", "update", "watch"], [STATUS_CONFIGMAP, PRIORITY_CONFIGMAP]),
        ],
    }


def deployment_manifest(args: ClusterAutoscalerArgs) -> dict[str, Any]:
    return general_pool_deployment_manifest(NAME, APP, run_as=NOBODY, general_pool=args.general_pool,
                                            general_pool_taints=args.general_pool_taints, container={
        "name": "cluster-autoscaler",
        "image": args.image,
        "command": ["./cluster-autoscaler"],
        "args": autoscaler_arguments(args),
        "env": [{"name": "AWS_REGION", "value": args.region}],
        "ports": [{"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/health-check", "port": HEALTH_PORT},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
        "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
    })


def pdb_manifest() -> dict[str, Any]:
    # maxUnavailable 1 lets the autoscaler drain the node it runs on; without a PDB it would
    # never remove a general node that hosts it.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(NAME, APP),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(APP)}},
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Cluster Autoscaler in kube-system, with its RBAC and its AWS identity.

    Creates a ServiceAccount; the ClusterRole, Role and bindings of the upstream example manifest;
    with a `priority` expander, the `cluster-autoscaler-priority-expander` ConfigMap preferring GPU
    pools in their configured order; the Deployment (`autoscaler_arguments`, AWS_REGION, liveness
    probe, requests and limits, non-root read-only security context, system-cluster-critical,
    general nodes only) and a PodDisruptionBudget. On AWS: an IAM role trusted by EKS Pod Identity
    with `autoscaler_policy` as its own managed policy, and the Pod Identity association for the service account.
    Nothing is granted to node roles.

    Outputs: `role_arn`, `deployment`.
    """

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:addons:ClusterAutoscaler", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        policy = account.apply(lambda account_id: to_json(autoscaler_policy(args.cluster_name, cluster_asgs_arn(
            partition_for_region(args.region), args.region, account_id, args.cluster_name))))
        association = pod_identity_role(
            name, cluster_name=args.cluster_name, service_account=NAME,
            policy=policy,
            description=f"Cluster Autoscaler of EKS cluster {args.cluster_name}",
            pod_identity_agent=args.pod_identity_agent, tags=args.tags, parent=self).association

        before_deployment: list[pulumi.Resource] = [
            association, *service_account_with_cluster_role(name, NAME, APP, cluster_role_manifest(), k8s_opts)]
        before_deployment.append(kubernetes_object(f"{name}-role", role_manifest(), k8s_opts))
        before_deployment.append(kubernetes_object(
            f"{name}-rolebinding", binding_manifest("RoleBinding", NAME, APP, "Role", NAME), k8s_opts))
        if "priority" in args.expander.split(","):
            priorities = render_priorities(expander_priorities(args.pools))
            before_deployment.append(kubernetes_object(
                f"{name}-priority-expander", priority_configmap_manifest(priorities), k8s_opts))

        self.deployment = kubernetes_object(
            f"{name}-deployment", deployment_manifest(args),
            pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=before_deployment))
        kubernetes_object(f"{name}-pdb", pdb_manifest(), k8s_opts)
        self.role_arn = association.role_arn
        self.register_outputs({"role_arn": self.role_arn, "namespace": KUBE_SYSTEM, "deployment": NAME})

