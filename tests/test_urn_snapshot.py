"""Resource URNs are API: the dev and prod stacks register exactly the URNs (and aliases) pinned in
tests/data/urns.json. A rename fails here unless it adds `aliases` and regenerates the file
(`venv/bin/python -m tests.urn_snapshot --write`) in the same commit."""

from __future__ import annotations

import copy
from typing import Any

import pulumi_aws as aws
import pytest

from components.offline import ProgramRun
from tests import urn_snapshot
from tests.urn_snapshot import COMMAND, STACKS, config_of, differences, load, regenerate, run_stack, urns


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, ProgramRun]:
    return request.param, run_stack(request.param)


def test_every_urn_is_the_pinned_one(stack: tuple[str, ProgramRun]) -> None:
    name, run = stack
    found = differences(load()[name]["urns"], urns(run))
    assert found == [], f"{name}: URNs differ from tests/data/urns.json; a live stack would replace what is gone " \
                        f"unless a resource aliases it. Add `aliases`, then run `{COMMAND}`:\n" + "\n".join(found)


def test_removed_urns_are_not_current_and_say_why() -> None:
    for name in STACKS:
        removed: dict[str, str] = load()[name].get("removed", {})
        assert all(why.strip() for why in removed.values())
        assert not set(removed) & set(load()[name]["urns"])


@pytest.mark.parametrize("name", STACKS)
def test_reordering_the_gpu_pools_changes_no_urn(name: str) -> None:
    # One pool more, so that every pool moves (dev has one of its own).
    extended: dict[str, Any] = copy.deepcopy(config_of(name))
    extended["eks-gpu-spot:gpuPools"].append({"name": "gpu-extra"})
    reordered = {**extended, "eks-gpu-spot:gpuPools": extended["eks-gpu-spot:gpuPools"][::-1]}
    assert reordered["eks-gpu-spot:gpuPools"] != extended["eks-gpu-spot:gpuPools"]
    assert urns(run_stack(name, reordered)) == urns(run_stack(name, extended))


def test_a_renamed_child_resource_fails_the_comparison_naming_its_urn(monkeypatch: pytest.MonkeyPatch) -> None:
    # Negative control: the network's internet gateway under another logical name.
    internet_gateway = aws.ec2.InternetGateway
    monkeypatch.setattr(aws.ec2, "InternetGateway",
                        lambda name, *args, **kwargs: internet_gateway(f"{name}-renamed", *args, **kwargs))
    found = differences(load()["dev"]["urns"], urns(run_stack("dev")))
    old = ("urn:pulumi:dev::eks-gpu-spot::eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:network:Network"
           "$aws:ec2/internetGateway:InternetGateway::network-igw")
    assert found == [f"gone: {old} (no alias: replaced)", f"new: {old}-renamed"]


def test_an_alias_turns_the_rename_into_a_move(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    old = ("urn:pulumi:dev::eks-gpu-spot::eks-gpu-spot:index:GpuSpotCluster$eks-gpu-spot:network:Network"
           "$aws:ec2/internetGateway:InternetGateway::network-igw")
    internet_gateway = aws.ec2.InternetGateway

    def renamed(name: str, *args: Any, opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> Any:
        moved = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[old]))
        return internet_gateway(f"{name}-renamed", *args, opts=moved, **kwargs)

    monkeypatch.setattr(aws.ec2, "InternetGateway", renamed)
    current = urns(run_stack("dev"))
    assert differences(load()["dev"]["urns"], current)[0] == f"gone: {old} (aliased by {old}-renamed)"
    # Regenerating keeps the move without a reason; it refuses a drop nobody aliases.
    assert regenerate(load(), {"dev": current}, None)["dev"]["urns"][f"{old}-renamed"] == [old]
    unaliased = {urn: [] for urn in current}
    with pytest.raises(ValueError, match="no resource aliases them"):
        regenerate(load(), {"dev": unaliased}, None)
    assert regenerate(load(), {"dev": unaliased}, "the gateway is gone by design")["dev"]["removed"] == {
        old: "the gateway is gone by design"}


def test_the_regeneration_command_is_the_documented_one() -> None:
    assert COMMAND in (urn_snapshot.ROOT / "docs" / "testing.md").read_text()
