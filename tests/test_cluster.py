"""The cluster component: what it asks pulumi-eks for, its add-ons and its outputs."""

from __future__ import annotations

import pytest

from components.cluster import legacy_kube_proxy_urn, legacy_vpc_cni_urn
from tests.harness import ProgramRun, Registered, run_program

POOLS = {"gpuPools": [{"name": "gpu-a"}, {"name": "gpu-b", "instanceTypes": ["g6e.xlarge"]}]}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program({**POOLS, "kubernetesVersion": "1.34", "clusterName": "ml",
                        "publicAccessCidrs": ["203.0.113.0/24"], "clusterLogTypes": ["api", "audit", "scheduler"]})


def test_cluster_inputs(run: ProgramRun) -> None:
    cluster = run.one("eks:index:Cluster")
    inputs = cluster.inputs
    assert inputs["name"] == "ml"
    assert inputs["version"] == "1.34"
    assert inputs["skipDefaultNodeGroup"] is True
    assert inputs["authenticationMode"] == "API"
    assert inputs["endpointPrivateAccess"] is True
    assert inputs["endpointPublicAccess"] is True
    assert inputs["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert inputs["enabledClusterLogTypes"] == ["api", "audit", "scheduler"]
    assert inputs["kubernetesServiceIpAddressRange"] == "172.20.0.0/16"
    assert inputs["nodeAssociatePublicIpAddress"] is False
    assert inputs["createOidcProvider"] is False
    assert inputs["deletionProtection"] is False and cluster.protect is False
    assert cluster.parent == run.one("eks-gpu-spot:cluster:Cluster").urn


def test_secrets_are_encrypted_with_a_rotating_key_of_our_own(run: ProgramRun) -> None:
    key = run.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    expected_arn = f"arn:aws:mock:us-east-1:123456789012:key/{key.name}"
    assert run.one("eks:index:Cluster").inputs["encryptionConfigKeyArn"] == expected_arn
    alias = run.one("aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/eks/ml-secrets"


def test_every_node_role_has_an_ec2_linux_access_entry(run: ProgramRun) -> None:
    entries = run.one("eks:index:Cluster").inputs["accessEntries"]
    roles = {r.name: r for r in run.of_type("aws:iam/role:Role") if r.name.endswith("-node-role")}
    assert set(entries) == {"general", "gpu-a", "gpu-b"}
    for pool, entry in entries.items():
        assert entry["type"] == "EC2_LINUX"
        assert entry["principalArn"].endswith(f"/{pool}-node-role")
        assert f"{pool}-node-role" in roles
        assert "kubernetesGroups" not in entry and "accessPolicies" not in entry


def addons_by_name(run: ProgramRun) -> dict[str, Registered]:
    return {a.inputs["addonName"]: a for a in run.of_type("aws:eks/addon:Addon")}


def test_pulumi_eks_creates_no_addon_of_its_own(run: ProgramRun) -> None:
    # Its outputs would otherwise wait for its vpc-cni and kube-proxy add-ons (see cluster.py).
    inputs = run.one("eks:index:Cluster").inputs
    assert inputs["useDefaultVpcCni"] is True
    assert "vpcCniOptions" not in inputs
    assert inputs["kubeProxyAddonOptions"]["enabled"] is False
    assert inputs["corednsAddonOptions"]["enabled"] is False


def test_managed_addons_wait_for_the_control_plane_only(run: ProgramRun) -> None:
    addons = addons_by_name(run)
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns"}
    assert all(a.inputs["clusterName"] == "ml" for a in addons.values())
    eks_cluster = run.one("eks:index:Cluster").urn
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert addons[name].depends_on == [eks_cluster], name
        assert addons[name].parent == run.one("eks-gpu-spot:cluster:Cluster").urn
    # CoreDNS waits for nodes: an EKS add-on whose pods cannot schedule never becomes ACTIVE.
    general_asg = run.one("aws:autoscaling/group:Group", "general")
    assert general_asg.urn in addons["coredns"].depends_on


def test_every_managed_addon_overwrites_on_create_and_update(run: ProgramRun) -> None:
    for name, addon in addons_by_name(run).items():
        assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE", name
        assert addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE", name


def test_networking_addons_move_from_their_pulumi_eks_urns(run: ProgramRun) -> None:
    # pulumi-eks v4 (nodejs/eks/cluster/cluster.ts, addons/cni-addon.ts) created them as children
    # of its component: `<name>-kube-proxy` directly, `<name>-vpc-cni` under an
    # `eks:index:VpcCniAddon` of the same name. The aliases must name exactly those URNs.
    # Pulumi's mock monitor keeps only the direct parent's type in a URN (the engine keeps the
    # whole chain, see the next test); the aliases derive from the parent URN the engine returns.
    chain = "eks-gpu-spot:cluster:Cluster$eks:index:Cluster"
    addons = addons_by_name(run)
    assert run.one("eks:index:Cluster").urn == f"urn:pulumi:test::eks-gpu-spot::{chain}::ml"
    assert addons["kube-proxy"].aliases == [
        f"urn:pulumi:test::eks-gpu-spot::{chain}$aws:eks/addon:Addon::ml-kube-proxy"]
    assert addons["vpc-cni"].aliases == [
        f"urn:pulumi:test::eks-gpu-spot::{chain}$eks:index:VpcCniAddon$aws:eks/addon:Addon::ml-vpc-cni"]
    assert addons["kube-proxy"].name == "ml-kube-proxy" and addons["vpc-cni"].name == "ml-vpc-cni"
    # What pulumi-eks set, so the move is no replacement.
    for name in ("vpc-cni", "kube-proxy"):
        assert addons[name].inputs["preserve"] is True
        assert addons[name].inputs["tags"] == run.one("eks:index:Cluster").inputs["tags"]


def test_legacy_urns_under_the_engines_full_type_chain() -> None:
    eks_urn = ("urn:pulumi:prod::eks-gpu-spot::eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:cluster:Cluster"
               "$eks:index:Cluster::eks-gpu-spot-prod")
    chain = "eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:cluster:Cluster$eks:index:Cluster"
    assert legacy_kube_proxy_urn(eks_urn, "eks-gpu-spot-prod") == (
        f"urn:pulumi:prod::eks-gpu-spot::{chain}$aws:eks/addon:Addon::eks-gpu-spot-prod-kube-proxy")
    assert legacy_vpc_cni_urn(eks_urn, "eks-gpu-spot-prod") == (
        f"urn:pulumi:prod::eks-gpu-spot::{chain}$eks:index:VpcCniAddon$aws:eks/addon:Addon::eks-gpu-spot-prod-vpc-cni")


def test_addon_versions_can_be_pinned() -> None:
    run = run_program({"managedAddonVersions": {"coredns": "v1.11.4-eksbuild.2", "vpcCni": "v1.19.2-eksbuild.1",
                                                "kubeProxy": "v1.35.0-eksbuild.2"}})
    addons = addons_by_name(run)
    assert addons["coredns"].inputs["addonVersion"] == "v1.11.4-eksbuild.2"
    assert addons["vpc-cni"].inputs["addonVersion"] == "v1.19.2-eksbuild.1"
    assert addons["kube-proxy"].inputs["addonVersion"] == "v1.35.0-eksbuild.2"
    assert "addonVersion" not in addons["eks-pod-identity-agent"].inputs


def test_kubeconfig_output_is_secret_and_feeds_the_kubernetes_provider(run: ProgramRun) -> None:
    assert "kubeconfig" in run.secret_outputs
    assert '"server": "https://ml.gr7.us-east-1.eks.amazonaws.com"' in run.outputs["kubeconfig"]
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.parent == run.one("eks-gpu-spot:cluster:Cluster").urn
    assert run.outputs["clusterEndpoint"] == "https://ml.gr7.us-east-1.eks.amazonaws.com"
    assert run.outputs["clusterCertificateAuthority"] == "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"
    assert run.outputs["nodeSecurityGroupId"] == "sg-0a1b2c3d4e5f67890"
    assert run.outputs["clusterSecurityGroupId"] == "sg-0c1a2b3c4d5e6f701"


def test_private_only_endpoint() -> None:
    run = run_program({"endpointPublicAccess": False})
    inputs = run.one("eks:index:Cluster").inputs
    assert inputs["endpointPublicAccess"] is False
    assert inputs["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in inputs


def test_deletion_protection_protects_the_control_plane() -> None:
    run = run_program({"deletionProtection": True})
    cluster = run.one("eks:index:Cluster")
    assert cluster.protect is True
    assert cluster.inputs["deletionProtection"] is True
