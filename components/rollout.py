"""How a changed launch template reaches running nodes, and how long a terminating node is held (pure).

Every Auto Scaling group of the general pool, and of a GPU pool with `replace_busy_nodes`, rolls onto
a new launch template version by itself: an ASG instance refresh (`refresh_policy`), started by the
AWS provider whenever the group's launch template version or mixed instances policy changes. Each
replaced node goes through the group's TERMINATING lifecycle hook, so the termination handler
drains it (PodDisruptionBudgets honoured) before EC2 terminates it. A GPU pool without
`replace_busy_nodes` has no refresh: its nodes leave when the autoscaler removes them idle, and new
ones start from the new template (docs/upgrades.md).

Limits encoded here are AWS's: lifecycle hook heartbeat 30-7200 s (PutLifecycleHook), instance
refresh healthy percentages 0-100 and 100-200 at most 100 apart, checkpoint delay at most 172800 s
(RefreshPreferences, InstanceMaintenancePolicy API references).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import validation
from .errors import InvalidValueError

# The TERMINATING hook every group carries while the termination handler is on. The name is the one
# the separate `aws.autoscaling.LifecycleHook` resources have always had, so both describe one hook.
TERMINATION_HOOK_NAME = "aws-node-termination-handler"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
# Without an answer the node is terminated anyway: a handler that is down must not block scale-in.
HOOK_DEFAULT_RESULT = "CONTINUE"
# A hook's heartbeat timeout (PutLifecycleHook, HeartbeatTimeout). The handler sends no heartbeats
# (its HEARTBEAT_* settings are global to the handler, see docs/upgrades.md), so this is also the
# longest a terminating node is held.
HOOK_HEARTBEAT_SECONDS = (30, 7200)
# The Spot interruption warning: the handler's drain limit is never below it.
SPOT_WARNING_SECONDS = 120


@dataclass(frozen=True)
class RefreshPolicy:
    """Instance refresh preferences of a group (strategy Rolling, skip matching always on).

    `min_healthy_percentage` and `max_healthy_percentage` bound the group's in-service capacity
    while nodes are replaced, as percentages of its desired capacity; above 100 the group launches
    before it terminates. `max_healthy_percentage` None leaves it to AWS (100%, RefreshPreferences).
    `checkpoint_percentages`/`checkpoint_delay_seconds`: where the refresh pauses, and for how long.
    Refused at construction: anything AWS refuses.
    """

    min_healthy_percentage: int
    max_healthy_percentage: int | None
    instance_warmup_seconds: int
    checkpoint_percentages: tuple[int, ...] = ()
    checkpoint_delay_seconds: int = 0

    def __post_init__(self) -> None:
        low = validation.whole_number("min_healthy_percentage", self.min_healthy_percentage, 0, 100)
        if self.max_healthy_percentage is not None:
            high = validation.whole_number("max_healthy_percentage", self.max_healthy_percentage, 100, 200)
            if high - low > 100:
                raise InvalidValueError("max_healthy_percentage", high, f"must be at most 100 above the minimum ({low})")
        validation.whole_number("instance_warmup_seconds", self.instance_warmup_seconds, 0)
        checkpoints = list(self.checkpoint_percentages)
        if checkpoints and (checkpoints != sorted(set(checkpoints)) or checkpoints[-1] != 100
                            or not all(1 <= c <= 100 for c in checkpoints)):
            raise InvalidValueError("checkpoint_percentages", checkpoints,
                                    "must be unique, ascending, from 1 to 100, and end at 100 (to replace every node)")
        validation.whole_number("checkpoint_delay_seconds", self.checkpoint_delay_seconds, 0, 172800)

    @property
    def effective_max_healthy_percentage(self) -> int:
        """The maximum AWS applies: the policy's, or AWS's default 100 when unset."""
        return 100 if self.max_healthy_percentage is None else self.max_healthy_percentage

    @property
    def launches_before_terminating(self) -> bool:
        return self.effective_max_healthy_percentage > 100

    def nodes_at_once(self, desired: int) -> int:
        """How many nodes one step replaces at this desired capacity: the room between the minimum
        (rounded up) and the maximum (rounded down), and at least one, as with a 100% minimum (AWS:
        "Setting the minimum healthy percentage to 100 percent limits the rate of replacement to one
        instance at a time")."""
        if desired <= 0:
            return 0
        room = (desired * self.effective_max_healthy_percentage) // 100 - math.ceil(
            desired * self.min_healthy_percentage / 100)
        return max(1, min(room, desired))


# The general pool (CoreDNS, the autoscaler, the handler): launch before terminate, so capacity
# never drops, and half the group at most in flight. The first checkpoint (1%) is reached with the
# first new node: AWS replaces fewer nodes than a step allows to reach a checkpoint ("Add checkpoints
# to an instance refresh"), so one canary node joins and the refresh pauses 5 minutes, long enough
# to see it Ready (or not) and cancel. EC2 health knows nothing of kubelet: a node that never joins
# would otherwise pass its warm-up and let the refresh replace the whole pool with nodes that never
# join. Warm-up: launch to Ready takes about 2 minutes (1 to in service, 1 to join, the critical
# path model's figures); 3 minutes leave a margin before the next old node is drained.
GENERAL_POOL_REFRESH = RefreshPolicy(min_healthy_percentage=100, max_healthy_percentage=150,
                                     instance_warmup_seconds=180, checkpoint_percentages=(1, 100),
                                     checkpoint_delay_seconds=300)
# A GPU pool with `replace_busy_nodes`: one node at a time, and never a second GPU node bought on
# purpose for the length of a busy node's drain (up to the pool's drain timeout). Minimum healthy
# 100% and the maximum left unset, as AWS documents it ("Setting the minimum healthy percentage to
# 100 percent limits the rate of replacement to one instance at a time"; the maximum then defaults
# to 100%). Whether AWS terminates the node before launching its replacement is not settled: the
# classic behaviour without a maximum is terminate then launch, and hashicorp/terraform-provider-aws
# #47188 (open) claims an explicit maximum of 100 launches first. The AWS provider sends 100 for an
# unset maximum today (its schema default, group.go `expandRefreshPreferences`; #39872), never 0.
# Warm-up 5 minutes: Spot launch, boot and device plugin take about 3.5 (README, measured in issue 12).
BUSY_GPU_POOL_REFRESH = RefreshPolicy(min_healthy_percentage=100, max_healthy_percentage=None,
                                      instance_warmup_seconds=300)


def refresh_policy(gpu: bool, replace_busy_nodes: bool) -> RefreshPolicy | None:
    """The refresh of a pool's groups; None: the pool's nodes are never replaced by a refresh."""
    if not gpu:
        return GENERAL_POOL_REFRESH
    return BUSY_GPU_POOL_REFRESH if replace_busy_nodes else None


def check_drain_timeout(value: object) -> str:
    """A pool's `drain_timeout`: empty (the handler's default), or a duration a hook's heartbeat takes."""
    if value == "":
        return ""
    low, high = HOOK_HEARTBEAT_SECONDS
    allowed = (f"must be a duration such as '30m' or '1h30m', from {low}s to {high // 3600}h: it is the "
               "lifecycle hook's heartbeat timeout (AWS allows 30 s to 2 h), the longest Auto Scaling holds a "
               "terminating node while the termination handler drains it")
    text = validation.string("drain_timeout", value, allowed=allowed)
    try:
        seconds = validation.duration_seconds(text)
    except ValueError:
        raise InvalidValueError("drain_timeout", value, allowed) from None
    if not low <= seconds <= high:
        raise InvalidValueError("drain_timeout", value, allowed)
    return text


def hook_heartbeat_seconds(drain_timeout: str, default_seconds: int) -> int:
    """The heartbeat timeout of a pool's hook: its drain timeout, else the handler's default."""
    return validation.duration_seconds(drain_timeout) if drain_timeout else default_seconds


def handler_drain_seconds(hook_heartbeats: list[int]) -> int:
    """The handler's own drain limit (NODE_TERMINATION_GRACE_PERIOD): long enough for the longest
    hook (give it every heartbeat a hook may have, the default one included), never below the Spot
    warning. Each hook still ends its own node's wait."""
    return max([SPOT_WARNING_SECONDS, *hook_heartbeats])


# What the AWS provider allows a group's deletion by default (group.go, Timeouts.Delete: 10 minutes):
# scale to zero, wait until every instance is gone, delete the group.
GROUP_DELETE_MINUTES = 10


def group_delete_timeout(hook_heartbeat_seconds: int) -> str:
    """The delete timeout of a group whose TERMINATING hook holds each node up to
    `hook_heartbeat_seconds` (all nodes at once, as the group scales to zero): that wait, plus the
    provider's own 10 minutes for the rest."""
    return f"{math.ceil(hook_heartbeat_seconds / 60) + GROUP_DELETE_MINUTES}m"


# Minutes of one replacement step, for the estimates in docs/upgrades.md and at preview. Each rests on
# a figure with a source: launch to in service 1 (the critical path model, tests/test_critical_path.py
# ASG_CAPACITY_WAIT); a drain of ordinary pods 1 (Kubernetes' default terminationGracePeriodSeconds is
# 30 s; CoreDNS's PodDisruptionBudget, maxUnavailable 1, waits for a replica Ready elsewhere); EC2
# shutting-down to terminated 1. The warm-up and checkpoint pause are the policy's own.
LAUNCH_MINUTES = 1.0
DRAIN_MINUTES = 1.0
TERMINATE_MINUTES = 1.0


def rollout_minutes(policy: RefreshPolicy, desired: int, drain_minutes: float = DRAIN_MINUTES) -> float:
    """Estimated minutes to replace `desired` nodes: steps of `nodes_at_once`, each launch + warm-up +
    drain + terminate (taken one after the other, which overstates a launch-before-terminate step
    slightly), the first step ending at the first checkpoint, plus that checkpoint's pause."""
    if desired <= 0:
        return 0.0
    step = LAUNCH_MINUTES + policy.instance_warmup_seconds / 60 + drain_minutes + TERMINATE_MINUTES
    at_once = policy.nodes_at_once(desired)
    if policy.checkpoint_percentages and policy.checkpoint_percentages[0] < 100:
        first = max(1, min(at_once, math.ceil(desired * policy.checkpoint_percentages[0] / 100)))
        rest = desired - first
        steps = 1 + math.ceil(rest / at_once)
        return steps * step + (policy.checkpoint_delay_seconds / 60 if rest else 0.0)
    return math.ceil(desired / at_once) * step
