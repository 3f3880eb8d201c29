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
from tests.what_changes import Outcome, Scenario, documented, table

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
                   "changes an add-on's default build"):
        outcome = by_change(results, change)
        assert outcome == Outcome(), change


def test_zones_come_and_go_alone(results: list[tuple[Scenario, Outcome]]) -> None:
    for change, made in (("add a zone (use1-az5)", "created"), ("remove the middle zone (use1-az2)", "deleted")):
        outcome = by_change(results, change)
        assert outcome.replaced == [] and outcome.rolled == set()
        touched = getattr(outcome, made)
        assert {r.type for r in touched if r.type == "aws:ec2/subnet:Subnet"} and all(
            "us-east-1f" in r.name or "us-east-1c" in r.name for r in touched), touched
        # The general group spans the new zone, the cluster gets its subnets, the autoscaler its group.
        assert sorted(r.name for r in outcome.updated) == ["cluster-autoscaler-priority-expander", "eks-gpu-spot-dev",
                                                           "general"]


def test_a_subnet_cidr_change_replaces_that_subnet_and_what_holds_its_id(results: list[tuple[Scenario, Outcome]]) -> None:
    outcome = by_change(results, "one zone's private subnet → another CIDR")
    assert sorted((r.type, r.name) for r in outcome.replaced) == [
        ("aws:ec2/routeTableAssociation:RouteTableAssociation", "network-private-us-east-1d"),
        ("aws:ec2/subnet:Subnet", "network-private-us-east-1d")]


def test_pinned_ami_releases_roll_nodes_only_when_bumped(results: list[tuple[Scenario, Outcome]]) -> None:
    assert by_change(results, "default → another release").rolled == {"general", "gpu-small"}
    assert by_change(results, "`recommended`, then AWS publishes a release").rolled == {"general", "gpu-small"}
