"""The EKS control plane, through pulumi-eks, and a Kubernetes provider for it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .connection import ClusterConnection
from .settings import DEFAULT_LOG_TYPES, DEFAULT_PUBLIC_ACCESS_CIDRS, DEFAULT_SERVICE_CIDR

# pulumi-eks names the control plane's IAM role `<logical name>-eksRole-role` and Pulumi appends an
# 8-character suffix; IAM role names end at 64 characters.
_EKS_ROLE_SUFFIX = len("-eksRole-role") + 8
MAX_CONTROL_PLANE_LOGICAL_NAME = 64 - _EKS_ROLE_SUFFIX


def control_plane_logical_name(name: str) -> str:
    """The logical name given to `eks.Cluster`. A name that fits stays as it is, so stacks created
    with it keep their control plane; a longer one is shortened with a hash that keeps it unique."""
    if len(name) <= MAX_CONTROL_PLANE_LOGICAL_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_CONTROL_PLANE_LOGICAL_NAME - 9]}-{digest}"


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of `Cluster`.

    - `name`: the EKS cluster name (also used in autoscaler discovery tags, so it is a plain string).
    - `kubernetes_version`: a minor such as "1.35".
    - `vpc_id`, `private_subnet_ids`, `public_subnet_ids`: where the control plane's ENIs go.
    - `node_role_arns`: pool name -> node IAM role ARN; each gets an `EC2_LINUX` access entry.
    - `endpoint_public_access`, `public_access_cidrs`: the public endpoint (the private one is always on).
    - `log_types`: control-plane log types sent to CloudWatch.
    - `service_cidr`: the Kubernetes service range (nodes need it in their bootstrap config).
    - `deletion_protection`: EKS deletion protection plus Pulumi `protect` on the control plane.
    - `managed_addon_versions`: optional versions for vpcCni, kubeProxy, coredns, podIdentityAgent
      (unset: the EKS default for the cluster version).
    """

    name: str
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    public_subnet_ids: Sequence[pulumi.Input[str]] = ()
    node_role_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    endpoint_public_access: bool = True
    public_access_cidrs: Sequence[str] = DEFAULT_PUBLIC_ACCESS_CIDRS
    log_types: Sequence[str] = DEFAULT_LOG_TYPES
    service_cidr: str = DEFAULT_SERVICE_CIDR
    deletion_protection: bool = False
    managed_addon_versions: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class Cluster(pulumi.ComponentResource):
    """An EKS control plane for self-managed node groups.

    Creates a KMS key (rotation on) for envelope encryption of Secrets, the `eks.Cluster`
    (API authentication mode, access entries for the node roles, no default node group,
    private endpoint, control-plane logs, managed vpc-cni and kube-proxy), the
    eks-pod-identity-agent add-on and a Kubernetes provider for the cluster. `add_coredns`
    adds the managed CoreDNS add-on once nodes exist.

    Outputs: `name`, `endpoint`, `certificate_authority`, `service_cidr`,
    `cluster_security_group_id`, `node_security_group_id`, `kubeconfig` (secret), `provider`.
    """

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:cluster:Cluster", name, None, opts)
        self._args = args
        self._component_name = name
        child = pulumi.ResourceOptions(parent=self)
        versions = args.managed_addon_versions

        self.secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {args.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=dict(args.tags),
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{args.name}-secrets",
                      target_key_id=self.secrets_key.key_id, opts=child)

        self.eks_cluster = eks.Cluster(
            control_plane_logical_name(name),
            name=args.name,
            version=args.kubernetes_version,
            vpc_id=args.vpc_id,
            private_subnet_ids=list(args.private_subnet_ids),
            public_subnet_ids=list(args.public_subnet_ids) or None,
            node_associate_public_ip_address=False,
            skip_default_node_group=True,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries={
                pool: eks.AccessEntryArgs(principal_arn=arn, type=eks.AccessEntryType.EC2_LINUX)
                for pool, arn in args.node_role_arns.items()
            },
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            enabled_cluster_log_types=list(args.log_types),
            encryption_config_key_arn=self.secrets_key.arn,
            kubernetes_service_ip_address_range=args.service_cidr,
            deletion_protection=args.deletion_protection,
            vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=versions.get("vpcCni")),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=True, version=versions.get("kubeProxy")),
            # CoreDNS is a Deployment: as an EKS add-on it stays DEGRADED, and its creation times
            # out, until nodes exist. `add_coredns` creates it after the node groups.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            create_oidc_provider=False,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )

        self.name = args.name
        self.service_cidr = args.service_cidr
        self.endpoint: pulumi.Output[str] = self.eks_cluster.eks_cluster.apply(lambda c: c.endpoint)
        self.certificate_authority: pulumi.Output[str] = self.eks_cluster.eks_cluster.apply(
            lambda c: c.certificate_authority.apply(lambda authority: authority.data or ""))
        self.cluster_security_group_id = self.eks_cluster.cluster_security_group_id
        self.node_security_group_id = self.eks_cluster.node_security_group_id
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.eks_cluster.kubeconfig_json)

        self.pod_identity_agent = aws.eks.Addon(
            f"{name}-pod-identity-agent",
            cluster_name=args.name,
            addon_name="eks-pod-identity-agent",
            addon_version=versions.get("podIdentityAgent"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.eks_cluster]),
        )
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)

        self.register_outputs({
            "name": self.name,
            "endpoint": self.endpoint,
            "certificate_authority": self.certificate_authority,
            "service_cidr": self.service_cidr,
            "cluster_security_group_id": self.cluster_security_group_id,
            "node_security_group_id": self.node_security_group_id,
            "kubeconfig": self.kubeconfig,
        })

    def connection(self) -> ClusterConnection:
        """What a `NodeGroup` needs to join this cluster."""
        return ClusterConnection(
            name=self.name,
            kubernetes_version=self._args.kubernetes_version,
            endpoint=self.endpoint,
            certificate_authority=self.certificate_authority,
            service_cidr=self.service_cidr,
            node_security_group_id=self.node_security_group_id,
        )

    def add_coredns(self, after: Sequence[pulumi.Resource]) -> aws.eks.Addon:
        """The managed CoreDNS add-on, created once `after` (the node groups) exist."""
        return aws.eks.Addon(
            f"{self._component_name}-coredns",
            cluster_name=self.name,
            addon_name="coredns",
            addon_version=self._args.managed_addon_versions.get("coredns"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.eks_cluster, *after]),
        )
