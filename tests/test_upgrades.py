"""Kubernetes minor upgrades under mocks: the version step is checked against the running cluster at
preview, the managed add-ons follow the minor, and the order of a `pulumi up` is control plane, then
add-ons and launch templates, then groups."""

from __future__ import annotations

from typing import Any

import pytest

from components.errors import InvalidValueError
from components.offline import ADDON_DEFAULT_VERSIONS
from components.plan import check_version_step
from tests.harness import ProgramRun, Registered, assert_refused, run_program

CLUSTER = "eks-gpu-spot-test"
GPU_WITH_MINIMUM = {"gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "minSizePerAz": 1}]}
ADDONS = {"vpc-cni": "vpcCni", "kube-proxy": "kubeProxy", "coredns": "coredns", "eks-pod-identity-agent": "podIdentityAgent"}


def deploy(version: str, running: str | None, **config: Any) -> ProgramRun:
    return run_program({"kubernetesVersion": version, **config}, deployed_clusters={CLUSTER: running} if running else None,
                       expect_error=True if running and not _allowed(version, running) else False)


def _allowed(version: str, running: str) -> bool:
    try:
        check_version_step(version, running)
    except InvalidValueError:
        return False
    return True


# 1. Version steps, both ways.

@pytest.mark.parametrize(("version", "running"), [("1.35", None), ("1.35", "1.35"), ("1.36", "1.35"), ("1.33", "1.32")])
def test_a_first_deploy_no_change_and_one_minor_up_deploy(version: str, running: str | None) -> None:
    run = deploy(version, running)
    assert run.error is None
    assert run.one("eks:index:Cluster").inputs["version"] == version


def test_a_jump_of_more_than_one_minor_is_refused_naming_the_next_allowed_version() -> None:
    run = deploy("1.36", "1.33")
    assert_refused(run, "eks-gpu-spot:kubernetesVersion", "the cluster runs 1.33 and EKS upgrades one minor per update: "
                                                          "the next allowed version is 1.34")
    assert "then go on one minor at a time to 1.36" in str(run.error)


@pytest.mark.parametrize(("version", "running", "next_step"), [("1.34", "1.35", ", or upgrade to 1.36"),
                                                                ("1.35", "1.36", "")])
def test_a_downgrade_is_refused(version: str, running: str, next_step: str) -> None:
    run = deploy(version, running)
    assert_refused(run, "eks-gpu-spot:kubernetesVersion",
                   f"the cluster runs {running} and EKS never downgrades a cluster: keep {running}{next_step}")
    assert str(run.error).endswith(f"keep {running}{next_step}")


def test_a_running_cluster_older_than_the_supported_minors_is_sent_to_the_cli_first() -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_version_step("1.32", "1.30")
    assert raised.value.field == "kubernetes_version"
    assert "the next allowed version is 1.31; 1.31 is not a minor this project supports" in raised.value.allowed
    assert "aws eks update-cluster-version" in raised.value.allowed


def test_the_running_version_is_read_with_the_providers_invokes() -> None:
    fresh = deploy("1.35", None)
    tokens = [token for token, _ in fresh.invokes]
    assert "aws:eks/getClusters:getClusters" in tokens
    assert "aws:eks/getCluster:getCluster" not in tokens  # no cluster of that name: nothing to read
    running = deploy("1.36", "1.35")
    assert ("aws:eks/getCluster:getCluster", {"name": CLUSTER}) in running.invokes


def test_an_upgrade_warns_about_gpu_nodes_it_leaves_on_the_old_minor() -> None:
    run = deploy("1.36", "1.35", **GPU_WITH_MINIMUM)
    warnings = [m for severity, m in run.logs if severity == "warning"]
    assert ("GPU pool 'gpu': after this upgrade from 1.35 to 1.36 its minSizePerAz node(s) keep kubelet 1.35; kubelet "
            "may be at most 3 minors older than the control plane: replace them (replaceBusyNodes: true, or by hand) "
            "before the third upgrade") in warnings
    assert not any("after this upgrade" in m for _, m in deploy("1.35", "1.35", **GPU_WITH_MINIMUM).logs)
    busy = {"gpuPools": [{**GPU_WITH_MINIMUM["gpuPools"][0], "replaceBusyNodes": True}]}
    assert not any("after this upgrade" in m for _, m in deploy("1.36", "1.35", **busy).logs)


# 2. The managed add-ons follow the minor.

def addon_versions(run: ProgramRun) -> dict[str, str]:
    return {a.inputs["addonName"]: a.inputs["addonVersion"] for a in run.of_type("aws:eks/addon:Addon")}


@pytest.mark.parametrize("version", ["1.35", "1.36"])
def test_each_addon_gets_the_eks_default_of_the_clusters_minor(version: str) -> None:
    run = deploy(version, None)
    assert addon_versions(run) == ADDON_DEFAULT_VERSIONS[version]
    asked = [args for token, args in run.invokes if token == "aws:eks/getAddonVersion:getAddonVersion"]
    assert sorted(a["addonName"] for a in asked) == sorted(ADDONS)
    assert all(a["kubernetesVersion"] == version and a["mostRecent"] is False for a in asked)


def test_a_minor_upgrade_moves_the_minor_bound_addons() -> None:
    before, after = addon_versions(deploy("1.35", None)), addon_versions(deploy("1.36", "1.35"))
    assert (before["kube-proxy"], after["kube-proxy"]) == ("v1.35.3-eksbuild.13", "v1.36.0-eksbuild.14")
    # The others' EKS defaults are the same build for both minors (see ADDON_DEFAULT_VERSIONS).
    assert {name for name in ADDONS if before[name] != after[name]} == {"kube-proxy"}


def test_a_pinned_version_wins_and_nothing_is_asked_for_it() -> None:
    run = deploy("1.36", None, managedAddonVersions={"kubeProxy": "v1.36.0-eksbuild.2"})
    assert addon_versions(run)["kube-proxy"] == "v1.36.0-eksbuild.2"
    assert addon_versions(run)["coredns"] == ADDON_DEFAULT_VERSIONS["1.36"]["coredns"]
    asked = {args["addonName"] for token, args in run.invokes if token == "aws:eks/getAddonVersion:getAddonVersion"}
    assert "kube-proxy" not in asked


# 3. The order of an upgrade: control plane first, nodes last.

def waits_for_the_control_plane(run: ProgramRun, resource: Registered) -> bool:
    """Whether `resource` waits, directly or through what it waits for, for pulumi-eks's component or
    its control plane (whose outputs resolve with the component)."""
    by_urn = {r.urn: r for r in run.resources}
    control_plane = (f"$eks:index:Cluster::{CLUSTER}", f"aws:eks/cluster:Cluster::{CLUSTER}-eksCluster")
    seen, frontier = set(), list(resource.depends_on)
    while frontier:
        urn = frontier.pop()
        if urn.endswith(control_plane):
            return True
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        frontier.extend(by_urn[urn].depends_on)
    return False


def test_addons_and_nodes_move_only_after_the_control_plane() -> None:
    run = deploy("1.36", "1.35")
    for addon in run.of_type("aws:eks/addon:Addon"):
        assert waits_for_the_control_plane(run, addon), addon.name
    for template in run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert waits_for_the_control_plane(run, template), template.name
    for group in run.of_type("aws:autoscaling/group:Group"):
        assert any(d.endswith(f"::{lt.name}") for lt in run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
                   for d in group.depends_on), group.name
