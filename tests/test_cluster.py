"""The cluster component: what it asks pulumi-eks for, its add-ons and its outputs."""

from __future__ import annotations

import pytest

from components.cluster import legacy_access_entry_urn, legacy_kube_proxy_urn, legacy_vpc_cni_urn
from components.settings import ADDON_MINOR_TAG
from tests.harness import ROOT, ProgramRun, Registered, run_program, stack_config

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
    expected_arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-key-id"
    assert run.one("eks:index:Cluster").inputs["encryptionConfigKeyArn"] == expected_arn
    alias = run.one("aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/eks/ml-secrets"


def node_access_entries(run: ProgramRun) -> dict[str, Registered]:
    """Node role component name -> its one access entry; fails on a role with none or two."""
    roles = run.of_type("eks-gpu-spot:nodegroup:NodeRole")
    entries = run.of_type("aws:eks/accessEntry:AccessEntry")
    assert len(entries) == len(roles)
    found: dict[str, Registered] = {}
    for role in roles:
        (entry,) = [e for e in entries if e.parent == role.urn]
        (iam_role,) = [r for r in run.children_of(role) if r.type == "aws:iam/role:Role"]
        assert entry.inputs["principalArn"] == f"arn:aws:mock:us-east-1:123456789012:role/{iam_role.name}"
        assert entry.inputs["type"] == "EC2_LINUX"
        assert "kubernetesGroups" not in entry.inputs and "userName" not in entry.inputs
        found[role.name] = entry
    return found


def test_every_node_role_has_exactly_one_ec2_linux_access_entry(run: ProgramRun) -> None:
    # One way only: pulumi-eks creates none, each NodeRole creates its own.
    assert "accessEntries" not in run.one("eks:index:Cluster").inputs
    entries = node_access_entries(run)
    assert set(entries) == {"general-node", "gpu-a-node", "gpu-b-node"}
    control_plane = run.one("eks:index:Cluster").urn
    for entry in entries.values():
        assert entry.inputs["clusterName"] == "ml"
        # It waits for the control plane (through the name it reads from it), not the other way round.
        assert control_plane in entry.depends_on


def test_dev_stack_has_exactly_one_access_entry_per_node_role() -> None:
    dev = run_program(stack_config(ROOT / "Pulumi.dev.yaml"), stack="dev")
    entries = node_access_entries(dev)
    assert set(entries) == {f"{pool}-node" for pool in ("general", *[
        p["name"] for p in stack_config(ROOT / "Pulumi.dev.yaml")["eks-gpu-spot:gpuPools"]])}


def test_nodes_launch_only_after_their_access_entry(run: ProgramRun) -> None:
    entries = node_access_entries(run)
    for asg in run.of_type("aws:autoscaling/group:Group"):
        pool = asg.inputs["name"].removeprefix("ml-").split("-us-east-1")[0]
        assert entries[f"{pool}-node"].urn in asg.depends_on, asg.name


def test_node_access_entries_move_from_their_pulumi_eks_urns(run: ProgramRun) -> None:
    # pulumi-eks v4 (nodejs/eks/cluster/authenticationMode.ts `createAccessEntries`) named the entry
    # of `accessEntries[<pool>]` `<component name>-<pool>`, parented to its component.
    chain = "eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:cluster:Cluster$eks:index:Cluster"
    for role, entry in node_access_entries(run).items():
        pool = role.removesuffix("-node")
        assert entry.aliases == [f"urn:pulumi:test::eks-gpu-spot::{chain}$aws:eks/accessEntry:AccessEntry::ml-{pool}"]


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
    # `eks:index:VpcCniAddon` of the same name. The aliases must name exactly those URNs, under the
    # engine's whole type chain (components/offline.py gives URNs as the engine does).
    chain = "eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:cluster:Cluster$eks:index:Cluster"
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
        # pulumi-eks's tags, and the minor the build was chosen for (addon_versions.py).
        assert addons[name].inputs["tags"] == {**run.one("eks:index:Cluster").inputs["tags"],
                                               ADDON_MINOR_TAG: run.one("eks:index:Cluster").inputs["version"]}


def test_legacy_urns_under_the_engines_full_type_chain() -> None:
    eks_urn = ("urn:pulumi:prod::eks-gpu-spot::eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:cluster:Cluster"
               "$eks:index:Cluster::eks-gpu-spot-prod")
    chain = "eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:cluster:Cluster$eks:index:Cluster"
    assert legacy_kube_proxy_urn(eks_urn, "eks-gpu-spot-prod") == (
        f"urn:pulumi:prod::eks-gpu-spot::{chain}$aws:eks/addon:Addon::eks-gpu-spot-prod-kube-proxy")
    assert legacy_vpc_cni_urn(eks_urn, "eks-gpu-spot-prod") == (
        f"urn:pulumi:prod::eks-gpu-spot::{chain}$eks:index:VpcCniAddon$aws:eks/addon:Addon::eks-gpu-spot-prod-vpc-cni")
    assert legacy_access_entry_urn(eks_urn, "eks-gpu-spot-prod", "gpu-l4") == (
        f"urn:pulumi:prod::eks-gpu-spot::{chain}$aws:eks/accessEntry:AccessEntry::eks-gpu-spot-prod-gpu-l4")


def test_addon_versions_can_be_pinned() -> None:
    run = run_program({"managedAddonVersions": {"coredns": "v1.11.4-eksbuild.2", "vpcCni": "v1.19.2-eksbuild.1",
                                                "kubeProxy": "v1.35.0-eksbuild.2"}})
    addons = addons_by_name(run)
    assert addons["coredns"].inputs["addonVersion"] == "v1.11.4-eksbuild.2"
    assert addons["vpc-cni"].inputs["addonVersion"] == "v1.19.2-eksbuild.1"
    assert addons["kube-proxy"].inputs["addonVersion"] == "v1.35.0-eksbuild.2"
    # What is not pinned is the EKS default of the cluster's version.
    assert addons["eks-pod-identity-agent"].inputs["addonVersion"] == "v1.3.10-eksbuild.2"


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
