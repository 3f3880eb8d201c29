"""Kubernetes minor upgrades under mocks: the version step is checked against the running cluster at
preview, the managed add-ons follow the minor, and the order of a `pulumi up` is control plane, then
add-ons and launch templates, then groups."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components.addon_versions import addon_version, build_key
from components.aws_facts import AddonBuilds
from components.errors import InvalidValueError
from components.offline import ADDON_DEFAULT_VERSIONS
from components.offline import run_program as run_offline
from components.plan import check_version_step
from components.settings import ADDON_MINOR_TAG
from tests.harness import ProgramRun, Registered, assert_refused, run_program
from tests.urn_snapshot import config_of, run_stack

CLUSTER = "eks-gpu-spot-test"
DEV_CLUSTER = "eks-gpu-spot-dev"
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


# 2b. Which build each live add-on keeps (addon_versions.py): the rule, then the program.

BUILDS_136 = AddonBuilds(default="v1.20.1-eksbuild.3", newest="v1.21.1-eksbuild.1")


@pytest.mark.parametrize(("pinned", "live", "step", "expected"), [
    # A pin always wins, on a step or not, over a live build older or newer.
    ("v1.19.2-eksbuild.1", "v1.21.0-eksbuild.1", False, "v1.19.2-eksbuild.1"),
    ("v1.19.2-eksbuild.1", "v1.20.0-eksbuild.1", True, "v1.19.2-eksbuild.1"),
    # On its minor a live build stays: older than AWS's default now, or newer (pulumi-eks's mostRecent).
    (None, "v1.18.0-eksbuild.1", False, "v1.18.0-eksbuild.1"),
    (None, "v1.21.0-eksbuild.1", False, "v1.21.0-eksbuild.1"),
    # On a minor step: older moves to the new default, newer stays while the new minor has builds that new.
    (None, "v1.19.5-eksbuild.2", True, "v1.20.1-eksbuild.3"),
    (None, "v1.20.1-eksbuild.3", True, "v1.20.1-eksbuild.3"),
    (None, "v1.21.0-eksbuild.1", True, "v1.21.0-eksbuild.1"),
    (None, "v1.21.1-eksbuild.1", True, "v1.21.1-eksbuild.1"),
    (None, "v1.22.0-eksbuild.1", True, "v1.20.1-eksbuild.3"),
    # Not running yet: the EKS default of the cluster's minor (None: `Cluster` reads it).
    (None, None, False, None),
    (None, None, True, None),
])
def test_the_addon_version_rule(pinned: str | None, live: str | None, step: bool, expected: str | None) -> None:
    assert addon_version(pinned=pinned, live=live, minor_step=step, builds=BUILDS_136 if step else None) == expected


def test_builds_compare_by_number() -> None:
    assert build_key("v1.20.10-eksbuild.2") == (1, 20, 10, 2) and build_key("latest") is None
    assert build_key("v1.20.10-eksbuild.2") > build_key("v1.20.9-eksbuild.30")  # type: ignore[operator]


_deployed: dict[str, ProgramRun] = {}


def first_up() -> ProgramRun:
    """The dev stack (Kubernetes 1.35) as deployed by this release."""
    if "dev" not in _deployed:
        _deployed["dev"] = run_stack("dev")
    return _deployed["dev"]


def next_up(version: str = "1.35", live: dict[str, str] | None = None, config: dict[str, Any] | None = None,
            **facts: Any) -> ProgramRun:
    """The next `pulumi up` of the deployed dev stack, its add-ons running `live` (default: what the
    first up set), `facts` overriding other FakeAws fields."""
    first = first_up()
    aws = first.aws.deployed(first)
    if live is not None:
        aws = replace(aws, addons={DEV_CLUSTER: {**aws.addons[DEV_CLUSTER], **live}})
    return run_stack("dev", {**config_of("dev"), "eks-gpu-spot:kubernetesVersion": version, **(config or {})},
                     aws=replace(aws, **facts), catch_errors=True)


def bumped_defaults(minor: str) -> dict[str, dict[str, str]]:
    return {**ADDON_DEFAULT_VERSIONS, minor: {**ADDON_DEFAULT_VERSIONS[minor], "vpc-cni": "v1.20.2-eksbuild.1",
                                              "kube-proxy": "v1.35.9-eksbuild.1", "coredns": "v1.14.4-eksbuild.1"}}


def test_live_addons_are_read_and_kept_when_aws_changes_its_default() -> None:
    again = next_up(addon_defaults=bumped_defaults("1.35"))
    assert again.error is None
    asked = {args["addonName"] for token, args in again.invokes if token == "aws:eks/getAddon:getAddon"}
    assert asked == set(ADDONS)
    assert all(args["clusterName"] == DEV_CLUSTER for token, args in again.invokes if token == "aws:eks/getAddon:getAddon")
    assert addon_versions(again) == addon_versions(first_up()) == ADDON_DEFAULT_VERSIONS["1.35"]
    # Nothing asks for a default while the cluster stays on its minor.
    assert not [t for t, _ in again.invokes if t == "aws:eks/getAddonVersion:getAddonVersion"]


def test_addons_pulumi_eks_left_on_newer_builds_are_never_downgraded() -> None:
    most_recent = {"vpc-cni": "v1.21.1-eksbuild.1", "kube-proxy": "v1.35.9-eksbuild.2"}
    assert addon_versions(next_up(live=most_recent)) == {**ADDON_DEFAULT_VERSIONS["1.35"], **most_recent}
    # One the cluster lacks (a failed read) is created at the default.
    without_coredns = first_up().aws.deployed(first_up())
    without_coredns = replace(without_coredns, addons={DEV_CLUSTER: {
        k: v for k, v in without_coredns.addons[DEV_CLUSTER].items() if k != "coredns"}})
    run = run_stack("dev", aws=without_coredns)
    assert addon_versions(run)["coredns"] == ADDON_DEFAULT_VERSIONS["1.35"]["coredns"]


def test_a_minor_step_moves_each_addon_to_the_new_default_unless_its_build_is_newer_and_compatible() -> None:
    newest = {"1.36": {"vpc-cni": "v1.21.1-eksbuild.1"}}
    run = next_up("1.36", live={"vpc-cni": "v1.21.0-eksbuild.1"}, addon_newest=newest)
    assert run.error is None
    versions = addon_versions(run)
    assert versions["kube-proxy"] == ADDON_DEFAULT_VERSIONS["1.36"]["kube-proxy"]
    assert versions["vpc-cni"] == "v1.21.0-eksbuild.1"
    assert ("managed add-on vpc-cni: keeps v1.21.0-eksbuild.1 on Kubernetes 1.36: newer than the minor's default build "
            "v1.20.1-eksbuild.3, not newer than its newest v1.21.1-eksbuild.1") in [m for s, m in run.logs if s == "info"]
    asked = [args for token, args in run.invokes if token == "aws:eks/getAddonVersion:getAddonVersion"]
    assert {(a["addonName"], a["kubernetesVersion"], a["mostRecent"]) for a in asked} == {
        (name, "1.36", most_recent) for name in ADDONS for most_recent in (False, True)}
    # A build newer than anything the new minor offers is not compatible with it: the default.
    assert addon_versions(next_up("1.36", live={"vpc-cni": "v1.21.0-eksbuild.1"}))["vpc-cni"] == "v1.20.1-eksbuild.3"


def addon_minor_tags(run: ProgramRun) -> dict[str, str]:
    return {a.inputs["addonName"]: a.inputs["tags"][ADDON_MINOR_TAG] for a in run.of_type("aws:eks/addon:Addon")}


def test_each_addon_is_tagged_with_the_minor_its_build_was_chosen_for() -> None:
    assert addon_minor_tags(first_up()) == dict.fromkeys(ADDONS, "1.35")
    upgraded = next_up("1.36")
    assert addon_minor_tags(upgraded) == dict.fromkeys(ADDONS, "1.36")
    # The upgraded stack's next up moves nothing and asks for no default.
    again = run_stack("dev", {**config_of("dev"), "eks-gpu-spot:kubernetesVersion": "1.36"},
                      aws=upgraded.aws.deployed(upgraded), catch_errors=True)
    assert addon_versions(again) == addon_versions(upgraded) == ADDON_DEFAULT_VERSIONS["1.36"]
    assert not [t for t, _ in again.invokes if t == "aws:eks/getAddonVersion:getAddonVersion"]


def test_an_upgrade_that_stopped_after_the_control_plane_moves_the_addons_at_the_next_up() -> None:
    # The control plane runs 1.36, but the add-ons kept the 1.35 builds (and tags) the first up set.
    stopped = next_up("1.36", clusters={DEV_CLUSTER: "1.36"})
    assert stopped.error is None
    assert addon_versions(stopped) == ADDON_DEFAULT_VERSIONS["1.36"]
    assert addon_minor_tags(stopped) == dict.fromkeys(ADDONS, "1.36")


def test_addons_from_before_the_tag_follow_the_clusters_own_minor() -> None:
    first = first_up()
    untagged = replace(first.aws.deployed(first), addon_tags={})
    kept = run_stack("dev", aws=untagged, catch_errors=True)
    assert addon_versions(kept) == ADDON_DEFAULT_VERSIONS["1.35"]
    assert not [t for t, _ in kept.invokes if t == "aws:eks/getAddonVersion:getAddonVersion"]


def test_a_vpc_cni_jump_of_more_than_one_minor_is_not_made_and_preview_gives_the_step() -> None:
    run = next_up("1.36", live={"vpc-cni": "v1.18.5-eksbuild.1"})
    assert run.error is None
    assert addon_versions(run)["vpc-cni"] == "v1.18.5-eksbuild.1"
    # It keeps the minor its build was chosen for, so the next up tries the step again.
    assert addon_minor_tags(run)["vpc-cni"] == "1.35" and addon_minor_tags(run)["kube-proxy"] == "1.36"
    warnings = [m for s, m in run.logs if s == "warning"]
    assert ("managed add-on vpc-cni: Kubernetes 1.36's default build v1.20.1-eksbuild.3 is 2 minors from the running "
            "v1.18.5-eksbuild.1, and EKS moves vpc-cni one minor at a time, so it stays on v1.18.5-eksbuild.1 for now: "
            "pin a v1.19 build first (`pulumi config set --path 'managedAddonVersions.vpcCni' <build>`; `aws eks "
            "describe-addon-versions --addon-name vpc-cni --kubernetes-version 1.36` lists them) and `pulumi up`, then "
            "v1.20.1-eksbuild.3") in warnings
    # One minor is a move EKS makes: no warning.
    near = next_up("1.36", live={"vpc-cni": "v1.19.5-eksbuild.1"})
    assert addon_versions(near)["vpc-cni"] == "v1.20.1-eksbuild.3"
    assert not any("vpc-cni" in m for s, m in near.logs if s == "warning")


def test_a_vpc_cni_pin_more_than_one_minor_from_the_live_build_is_refused_and_one_minor_deploys() -> None:
    far = next_up(live={"vpc-cni": "v1.18.5-eksbuild.1"}, config={
        "eks-gpu-spot:managedAddonVersions": {"vpcCni": "v1.20.1-eksbuild.3"}})
    assert_refused(far, "eks-gpu-spot:managedAddonVersions.vpcCni",
                   "the cluster runs vpc-cni v1.18.5-eksbuild.1, 2 minors away, and EKS moves vpc-cni one minor at a "
                   "time: pin a v1.19 build first")
    down = next_up(live={"vpc-cni": "v1.21.0-eksbuild.1"}, config={
        "eks-gpu-spot:managedAddonVersions": {"vpcCni": "v1.19.2-eksbuild.1"}})
    assert_refused(down, "eks-gpu-spot:managedAddonVersions.vpcCni", "pin a v1.20 build first")
    near = next_up(live={"vpc-cni": "v1.18.5-eksbuild.1"}, config={
        "eks-gpu-spot:managedAddonVersions": {"vpcCni": "v1.19.2-eksbuild.1"}})
    assert near.error is None and addon_versions(near)["vpc-cni"] == "v1.19.2-eksbuild.1"


LIBRARY_CLUSTER = """
from components.cluster import Cluster, ClusterArgs
cluster = Cluster("lib", ClusterArgs(name="lib", kubernetes_version="1.36", vpc_id="vpc-0a1b2c3d4e5f67890",
                                     private_subnet_ids=["subnet-0a1b2c3d4e5f6a7b8", "subnet-0a1b2c3d4e5f6a7b9"],
                                     managed_addon_versions={"coredns": "v1.14.3-eksbuild.9"}))
cluster.add_coredns(after=[])
"""


def test_a_library_cluster_given_no_versions_gets_the_eks_defaults(tmp_path: Path) -> None:
    main = tmp_path / "__main__.py"
    main.write_text(LIBRARY_CLUSTER)
    run = run_offline({"aws:region": "us-east-1"}, main=main, project="lib", stack="test")
    assert addon_versions(run) == {**ADDON_DEFAULT_VERSIONS["1.36"], "coredns": "v1.14.3-eksbuild.9"}
    # `Cluster` reads no live add-on: that is the platform's (aws_facts.read).
    assert not [t for t, _ in run.invokes if t == "aws:eks/getAddon:getAddon"]


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
