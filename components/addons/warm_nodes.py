"""Warm nodes: placeholder pods that keep N nodes of a GPU pool running, for real pods to take at once.

Each placeholder is a pause container that requests all of one node's GPUs (the pool template's
`nvidia.com/gpu`, time-sliced replicas included), with the pool's node selector and tolerations, so
each holds one whole node. The autoscaler adds a node for every pending placeholder. A real pod
of the pool then preempts a placeholder, starts on a node that is already Ready (no launch, boot or
join: seconds instead of minutes), and the evicted placeholder, pending again, makes the autoscaler
bring up its replacement.

The placeholders' PriorityClass:
- value -10: below every real workload (pods without a PriorityClass have 0) and not below the
  Cluster Autoscaler's `--expendable-pods-priority-cutoff` (default -10; CA ignores pods whose
  priority is *lower*, cluster-autoscaler/utils/pod/pod.go `IsExpendablePod`), so pending
  placeholders still trigger scale-ups and the autoscaler counts them as real load at scale-down;
- `preemptionPolicy: Never`: a placeholder never evicts anything itself.

They run in kube-system: besides holding its GPUs, a non-DaemonSet kube-system pod keeps the
autoscaler from removing its node (`--skip-nodes-with-system-pods`, default true), which is the
point of a warm node. The Deployment is not awaited (`pulumi.com/skipAwait`): its pods wait for
nodes that the autoscaler adds after `pulumi up`, and none of the stack waits for them.

What it costs: N nodes of the pool run around the clock (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ..node_template import GPU_RESOURCE, POOL_LABEL, NodeTemplate
from .common import KUBE_SYSTEM, kubernetes_object, labels, metadata, selector_labels, tolerations_for

APP = "warm-node-placeholder"
PRIORITY_CLASS = "eks-gpu-spot-warm-node-placeholder"
# The Cluster Autoscaler's default --expendable-pods-priority-cutoff: placeholders sit exactly on it.
PRIORITY = -10
PAUSE_UID = 65535  # the pause image's own non-root user (since pause 3.5)
# The pause container needs almost nothing; the GPUs are what the placeholder holds.
REQUESTS = {"cpu": "10m", "memory": "16Mi"}
LIMITS = {"memory": "32Mi"}
SKIP_AWAIT = "pulumi.com/skipAwait"


@dataclass(frozen=True)
class WarmPool:
    """A GPU pool that keeps `nodes` warm nodes; `template` is its node template (the GPUs a node has)."""

    name: str
    nodes: int
    template: NodeTemplate


def priority_class_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": metadata(PRIORITY_CLASS, APP, namespace=None),
        "value": PRIORITY,
        "preemptionPolicy": "Never",
        "globalDefault": False,
        "description": "eks-gpu-spot warm-node placeholders: below every workload, at the Cluster Autoscaler's "
                       "expendable cutoff so pending ones still add nodes; real pods preempt them",
    }


def deployment_name(pool: str) -> str:
    return f"{APP}-{pool}"


def placeholder_deployment_manifest(pool: WarmPool, image: str) -> dict[str, Any]:
    """The Deployment of `pool.nodes` placeholders, each asking for every GPU of one node of the pool."""
    gpus = pool.template.capacity[GPU_RESOURCE]
    app = deployment_name(pool.name)
    meta = metadata(app, app)
    meta["annotations"] = {SKIP_AWAIT: "true"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": pool.nodes,
            "selector": {"matchLabels": selector_labels(app)},
            "template": {
                "metadata": {"labels": labels(app)},
                "spec": {
                    "priorityClassName": PRIORITY_CLASS,
                    "nodeSelector": {POOL_LABEL: pool.name},
                    "tolerations": tolerations_for(pool.template.taints),
                    # Preempted placeholders leave at once: the real pod waits for nothing.
                    "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": PAUSE_UID, "runAsGroup": PAUSE_UID,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "pause",
                        "image": image,
                        "resources": {"requests": {**REQUESTS, GPU_RESOURCE: gpus},
                                      "limits": {**LIMITS, GPU_RESOURCE: gpus}},
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                    }],
                },
            },
        },
    }


def warm_node_manifests(pools: Sequence[WarmPool], image: str) -> list[dict[str, Any]]:
    """The PriorityClass and one Deployment per pool with warm nodes; nothing when none has any."""
    warm = [pool for pool in pools if pool.nodes]
    if not warm:
        return []
    return [priority_class_manifest(), *(placeholder_deployment_manifest(pool, image) for pool in warm)]


@dataclass(frozen=True)
class WarmNodesArgs:
    """Inputs of `WarmNodes`: the pools (`WarmPool`), the pause image (pinned) and the cluster's
    Kubernetes provider."""

    pools: Sequence[WarmPool]
    image: str
    provider: pulumi.ProviderResource


class WarmNodes(pulumi.ComponentResource):
    """Warm nodes for GPU pools: placeholder pods that keep nodes running until real pods need them.

    Creates the placeholders' PriorityClass (-10, never preempting) and, per pool with warm nodes, a
    kube-system Deployment of that many pause pods, each requesting all GPUs of one node of the pool
    with its node selector and tolerations (`warm_node_manifests`). No AWS permissions.

    Outputs: `priority_class`, `deployments` (pool name -> Deployment).
    """

    def __init__(self, name: str, args: WarmNodesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:addons:WarmNodes", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        manifests = warm_node_manifests(args.pools, args.image)
        self.priority_class = kubernetes_object(f"{name}-priority-class", manifests[0], child) if manifests else None
        # The class first: a pod naming a class that does not exist is refused at admission.
        after_class = pulumi.ResourceOptions(parent=self, provider=args.provider,
                                             depends_on=[self.priority_class] if self.priority_class else [])
        by_pool: Mapping[str, dict[str, Any]] = {
            m["spec"]["template"]["spec"]["nodeSelector"][POOL_LABEL]: m for m in manifests[1:]}
        self.deployments = {pool: kubernetes_object(f"{name}-{pool}", manifest, after_class)
                            for pool, manifest in by_pool.items()}
        self.register_outputs({"namespace": KUBE_SYSTEM, "priority_class": PRIORITY_CLASS,
                               "deployments": [deployment_name(pool) for pool in self.deployments]})
