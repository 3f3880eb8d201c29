"""The cluster component: what it asks pulumi-eks for, its add-ons and its outputs."""

from __future__ import annotations

import pytest

from tests.harness import ProgramRun, run_program

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


def test_managed_addons(run: ProgramRun) -> None:
    inputs = run.one("eks:index:Cluster").inputs
    assert inputs["kubeProxyAddonOptions"]["enabled"] is True
    assert "useDefaultVpcCni" not in inputs  # pulumi-eks then installs vpc-cni as a managed add-on
    assert "vpcCniOptions" in inputs
    addons = {a.inputs["addonName"]: a for a in run.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"eks-pod-identity-agent", "coredns"}
    assert all(a.inputs["clusterName"] == "ml" for a in addons.values())
    # CoreDNS waits for nodes: an EKS add-on whose pods cannot schedule never becomes ACTIVE.
    general_asg = run.one("aws:autoscaling/group:Group", "general")
    assert general_asg.urn in addons["coredns"].depends_on
    assert inputs["corednsAddonOptions"]["enabled"] is False


def test_addon_versions_can_be_pinned() -> None:
    run = run_program({"managedAddonVersions": {"coredns": "v1.11.4-eksbuild.2", "vpcCni": "v1.19.2-eksbuild.1"}})
    coredns = next(a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "coredns")
    assert coredns.inputs["addonVersion"] == "v1.11.4-eksbuild.2"
    assert run.one("eks:index:Cluster").inputs["vpcCniOptions"]["addonVersion"] == "v1.19.2-eksbuild.1"


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
