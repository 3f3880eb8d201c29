"""Day 2 under mocks: how a changed launch template reaches each kind of pool, the hook on each group,
one drain per event, and the figures of docs/upgrades.md."""

from __future__ import annotations

from typing import Any

import pytest

from components.errors import InvalidValueError
from components.pool_spec import NodePoolSpec
from components.rollout import (
    BUSY_GPU_POOL_REFRESH,
    GENERAL_POOL_REFRESH,
    RefreshPolicy,
    group_delete_timeout,
    refresh_policy,
    rollout_minutes,
)
from tests.harness import ROOT, ProgramRun, Registered, assert_refused, run_program, stack_config

ASG = "aws:autoscaling/group:Group"
HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"
GPU = {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"]}
DEV = stack_config(ROOT / "Pulumi.dev.yaml")
PROD = stack_config(ROOT / "Pulumi.prod.yaml")
_runs: dict[str, ProgramRun] = {}


def cached(name: str, config: dict[str, Any], **aws: Any) -> ProgramRun:
    if name not in _runs:
        _runs[name] = run_program(config, **aws)
    return _runs[name]


def busy_run() -> ProgramRun:
    return cached("busy", {"gpuPools": [{**GPU, "replaceBusyNodes": True, "drainTimeout": "1h", "onDemandFallback": True},
                                        {"name": "idle", "instanceTypes": ["g5.2xlarge"], "minSizePerAz": 1}]})


def groups(run: ProgramRun, pool: str) -> list[Registered]:
    return [g for g in run.of_type(ASG) if g.name == pool or g.name.startswith(f"{pool}-us-")]


def preferences(group: Registered) -> dict[str, Any]:
    refresh = group.inputs["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    return refresh["preferences"]


# 1. Refresh preferences per kind of pool.

def test_the_general_pool_launches_before_terminating_after_a_canary() -> None:
    (general,) = groups(busy_run(), "general")
    assert preferences(general) == {
        "minHealthyPercentage": 100, "maxHealthyPercentage": 150, "instanceWarmup": "180", "skipMatching": True,
        "autoRollback": False, "checkpointPercentages": [1, 100], "checkpointDelay": "300"}


def test_a_gpu_pool_has_no_refresh_unless_it_replaces_busy_nodes() -> None:
    run = busy_run()
    for group in groups(run, "idle"):
        assert "instanceRefresh" not in group.inputs, group.name
    busy = groups(run, "gpu")
    assert len(busy) == 6  # three zones, each with its On-Demand fallback group: the same policy
    for group in busy:
        # One at a time as AWS documents it: minimum 100%, the maximum left to AWS (never sent as 0).
        assert preferences(group) == {"minHealthyPercentage": 100, "instanceWarmup": "300", "skipMatching": True,
                                      "autoRollback": False}


def test_the_launch_template_version_is_a_number_so_a_change_starts_a_refresh() -> None:
    # The provider starts no refresh for a group on `$Latest` or `$Default`.
    for group in busy_run().of_type(ASG):
        version = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]["version"]
        assert version.isdigit(), group.name


def test_refresh_policies_refuse_what_aws_refuses() -> None:
    for make, field in [
        (lambda: RefreshPolicy(100, 201, 60), "max_healthy_percentage"),
        (lambda: RefreshPolicy(50, 99, 60), "max_healthy_percentage"),
        (lambda: RefreshPolicy(0, 150, 60), "max_healthy_percentage"),  # more than 100 apart
        (lambda: RefreshPolicy(101, 150, 60), "min_healthy_percentage"),
        (lambda: RefreshPolicy(100, 150, 60, (50, 20, 100)), "checkpoint_percentages"),
        (lambda: RefreshPolicy(100, 150, 60, (50,)), "checkpoint_percentages"),
        (lambda: RefreshPolicy(100, 150, 60, (1, 100), 172801), "checkpoint_delay_seconds"),
    ]:
        with pytest.raises(InvalidValueError) as raised:
            make()
        assert raised.value.field == field
    assert RefreshPolicy(0, 100, 0).nodes_at_once(4) == 4
    assert RefreshPolicy(100, 200, 60, (1, 100), 172800).launches_before_terminating


# 2. How many nodes roll at once, and how long a pool takes (the figures of docs/upgrades.md).

@pytest.mark.parametrize(("desired", "at_once"), [(1, 1), (2, 1), (3, 1), (4, 2), (6, 3), (30, 15)])
def test_the_general_pool_rolls_half_its_size_at_once_and_at_least_one(desired: int, at_once: int) -> None:
    assert GENERAL_POOL_REFRESH.nodes_at_once(desired) == at_once


def test_busy_gpu_nodes_roll_one_at_a_time_whatever_the_size() -> None:
    assert [BUSY_GPU_POOL_REFRESH.nodes_at_once(d) for d in (0, 1, 3, 6)] == [0, 1, 1, 1]
    assert BUSY_GPU_POOL_REFRESH.max_healthy_percentage is None
    assert BUSY_GPU_POOL_REFRESH.effective_max_healthy_percentage == 100
    assert not BUSY_GPU_POOL_REFRESH.launches_before_terminating
    # An unset maximum is AWS's 100%: a lower minimum then replaces that share at once.
    assert RefreshPolicy(50, None, 60).nodes_at_once(4) == 2
    assert RefreshPolicy(0, None, 60).nodes_at_once(4) == 4


def test_rollout_minutes_of_the_dev_and_prod_general_pools() -> None:
    # A step: 1 launch + 3 warm-up + 1 drain + 1 terminate = 6 minutes; the canary's pause 5.
    dev, prod = DEV["eks-gpu-spot:generalPool"], PROD["eks-gpu-spot:generalPool"]
    assert (dev["desiredSize"], prod["desiredSize"], prod["maxSize"]) == (2, 3, 30)
    assert rollout_minutes(GENERAL_POOL_REFRESH, dev["desiredSize"]) == 6 + 5 + 6
    assert rollout_minutes(GENERAL_POOL_REFRESH, prod["desiredSize"]) == 6 + 5 + 2 * 6
    # At prod's maximum: the canary, then 29 nodes 15 at a time.
    assert rollout_minutes(GENERAL_POOL_REFRESH, prod["maxSize"]) == 6 + 5 + 2 * 6
    assert rollout_minutes(GENERAL_POOL_REFRESH, 0) == 0
    # A busy GPU node: its drain, then launch and 5 minutes' warm-up.
    assert rollout_minutes(BUSY_GPU_POOL_REFRESH, 2, drain_minutes=60) == 2 * (1 + 5 + 60 + 1)


def test_preview_says_how_each_pool_rolls() -> None:
    notes = [m for severity, m in busy_run().logs if severity == "info"]
    assert ("pool 'general': a new launch template version rolls onto its nodes by instance refresh, one canary node "
            "and a 5-minute pause, then 1 at a time, each launched before an old one is drained: about 17 minutes at "
            "its desired size 2") in notes
    assert any(n.startswith("GPU pool 'gpu': a new launch template version replaces its nodes one at a time, busy or "
                            "not, each drained for up to 1h") for n in notes)
    # A pool with a minimum keeps those nodes on their template: preview says so.
    assert any(n.startswith("GPU pool 'idle': its 1 node(s) per zone (minSizePerAz) keep the launch template") for n in notes)
    dev_notes = [m for severity, m in cached("dev", DEV, stack="dev").logs if severity == "info"]
    assert not any("minSizePerAz" in n for n in dev_notes)  # gpu-small scales from zero: nothing stays behind


# 3. The hook lives with its group.

def test_every_group_is_created_with_its_terminating_hook() -> None:
    run = busy_run()
    heartbeats = {"general": 300, "gpu": 3600, "idle": 300}
    for pool, heartbeat in heartbeats.items():
        for group in groups(run, pool):
            assert group.inputs["initialLifecycleHooks"] == [{
                "name": "aws-node-termination-handler", "lifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
                "defaultResult": "CONTINUE", "heartbeatTimeout": heartbeat}], group.name
            # Terraform applies initial hooks only at creation and replaces the group when they change:
            # ignored afterwards, so no existing group is ever replaced for them.
            assert "initialLifecycleHooks" in group.ignore_changes


def test_the_separate_hooks_keep_their_urns_and_go_with_their_groups() -> None:
    run = busy_run()
    hooks = {h.inputs["autoscalingGroupName"]: h for h in run.of_type(HOOK)}
    assert len(hooks) == len(run.of_type(ASG)) == 1 + 6 + 3
    for group in run.of_type(ASG):
        hook = hooks[group.inputs["name"]]
        # The URN existing stacks have: no hook is deleted and recreated (which would leave a window
        # without one), and none is moved.
        assert hook.urn.endswith(f"$aws:autoscaling/lifecycleHook:LifecycleHook::node-termination-handler-{group.name}")
        assert hook.deleted_with == group.urn
        (initial,) = group.inputs["initialLifecycleHooks"]
        assert {k: hook.inputs[k] for k in initial} == initial


def test_without_the_handler_no_group_has_a_hook() -> None:
    run = cached("no-handler", {"nodeTerminationHandler": {"enabled": False}})
    assert run.of_type(HOOK) == []
    for group in run.of_type(ASG):
        assert "initialLifecycleHooks" not in group.inputs
    # Replacing general nodes undrained is allowed, but said.
    assert any(severity == "warning" and "terminates its nodes without draining them" in m for severity, m in run.logs)


# 4. One drain per event.

@pytest.mark.parametrize("rebalance", [None, True, False])
def test_no_rebalance_recommendation_rule_whatever_the_pools_capacity_rebalance(rebalance: bool | None) -> None:
    pools = {} if rebalance is None else {"generalPool": {"capacityRebalance": rebalance},
                                          "gpuPools": [{**GPU, "capacityRebalance": rebalance}]}
    run = cached(f"rebalance-{rebalance}", pools)
    patterns = [r.inputs["eventPattern"] for r in run.of_type("aws:cloudwatch/eventRule:EventRule")]
    assert len(patterns) == 4
    assert not any("Rebalance Recommendation" in p for p in patterns)
    assert any("Spot Instance Interruption Warning" in p for p in patterns)
    expected = {"general": True, "gpu": False} if rebalance is None else {"general": rebalance, "gpu": rebalance}
    for pool, on in expected.items():
        for group in groups(run, pool):
            assert group.inputs["capacityRebalance"] is on, group.name


def test_fallback_groups_never_rebalance() -> None:
    run = cached("fallback-rebalance", {"gpuPools": [{**GPU, "capacityRebalance": True, "onDemandFallback": True}]})
    for group in groups(run, "gpu"):
        assert group.inputs["capacityRebalance"] is (not group.name.endswith("-on-demand"))


# 5. Drain timeouts the hook and the handler can really hold.

def test_a_pools_drain_timeout_sets_its_hooks_and_the_handlers_drain_limit() -> None:
    run = busy_run()
    env = {e["name"]: e.get("value") for e in run.one("kubernetes:apps/v1:Deployment", "node-termination-handler-deployment")
           .inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["NODE_TERMINATION_GRACE_PERIOD"] == "3600"
    hooks = {h.inputs["autoscalingGroupName"]: h.inputs["heartbeatTimeout"] for h in run.of_type(HOOK)}
    assert {hooks[g.inputs["name"]] for g in groups(run, "gpu")} == {3600}
    assert {hooks[g.inputs["name"]] for g in groups(run, "idle")} == {300}


def handler_env(run: ProgramRun) -> dict[str, Any]:
    deployment = run.one("kubernetes:apps/v1:Deployment", "node-termination-handler-deployment")
    return {e["name"]: e.get("value") for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_handlers_drain_limit_covers_the_default_heartbeat() -> None:
    # No pool sets a drain timeout: every hook holds its node the default heartbeat, 600 s here.
    run = cached("heartbeat-600", {"nodeTerminationHandler": {"heartbeatTimeoutSeconds": 600}, "gpuPools": [GPU]})
    assert {h.inputs["heartbeatTimeout"] for h in run.of_type(HOOK)} == {600}
    assert handler_env(run)["NODE_TERMINATION_GRACE_PERIOD"] == "600"
    # A pool's shorter drain timeout does not shorten the limit the other pools' hooks need.
    short = cached("short-drain", {"nodeTerminationHandler": {"heartbeatTimeoutSeconds": 600},
                                   "gpuPools": [{**GPU, "drainTimeout": "1m"}]})
    assert handler_env(short)["NODE_TERMINATION_GRACE_PERIOD"] == "600"
    # Never below the 2-minute Spot warning.
    assert handler_env(cached("heartbeat-60", {"nodeTerminationHandler": {"heartbeatTimeoutSeconds": 60}}))[
        "NODE_TERMINATION_GRACE_PERIOD"] == "120"


# 6. Deleting a group waits for its nodes' drains, with the handler still there.

def test_each_group_may_take_its_hooks_heartbeat_plus_ten_minutes_to_delete() -> None:
    run = busy_run()
    for pool, heartbeat in {"general": 300, "gpu": 3600, "idle": 300}.items():
        for group in groups(run, pool):
            assert group.delete_timeout == f"{heartbeat // 60 + 10}m", group.name
    assert group_delete_timeout(7200) == "130m" and group_delete_timeout(30) == "11m"
    # Without the handler there is no hook to wait for: the provider's own 10 minutes.
    assert {g.delete_timeout for g in cached("no-handler", {"nodeTerminationHandler": {"enabled": False}}).of_type(ASG)} \
        == {""}


def test_the_handlers_queue_rules_and_iam_are_deleted_after_every_group() -> None:
    run = busy_run()
    handler = run.one("eks-gpu-spot:addons:NodeTerminationHandler")
    mine = run.descendants_of(handler)
    kept = {r.urn for r in mine if r.type in {
        "aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy", "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget", "aws:iam/role:Role", "aws:iam/policy:Policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment"}}
    assert len(kept) == 2 + 4 * 2 + 3
    # Pulumi deletes what depends on a resource before it: each group goes first.
    for group in run.of_type(ASG):
        assert kept <= set(group.depends_on), group.name
    # The Kubernetes objects go with the control plane, never before it; hooks with their groups.
    control_plane = run.one("eks:index:Cluster")
    for resource in mine:
        if resource.type.startswith("kubernetes:"):
            assert resource.deleted_with == control_plane.urn, resource.name
    # The association waits for the Pod Identity agent, a minute after the control plane: no group waits for it.
    association = next(r for r in mine if r.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert not any(association.urn in g.depends_on for g in run.of_type(ASG))


REFUSED = [
    pytest.param({"gpuPools": [{**GPU, "drainTimeout": "3h"}]}, "eks-gpu-spot:gpuPools[0].drainTimeout",
                 "from 30s to 2h", id="drain-beyond-heartbeat"),
    pytest.param({"generalPool": {"drainTimeout": "10s"}}, "eks-gpu-spot:generalPool.drainTimeout",
                 "AWS allows 30 s to 2 h", id="drain-below-heartbeat"),
    pytest.param({"gpuPools": [{**GPU, "drainTimeout": "1 hour"}]}, "eks-gpu-spot:gpuPools[0].drainTimeout",
                 "must be a duration such as '30m'", id="drain-not-a-duration"),
    pytest.param({"nodeTerminationHandler": {"enabled": False}, "gpuPools": [{**GPU, "replaceBusyNodes": True}]},
                 "eks-gpu-spot:gpuPools[0].replaceBusyNodes", "needs the termination handler", id="busy-without-handler"),
    pytest.param({"nodeTerminationHandler": {"enabled": False}, "generalPool": {"drainTimeout": "5m"}},
                 "eks-gpu-spot:generalPool.drainTimeout", "needs the termination handler", id="drain-without-handler"),
    pytest.param({"gpuPools": [{**GPU, "replaceBusyNodes": "yes"}]}, "eks-gpu-spot:gpuPools[0].replaceBusyNodes",
                 "true or false", id="busy-not-a-boolean"),
    pytest.param({"generalPool": {"capacityRebalance": 1}}, "eks-gpu-spot:generalPool.capacityRebalance",
                 "true or false", id="rebalance-not-a-boolean"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_refused_before_any_resource(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


@pytest.mark.parametrize("config", [
    pytest.param({"gpuPools": [{**GPU, "drainTimeout": "2h", "replaceBusyNodes": True}]}, id="drain-2h"),
    pytest.param({"generalPool": {"drainTimeout": "30s"}}, id="drain-30s"),
    pytest.param({"nodeTerminationHandler": {"enabled": False}, "gpuPools": [GPU]}, id="handler-off-plain-pools"),
])
def test_the_nearest_good_value_deploys(config: dict[str, Any]) -> None:
    assert run_program(config).of_type(ASG)


def test_the_general_pool_cannot_opt_out_of_its_refresh() -> None:
    with pytest.raises(InvalidValueError, match="applies to GPU pools only"):
        NodePoolSpec(name="general", replace_busy_nodes=True)
    assert refresh_policy(gpu=False, replace_busy_nodes=False) is GENERAL_POOL_REFRESH
    assert refresh_policy(gpu=True, replace_busy_nodes=False) is None


def test_every_bad_rollout_key_of_a_run_is_reported_at_once() -> None:
    run = run_program({"generalPool": {"drainTimeout": "3h", "capacityRebalance": 1},
                       "gpuPools": [{**GPU, "drainTimeout": "5s"}]}, expect_error=True)
    lines = str(run.error).splitlines()
    assert [line.split("'")[1] for line in lines] == ["eks-gpu-spot:generalPool.capacityRebalance",
                                                      "eks-gpu-spot:generalPool.drainTimeout",
                                                      "eks-gpu-spot:gpuPools[0].drainTimeout"]
    assert run.resources == []
