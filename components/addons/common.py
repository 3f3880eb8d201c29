"""What the add-ons share: labels, security contexts, typed Kubernetes objects from manifests, Pod Identity.

Manifests are plain dicts in Kubernetes' own field names (camelCase), so a test can validate them
against the Kubernetes OpenAPI schemas and a tool can read them without Pulumi. `kubernetes_object`
turns one into the typed `pulumi_kubernetes` resource of its kind; Pulumi passes camelCase keys
through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..iam import pod_identity_trust_policy, to_json
from ..node_template import POOL_LABEL, Taint

PART_OF = "eks-gpu-spot"
NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
KUBE_SYSTEM = "kube-system"


def selector_labels(app: str) -> dict[str, str]:
    return {NAME_LABEL: app}


def labels(app: str) -> dict[str, str]:
    return {NAME_LABEL: app, PART_OF_LABEL: PART_OF}


def metadata(name: str, app: str, namespace: str | None = KUBE_SYSTEM) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(app)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def restricted_container_security_context() -> dict[str, Any]:
    """The Pod Security Standards "restricted" profile for a container."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def non_root_pod_security_context(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def service_account_manifest(name: str, app: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(name, app)}


def binding_manifest(kind: str, name: str, app: str, role_kind: str, service_account: str) -> dict[str, Any]:
    """A ClusterRoleBinding or RoleBinding of `role_kind` `name` to a kube-system service account."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata(name, app, KUBE_SYSTEM if kind == "RoleBinding" else None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": KUBE_SYSTEM}],
    }


def rule(groups: Sequence[str], resources: Sequence[str], verbs: Sequence[str],
         names: Sequence[str] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        found["resourceNames"] = list(names)
    return found


def tolerations_for(taints: Iterable[Taint], *, any_value: bool = False) -> list[dict[str, str]]:
    """Tolerations of these taints, each once, in their order. `Equal` to each taint's value (a
    general pool's own taints, tolerated exactly); with `any_value`, `Exists` on the key and effect,
    for what runs on many pools whose taints share a key but not a value (the device plugin)."""
    found: list[dict[str, str]] = []
    for taint in taints:
        toleration = ({"key": taint.key, "operator": "Exists", "effect": taint.effect} if any_value
                      else {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect})
        if toleration not in found:
            found.append(toleration)
    return found


def general_pool_deployment_manifest(name: str, app: str, *, container: Mapping[str, Any], run_as: int,
                                     general_pool: str, general_pool_taints: Sequence[Taint]) -> dict[str, Any]:
    """A one-replica, non-root, read-only, system-cluster-critical controller on general nodes.

    Its service account is `name`; the container gets the restricted security context.
    """
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "priorityClassName": "system-cluster-critical",
        # Controllers stay off GPU nodes: those come and go with the autoscaler, and a controller
        # on one would keep alive the node the autoscaler should remove.
        "nodeSelector": {POOL_LABEL: general_pool},
        "securityContext": non_root_pod_security_context(run_as),
        "containers": [{**container, "securityContext": restricted_container_security_context()}],
    }
    if general_pool_taints:
        pod_spec["tolerations"] = tolerations_for(general_pool_taints)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, app),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector_labels(app)},
            "template": {"metadata": {"labels": labels(app)}, "spec": pod_spec},
        },
    }


def service_account_with_cluster_role(resource_name: str, name: str, app: str, cluster_role: Mapping[str, Any],
                                      opts: pulumi.ResourceOptions) -> list[pulumi.CustomResource]:
    """The kube-system ServiceAccount `name`, the ClusterRole and their binding."""
    return [
        kubernetes_object(f"{resource_name}-sa", service_account_manifest(name, app), opts),
        kubernetes_object(f"{resource_name}-clusterrole", cluster_role, opts),
        kubernetes_object(f"{resource_name}-clusterrolebinding",
                          binding_manifest("ClusterRoleBinding", name, app, "ClusterRole", name), opts),
    ]


def _untyped(value: Any) -> Any:
    # The SDK's TypedDicts name fields in snake_case; the manifests use Kubernetes' camelCase,
    # which the tests check against the Kubernetes schemas instead.
    return value


def kubernetes_object(resource_name: str, manifest: Mapping[str, Any],
                      opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """The typed `pulumi_kubernetes` resource for `manifest` (the kinds the add-ons use)."""
    kind, meta = manifest["kind"], _untyped(manifest["metadata"])
    if kind == "ServiceAccount":
        return k8s.core.v1.ServiceAccount(resource_name, metadata=meta, opts=opts)
    if kind == "ConfigMap":
        return k8s.core.v1.ConfigMap(resource_name, metadata=meta, data=manifest["data"], opts=opts)
    if kind == "ClusterRole":
        return k8s.rbac.v1.ClusterRole(resource_name, metadata=meta, rules=_untyped(manifest["rules"]), opts=opts)
    if kind == "Role":
        return k8s.rbac.v1.Role(resource_name, metadata=meta, rules=_untyped(manifest["rules"]), opts=opts)
    if kind == "ClusterRoleBinding":
        return k8s.rbac.v1.ClusterRoleBinding(resource_name, metadata=meta, role_ref=_untyped(manifest["roleRef"]),
                                              subjects=_untyped(manifest["subjects"]), opts=opts)
    if kind == "RoleBinding":
        return k8s.rbac.v1.RoleBinding(resource_name, metadata=meta, role_ref=_untyped(manifest["roleRef"]),
                                       subjects=_untyped(manifest["subjects"]), opts=opts)
    if kind == "Deployment":
        return k8s.apps.v1.Deployment(resource_name, metadata=meta, spec=_untyped(manifest["spec"]), opts=opts)
    if kind == "DaemonSet":
        return k8s.apps.v1.DaemonSet(resource_name, metadata=meta, spec=_untyped(manifest["spec"]), opts=opts)
    if kind == "PriorityClass":
        return k8s.scheduling.v1.PriorityClass(resource_name, metadata=meta, value=manifest["value"],
                                               preemption_policy=manifest.get("preemptionPolicy"),
                                               global_default=manifest.get("globalDefault"),
                                               description=manifest.get("description"), opts=opts)
    if kind == "PodDisruptionBudget":
        return k8s.policy.v1.PodDisruptionBudget(resource_name, metadata=meta, spec=_untyped(manifest["spec"]),
                                                 opts=opts)
    raise ValueError(f"no typed resource for kind {kind}")


@dataclass(frozen=True)
class PodIdentity:
    """A service account's AWS identity: its IAM `role`, the role's managed `policy` and their
    `attachment` (`iam`), and the Pod Identity `association`."""

    iam: tuple[pulumi.Resource, ...]
    association: aws.eks.PodIdentityAssociation


def pod_identity_role(name: str, *, cluster_name: str, service_account: str, policy: pulumi.Input[str],
                      description: str, pod_identity_agent: pulumi.Resource | None,
                      tags: Mapping[str, str], parent: pulumi.Resource) -> PodIdentity:
    """An IAM role for one kube-system service account, trusted by EKS Pod Identity only.

    The association waits for the Pod Identity agent and the role's policy, so a pod that waits
    for the association starts with working credentials.
    """
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-role", assume_role_policy=to_json(pod_identity_trust_policy()),
                        description=description, tags=dict(tags), opts=child)
    # A managed policy of its own rather than an inline one: reviewers find it by name in IAM, and
    # node roles never carry anything but the AWS node policies.
    managed = aws.iam.Policy(f"{name}-policy", policy=policy, description=description, tags=dict(tags), opts=child)
    role_policy = aws.iam.RolePolicyAttachment(f"{name}-policy", role=role.name, policy_arn=managed.arn, opts=child)
    return PodIdentity((role, managed, role_policy), aws.eks.PodIdentityAssociation(
        f"{name}-pod-identity",
        cluster_name=cluster_name,
        namespace=KUBE_SYSTEM,
        service_account=service_account,
        role_arn=role.arn,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role_policy, *([pod_identity_agent] if pod_identity_agent else [])]),
    ))
