"""Stable plans: a preview changes only what the user changed (docs/upgrades.md, "What changes when").

Live facts change under the dev and prod stacks (a zone stops offering the GPU pool's types, a new
pool's types are offered only in other zones, AWS publishes a newer AMI release) and the registered
subnets, groups and launch templates stay as they were. Subnet CIDRs are keyed by zone; a stack
deployed with the old layout keeps its zones and CIDRs; the control plane keeps the zones it was
created in; zone IDs are checked before any resource.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pytest

from components.ami import newer_release_notes, published_release
from components.offline import FakeAws, ProgramRun, region_zones, zone_id
from components.offline import run_program as run_offline
from components.userdata import MAX_PODS_EXPRESSION_SINCE
from components.versions import DEFAULT_AMI_RELEASE_VERSION
from components.zones import slot_cidrs, zone_id_order, zone_slot
from tests.harness import MAIN, PROJECT, assert_refused, run_program
from tests.urn_snapshot import STACKS, config_of, run_stack

SUBNET = "aws:ec2/subnet:Subnet"
GROUP = "aws:autoscaling/group:Group"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
POOLS = "eks-gpu-spot:gpuPools"
REGIONS = {"dev": "us-east-1", "prod": "us-west-2"}


def state(run: ProgramRun, type_: str) -> dict[str, dict[str, Any]]:
    return {r.urn: r.inputs for r in run.of_type(type_)}


def subnet_cidrs(run: ProgramRun) -> dict[str, str]:
    return {r.name: r.inputs["cidrBlock"] for r in run.of_type(SUBNET)}


def zones_of(run: ProgramRun) -> list[str]:
    return sorted({r.inputs["availabilityZone"] for r in run.of_type(SUBNET)})


def warnings(run: ProgramRun) -> list[str]:
    return [message for severity, message in run.logs if severity == "warning" and message.startswith("network:")]


def gpu_types(stack: str) -> set[str]:
    return {t for pool in config_of(stack)[POOLS] for t in pool.get("instanceTypes", ["g5.xlarge", "g6.xlarge"])}


@pytest.fixture(scope="module")
def base() -> dict[str, ProgramRun]:
    return {stack: run_stack(stack) for stack in STACKS}


# --- live facts change; the plan does not -------------------------------------------------------

def test_zones_are_the_first_by_id_or_the_pinned_ones(base: dict[str, ProgramRun]) -> None:
    # dev: use1-az1, az2, az4 (us-east-1b, c, d in this account; use1-az3 is left out); prod pins
    # usw2-az1 to az3 (us-west-2a, b, c).
    assert zones_of(base["dev"]) == ["us-east-1b", "us-east-1c", "us-east-1d"]
    assert zones_of(base["prod"]) == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert config_of("prod")["eks-gpu-spot:availabilityZoneIds"] == ["usw2-az1", "usw2-az2", "usw2-az3"]


@pytest.mark.parametrize("stack", STACKS)
def test_a_live_group_stays_when_its_zone_stops_offering_the_types(stack: str, base: dict[str, ProgramRun]) -> None:
    zone = zones_of(base[stack])[0]
    live = FakeAws(region=REGIONS[stack]).deployed(base[stack])
    lost = run_stack(stack, aws=replace(live, not_offered={zone: gpu_types(stack)}))
    assert {r.urn: r.inputs for r in lost.resources} == {r.urn: r.inputs for r in base[stack].resources}
    kept = [m for s, m in lost.logs if s == "warning" and f"{zone} no longer offers any of its types" in m]
    assert len(kept) == len(config_of(stack)[POOLS])
    for pool, message in zip(config_of(stack)[POOLS], kept, strict=True):
        assert f"its Auto Scaling group eks-gpu-spot-{stack}-{pool['name']}-{zone} exists, so it is kept" in message
        assert "New nodes there will fail to launch" in message
        assert "take the zone out deliberately: remove it from availabilityZoneIds" in message
        assert f"(gpuPools[{config_of(stack)[POOLS].index(pool)}].instanceTypes)" in message
    assert not any(f"no Auto Scaling group in {zone}" in message for _, message in lost.logs)


def test_live_groups_keep_a_pool_no_zone_offers_any_more(base: dict[str, ProgramRun]) -> None:
    # Every zone loses the types: the live groups all stay, where a new pool would be refused.
    live = FakeAws(region=REGIONS["dev"]).deployed(base["dev"])
    lost = run_stack("dev", aws=replace(live, not_offered=dict.fromkeys(zones_of(base["dev"]), gpu_types("dev"))))
    assert lost.error is None and state(lost, GROUP) == state(base["dev"], GROUP)


@pytest.mark.parametrize("stack", STACKS)
def test_without_a_live_group_a_zone_that_offers_none_of_the_types_gets_none(
        stack: str, base: dict[str, ProgramRun]) -> None:
    # Only new groups follow offerings: here the cluster exists, but the pool's group in that zone
    # does not (the pool is new, or its zone never offered the types).
    zone = zones_of(base[stack])[0]
    groups = state(base[stack], GROUP)
    gone = {urn for urn, inputs in groups.items() if inputs["name"].endswith(f"-{zone}")}
    assert len(gone) == len(config_of(stack)[POOLS])
    live = FakeAws(region=REGIONS[stack]).deployed(base[stack])
    without = replace(live, groups={name: tags for name, tags in live.groups.items() if not name.endswith(f"-{zone}")})
    for aws in (FakeAws(region=REGIONS[stack]), without):
        lost = run_stack(stack, aws=replace(aws, not_offered={zone: gpu_types(stack)}))
        assert state(lost, SUBNET) == state(base[stack], SUBNET)
        assert state(lost, TEMPLATE) == state(base[stack], TEMPLATE)
        assert state(lost, GROUP) == {urn: inputs for urn, inputs in groups.items() if urn not in gone}
        assert any(f"no Auto Scaling group in {zone}" in message for severity, message in lost.logs
                   if severity == "info")
        assert not any("no longer offers" in message for _, message in lost.logs)


@pytest.mark.parametrize("stack", STACKS)
def test_a_new_pool_offered_only_elsewhere_is_refused_naming_the_zone_ids(stack: str) -> None:
    pool = {"name": "gpu-l40s", "instanceTypes": ["g6e.xlarge"]}
    config = {**config_of(stack), POOLS: [*config_of(stack)[POOLS], pool]}
    zones = zones_of(run_stack(stack))
    elsewhere = sorted((z for z in region_zones(REGIONS[stack]) if z not in zones and zone_id(z) != "use1-az3"),
                       key=lambda z: zone_id_order(zone_id(z)))
    aws = FakeAws(region=REGIONS[stack], not_offered=dict.fromkeys(zones, {"g6e.xlarge"}))
    assert_refused(run_stack(stack, config, aws, catch_errors=True), "eks-gpu-spot:availabilityZoneIds",
                   "GPU pool 'gpu-l40s': none of the cluster's zones offers its types (g6e.xlarge); "
                   + ", ".join(f"{z} ({zone_id(z)})" for z in elsewhere) + " do. Adding a pool never moves")


@pytest.mark.parametrize("stack", STACKS)
def test_a_new_pool_offered_in_one_zone_adds_only_its_own(stack: str, base: dict[str, ProgramRun]) -> None:
    # The nearest good case: offered in one of the cluster's zones (and outside them).
    pool = {"name": "gpu-l40s", "instanceTypes": ["g6e.xlarge"]}
    config = {**config_of(stack), POOLS: [*config_of(stack)[POOLS], pool]}
    zones = zones_of(base[stack])
    added = run_stack(stack, config, FakeAws(region=REGIONS[stack], not_offered=dict.fromkeys(zones[1:], {"g6e.xlarge"})))
    assert state(added, SUBNET) == state(base[stack], SUBNET)
    before = {**state(base[stack], GROUP), **state(base[stack], TEMPLATE)}
    after = {**state(added, GROUP), **state(added, TEMPLATE)}
    assert {urn: after[urn] for urn in before} == before
    assert sorted(after[urn]["name"] for urn in after.keys() - before.keys() if "name" in after[urn]) == [
        f"eks-gpu-spot-{stack}-gpu-l40s-{zones[0]}"]


@pytest.mark.parametrize("stack", STACKS)
def test_a_newer_recommended_ami_changes_no_launch_template(stack: str, base: dict[str, ProgramRun]) -> None:
    newer = run_stack(stack, aws=FakeAws(region=REGIONS[stack], recommended_ami_release="v20260724"))
    assert state(newer, TEMPLATE) == state(base[stack], TEMPLATE)
    assert state(newer, SUBNET) == state(base[stack], SUBNET) and state(newer, GROUP) == state(base[stack], GROUP)
    notes = [m for s, m in newer.logs if s == "info" and m.startswith("AMI release")]
    assert len(notes) == 1 and "v20260724 is newer" in notes[0]
    assert "`pulumi config set amiReleaseVersion v20260724`" in notes[0]
    assert not [m for _, m in base[stack].logs if m.startswith("AMI release")]


# --- subnet CIDRs keyed by zone ------------------------------------------------------------------

PINNED = ["use1-az1", "use1-az2", "use1-az4"]  # us-east-1b, c and d in the offline account


def dev_with_zones(zone_ids: list[str], aws: FakeAws | None = None, catch_errors: bool = False,
                   **more: Any) -> ProgramRun:
    config = {k: v for k, v in config_of("dev").items() if k != "eks-gpu-spot:availabilityZoneCount"}
    return run_stack("dev", {**config, "eks-gpu-spot:availabilityZoneIds": zone_ids,
                             **{f"eks-gpu-spot:{k}": v for k, v in more.items()}}, aws, catch_errors)


@pytest.fixture(scope="module")
def pinned() -> ProgramRun:
    return dev_with_zones(PINNED)


def test_pinning_todays_zones_changes_nothing(pinned: ProgramRun, base: dict[str, ProgramRun]) -> None:
    assert {r.urn: r.inputs for r in pinned.resources} == {r.urn: r.inputs for r in base["dev"].resources}


def test_removing_a_middle_zone_leaves_the_others_cidrs(pinned: ProgramRun) -> None:
    fewer = subnet_cidrs(dev_with_zones(["use1-az1", "use1-az4"]))
    before = subnet_cidrs(pinned)
    assert fewer == {name: cidr for name, cidr in before.items() if not name.endswith("us-east-1c")}
    assert len(fewer) == 4


def test_adding_a_zone_leaves_the_others_cidrs(pinned: ProgramRun) -> None:
    more = subnet_cidrs(dev_with_zones([*PINNED, "use1-az6"]))  # us-east-1a: sorts first by name
    assert {name: cidr for name, cidr in more.items() if not name.endswith("us-east-1a")} == subnet_cidrs(pinned)
    assert more["network-private-us-east-1a"] == "10.0.0.0/19" and more["network-public-us-east-1a"] == "10.0.224.0/22"


def test_reordering_the_zone_ids_changes_nothing(pinned: ProgramRun) -> None:
    reordered = dev_with_zones(PINNED[::-1])
    assert {r.urn: r.inputs for r in reordered.resources} == {r.urn: r.inputs for r in pinned.resources}


def test_each_zone_has_its_letters_slot() -> None:
    assert [zone_slot(f"us-east-1{letter}") for letter in "abcdefg"] == list(range(7))
    assert slot_cidrs("10.0.0.0/16", "us-east-1c") == ("10.0.64.0/19", "10.0.232.0/22")
    assert slot_cidrs("10.64.0.0/22", "us-west-2b") == ("10.64.0.128/25", "10.64.3.144/28")
    assert slot_cidrs("10.0.0.0/16", "us-east-1h") is None  # the last eighth holds the public subnets
    privates = [ipaddress.IPv4Network(slot_cidrs("10.0.0.0/16", f"r{c}")[0]) for c in "abcdefg"]  # type: ignore[index]
    publics = [ipaddress.IPv4Network(slot_cidrs("10.0.0.0/16", f"r{c}")[1]) for c in "abcdefg"]  # type: ignore[index]
    everything = privates + publics
    assert not any(a.overlaps(b) for i, a in enumerate(everything) for b in everything[i + 1:])


def test_given_cidrs_pair_with_the_zone_ids_in_their_order() -> None:
    privates, publics = ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"], ["10.0.250.0/24", "10.0.251.0/24", "10.0.252.0/24"]
    one = subnet_cidrs(dev_with_zones(PINNED, privateSubnetCidrs=privates, publicSubnetCidrs=publics))
    other = subnet_cidrs(dev_with_zones(PINNED[::-1], privateSubnetCidrs=privates[::-1], publicSubnetCidrs=publics[::-1]))
    assert one == other
    assert one["network-private-us-east-1b"] == "10.0.0.0/20" and one["network-public-us-east-1d"] == "10.0.252.0/24"


# --- a stack planned the old way ----------------------------------------------------------------

def legacy(zones: list[str], region: str = "us-east-1", vpc: str = "10.0.0.0/16") -> FakeAws:
    """The offline account with the dev cluster deployed by the old layout: private subnets the first
    eighths of the VPC, public ones slices of the last eighth, by position in the zone list."""
    eighths = list(ipaddress.IPv4Network(vpc).subnets(prefixlen_diff=3))
    publics = list(eighths[-1].subnets(prefixlen_diff=3))
    ids, subnet_zones, cidrs, tags = [], {}, {}, {}
    for index, zone in enumerate(zones):
        for role, cidr, tag in (("private", eighths[index], "kubernetes.io/role/internal-elb"),
                                ("public", publics[index], "kubernetes.io/role/elb")):
            subnet_id = f"subnet-{role}-{zone}"
            ids.append(subnet_id)
            subnet_zones[subnet_id], cidrs[subnet_id], tags[subnet_id] = zone, str(cidr), {tag: "1"}
    return FakeAws(region=region, clusters={"eks-gpu-spot-dev": "1.35"}, cluster_subnets={"eks-gpu-spot-dev": ids},
                   subnet_zones=subnet_zones, subnet_cidrs=cidrs, subnet_tags=tags)


def pin_from(warning: str) -> dict[str, Any]:
    """The config the warning's `pulumi config` commands leave."""
    command = warning.split("`")[-2]
    config: dict[str, Any] = {k: v for k, v in config_of("dev").items() if k != "eks-gpu-spot:availabilityZoneCount"}
    assert command.startswith("pulumi config rm availabilityZoneCount; ")
    for step in command.split("; ", 1)[1].split(" && "):
        if step.startswith("pulumi config set --path"):
            path, value = step.split()[-2:]
            key, index = path.strip("'").rstrip("]").split("[")
            config.setdefault(f"eks-gpu-spot:{key}", []).append(value)
            assert len(config[f"eks-gpu-spot:{key}"]) == int(index) + 1
    return config


def test_todays_default_keeps_its_zones_and_cidrs_and_is_told_the_pin() -> None:
    # The dev stack as the old ranking placed it in this account: us-east-1a, b, c at eighths 0, 1, 2.
    old = legacy(["us-east-1a", "us-east-1b", "us-east-1c"])
    run = run_stack("dev", aws=old)
    assert subnet_cidrs(run) == {f"network-{role}-us-east-1{z}": cidr for z, cidrs in zip(
        "abc", (("10.0.0.0/19", "10.0.224.0/22"), ("10.0.32.0/19", "10.0.228.0/22"), ("10.0.64.0/19", "10.0.232.0/22")),
        strict=True) for role, cidr in zip(("private", "public"), cidrs, strict=True)}
    (warning,) = warnings(run)
    assert "where a new stack would get us-east-1b (use1-az1), us-east-1c (use1-az2), us-east-1d (use1-az4)" in warning
    assert "privateSubnetCidrs" not in warning  # the CIDRs are the slots' already
    pinned = run_stack("dev", pin_from(warning), old)
    assert pinned.error is None and warnings(pinned) == []
    assert {r.urn: r.inputs for r in pinned.resources} == {r.urn: r.inputs for r in run.resources}


def test_another_old_layout_keeps_its_cidrs_and_is_told_the_full_pin() -> None:
    # The ranking skipped us-east-1c: us-east-1d got the third eighth, not its own.
    old = legacy(["us-east-1a", "us-east-1b", "us-east-1d"])
    run = run_stack("dev", aws=old)
    assert subnet_cidrs(run)["network-private-us-east-1d"] == "10.0.64.0/19"
    (warning,) = warnings(run)
    assert "the subnets of us-east-1d have the CIDRs of their old position" in warning
    pinned = run_stack("dev", pin_from(warning), old)
    assert pinned.error is None and warnings(pinned) == []
    assert {r.urn: r.inputs for r in pinned.resources} == {r.urn: r.inputs for r in run.resources}


def test_a_live_cluster_grows_by_the_next_zone_and_never_shrinks_by_count() -> None:
    old = legacy(["us-east-1a", "us-east-1b", "us-east-1c"])
    four = run_stack("dev", {**config_of("dev"), "eks-gpu-spot:availabilityZoneCount": 4}, old)
    assert zones_of(four) == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    kept = subnet_cidrs(run_stack("dev", aws=old))
    assert {name: cidr for name, cidr in subnet_cidrs(four).items() if name in kept} == kept
    two = run_stack("dev", {**config_of("dev"), "eks-gpu-spot:availabilityZoneCount": 2}, old, catch_errors=True)
    assert_refused(two, "eks-gpu-spot:availabilityZoneCount", "list the zones to keep by ID (availabilityZoneIds)")


def test_a_stack_deployed_by_this_program_plans_the_same_again(base: dict[str, ProgramRun]) -> None:
    for stack in STACKS:
        again = run_stack(stack, aws=FakeAws(region=REGIONS[stack]).deployed(base[stack]))
        assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in base[stack].resources}
        assert warnings(again) == []


def test_a_new_cidr_over_a_live_subnet_is_refused() -> None:
    # Moving use1-az4's private subnet onto use1-az2's live one: AWS refuses the overlapping subnet
    # that Pulumi creates before deleting the old one.
    deployed = FakeAws(region="us-east-1").deployed(dev_with_zones(PINNED))
    config = {k: v for k, v in config_of("dev").items() if k != "eks-gpu-spot:availabilityZoneCount"}
    moved = {**config, "eks-gpu-spot:availabilityZoneIds": PINNED,
             "eks-gpu-spot:privateSubnetCidrs": ["10.0.32.0/19", "10.0.64.0/20", "10.0.80.0/20"]}
    assert_refused(run_stack("dev", moved, deployed, catch_errors=True), "eks-gpu-spot:privateSubnetCidrs[1]",
                   "overlaps the live subnet")
    # The nearest good: free space, with a warning that the live subnet is replaced.
    free = {**moved, "eks-gpu-spot:privateSubnetCidrs": ["10.0.32.0/19", "10.0.64.0/19", "10.0.192.0/19"]}
    run = run_stack("dev", free, deployed)
    assert subnet_cidrs(run)["network-private-us-east-1d"] == "10.0.192.0/19"
    assert any("live subnets replaced or deleted: network-private-us-east-1d-id (us-east-1d, 10.0.96.0/19 -> "
               "10.0.192.0/19)" in w for w in warnings(run))


# --- the control plane keeps the zones it was created in -----------------------------------------

def control_plane_subnets(run: ProgramRun) -> list[str]:
    inputs = run.one("eks:index:Cluster").inputs
    return [*inputs["privateSubnetIds"], *(inputs.get("publicSubnetIds") or [])]


@pytest.fixture(scope="module")
def grown(pinned: ProgramRun) -> ProgramRun:
    """The pinned dev stack, deployed, then given use1-az5 (us-east-1f)."""
    return dev_with_zones([*PINNED, "use1-az5"], FakeAws(region="us-east-1").deployed(pinned))


def test_a_new_cluster_gets_every_zone_of_the_plan(pinned: ProgramRun) -> None:
    assert control_plane_subnets(pinned) == [f"network-{role}-us-east-1{z}-id" for role in ("private", "public")
                                             for z in "bcd"]
    four = dev_with_zones([*PINNED, "use1-az5"])
    assert len(control_plane_subnets(four)) == 8 and "network-private-us-east-1f-id" in control_plane_subnets(four)


def test_a_zone_added_to_a_live_cluster_changes_no_control_plane_input(pinned: ProgramRun, grown: ProgramRun) -> None:
    assert grown.one("eks:index:Cluster").inputs == pinned.one("eks:index:Cluster").inputs
    assert "network-private-us-east-1f-id" in grown.one(GROUP, "general").inputs["vpcZoneIdentifiers"]
    assert "eks-gpu-spot-dev-gpu-small-us-east-1f" in {g.inputs["name"] for g in grown.of_type(GROUP)}
    # Deployed, it plans the same again: the added zone's subnets are read from the VPC, not from
    # the control plane, and keep their CIDRs.
    again = dev_with_zones([*PINNED, "use1-az5"], FakeAws(region="us-east-1").deployed(grown))
    assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in grown.resources}
    assert warnings(again) == []


def test_a_zone_added_by_count_stays_when_it_stops_offering_the_general_types(base: dict[str, ProgramRun]) -> None:
    # Its subnets are not the control plane's: the plan finds them by the cluster's tag in its VPC.
    four = {**config_of("dev"), "eks-gpu-spot:availabilityZoneCount": 4}
    grown_by_count = run_stack("dev", four, FakeAws(region="us-east-1").deployed(base["dev"]))
    assert zones_of(grown_by_count) == ["us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]
    general = set(config_of("dev")["eks-gpu-spot:generalPool"]["instanceTypes"])
    live = replace(FakeAws(region="us-east-1").deployed(grown_by_count), not_offered={"us-east-1f": general})
    again = run_stack("dev", four, live)
    assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in grown_by_count.resources}


def test_removing_a_zone_the_control_plane_uses_is_refused_naming_the_zone_ids(grown: ProgramRun) -> None:
    live = FakeAws(region="us-east-1").deployed(grown)
    run = dev_with_zones(["use1-az1", "use1-az4", "use1-az5"], live, catch_errors=True)
    assert_refused(run, "eks-gpu-spot:availabilityZoneIds",
                   "the cluster's control plane runs in us-east-1b (use1-az1), us-east-1c (use1-az2), us-east-1d "
                   "(use1-az4), the zones it was created in, and EKS never moves a control plane to other zones")
    assert "removing us-east-1c (use1-az2) would fail halfway through `pulumi up`" in str(run.error)
    assert str(run.error).endswith("Keep use1-az2 among the zone IDs (its subnets stay, with the control plane's "
                                   "network interfaces in them), or recreate the cluster in the zones you want "
                                   "(another clusterName, or a new stack)")


def test_removing_a_zone_added_later_deletes_only_that_zone(pinned: ProgramRun, grown: ProgramRun) -> None:
    # The nearest good value: the zone the control plane does not use goes, with a warning to drain it.
    run = dev_with_zones(PINNED, FakeAws(region="us-east-1").deployed(grown))
    assert run.one("eks:index:Cluster").inputs == pinned.one("eks:index:Cluster").inputs
    assert subnet_cidrs(run) == subnet_cidrs(pinned)
    assert any("network-private-us-east-1f-id (us-east-1f, 10.0.160.0/19, deleted)" in w for w in warnings(run))


EXISTING = {"subnet-0a1b2c3d4e5f60001": "us-east-1b", "subnet-0a1b2c3d4e5f60002": "us-east-1c",
            "subnet-0a1b2c3d4e5f60003": "us-east-1c", "subnet-0a1b2c3d4e5f60004": "us-east-1d"}


def existing_vpc(private: list[str], aws: FakeAws | None = None, catch_errors: bool = False) -> ProgramRun:
    return run_offline({"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": private}, main=MAIN,
                       project=PROJECT, stack="test", aws=aws or FakeAws(region="us-east-1", subnet_zones=EXISTING),
                       catch_errors=catch_errors)


def test_an_existing_vpcs_control_plane_keeps_its_zones_too() -> None:
    first, second, other_c, zone_d = EXISTING
    created = existing_vpc([first, second])
    live = FakeAws(region="us-east-1", subnet_zones=EXISTING).deployed(created)
    # A subnet in another zone is for nodes only; another subnet of a zone it has may replace one.
    more = existing_vpc([first, second, zone_d], live)
    assert control_plane_subnets(more) == [first, second]
    assert zone_d in more.one(GROUP, "general").inputs["vpcZoneIdentifiers"]
    assert control_plane_subnets(existing_vpc([first, other_c], live)) == [first, other_c]
    assert_refused(existing_vpc([first, zone_d], live, catch_errors=True), "eks-gpu-spot:existingPrivateSubnetIds",
                   "removing us-east-1c (use1-az2) would fail halfway through `pulumi up`. Keep a subnet of "
                   "us-east-1c among the existing subnet IDs")


# --- bad zone IDs, refused before any resource ---------------------------------------------------

ALL_ZONES = list(region_zones("us-east-1"))
REFUSED = [
    pytest.param({"availabilityZoneIds": ["use1-az1", "use1-az2", "use1-az9"]}, "eks-gpu-spot:availabilityZoneIds[2]",
                 "is not a zone ID of us-east-1, whose zones are us-east-1b (use1-az1)", id="unknown"),
    pytest.param({"availabilityZoneIds": ["use1-az1", "usw2-az1"]}, "eks-gpu-spot:availabilityZoneIds[1]",
                 "is not a zone ID of us-east-1", id="another-region"),
    pytest.param({"availabilityZoneIds": ["use1-az1", "use1-az3"]}, "eks-gpu-spot:availabilityZoneIds[1]",
                 "EKS does not allow control-plane subnets in this zone", id="eks-unsupported"),
    pytest.param({"availabilityZoneIds": ["use1-az1", "use1-az2", "use1-az1"]}, "eks-gpu-spot:availabilityZoneIds",
                 "must not repeat a value (repeated: use1-az1)", id="duplicate"),
    pytest.param({"availabilityZoneIds": ["use1-az1"]}, "eks-gpu-spot:availabilityZoneIds",
                 "must list 2 to 6 zone IDs", id="one-zone"),
    pytest.param({"availabilityZoneIds": ["us-east-1a", "use1-az2"]}, "eks-gpu-spot:availabilityZoneIds[0]",
                 "must be a zone ID such as 'use1-az1'", id="zone-name"),
    pytest.param({"availabilityZoneIds": ["use1-az1", "use1-az2"], "availabilityZoneCount": 2},
                 "eks-gpu-spot:availabilityZoneIds", "leave the zone count (availabilityZoneCount) unset",
                 id="with-count"),
    pytest.param({"availabilityZoneIds": ["use1-az1", "use1-az2"], "existingVpcId": "vpc-0a1b2c3d4e5f67890",
                  "existingPrivateSubnetIds": ["subnet-0a1b2c3d4e5f6a7b8", "subnet-0a1b2c3d4e5f6a7b9"]},
                 "eks-gpu-spot:availabilityZoneIds", "applies only to a new VPC", id="with-existing-vpc"),
    pytest.param({"availabilityZoneIds": ["use1-az1", "use1-az2"], "generalPool": {"instanceTypes": ["m7i.xlarge"]},
                  "_not_offered": {"us-east-1c": {"m7i.xlarge"}}}, "eks-gpu-spot:availabilityZoneIds[1]",
                 "us-east-1c offers none of the general pool's types (m7i.xlarge)", id="general-types-not-offered"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_bad_zone_ids_are_refused_naming_the_key(config: dict[str, Any], key: str, allowed: str) -> None:
    not_offered = config.pop("_not_offered", {})
    assert_refused(run_program(config, expect_error=True, not_offered=not_offered, zones=ALL_ZONES), key, allowed)


@pytest.mark.parametrize("zone_ids", [["use1-az1", "use1-az2"], ["use1-az6", "use1-az5", "use1-az4", "use1-az2", "use1-az1"]])
def test_the_nearest_good_zone_ids_deploy(zone_ids: list[str]) -> None:
    run = run_program({"availabilityZoneIds": zone_ids}, zones=ALL_ZONES)
    assert sorted({s.inputs["availabilityZone"] for s in run.of_type(SUBNET)}) == sorted(
        z for z in region_zones("us-east-1") if zone_id(z) in zone_ids)


# --- AMI releases --------------------------------------------------------------------------------

def test_the_default_release_is_a_real_one_new_enough_for_max_pods() -> None:
    assert published_release("1.35.6-20260714") == DEFAULT_AMI_RELEASE_VERSION
    assert DEFAULT_AMI_RELEASE_VERSION >= MAX_PODS_EXPRESSION_SINCE


def offline(config: dict[str, Any], **facts: Any) -> ProgramRun:
    return run_offline(config, main=MAIN, project=PROJECT, stack="test", aws=FakeAws(region="us-east-1", **facts))


def ami_lines(run: ProgramRun) -> dict[str, list[str]]:
    return {severity: [m for s, m in run.logs if s == severity and m.startswith("AMI release")]
            for severity in ("info", "warning")}


def test_a_live_cluster_that_sets_no_release_is_warned_its_templates_go_back_to_the_pin(
        base: dict[str, ProgramRun]) -> None:
    live = FakeAws(region="us-east-1").deployed(base["dev"])
    run = run_stack("dev", aws=replace(live, recommended_ami_release="v20260724"))
    assert state(run, TEMPLATE) == state(base["dev"], TEMPLATE)
    lines = ami_lines(run)
    assert lines["info"] == [] and len(lines["warning"]) == 1
    (warning,) = lines["warning"]
    assert warning.startswith(f"AMI release: amiReleaseVersion is unset, so every pool runs the package's pinned "
                              f"release {DEFAULT_AMI_RELEASE_VERSION}, and AWS recommends a newer one, v20260724")
    assert "the general pool's instance refresh rolls its nodes onto it" in warning
    assert "To keep v20260724: `pulumi config set amiReleaseVersion v20260724`" in warning
    assert f"`pulumi config set amiReleaseVersion {DEFAULT_AMI_RELEASE_VERSION}`" in warning


@pytest.mark.parametrize(("deployed", "config", "recommended"), [
    pytest.param(False, {}, "v20260724", id="new-cluster"),
    pytest.param(True, {"eks-gpu-spot:amiReleaseVersion": DEFAULT_AMI_RELEASE_VERSION}, "v20260724", id="pinned"),
    pytest.param(True, {}, DEFAULT_AMI_RELEASE_VERSION, id="nothing-newer"),
])
def test_no_pin_warning_for_a_new_cluster_a_pinned_release_or_nothing_newer(
        base: dict[str, ProgramRun], deployed: bool, config: dict[str, Any], recommended: str) -> None:
    aws = FakeAws(region="us-east-1")
    run = run_stack("dev", {**config_of("dev"), **config},
                    replace(aws.deployed(base["dev"]) if deployed else aws, recommended_ami_release=recommended))
    lines = ami_lines(run)
    assert lines["warning"] == []
    assert len(lines["info"]) == (recommended != DEFAULT_AMI_RELEASE_VERSION)


def test_an_empty_release_is_refused_saying_what_to_write() -> None:
    run = run_program({"amiReleaseVersion": ""}, expect_error=True)
    assert_refused(run, "eks-gpu-spot:amiReleaseVersion", "empty no longer means the recommended AMI: write "
                                                          "'recommended' to keep following SSM's recommended AMI")
    assert "or remove the key for the package's pinned release" in str(run.error)
    assert run_program({"amiReleaseVersion": "recommended"}).error is None


def test_recommended_follows_ssm_and_takes_max_pods() -> None:
    run = offline({"amiReleaseVersion": "recommended", "generalPool": {"maxPods": 20}})
    images = {lt.inputs["imageId"] for lt in run.of_type(TEMPLATE)}
    later = offline({"amiReleaseVersion": "recommended", "generalPool": {"maxPods": 20}},
                    recommended_ami_release="v20260724")
    assert {lt.inputs["imageId"] for lt in later.of_type(TEMPLATE)}.isdisjoint(images)
    assert not [m for _, m in later.logs if m.startswith("AMI release")]


def test_an_unreadable_recommended_release_is_only_a_note() -> None:
    run = offline({}, recommended_ami_release=None)
    assert {lt.inputs["imageId"] for lt in run.of_type(TEMPLATE)} == {
        lt.inputs["imageId"] for lt in offline({}).of_type(TEMPLATE)}
    assert any(m.startswith("could not read the recommended AMI release") for s, m in run.logs if s == "info")


def test_release_notes_name_the_newest_release_only_when_newer() -> None:
    name = "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/recommended/release_version"
    assert newer_release_notes("v20260714", {name: "1.35.6-20260714"}) == []
    assert newer_release_notes("recommended", {name: "1.35.6-20260724"}) == []
    (note,) = newer_release_notes("v20260714", {name: "1.35.6-20260724"})
    assert note.startswith("AMI release v20260714 is pinned (amiReleaseVersion); v20260724 is newer") and name in note

