"""The EKS control plane, through pulumi-eks, and a Kubernetes provider for it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .connection import ClusterConnection
from .iam import to_json
from .logs import DEFAULT_LOG_RETENTION_DAYS, check_retention_days, control_plane_log_group_name
from .settings import ADDON_MINOR_TAG, DEFAULT_LOG_TYPES, DEFAULT_PUBLIC_ACCESS_CIDRS, DEFAULT_SERVICE_CIDR
from .versions import DEFAULT_AMI_RELEASE_VERSION

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


# Every managed add-on takes over a self-managed one: EKS installs vpc-cni, kube-proxy and CoreDNS
# with the cluster (bootstrapSelfManagedAddons), and CreateAddon fails on the fields they already
# own unless told to OVERWRITE them. On update, OVERWRITE too, deliberately: this program is the
# only source of the add-ons' versions and settings, so a hand edit of aws-node, kube-proxy or
# CoreDNS is drift to undo. NONE would make a version bump fail halfway through `pulumi up` and
# leave the add-on DEGRADED; PRESERVE would keep the drift, so what runs would not be what the
# config says. (pulumi-eks used OVERWRITE for both too, so the moved add-ons keep their settings.)
RESOLVE_CONFLICTS_ON_CREATE = "OVERWRITE"
RESOLVE_CONFLICTS_ON_UPDATE = "OVERWRITE"

# Resource types along the path of pulumi-eks v4's own add-ons (nodejs/eks/cluster/cluster.ts,
# nodejs/eks/addons/cni-addon.ts; unchanged from v4.0.0 to v4.3.0).
PULUMI_EKS_VPC_CNI_COMPONENT = "eks:index:VpcCniAddon"
ADDON_TYPE = "aws:eks/addon:Addon"
ACCESS_ENTRY_TYPE = "aws:eks/accessEntry:AccessEntry"


def child_urn(parent_urn: str, types: Sequence[str], name: str) -> str:
    """The URN Pulumi gives a resource named `name` under `parent_urn`, `types` being the types of
    the levels below the parent down to the resource itself (a URN's type part is the chain of its
    ancestors' types joined by `$`)."""
    prefix, project, parent_type, _parent_name = parent_urn.split("::", 3)
    return f"{prefix}::{project}::{'$'.join([parent_type, *types])}::{name}"


def legacy_vpc_cni_urn(eks_component_urn: str, name: str) -> str:
    """Where pulumi-eks kept the vpc-cni add-on of its component `name`."""
    return child_urn(eks_component_urn, [PULUMI_EKS_VPC_CNI_COMPONENT, ADDON_TYPE], f"{name}-vpc-cni")


def legacy_kube_proxy_urn(eks_component_urn: str, name: str) -> str:
    """Where pulumi-eks kept the kube-proxy add-on of its component `name`."""
    return child_urn(eks_component_urn, [ADDON_TYPE], f"{name}-kube-proxy")


def legacy_access_entry_urn(eks_component_urn: str, name: str, key: str) -> str:
    """Where pulumi-eks kept the access entry `key` of its component `name`'s `accessEntries`
    (nodejs/eks/cluster/authenticationMode.ts `createAccessEntries`: `<name>-<key>`, parented to the
    component; unchanged from v4.0.0 to v4.3.0 and master of 2026-08-12)."""
    return child_urn(eks_component_urn, [ACCESS_ENTRY_TYPE], f"{name}-{key}")


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of `Cluster`.

    - `name`: the EKS cluster name (also used in autoscaler discovery tags, so it is a plain string).
    - `kubernetes_version`: a minor such as "1.35".
    - `vpc_id`, `private_subnet_ids`, `public_subnet_ids`: where the control plane's ENIs go.
    - `endpoint_public_access`, `public_access_cidrs`: the public endpoint (the private one is always on).
    - `log_types`: control-plane log types sent to CloudWatch.
    - `service_cidr`: the Kubernetes service range (nodes need it in their bootstrap config).
    - `deletion_protection`: EKS deletion protection plus Pulumi `protect` on the control plane.
    - `ami_release_version`: the nodes' EKS AMI release, such as "v20260714", or `recommended`.
    - `managed_addon_versions`: optional versions for vpcCni, kubeProxy, coredns, podIdentityAgent
      (unset: the EKS default for the cluster's Kubernetes version, read with `aws.eks.get_addon_version`).
      `GpuSpotCluster` passes the builds `addon_versions.resolve_addon_versions` chose (a live
      add-on keeps its build on its minor).
    - `managed_addon_minors`: for an add-on whose build was chosen for another minor than
      `kubernetes_version` (one held back from an upgrade), that minor; each add-on is tagged
      `ADDON_MINOR_TAG` with its minor, so the next preview knows it has still to follow.
    - `log_retention_days`: days CloudWatch keeps the control-plane logs (a CloudWatch retention value).
    - `deployed_role_arn`: the IAM role of the control plane when it exists already
      (`aws_facts.DeployedCluster.role_arn`): its key policy is then put before the control plane is
      updated; empty for a new cluster (the policy follows the control plane).
    """

    name: str
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    public_subnet_ids: Sequence[pulumi.Input[str]] = ()
    endpoint_public_access: bool = True
    public_access_cidrs: Sequence[str] = DEFAULT_PUBLIC_ACCESS_CIDRS
    log_types: Sequence[str] = DEFAULT_LOG_TYPES
    service_cidr: str = DEFAULT_SERVICE_CIDR
    deletion_protection: bool = False
    managed_addon_versions: Mapping[str, str] = field(default_factory=dict)
    managed_addon_minors: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    ami_release_version: str = DEFAULT_AMI_RELEASE_VERSION
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    deployed_role_arn: str = ""


class Cluster(pulumi.ComponentResource):
    """An EKS control plane for self-managed node groups.

    Creates a KMS key (rotation on, explicit key policy: `secrets_key_policy`) for envelope
    encryption of Secrets, the control-plane log group with a retention, the `eks.Cluster`
    (API authentication mode, no access entries: each `NodeRole` has its own; no default node group,
    private endpoint, control-plane logs, no add-ons of its own), an inline policy on its cluster
    role for the key (`cluster_role_key_policy`; before the control plane when the cluster exists,
    `deployed_role_arn`, else after it), the managed vpc-cni, kube-proxy and
    eks-pod-identity-agent add-ons beside it, each at an explicit version (pinned, or the EKS default
    for the Kubernetes version, so they follow a minor upgrade), and a Kubernetes provider for the
    cluster. `add_coredns` adds the managed CoreDNS add-on once nodes exist.

    Outputs: `name`, `control_plane_name` (the name, resolving once the control plane exists), `endpoint`, `certificate_authority`, `service_cidr`,
    `cluster_security_group_id`, `node_security_group_id`, `kubeconfig` (secret), `provider`.
    """

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-gpu-spot:cluster:Cluster", name, None, opts)
        self._args = args
        self._component_name = name
        child = pulumi.ResourceOptions(parent=self)
        check_retention_days("log_retention_days", args.log_retention_days)

        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke)
        region = aws.get_region_output(opts=invoke).region
        self.secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {args.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(account, partition.partition, partition.dns_suffix, region).apply(
                lambda values: to_json(secrets_key_policy(*values))),
            tags=dict(args.tags),
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{args.name}-secrets",
                      target_key_id=self.secrets_key.key_id, opts=child)
        # Created before the cluster: EKS writes to this group if it exists, and otherwise creates
        # one that keeps the logs forever.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group_name(args.name),
            retention_in_days=args.log_retention_days,
            tags=dict(args.tags),
            opts=child,
        )

        # The cluster role is pulumi-eks's own (`<name>-eksRole-role`): the control plane's role ARN
        # is immutable, so giving it a role of ours would replace the cluster of every existing stack.
        # Its key rights go on it as an inline policy. On a live cluster the role is known before
        # anything runs, so the policy comes first and the control plane waits for it: an
        # UpdateClusterVersion in the same `pulumi up` finds the rights in place (containers-roadmap
        # #1533). A new cluster's role exists only with it: the policy follows. Same name and inputs
        # either way, so a stack moving from one to the other sees no change.
        def secrets_key_use(role: pulumi.Input[str]) -> aws.iam.RolePolicy:
            return aws.iam.RolePolicy(
                f"{name}-secrets-key-use",
                role=role,
                policy=self.secrets_key.arn.apply(lambda arn: to_json(cluster_role_key_policy(arn))),
                opts=child,
            )

        before_control_plane: list[pulumi.Resource] = [self.log_group]
        if args.deployed_role_arn:
            self.secrets_key_use = secrets_key_use(role_name_of_arn(args.deployed_role_arn))
            before_control_plane.append(self.secrets_key_use)

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
            # No `access_entries`: each `NodeRole` creates its own (see `legacy_access_entry_urn`).
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            enabled_cluster_log_types=list(args.log_types),
            encryption_config_key_arn=self.secrets_key.arn,
            kubernetes_service_ip_address_range=args.service_cidr,
            deletion_protection=args.deletion_protection,
            # No managed add-on inside pulumi-eks: a remote component's outputs resolve only once all
            # its children exist, so its vpc-cni and kube-proxy add-ons (about a minute each) would
            # hold back everything that reads the endpoint, the CA or the node security group:
            # launch templates, the Kubernetes provider. Nodes do not need them: EKS installs
            # self-managed vpc-cni and kube-proxy with the cluster. They are created below instead.
            use_default_vpc_cni=True,
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=False),
            # CoreDNS is a Deployment: as an EKS add-on it stays DEGRADED, and its creation times
            # out, until nodes exist. `add_coredns` creates it after the node groups.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            create_oidc_provider=False,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection, depends_on=before_control_plane),
        )

        self.name = args.name
        # What waits for the control plane and needs only its name (node access entries) takes this.
        self.control_plane_name: pulumi.Output[str] = self.eks_cluster.eks_cluster.apply(lambda c: c.name)
        self.service_cidr = args.service_cidr
        self.endpoint: pulumi.Output[str] = self.eks_cluster.eks_cluster.apply(lambda c: c.endpoint)
        self.certificate_authority: pulumi.Output[str] = self.eks_cluster.eks_cluster.apply(
            lambda c: c.certificate_authority.apply(lambda authority: authority.data or ""))
        self.cluster_security_group_id = self.eks_cluster.cluster_security_group_id
        self.node_security_group_id = self.eks_cluster.node_security_group_id
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.eks_cluster.kubeconfig_json)

        self.cluster_role_arn: pulumi.Output[str] = self.eks_cluster.eks_cluster.apply(lambda c: c.role_arn)
        if not args.deployed_role_arn:
            self.secrets_key_use = secrets_key_use(self.cluster_role_arn.apply(role_name_of_arn))

        # The networking add-ons that pulumi-eks used to create, now beside it: they wait for the
        # control plane only, and nothing waits for them. `aliases` name their old place (pulumi-eks
        # v4 cluster.ts: `<name>-kube-proxy` under the component; cni-addon.ts: `<name>-vpc-cni`
        # under an `eks:index:VpcCniAddon` of the same name), so an existing stack moves them
        # instead of creating a second add-on and deleting the first. `preserve` and `tags` are
        # what pulumi-eks set, so the move changes nothing but pulumi-eks's default vpc-cni
        # configuration values (its env list, all equal to the add-on's own defaults).
        control_plane = control_plane_logical_name(name)
        self.vpc_cni = self._managed_addon("vpc-cni", "vpc-cni", "vpcCni", preserve=True, tags=args.tags,
                                           moved_from=lambda urn: legacy_vpc_cni_urn(urn, control_plane))
        self.kube_proxy = self._managed_addon("kube-proxy", "kube-proxy", "kubeProxy", preserve=True, tags=args.tags,
                                              moved_from=lambda urn: legacy_kube_proxy_urn(urn, control_plane))
        self.pod_identity_agent = self._managed_addon("pod-identity-agent", "eks-pod-identity-agent",
                                                      "podIdentityAgent")
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
            ami_release_version=self._args.ami_release_version,
        )

    def legacy_access_entry_urn(self, key: str) -> pulumi.Output[str]:
        """The URN of the access entry that pulumi-eks created for `accessEntries[key]` when this
        program still passed the node roles to it (the key was the pool name): a `NodeRole`'s
        entry aliases it, so an existing stack moves the entry instead of creating a second one for
        the same principal, which EKS refuses."""
        logical_name = control_plane_logical_name(self._component_name)
        return self.eks_cluster.urn.apply(lambda urn: legacy_access_entry_urn(urn, logical_name, key))

    def add_coredns(self, after: Sequence[pulumi.Resource]) -> aws.eks.Addon:
        """The managed CoreDNS add-on, created once `after` (the node groups) exist."""
        return self._managed_addon("coredns", "coredns", "coredns", after=after)

    def _managed_addon(self, suffix: str, addon_name: str, version_key: str, *, preserve: bool | None = None,
                       tags: Mapping[str, str] | None = None, after: Sequence[pulumi.Resource] = (),
                       moved_from: Callable[[str], str] | None = None) -> aws.eks.Addon:
        """The managed EKS add-on `addon_name` (resource `<component>-<suffix>`, version from
        `managed_addon_versions[version_key]`, else the EKS default for the cluster's Kubernetes
        version), after the control plane (and `after`), so a minor upgrade moves it once the control
        plane has moved; taking over
        the self-managed one (RESOLVE_CONFLICTS_*). `moved_from` maps the control plane's URN to
        where pulumi-eks kept the add-on before, so an existing stack moves it instead of
        creating a second one."""
        aliases = [self.eks_cluster.urn.apply(moved_from)] if moved_from else None
        # Never left unset: EKS keeps an add-on's build when the control plane changes minor, so an
        # unset version would stay on the old minor's build after an upgrade. An invoke output: the
        # add-on waits for nothing more than before.
        version = self._args.managed_addon_versions.get(version_key) or aws.eks.get_addon_version_output(
            addon_name=addon_name, kubernetes_version=self._args.kubernetes_version, most_recent=False,
            opts=pulumi.InvokeOutputOptions(parent=self)).version
        return aws.eks.Addon(
            f"{self._component_name}-{suffix}",
            cluster_name=self.name,
            addon_name=addon_name,
            addon_version=version,
            preserve=preserve,
            # The minor this build was chosen for: the next preview knows whether the add-on still has
            # to follow a control-plane upgrade (addon_versions.py).
            tags={**(tags or {}),
                  ADDON_MINOR_TAG: self._args.managed_addon_minors.get(version_key, self._args.kubernetes_version)},
            resolve_conflicts_on_create=RESOLVE_CONFLICTS_ON_CREATE,
            resolve_conflicts_on_update=RESOLVE_CONFLICTS_ON_UPDATE,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.eks_cluster, *after], aliases=aliases),
        )


# What the account's administrators may do with the key: manage it, never use it to decrypt.
KEY_ADMINISTRATION_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# Envelope encryption of Secrets, which EKS performs for the cluster.
KEY_USE_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
)


# What the cluster role may do with the Secrets key, in IAM: terraform-aws-eks's set for its cluster
# role (v21 main.tf). EKS calls kms:ListGrants and kms:DescribeKey as the cluster role in its health
# checks (terraform-aws-eks#1913); aws/containers-roadmap#1533 reports UpdateClusterVersion failing
# where the role had no such right.
CLUSTER_ROLE_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey")


def cluster_role_key_policy(key_arn: str) -> dict[str, Any]:
    """The cluster role's inline policy: `CLUSTER_ROLE_KEY_ACTIONS` on the Secrets key only. The key
    policy decides what it is worth: ListGrants and DescribeKey are allowed to the account's IAM
    policies outright (`AccountAdministersTheKey`), Encrypt and Decrypt only through EKS
    (`UseOnlyThroughEks`), so the role gains nothing outside EKS that it could use to read Secrets."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SecretsKeyOfThisCluster", "Effect": "Allow", "Action": list(CLUSTER_ROLE_KEY_ACTIONS),
                       "Resource": key_arn}],
    }


def role_name_of_arn(arn: str) -> str:
    """`arn:<partition>:iam::<account>:role/<path/>name` -> name (what `aws.iam.RolePolicy` takes)."""
    return arn.rsplit("/", 1)[-1]


def secrets_key_policy(account: str, partition: str, dns_suffix: str, region: str) -> dict[str, Any]:
    """The key policy of the Secrets key (see docs/security.md).

    - The account (its IAM policies) administers the key, without Encrypt or Decrypt and without
      CreateGrant: an administrator cannot read Secrets with it directly.
    - Principals of the account may use the key, and create grants on it, only through EKS in this
      region (`kms:ViaService`), and grants only for an AWS resource. Creating the cluster makes
      EKS create, with the creator's permissions, the grant through which the cluster's IAM role
      encrypts and decrypts; the role's own IAM rights are `cluster_role_key_policy`.
    `Resource: "*"` in a key policy means this key.
    """
    root = {"AWS": f"arn:{partition}:iam::{account}:root"}
    through_eks = {"kms:ViaService": f"eks.{region}.{dns_suffix}", "kms:CallerAccount": account}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministersTheKey", "Effect": "Allow", "Principal": root,
             "Action": list(KEY_ADMINISTRATION_ACTIONS), "Resource": "*"},
            {"Sid": "UseOnlyThroughEks", "Effect": "Allow", "Principal": root,
             "Action": list(KEY_USE_ACTIONS), "Resource": "*",
             "Condition": {"StringEquals": through_eks}},
            {"Sid": "GrantsOnlyThroughEksForItsResources", "Effect": "Allow", "Principal": root,
             "Action": "kms:CreateGrant", "Resource": "*",
             "Condition": {"StringEquals": through_eks, "Bool": {"kms:GrantIsForAWSResource": "true"}}},
        ],
    }
