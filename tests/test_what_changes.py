"""docs/upgrades.md's "What changes when" table is what the program does: each row's change is run
offline before and after (tests/what_changes.py), and every config key has a row."""

from __future__ import annotations

import pytest

from config.keys import (
    CLUSTER_AUTOSCALER_FIELDS,
    DEVICE_PLUGIN_FIELDS,
    FLOW_LOG_FIELDS,
    GENERAL_POOL_FIELDS,
    GPU_POOL_FIELDS,
    TERMINATION_HANDLER_FIELDS,
    TOP_LEVEL_KEYS,
)
from tests import what_changes
from tests.what_changes import Outcome, Scenario, compare, documented, table

OBJECT_FIELDS = {"generalPool": GENERAL_POOL_FIELDS, "gpuPools[]": GPU_POOL_FIELDS, "vpcFlowLogs": FLOW_LOG_FIELDS,
                 "nvidiaDevicePlugin": DEVICE_PLUGIN_FIELDS, "clusterAutoscaler": CLUSTER_AUTOSCALER_FIELDS,
                 "nodeTerminationHandler": TERMINATION_HANDLER_FIELDS}


@pytest.fixture(scope="module")
def results() -> list[tuple[Scenario, Outcome]]:
    return what_changes.outcomes()


def by_change(results: list[tuple[Scenario, Outcome]], change: str) -> Outcome:
    (found,) = [outcome for scenario, outcome in results if scenario.change == change]
    return found


def test_the_doc_holds_the_table_the_program_makes(results: list[tuple[Scenario, Outcome]]) -> None:
    assert documented() == table(results), "regenerate: venv/bin/python -m tests.what_changes --write"


def row_keys(keys: str) -> set[str]:
    """The config keys of a row: in `generalPool.minSize` / `maxSize` the later keys share the first
    one's object; a `<pool>.` key is a key of both kinds of pool."""
    first, *rest = keys.split("` / `")
    owner, _, name = first.rpartition(".")
    owners = ["generalPool", "gpuPools[]"] if owner == "<pool>" else [owner]
    return {f"{o}.{n}" if o else n for o in owners for n in (name, *rest)}


def test_every_config_key_has_a_row() -> None:
    covered = set().union(*(row_keys(scenario.keys) for scenario in what_changes.SCENARIOS))
    expected = {key for key in TOP_LEVEL_KEYS if key not in OBJECT_FIELDS} | {"gpuPools"}
    expected |= {f"{owner}.{name}" for owner, fields in OBJECT_FIELDS.items() for name in fields}
    missing = sorted(expected - covered)
    assert missing == [], f"add a Scenario to tests/what_changes.py for {missing}, then regenerate the table"


def test_what_must_not_change_does_not(results: list[tuple[Scenario, Outcome]]) -> None:
    for change in ("unset (the pinned default), then AWS publishes a release", "pin today's zones",
                   "pin them in another order", "another zone starts offering them, or stops",
                   "changes an add-on's default build",
                   "a zone of the cluster stops offering the GPU pool's types"):
        outcome = by_change(results, change)
        assert outcome == Outcome(), change


def test_zones_come_and_go_alone_and_the_control_plane_keeps_its_own(results: list[tuple[Scenario, Outcome]]) -> None:
    for change, made in (("add a zone (use1-az5)", "created"),
                         ("remove a zone added after the cluster's creation (use1-az5)", "deleted")):
        outcome = by_change(results, change)
        assert outcome.replaced == [] and outcome.rolled == set() and not outcome.fails
        touched = getattr(outcome, made)
        assert "aws:ec2/subnet:Subnet" in {r.type for r in touched}
        assert all("us-east-1f" in r.name for r in touched), touched
        # The general group spans the zone and the autoscaler knows its group; the control plane
        # keeps the zones it was created in, so the EKS Cluster is not touched.
        assert sorted(r.name for r in outcome.updated) == ["cluster-autoscaler-priority-expander", "general"]


def test_removing_a_zone_of_the_control_plane_is_refused_at_preview(results: list[tuple[Scenario, Outcome]]) -> None:
    refused = by_change(results, "remove the middle zone (use1-az2)").refused
    assert refused.startswith("config key 'eks-gpu-spot:availabilityZoneIds': got ['use1-az1', 'use1-az4']; ")
    assert "the zones it was created in" in refused and "Keep use1-az2 among the zone IDs" in refused


def test_no_change_leaves_eks_to_refuse_it(results: list[tuple[Scenario, Outcome]]) -> None:
    assert [scenario.change for scenario, outcome in results if outcome.fails] == []


def test_a_control_plane_on_another_zone_set_is_no_update(results: list[tuple[Scenario, Outcome]]) -> None:
    # The rule the table applies: the dev stack planned afresh in two of its zones gives the control
    # plane other zones, which EKS refuses; a subnet replaced in the same zone is an update.
    config = what_changes.dev_config()
    base = what_changes.run(config, what_changes.facts())
    fewer = what_changes.run({**{k: v for k, v in config.items() if not k.endswith(":availabilityZoneCount")},
                              "eks-gpu-spot:availabilityZoneIds": ["use1-az1", "use1-az4"]}, what_changes.facts())
    moved = compare(base, fewer, ["general", "gpu-small"])
    assert moved.fails == what_changes.CONTROL_PLANE_ZONES_FIXED.format(
        before="us-east-1b, us-east-1c, us-east-1d", after="us-east-1b, us-east-1d")
    assert what_changes.row(Scenario("k", "c"), moved).startswith("| `k` | c | fails at `pulumi up`: EKS refuses it")
    replaced = by_change(results, "one zone's private subnet → another CIDR")
    assert replaced.fails == "" and "eks-gpu-spot-dev" in {r.name for r in replaced.updated}
