"""The plan against AWS facts (components/plan.py), called directly with hand-built `Settings` and
`AwsFacts`: the version step, zones and their CIDRs, a live cluster's zones, subnets, groups and
control plane kept, an existing VPC, pools' offerings, image caches, warm nodes, tag counts, and
what preview says."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from components.aws_facts import AwsFacts, DeployedCluster, Subnet, Zone
from components.errors import InvalidValueError
from components.image_cache import SNAPSHOT_NOT_FOUND, SNAPSHOTTER_TAG, ImageCacheSpec
from components.instance_catalog import KNOWN_SHAPES
from components.network import subnet_tags
from components.offline import US_EAST_1_ZONE_IDS
from components.plan import ClusterPlan, ZoneSubnets, check_version_step, plan_cluster, rollout_notes
from components.pool_spec import NodePoolSpec
from components.settings import (
    ClusterSettings,
    ExistingVpcSettings,
    NewVpcSettings,
    Settings,
    TerminationHandlerSettings,
)
from components.versions import DEFAULT_AMI_RELEASE_VERSION

# us-east-1 as the offline account sees it: names and IDs in different orders, and use1-az3 (1e),
# where EKS allows no control plane.
ZONES = tuple(Zone(name, zone_id) for name, zone_id in US_EAST_1_ZONE_IDS.items())
A, B, C, D, E, F = ZONES
GENERAL_TYPES = NodePoolSpec(name="general").instance_types
GPU_TYPES = NodePoolSpec(name="gpu", gpu=True).instance_types
VPC_ID = "vpc-0abc1234"
SNAPSHOT = "snap-0123456789abcdef0"
# The slot CIDRs of 10.0.0.0/16 (zones.py): private subnet = the zone letter's eighth, public = that
# slice of the last eighth.
SLOTS = {"a": ("10.0.0.0/19", "10.0.224.0/22"), "b": ("10.0.32.0/19", "10.0.228.0/22"),
         "c": ("10.0.64.0/19", "10.0.232.0/22"), "d": ("10.0.96.0/19", "10.0.236.0/22"),
         "e": ("10.0.128.0/19", "10.0.240.0/22"), "f": ("10.0.160.0/19", "10.0.244.0/22"),
         "g": ("10.0.192.0/19", "10.0.248.0/22")}


def settings(*, network: Any = None, **overrides: Any) -> Settings:
    return Settings(**{"project": "p", "stack": "s", "region": "us-east-1", "cluster": ClusterSettings(name="ml"),
                       "network": network or NewVpcSettings(), **overrides})


def gpu(name: str = "gpu", **fields: Any) -> NodePoolSpec:
    return NodePoolSpec(name=name, gpu=True, **fields)


def facts(config: Settings, *, zones: Iterable[Zone] = ZONES, lacking: Mapping[Zone, Iterable[str]] | None = None,
          **fields: Any) -> AwsFacts:
    """Facts of us-east-1 where every zone offers every type of the pools but those `lacking`."""
    types = {t for pool in config.pools for t in pool.instance_types}
    lacking = lacking or {}
    zones = tuple(zones)
    return AwsFacts(region=config.region, zones=zones, shapes={t: KNOWN_SHAPES[t].instance_shape(t) for t in types},
                    offerings={z.zone_id: frozenset(types - set(lacking.get(z, ()))) for z in zones}, **fields)


def plan(config: Settings, aws: AwsFacts | None = None, propagated: Mapping[str, str] | None = None) -> ClusterPlan:
    return plan_cluster(config, aws or facts(config), propagated or {})


def refused(build: Callable[[], object]) -> list[tuple[str, object, str]]:
    """Every refused value of `build()`: (field, value, allowed), in the order found."""
    with pytest.raises(InvalidValueError) as raised:
        build()
    return [(e.field, e.value, e.allowed) for e in raised.value.errors]


def names(zones: Iterable[Zone]) -> tuple[str, ...]:
    return tuple(z.name for z in zones)


def subnet(zone: Zone, public: bool, cidr: str | None = None, *, cluster: str = "ml", vpc: str = VPC_ID) -> Subnet:
    """A live subnet this program created: tagged with its load-balancer role."""
    cidr = cidr or SLOTS[zone.name[-1]][public]
    return Subnet(f"subnet-{zone.name[-1]}{'pub' if public else 'prv'}", vpc, zone, cidr, subnet_tags(cluster, public))


def live(zones: Iterable[Zone], *, added: Iterable[Zone] = (), groups: Iterable[str] = (), version: str = "1.35",
         cidrs: Mapping[Zone, tuple[str, str]] | None = None) -> DeployedCluster:
    """The cluster `ml` as deployed: its control plane in `zones` (with their slot CIDRs unless
    `cidrs`), node and public subnets in `added` zones too, and the Auto Scaling groups `groups`."""
    cidrs = cidrs or {}
    control = tuple(subnet(z, public, cidrs.get(z, (None, None))[public]) for z in zones for public in (False, True))
    later = tuple(subnet(z, public, cidrs.get(z, (None, None))[public]) for z in added for public in (False, True))
    return DeployedCluster("ml", version, VPC_ID, control, control + later, frozenset(groups))


# --- the Kubernetes version step ------------------------------------------------------------------

@pytest.mark.parametrize(("requested", "deployed"), [("1.35", None), ("1.35", "1.35"), ("1.35", "1.34"),
                                                     ("1.32", "1.31"), ("1.36", "1.35"), ("1.10", "1.9")])
def test_version_steps_accepted(requested: str, deployed: str | None) -> None:
    check_version_step(requested, deployed)


STEP = "set {} and run `pulumi up`"
UNSUPPORTED_STEP = ("{} is not a minor this project supports (1.32, 1.33, 1.34, 1.35, 1.36): move the control plane to "
                    "it outside this program (aws eks update-cluster-version), then here")


@pytest.mark.parametrize(("requested", "deployed", "allowed"), [
    ("1.35", "1.33", "the cluster runs 1.33 and EKS upgrades one minor per update: the next allowed version is 1.34; "
                     f"{STEP.format('1.34')}, then go on one minor at a time to 1.35"),
    ("1.36", "1.33", "the cluster runs 1.33 and EKS upgrades one minor per update: the next allowed version is 1.34; "
                     f"{STEP.format('1.34')}, then go on one minor at a time to 1.36"),
    ("1.32", "1.30", "the cluster runs 1.30 and EKS upgrades one minor per update: the next allowed version is 1.31; "
                     f"{UNSUPPORTED_STEP.format('1.31')}, then go on one minor at a time to 1.32"),
    ("2.0", "1.35", "the cluster runs 1.35 and EKS upgrades one minor per update: the next allowed version is 1.36; "
                    f"{STEP.format('1.36')}, then go on one minor at a time to 2.0"),
    ("1.34", "1.35", "the cluster runs 1.35 and EKS never downgrades a cluster: keep 1.35, or upgrade to 1.36"),
    ("1.32", "1.34", "the cluster runs 1.34 and EKS never downgrades a cluster: keep 1.34, or upgrade to 1.35"),
    ("1.35", "1.36", "the cluster runs 1.36 and EKS never downgrades a cluster: keep 1.36"),
    ("1.35", "2.0", "the cluster runs 2.0 and EKS never downgrades a cluster: keep 2.0"),
])
def test_version_steps_refused(requested: str, deployed: str, allowed: str) -> None:
    assert refused(lambda: check_version_step(requested, deployed)) == [("kubernetes_version", requested, allowed)]


def test_the_version_step_is_checked_against_the_live_cluster() -> None:
    config = settings(cluster=ClusterSettings(name="ml", kubernetes_version="1.35"))
    assert refused(lambda: plan(config, facts(config, deployed_cluster=live([B, C, D], version="1.33")))) == [
        ("cluster.kubernetes_version", "1.35", "the cluster runs 1.33 and EKS upgrades one minor per update: the next "
                                               f"allowed version is 1.34; {STEP.format('1.34')}, then go on one minor "
                                               "at a time to 1.35")]


# --- what preview says about rollouts -------------------------------------------------------------

GENERAL_NOTE = ("pool 'general': a new launch template version rolls onto its nodes by instance refresh, one canary "
                "node and a 5-minute pause, then {} at a time, each launched before an old one is drained: about {} "
                "minutes at its desired size {}")


def test_the_general_pools_rollout_is_told_with_its_desired_size() -> None:
    assert rollout_notes(settings(), None) == ([GENERAL_NOTE.format(1, 17, 2)], [])
    big = settings(general_pool=NodePoolSpec(name="general", min_size=1, desired_size=4, max_size=6))
    assert rollout_notes(big, None) == ([GENERAL_NOTE.format(2, 23, 4)], [])
    one = settings(general_pool=NodePoolSpec(name="general", min_size=1, desired_size=1, max_size=1))
    assert rollout_notes(one, None) == ([GENERAL_NOTE.format(1, 6, 1)], [])


def test_a_gpu_pool_that_replaces_busy_nodes_is_told_its_drain() -> None:
    pools = [gpu("ga", replace_busy_nodes=True), gpu("gb", replace_busy_nodes=True, drain_timeout="20m")]
    notes, warnings = rollout_notes(settings(gpu_pools=pools), "1.34")
    assert notes[1:] == [
        "GPU pool 'ga': a new launch template version replaces its nodes one at a time, busy or not, each drained for "
        "up to 300s (replaceBusyNodes)",
        "GPU pool 'gb': a new launch template version replaces its nodes one at a time, busy or not, each drained for "
        "up to 20m (replaceBusyNodes)"]
    assert warnings == []
    longer = settings(gpu_pools=pools[:1], termination_handler=TerminationHandlerSettings(heartbeat_timeout_seconds=900))
    assert rollout_notes(longer, None)[0][1].endswith("each drained for up to 900s (replaceBusyNodes)")


MIN_SIZE_NOTE = ("GPU pool '{}': its {} node(s) per zone (minSizePerAz) keep the launch template they started with when "
                 "it changes: the autoscaler never removes a pool's minimum and the pool has no instance refresh (set "
                 "replaceBusyNodes: true, or replace them by hand)")
MIN_SIZE_WARNING = ("GPU pool '{}': after this upgrade from {} to {} its minSizePerAz node(s) keep kubelet {}; kubelet "
                    "may be at most 3 minors older than the control plane: replace them (replaceBusyNodes: true, or by "
                    "hand) before the third upgrade")


def test_a_gpu_pools_minimum_nodes_keep_their_template_and_lag_an_upgrade() -> None:
    config = settings(gpu_pools=[gpu("ga", min_size=1), gpu("gb"), gpu("gc", min_size=2, max_size=3)])
    notes, warnings = rollout_notes(config, "1.34")
    assert notes == [GENERAL_NOTE.format(1, 17, 2), MIN_SIZE_NOTE.format("ga", 1), MIN_SIZE_NOTE.format("gc", 2)]
    assert warnings == [MIN_SIZE_WARNING.format("ga", "1.34", "1.35", "1.34"),
                        MIN_SIZE_WARNING.format("gc", "1.34", "1.35", "1.34")]
    for deployed in (None, "1.35"):
        assert rollout_notes(config, deployed) == (notes, [])


def test_without_the_termination_handler_a_refresh_does_not_drain() -> None:
    config = settings(gpu_pools=[gpu(min_size=1)], termination_handler=TerminationHandlerSettings(enabled=False))
    assert rollout_notes(config, None) == (
        [GENERAL_NOTE.format(1, 17, 2), MIN_SIZE_NOTE.format("gpu", 1)],
        ["pool 'general': the termination handler is off, so an instance refresh terminates its nodes without draining "
         "them"])


def test_the_plan_ends_with_the_rollout_notes_and_warnings() -> None:
    config = settings(gpu_pools=[gpu(min_size=1)])
    result = plan(config, facts(config, deployed_cluster=live([B, C, D], version="1.34")))
    assert result.notes[-2:] == (GENERAL_NOTE.format(1, 17, 2), MIN_SIZE_NOTE.format("gpu", 1))
    assert result.warnings[-1:] == (MIN_SIZE_WARNING.format("gpu", "1.34", "1.35", "1.34"),)


# --- the zones and subnets of a new VPC -----------------------------------------------------------

def zone_subnets(*zones: Zone) -> tuple[ZoneSubnets, ...]:
    return tuple(ZoneSubnets(z, *SLOTS[z.name[-1]]) for z in zones)


def test_a_new_cluster_takes_the_first_zones_by_id_each_with_its_slot() -> None:
    # By ID: use1-az1 (1b), az2 (1c), az4 (1d); az3 (1e) is one EKS refuses.
    result = plan(settings())
    assert (result.zones, result.subnets) == ((B, C, D), zone_subnets(B, C, D))
    assert result.control_plane_zones == names([B, C, D])
    assert result.pool_zones == {"general": names([B, C, D]), "gpu": names([B, C, D])}
    assert (result.notes, result.warnings) == ((GENERAL_NOTE.format(1, 17, 2),), ())
    five = plan(settings(network=NewVpcSettings(az_count=5)))
    assert five.zones == (A, B, C, D, F) and five.subnets == zone_subnets(A, B, C, D, F)


def test_zone_ids_order_by_number() -> None:
    zones = (Zone("us-east-1a", "use1-az10"), Zone("us-east-1b", "use1-az9"), Zone("us-east-1c", "use1-az2"))
    config = settings(network=NewVpcSettings(az_count=2))
    assert names(plan(config, facts(config, zones=zones)).zones) == ("us-east-1b", "us-east-1c")


def test_only_zones_that_offer_the_general_pools_types_are_chosen() -> None:
    config = settings()
    # Any one general type is enough; GPU types play no part in the choice.
    lacking = {B: GENERAL_TYPES, C: GENERAL_TYPES[1:], D: GPU_TYPES}
    result = plan(config, facts(config, lacking=lacking))
    assert result.zones == (C, D, F)
    assert result.pool_zones == {"general": names([C, D, F]), "gpu": names([C, F])}
    assert result.notes[0] == "GPU pool 'gpu': no Auto Scaling group in us-east-1d, which offers none of g5.xlarge, " \
                              "g6.xlarge"


def test_a_gpu_pool_offered_in_one_type_of_a_zone_gets_a_group_there() -> None:
    config = settings()
    result = plan(config, facts(config, lacking={B: GPU_TYPES[:1]}))
    assert result.pool_zones["gpu"] == names([B, C, D]) and not any("no Auto Scaling group" in n for n in result.notes)


AZ_COUNT_RULE = ("must be from 2 to {}: region us-east-1 has {} Availability Zones that EKS supports and that offer the "
                 "general pool's types")


def test_the_zone_count_is_at_most_the_eligible_zones() -> None:
    config = settings(network=NewVpcSettings(az_count=6))
    assert refused(lambda: plan(config)) == [
        ("network.az_count", 6, AZ_COUNT_RULE.format(5, 5) + " (left out: us-east-1e (use1-az3))")]
    lacking = facts(config, lacking={A: GENERAL_TYPES, F: GENERAL_TYPES})
    assert refused(lambda: plan(config, lacking)) == [
        ("network.az_count", 6, AZ_COUNT_RULE.format(3, 3) + " (left out: us-east-1a (use1-az6), us-east-1e (use1-az3), "
                                                             "us-east-1f (use1-az5))")]
    three = settings(network=NewVpcSettings(az_count=3))
    assert refused(lambda: plan(three, facts(three, zones=[B, C]))) == [("network.az_count", 3,
                                                                         AZ_COUNT_RULE.format(2, 2))]
    assert plan(three, facts(three, zones=[B, C, D])).zones == (B, C, D)


def test_a_zone_missing_from_the_offerings_offers_nothing() -> None:
    # EC2 lists no offering for a zone that has none of the types asked for.
    config = settings(network=NewVpcSettings(az_count=5))
    aws = facts(config)
    aws = replace(aws, offerings={zone_id: types for zone_id, types in aws.offerings.items() if zone_id != A.zone_id})
    assert refused(lambda: plan(config, aws)) == [
        ("network.az_count", 5, AZ_COUNT_RULE.format(4, 4) + " (left out: us-east-1a (use1-az6), us-east-1e (use1-az3))")]


def test_pinned_zones_are_used_in_name_order() -> None:
    config = settings(network=NewVpcSettings(availability_zone_ids=["use1-az6", "use1-az5", "use1-az1"]))
    result = plan(config)
    assert (result.zones, result.subnets) == ((A, B, F), zone_subnets(A, B, F))
    assert result.control_plane_zones == names([A, B, F]) and result.warnings == ()


def test_pinned_zones_that_do_not_exist_or_lack_the_general_types_are_refused() -> None:
    config = settings(network=NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az9", "use1-az6", "use1-az4"]))
    assert refused(lambda: plan(config, facts(config, lacking={A: GENERAL_TYPES}))) == [
        ("network.availability_zone_ids[1]", "use1-az9",
         "is not a zone ID of us-east-1, whose zones are us-east-1b (use1-az1), us-east-1c (use1-az2), us-east-1e "
         "(use1-az3), us-east-1d (use1-az4), us-east-1f (use1-az5), us-east-1a (use1-az6)"),
        ("network.availability_zone_ids[2]", "use1-az6",
         f"us-east-1a offers none of the general pool's types ({', '.join(GENERAL_TYPES)}); choose another zone")]
    good = settings(network=NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az6", "use1-az4"]))
    assert plan(good, facts(good, lacking={A: GENERAL_TYPES[1:]})).zones == (A, B, D)


def test_given_cidrs_pair_with_the_zone_ids_in_their_order() -> None:
    network = NewVpcSettings(availability_zone_ids=["use1-az2", "use1-az1"],
                             private_subnet_cidrs=["10.0.0.0/20", "10.0.16.0/20"])
    result = plan(settings(network=network))
    assert result.subnets == (ZoneSubnets(B, "10.0.16.0/20", SLOTS["b"][1]), ZoneSubnets(C, "10.0.0.0/20", SLOTS["c"][1]))
    both = NewVpcSettings(availability_zone_ids=["use1-az2", "use1-az1"], private_subnet_cidrs=["10.0.0.0/20",
                                                                                               "10.0.16.0/20"],
                          public_subnet_cidrs=["10.0.32.0/24", "10.0.33.0/24"])
    assert plan(settings(network=both)).subnets == (ZoneSubnets(B, "10.0.16.0/20", "10.0.33.0/24"),
                                                    ZoneSubnets(C, "10.0.0.0/20", "10.0.32.0/24"))


def test_given_cidrs_without_zone_ids_pair_with_the_chosen_zones_by_name() -> None:
    network = NewVpcSettings(az_count=2, public_subnet_cidrs=["10.0.1.0/24", "10.0.0.0/24"])
    assert plan(settings(network=network)).subnets == (ZoneSubnets(B, SLOTS["b"][0], "10.0.1.0/24"),
                                                       ZoneSubnets(C, SLOTS["c"][0], "10.0.0.0/24"))


def test_a_zone_past_g_needs_given_cidrs() -> None:
    h = Zone("us-east-1h", "use1-az7")
    network = NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az7"])
    config = settings(network=network)
    aws = facts(config, zones=[*ZONES, h])
    assert refused(lambda: plan(config, aws)) == [
        ("network.private_subnet_cidrs", [], "the layout by zone has room for zones a to g only; give the subnets' "
                                             "CIDRs, one per zone, to use us-east-1h")]
    private = NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az7"],
                             private_subnet_cidrs=("10.0.0.0/20", "10.0.16.0/20"))
    assert refused(lambda: plan(settings(network=private), aws)) == [
        ("network.public_subnet_cidrs", [], "the layout by zone has room for zones a to g only; give the subnets' "
                                            "CIDRs, one per zone, to use us-east-1h")]
    given = NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az7"],
                           private_subnet_cidrs=("10.0.0.0/20", "10.0.16.0/20"),
                           public_subnet_cidrs=("10.0.32.0/24", "10.0.33.0/24"))
    assert plan(settings(network=given), aws).subnets == (ZoneSubnets(B, "10.0.0.0/20", "10.0.32.0/24"),
                                                          ZoneSubnets(h, "10.0.16.0/20", "10.0.33.0/24"))
    g = Zone("us-east-1g", "use1-az8")
    last = settings(network=NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az8"]))
    assert plan(last, facts(last, zones=[*ZONES, g])).subnets[1] == ZoneSubnets(g, *SLOTS["g"])


def test_given_cidrs_over_another_zones_slot_are_refused_naming_the_list() -> None:
    # A given private CIDR inside zone b's public slot: blamed on the public list, which was not given.
    network = NewVpcSettings(az_count=2, private_subnet_cidrs=["10.0.228.0/24", "10.0.0.0/20"])
    assert refused(lambda: plan(settings(network=network))) == [
        ("network.public_subnet_cidrs", [], "subnets must not overlap (overlaps 10.0.228.0/24)")]
    # A given public CIDR inside zone b's private slot: blamed on its entry.
    public = NewVpcSettings(az_count=2, public_subnet_cidrs=["10.0.0.0/24", "10.0.33.0/24"])
    assert refused(lambda: plan(settings(network=public))) == [
        ("network.public_subnet_cidrs[1]", "10.0.33.0/24", "subnets must not overlap (overlaps 10.0.32.0/19)")]
    pinned = NewVpcSettings(availability_zone_ids=["use1-az2", "use1-az1"], public_subnet_cidrs=["10.0.0.0/24",
                                                                                                "10.0.65.0/24"])
    # Zone b is the first subnet by name and the second zone ID: its entry is [1].
    assert refused(lambda: plan(settings(network=pinned))) == [
        ("network.public_subnet_cidrs[1]", "10.0.65.0/24", "subnets must not overlap (overlaps 10.0.64.0/19)")]


# --- a live cluster keeps its zones, CIDRs and control plane --------------------------------------

PIN_ADVICE = ("The plan keeps what is deployed; pin it once so that it no longer depends on the live cluster "
              "(docs/upgrades.md): `{}`")
DRAIN_FIRST = (". AWS deletes a subnet only once nothing runs in it (nodes, a NAT gateway, the control plane's network "
               "interfaces): drain the zone first (docs/upgrades.md)")


def pin_zones(*zones: Zone) -> str:
    return "pulumi config rm availabilityZoneCount; " + " && ".join(
        f"pulumi config set --path 'availabilityZoneIds[{i}]' {z.zone_id}" for i, z in enumerate(zones))


def test_a_live_cluster_plans_the_same_again() -> None:
    config = settings()
    result = plan(config, facts(config, deployed_cluster=live([B, C, D])))
    assert result == replace(plan(config), notes=result.notes)
    assert (result.subnets, result.control_plane_zones, result.warnings) == (zone_subnets(B, C, D), names([B, C, D]),
                                                                            ())


def test_a_live_cluster_keeps_a_zone_that_stops_offering_the_general_types() -> None:
    config = settings()
    result = plan(config, facts(config, lacking={B: GENERAL_TYPES}, deployed_cluster=live([B, C, D])))
    assert (result.zones, result.subnets, result.control_plane_zones) == ((B, C, D), zone_subnets(B, C, D),
                                                                          names([B, C, D]))
    assert result.warnings == (
        "network: this stack was planned before zones and subnets were keyed by zone: its cluster runs in us-east-1b "
        "(use1-az1), us-east-1c (use1-az2), us-east-1d (use1-az4), where a new stack would get us-east-1c (use1-az2), "
        "us-east-1d (use1-az4), us-east-1f (use1-az5). " + PIN_ADVICE.format(pin_zones(B, C, D)),)


# The subnets of a VPC created before CIDRs were keyed by zone: by position in the zone list.
POSITIONAL = {B: SLOTS["a"], C: SLOTS["b"], D: SLOTS["c"]}


def test_a_live_cluster_keeps_the_cidrs_of_the_old_layout_and_is_told_the_full_pin() -> None:
    config = settings()
    result = plan(config, facts(config, deployed_cluster=live([B, C, D], cidrs=POSITIONAL)))
    assert result.subnets == tuple(ZoneSubnets(z, *POSITIONAL[z]) for z in (B, C, D))
    commands = pin_zones(B, C, D) + "".join(
        f" && pulumi config set --path '{key}[{i}]' {POSITIONAL[z][public]}"
        for key, public in (("privateSubnetCidrs", 0), ("publicSubnetCidrs", 1)) for i, z in enumerate((B, C, D)))
    assert result.warnings == (
        "network: this stack was planned before zones and subnets were keyed by zone: the subnets of us-east-1b, "
        "us-east-1c, us-east-1d have the CIDRs of their old position, not of their zone. " + PIN_ADVICE.format(commands),)
    # Zones a, b, c had their slots already (only the zones are told); one zone off its slot is named alone.
    assert plan(config, facts(config, deployed_cluster=live([A, B, C]))).warnings == (
        "network: this stack was planned before zones and subnets were keyed by zone: its cluster runs in us-east-1a "
        "(use1-az6), us-east-1b (use1-az1), us-east-1c (use1-az2), where a new stack would get us-east-1b (use1-az1), "
        "us-east-1c (use1-az2), us-east-1d (use1-az4). " + PIN_ADVICE.format(pin_zones(A, B, C)),)
    one = {D: (SLOTS["a"][0], SLOTS["d"][1])}
    assert "the subnets of us-east-1d have the CIDRs" in plan(config, facts(config, deployed_cluster=live(
        [B, C, D], cidrs=one))).warnings[0]


def test_given_cidrs_are_no_old_layout() -> None:
    network = NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az2", "use1-az4"],
                             private_subnet_cidrs=[POSITIONAL[z][0] for z in (B, C, D)])
    config = settings(network=network)
    assert plan(config, facts(config, deployed_cluster=live([B, C, D], cidrs=POSITIONAL))).warnings == ()


def test_a_count_below_the_live_zones_is_refused() -> None:
    config = settings(network=NewVpcSettings(az_count=2))
    assert refused(lambda: plan(config, facts(config, deployed_cluster=live([B, C, D])))) == [
        ("network.az_count", 2, "this stack's cluster runs in 3 zones (us-east-1b (use1-az1), us-east-1c (use1-az2), "
                                "us-east-1d (use1-az4)): to remove one, list the zones to keep by ID "
                                "(availabilityZoneIds) instead of a count")]
    same = settings(network=NewVpcSettings(az_count=3))
    assert plan(same, facts(same, deployed_cluster=live([B, C, D]))).zones == (B, C, D)


def test_a_live_cluster_grows_by_the_next_zone_its_control_plane_stays() -> None:
    config = settings(network=NewVpcSettings(az_count=4))
    result = plan(config, facts(config, lacking={C: GENERAL_TYPES}, deployed_cluster=live([C, D, F])))
    assert (result.zones, result.subnets) == ((B, C, D, F), zone_subnets(B, C, D, F))
    assert result.control_plane_zones == names([C, D, F])
    assert result.pool_zones["general"] == names([B, C, D, F])


def test_only_the_live_clusters_private_subnets_in_known_zones_keep_a_zone() -> None:
    gone = Zone("us-east-1g", "use1-az7")
    cluster = live([B, C, D])
    cluster = replace(cluster, vpc_subnets=(*cluster.vpc_subnets, subnet(A, True), subnet(gone, False)))
    config = settings()
    result = plan(config, facts(config, deployed_cluster=cluster))
    assert result.zones == (B, C, D)
    assert result.warnings == ("network: live subnets replaced or deleted: subnet-apub (us-east-1a, 10.0.224.0/22, "
                               "deleted), subnet-gprv (us-east-1g, 10.0.192.0/19, deleted)" + DRAIN_FIRST,)


def test_subnets_the_program_did_not_create_are_not_the_clusters() -> None:
    config = settings()
    foreign = [Subnet("subnet-x1", VPC_ID, B, SLOTS["b"][0], {}),  # no role
               Subnet("subnet-x2", VPC_ID, C, SLOTS["c"][0], {**subnet_tags("ml", True), **subnet_tags("ml", False)}),
               Subnet("subnet-x3", VPC_ID, D, "10.1.0.0/24", subnet_tags("ml", False)),  # outside the VPC CIDR
               Subnet("subnet-x4", VPC_ID, F, "", subnet_tags("ml", True)),
               Subnet("subnet-x5", VPC_ID, A, SLOTS["a"][0], {"kubernetes.io/role/internal-elb": "0"})]
    cluster = DeployedCluster("ml", "1.35", VPC_ID, tuple(foreign), tuple(foreign))
    result = plan(config, facts(config, deployed_cluster=cluster))
    assert result == replace(plan(config), notes=result.notes)


def test_another_vpc_cidr_replaces_the_cluster_with_its_vpc() -> None:
    # The live subnets lie outside the new VPC CIDR: nothing is kept, the control plane included.
    config = settings(network=NewVpcSettings(vpc_cidr="10.1.0.0/16", az_count=2))
    result = plan(config, facts(config, deployed_cluster=live([D, F])))
    assert result.zones == (B, C) and result.control_plane_zones == names([B, C]) and result.warnings == ()


CONTROL_PLANE_STAYS = ("the cluster's control plane runs in {}, the zones it was created in, and EKS never moves a "
                       "control plane to other zones: an update of its subnets must keep the same set of zones "
                       "(UpdateClusterConfig; aws/containers-roadmap#2258), so removing {} would fail halfway through "
                       "`pulumi up`. ")


def test_removing_a_control_plane_zone_is_refused_naming_the_zone_ids() -> None:
    config = settings(network=NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az5", "use1-az2"]))
    assert refused(lambda: plan(config, facts(config, deployed_cluster=live([B, C, D], added=[F])))) == [
        ("network.availability_zone_ids", ["use1-az1", "use1-az5", "use1-az2"],
         CONTROL_PLANE_STAYS.format("us-east-1b (use1-az1), us-east-1c (use1-az2), us-east-1d (use1-az4)",
                                    "us-east-1d (use1-az4)")
         + "Keep use1-az4 among the zone IDs (its subnets stay, with the control plane's network interfaces in them), "
           "or recreate the cluster in the zones you want (another clusterName, or a new stack)")]


def test_a_control_plane_zone_without_a_node_subnet_is_refused_naming_the_planned_zones() -> None:
    cluster = live([B, C])
    cluster = replace(cluster, subnets=(*cluster.subnets, subnet(F, True)))
    config = settings(network=NewVpcSettings(az_count=2))
    assert refused(lambda: plan(config, facts(config, deployed_cluster=cluster))) == [
        ("network.availability_zone_ids", ["use1-az1", "use1-az2"],
         CONTROL_PLANE_STAYS.format("us-east-1b (use1-az1), us-east-1c (use1-az2), us-east-1f (use1-az5)",
                                    "us-east-1f (use1-az5)")
         + "Keep use1-az5 among the zone IDs (its subnets stay, with the control plane's network interfaces in them), "
           "or recreate the cluster in the zones you want (another clusterName, or a new stack)")]


def test_a_zone_added_to_a_live_cluster_gets_nodes_not_the_control_plane() -> None:
    config = settings(network=NewVpcSettings(availability_zone_ids=["use1-az5", "use1-az1", "use1-az2", "use1-az4"]))
    result = plan(config, facts(config, deployed_cluster=live([B, C, D])))
    assert result.zones == (B, C, D, F) and result.control_plane_zones == names([B, C, D])
    assert result.pool_zones == {"general": names([B, C, D, F]), "gpu": names([B, C, D, F])}
    assert result.warnings == ()


def test_removing_a_zone_added_later_deletes_its_subnets_with_a_warning() -> None:
    config = settings(network=NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az2", "use1-az4"]))
    result = plan(config, facts(config, deployed_cluster=live([B, C, D], added=[F])))
    assert result.zones == (B, C, D)
    assert result.warnings == ("network: live subnets replaced or deleted: subnet-fprv (us-east-1f, 10.0.160.0/19, "
                               "deleted), subnet-fpub (us-east-1f, 10.0.244.0/22, deleted)" + DRAIN_FIRST,)


def test_a_changed_cidr_replaces_the_live_subnet_with_a_warning() -> None:
    network = NewVpcSettings(availability_zone_ids=["use1-az1", "use1-az2", "use1-az4"],
                             private_subnet_cidrs=["10.0.0.0/22", SLOTS["c"][0], "10.0.4.0/22"])
    config = settings(network=network)
    result = plan(config, facts(config, deployed_cluster=live([B, C, D])))
    assert result.subnets == (ZoneSubnets(B, "10.0.0.0/22", SLOTS["b"][1]), ZoneSubnets(C, *SLOTS["c"]),
                              ZoneSubnets(D, "10.0.4.0/22", SLOTS["d"][1]))
    assert result.warnings == ("network: live subnets replaced or deleted: subnet-bprv (us-east-1b, 10.0.32.0/19 -> "
                               "10.0.0.0/22), subnet-dprv (us-east-1d, 10.0.96.0/19 -> 10.0.4.0/22)" + DRAIN_FIRST,)


OVER_LIVE = ("{}'s new subnet {} overlaps the live subnet {} ({}, {}), which still exists when the new one is created; "
             "AWS refuses overlapping subnets: choose a CIDR no live subnet uses")


def test_a_new_cidr_over_a_live_subnet_is_refused() -> None:
    # Zones b and c live with the old layout: zone a's slot is b's subnet.
    cluster = live([B, C], cidrs=POSITIONAL)
    config = settings(network=NewVpcSettings(availability_zone_ids=["use1-az6", "use1-az1", "use1-az2"]))
    assert refused(lambda: plan(config, facts(config, deployed_cluster=cluster))) == [
        ("network.private_subnet_cidrs", [], OVER_LIVE.format("us-east-1a", "10.0.0.0/19", "subnet-bprv",
                                                              "us-east-1b", "10.0.0.0/19"))]
    # A given CIDR is blamed on its entry, even over the subnet it replaces.
    given = settings(network=NewVpcSettings(availability_zone_ids=["use1-az2", "use1-az1"],
                                            private_subnet_cidrs=["10.0.32.0/19", "10.0.0.0/20"]))
    assert refused(lambda: plan(given, facts(given, deployed_cluster=cluster))) == [
        ("network.private_subnet_cidrs[1]", "10.0.0.0/20", OVER_LIVE.format("us-east-1b", "10.0.0.0/20", "subnet-bprv",
                                                                            "us-east-1b", "10.0.0.0/19"))]


# --- an existing VPC ------------------------------------------------------------------------------

def existing(private: Iterable[str], public: Iterable[str] = ()) -> ExistingVpcSettings:
    return ExistingVpcSettings(VPC_ID, tuple(private), tuple(public))


def vpc_subnets(**zones: Zone) -> dict[str, Subnet]:
    """Subnets of the existing VPC, by ID: subnet-<id> in `zones[id]`."""
    return {f"subnet-{key}": Subnet(f"subnet-{key}", VPC_ID, zone, "10.50.0.0/24") for key, zone in zones.items()}


EXISTING = vpc_subnets(bbbbbbbb=B, cccccccc=C, dddddddd=D, ffffffff=F, aaaaaaaa=A, eeeeeeee=E,
                       bbbbbbb2=B)


def test_an_existing_vpcs_zones_are_its_private_subnets() -> None:
    config = settings(network=existing(["subnet-cccccccc", "subnet-bbbbbbbb", "subnet-bbbbbbb2"], ["subnet-dddddddd"]))
    result = plan(config, facts(config, subnets=EXISTING, vpc_cidrs=("10.50.0.0/16",)))
    assert (result.zones, result.subnets) == ((C, B, B), ())
    assert result.pool_zones == {"general": names([C, B]), "gpu": names([C, B])}
    # The control plane gets the public subnets' zones too.
    assert result.control_plane_zones == names([C, B, D])
    assert result.notes[0] == GENERAL_NOTE.format(1, 17, 2) and result.warnings == ()


def test_an_existing_vpcs_subnets_are_checked() -> None:
    other = {**EXISTING, "subnet-99999999": Subnet("subnet-99999999", "vpc-0other999", D)}
    config = settings(network=existing(["subnet-bbbbbbbb", "subnet-99999999"]))
    aws = facts(config, subnets=other)
    assert refused(lambda: plan(config, aws)) == [
        ("network.private_subnet_ids[1]", "subnet-99999999", f"belongs to vpc-0other999, not to the existing VPC "
                                                             f"{VPC_ID}")]
    public = settings(network=existing(["subnet-bbbbbbbb", "subnet-cccccccc"], ["subnet-dddddddd", "subnet-99999999"]))
    assert refused(lambda: plan(public, aws))[0][:2] == ("network.public_subnet_ids[1]", "subnet-99999999")
    for key, ids in (("private", ["subnet-bbbbbbbb", "subnet-eeeeeeee"]), ("public", ["subnet-bbbbbbbb",
                                                                                       "subnet-cccccccc"])):
        config = settings(network=existing(ids, ["subnet-eeeeeeee"]) if key == "public" else existing(ids))
        assert refused(lambda config=config: plan(config, facts(config, subnets=EXISTING))) == [
            (f"network.{key}_subnet_ids[{1 if key == 'private' else 0}]", "subnet-eeeeeeee",
             "is in zone us-east-1e (use1-az3), where EKS does not allow control-plane subnets; choose subnets in "
             "other zones")]


def test_an_existing_vpcs_private_subnets_span_two_zones() -> None:
    config = settings(network=existing(["subnet-bbbbbbbb", "subnet-bbbbbbb2"], ["subnet-cccccccc"]))
    assert refused(lambda: plan(config, facts(config, subnets=EXISTING))) == [
        ("network.private_subnet_ids", ["subnet-bbbbbbbb", "subnet-bbbbbbb2"],
         "must span at least 2 Availability Zones (all are in us-east-1b)")]


def test_the_service_cidr_stays_out_of_every_cidr_of_an_existing_vpc() -> None:
    config = settings(network=existing(["subnet-bbbbbbbb", "subnet-cccccccc"]))
    assert refused(lambda: plan(config, facts(config, subnets=EXISTING, vpc_cidrs=("10.50.0.0/16", "172.20.128.0/20")))) \
        == [("cluster.service_cidr", "172.20.0.0/16", f"must not overlap the CIDR 172.20.128.0/20 of the existing VPC "
                                                      f"{VPC_ID}")]
    assert plan(config, facts(config, subnets=EXISTING, vpc_cidrs=("10.50.0.0/16", "172.21.0.0/16"))).zones == (B, C)


def test_an_existing_vpcs_live_control_plane_keeps_its_zones() -> None:
    config = settings(network=existing(["subnet-bbbbbbbb", "subnet-cccccccc", "subnet-ffffffff"]))
    cluster = DeployedCluster("ml", "1.35", VPC_ID, (EXISTING["subnet-bbbbbbbb"], EXISTING["subnet-cccccccc"]))
    result = plan(config, facts(config, subnets=EXISTING, deployed_cluster=cluster))
    assert result.zones == (B, C, F) and result.control_plane_zones == names([B, C])
    fewer = settings(network=existing(["subnet-bbbbbbbb", "subnet-ffffffff"]))
    assert refused(lambda: plan(fewer, facts(fewer, subnets=EXISTING, deployed_cluster=cluster))) == [
        ("network.private_subnet_ids", ["subnet-bbbbbbbb", "subnet-ffffffff"],
         CONTROL_PLANE_STAYS.format("us-east-1b (use1-az1), us-east-1c (use1-az2)", "us-east-1c (use1-az2)")
         + "Keep a subnet of us-east-1c among the existing subnet IDs, or recreate the cluster in the zones you want "
           "(another clusterName, or a new stack)")]
    # A cluster in another VPC is replaced with it: nothing of it is kept.
    moved = replace(cluster, vpc_id="vpc-0other999")
    assert plan(fewer, facts(fewer, subnets=EXISTING, deployed_cluster=moved)).control_plane_zones == names([B, F])


def test_a_new_vpc_replaces_a_cluster_that_ran_in_an_existing_one() -> None:
    cluster = DeployedCluster("ml", "1.35", VPC_ID, (EXISTING["subnet-aaaaaaaa"], EXISTING["subnet-ffffffff"]))
    config = settings()
    assert plan(config, facts(config, deployed_cluster=cluster)).control_plane_zones == names([B, C, D])


# --- GPU pools: where their groups go, and the live ones kept -------------------------------------

def test_a_gpu_pool_no_zone_of_the_cluster_offers_is_refused_naming_where_it_is_offered() -> None:
    config = settings(gpu_pools=[gpu("ga"), gpu("gb", instance_types=("g6e.xlarge",))])
    aws = facts(config, lacking={B: ["g6e.xlarge"], C: ["g6e.xlarge"], D: ["g6e.xlarge"], A: ["g6e.xlarge"]})
    moved = "Adding a pool never moves the cluster's subnets: list a zone that offers them among the zone IDs (it " \
            "gets subnets of its own, the others stay), or choose types the cluster's zones offer"
    assert refused(lambda: plan(config, aws)) == [
        ("network.availability_zone_ids", ["use1-az1", "use1-az2", "use1-az4"],
         "GPU pool 'gb': none of the cluster's zones offers its types (g6e.xlarge); us-east-1f (use1-az5) do. " + moved)]
    # A zone EKS refuses, or one without the general types, is no way out.
    nowhere = facts(config, lacking={z: ["g6e.xlarge"] for z in (A, B, C, D)} | {F: ["g6e.xlarge", *GENERAL_TYPES]})
    assert refused(lambda: plan(config, nowhere)) == [
        ("network.availability_zone_ids", ["use1-az1", "use1-az2", "use1-az4"],
         "GPU pool 'gb': none of the cluster's zones offers its types (g6e.xlarge); " + moved)]


def test_every_unoffered_pool_of_an_existing_vpc_is_reported() -> None:
    config = settings(network=existing(["subnet-bbbbbbbb", "subnet-cccccccc"]),
                      gpu_pools=[gpu("ga", instance_types=("g6e.xlarge",)), gpu("gb"),
                                 gpu("gc", instance_types=("g4dn.xlarge",))])
    aws = facts(config, subnets=EXISTING, lacking={z: ["g6e.xlarge", "g4dn.xlarge"] for z in ZONES})
    assert refused(lambda: plan(config, aws)) == [
        (f"gpu_pools[{i}].instance_types", [t], "none of these types is offered in any of the cluster's zones "
                                                "(us-east-1b (use1-az1), us-east-1c (use1-az2))")
        for i, t in ((0, "g6e.xlarge"), (2, "g4dn.xlarge"))]


def test_the_pools_after_an_unoffered_one_are_still_checked() -> None:
    config = settings(gpu_pools=[gpu("ga", instance_types=("g6e.xlarge",)), gpu("gb", max_size=1, warm_nodes=4)])
    aws = facts(config, lacking={z: ["g6e.xlarge"] for z in ZONES})
    assert [(field, value) for field, value, _ in refused(lambda: plan(config, aws))] == [
        ("network.availability_zone_ids", ["use1-az1", "use1-az2", "use1-az4"]), ("gpu_pools[1].warm_nodes", 4)]


def kept_group(pool: str, zone: str, groups: str, types: str, where: str, index: int) -> str:
    return (f"GPU pool '{pool}': {zone} no longer offers any of its types ({types}), but its Auto Scaling group "
            f"{groups} exists, so it is kept: deleting it would drain and terminate its running nodes. New nodes there "
            "will fail to launch, and the Cluster Autoscaler backs off the group for a while after each failure and "
            "scales the pool in its other zones. To remove the group, take the zone out deliberately: remove "
            f"{where} (a zone the control plane was not created in). Or give the pool types {zone} offers "
            f"(gpuPools[{index}].instanceTypes), and the group launches nodes again")


def test_a_live_group_stays_where_its_zone_stops_offering_the_types() -> None:
    config = settings(gpu_pools=[gpu("ga"), gpu("gb", on_demand_fallback=True)])
    groups = ["ml-ga-us-east-1b", "ml-ga-us-east-1c", "ml-gb-us-east-1b", "ml-gb-us-east-1b-on-demand", "ml-general"]
    aws = facts(config, lacking={B: GPU_TYPES, C: GPU_TYPES}, deployed_cluster=live([B, C, D], groups=groups))
    result = plan(config, aws)
    assert result.pool_zones == {"general": names([B, C, D]), "ga": names([B, C, D]), "gb": names([B, D])}
    assert result.warnings == (
        kept_group("ga", "us-east-1b", "ml-ga-us-east-1b", "g5.xlarge, g6.xlarge", "it from availabilityZoneIds", 0),
        kept_group("ga", "us-east-1c", "ml-ga-us-east-1c", "g5.xlarge, g6.xlarge", "it from availabilityZoneIds", 0),
        kept_group("gb", "us-east-1b", "ml-gb-us-east-1b and ml-gb-us-east-1b-on-demand", "g5.xlarge, g6.xlarge",
                   "it from availabilityZoneIds", 1))
    assert result.notes[0] == "GPU pool 'gb': no Auto Scaling group in us-east-1c, which offers none of g5.xlarge, " \
                              "g6.xlarge"
    # Every zone lost: the live groups keep the pool.
    everywhere = facts(config, lacking=dict.fromkeys(ZONES, GPU_TYPES), deployed_cluster=live([B, C, D], groups=groups))
    assert plan(config, everywhere).pool_zones["ga"] == names([B, C])


def test_a_group_in_a_zone_that_still_offers_the_types_is_no_news() -> None:
    config = settings()
    aws = facts(config, lacking={B: GPU_TYPES}, deployed_cluster=live([B, C, D], groups=["ml-gpu-us-east-1c"]))
    result = plan(config, aws)
    assert result.pool_zones["gpu"] == names([C, D]) and result.warnings == ()


def test_a_kept_group_of_an_existing_vpc_names_its_subnets() -> None:
    config = settings(network=existing(["subnet-bbbbbbbb", "subnet-cccccccc"]))
    cluster = DeployedCluster("ml", "1.35", VPC_ID, (EXISTING["subnet-bbbbbbbb"], EXISTING["subnet-cccccccc"]),
                              groups=frozenset({"ml-gpu-us-east-1c"}))
    result = plan(config, facts(config, subnets=EXISTING, lacking={C: GPU_TYPES}, deployed_cluster=cluster))
    assert result.warnings == (kept_group("gpu", "us-east-1c", "ml-gpu-us-east-1c", "g5.xlarge, g6.xlarge",
                                          "its subnets from existingPrivateSubnetIds", 0),)


# --- the AMI release ------------------------------------------------------------------------------

PARAMETER = "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/recommended/release_version"
OTHER_PARAMETER = "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/release_version"


def pin_warning(newer: str, which: str) -> str:
    pinned = DEFAULT_AMI_RELEASE_VERSION
    return (f"AMI release: amiReleaseVersion is unset, so every pool runs the package's pinned release {pinned}, and "
            f"AWS recommends a newer one, {newer} ({which}). If this cluster followed the recommended AMI before (the "
            f"old default), this `pulumi up` gives every launch template {pinned}'s AMI back: the general pool's "
            "instance refresh rolls its nodes onto it, and every GPU node launched from then on boots it. To keep "
            f"{newer}: `pulumi config set amiReleaseVersion {newer}` (or `recommended`, to keep following AWS); to take "
            f"the pin and silence this: `pulumi config set amiReleaseVersion {pinned}` (docs/upgrades.md, \"AMI "
            "releases\")")


def test_a_live_cluster_on_the_default_pin_is_warned_of_a_newer_recommended_release() -> None:
    config = settings()
    releases = {PARAMETER: "1.35.6-20990101", OTHER_PARAMETER: "1.35.6-20990101"}
    result = plan(config, facts(config, deployed_cluster=live([B, C, D]), recommended_ami_releases=releases))
    assert result.warnings == (pin_warning("v20990101", f"{PARAMETER}, {OTHER_PARAMETER}"),)
    assert not any("is newer and recommended" in note for note in result.notes)


def test_no_pin_warning_without_a_live_cluster_a_release_in_config_or_a_newer_one() -> None:
    releases = {PARAMETER: "1.35.6-20990101"}
    for config, cluster in ((settings(), None),
                            (settings(cluster=ClusterSettings(name="ml", ami_release_version=DEFAULT_AMI_RELEASE_VERSION)),
                             live([B, C, D]))):
        result = plan(config, facts(config, deployed_cluster=cluster, recommended_ami_releases=releases))
        assert result.warnings == ()
        assert result.notes[0].startswith(f"AMI release {DEFAULT_AMI_RELEASE_VERSION} is pinned (amiReleaseVersion); "
                                          "v20990101 is newer and recommended")
    config = settings()
    older = {PARAMETER: "1.35.6-" + DEFAULT_AMI_RELEASE_VERSION[1:]}
    result = plan(config, facts(config, deployed_cluster=live([B, C, D]), recommended_ami_releases=older))
    assert (result.notes, result.warnings) == ((GENERAL_NOTE.format(1, 17, 2),), ())


# --- each pool's shapes, local storage, warm nodes and image cache --------------------------------

def test_a_pool_with_bad_shapes_is_refused_and_checked_no_further() -> None:
    config = settings(general_pool=NodePoolSpec(name="general", instance_types=("m5.xlarge", "m6g.xlarge")),
                      gpu_pools=[gpu("ga", instance_types=("g5.xlarge", "m5.xlarge"), max_size=1, warm_nodes=9),
                                 gpu("gb", max_size=1, warm_nodes=4)])
    assert [(field, value) for field, value, _ in refused(lambda: plan(config))] == [
        ("general_pool.instance_types", "m6g.xlarge"), ("gpu_pools[0].instance_types", "m5.xlarge"),
        ("gpu_pools[1].warm_nodes", 4)]


def test_a_pool_partly_without_instance_store_is_told_it_stays_on_the_root_volume() -> None:
    config = settings(general_pool=NodePoolSpec(name="general", instance_types=("m5d.xlarge", "m5.xlarge")),
                      gpu_pools=[gpu("ga", instance_types=("g5.xlarge", "g6.xlarge"))])
    assert plan(config).notes[0] == (
        "pool 'general': kubelet, containerd and pod logs stay on the root volume: m5.xlarge has no NVMe instance "
        "store, so nodeadm's localStorage RAID0 is not used on any type of the pool (its template must hold for every "
        "node). Give the pool only types with instance store to use it, or set localStorage: none to silence this")
    assert plan(settings()).notes == (GENERAL_NOTE.format(1, 17, 2),)


WARM_NOTE = ("GPU pool '{}': warmNodes {} keeps {} node(s) of the pool ({}) running around the clock, each held by a "
             "placeholder pod that any pod of the pool preempts")


def test_warm_nodes_are_at_most_the_pools_nodes_in_its_zones() -> None:
    config = settings(gpu_pools=[gpu("ga", max_size=2, warm_nodes=6), gpu("gb", max_size=2, warm_nodes=4)])
    assert plan(config).notes[:2] == (WARM_NOTE.format("ga", 6, 6, "g5.xlarge or g6.xlarge"),
                                      WARM_NOTE.format("gb", 4, 4, "g5.xlarge or g6.xlarge"))
    # gb has groups in two zones only: 2 x 2 nodes.
    fewer = settings(gpu_pools=[gpu("ga", max_size=2, warm_nodes=6), gpu("gb", max_size=2, warm_nodes=5)])
    assert refused(lambda: plan(fewer, facts(fewer, lacking={B: GPU_TYPES}))) == [
        ("gpu_pools[0].warm_nodes", 6, "must not exceed the nodes the pool may have: maxSizePerAz 2 x 2 zone(s) = 4"),
        ("gpu_pools[1].warm_nodes", 5, "must not exceed the nodes the pool may have: maxSizePerAz 2 x 2 zone(s) = 4")]


def cached(size_gib: int | None = None, restore: bool = False, name: str = "gpu", **fields: Any) -> NodePoolSpec:
    return gpu(name, image_cache=ImageCacheSpec(SNAPSHOT, size_gib, restore), **fields)


SOCI_TAG = {SNAPSHOTTER_TAG: "soci"}


def test_an_image_cache_snapshot_must_exist() -> None:
    config = settings(gpu_pools=[cached()])
    for snapshots in ({}, {SNAPSHOT: None}):
        assert refused(lambda snapshots=snapshots: plan(config, facts(config, snapshots=snapshots))) == [
            ("gpu_pools[0].image_cache.snapshot_id", SNAPSHOT, SNAPSHOT_NOT_FOUND)]


def test_an_image_cache_volume_holds_its_snapshot() -> None:
    config = settings(gpu_pools=[cached(size_gib=99)])
    assert refused(lambda: plan(config, facts(config, snapshots={SNAPSHOT: 100}, snapshot_tags={SNAPSHOT: SOCI_TAG}))) \
        == [("gpu_pools[0].image_cache.size_gib", 99, f"must be at least the size of snapshot {SNAPSHOT} (100 GiB): EC2 "
                                                      "cannot make a volume smaller than its snapshot")]
    fits = settings(gpu_pools=[cached(size_gib=100)])
    assert plan(fits, facts(fits, snapshots={SNAPSHOT: 100}, snapshot_tags={SNAPSHOT: SOCI_TAG})).warnings == ()


def test_an_image_cache_snapshot_of_the_other_snapshotter_is_refused() -> None:
    config = settings(gpu_pools=[cached()])
    assert refused(lambda: plan(config, facts(config, snapshots={SNAPSHOT: 100},
                                              snapshot_tags={SNAPSHOT: {SNAPSHOTTER_TAG: "overlayfs"}}))) == [
        ("gpu_pools[0].image_cache.snapshot_id", SNAPSHOT,
         f"must hold images unpacked by the snapshotter the pool's nodes use: its tag {SNAPSHOTTER_TAG}=overlayfs says "
         "containerd's overlayfs snapshotter, layers unpacked in /var/lib/containerd, but the nodes read FastImagePull's "
         "SOCI snapshotter, layers unpacked in /var/lib/soci-snapshotter-grpc, and would pull every image again; build "
         "one with scripts/image_cache.py without --no-fast-image-pull")]
    # The general pool's nodes pull without FastImagePull.
    general = settings(general_pool=NodePoolSpec(name="general", image_cache=ImageCacheSpec(SNAPSHOT)))
    assert refused(lambda: plan(general, facts(general, snapshots={SNAPSHOT: 100},
                                               snapshot_tags={SNAPSHOT: SOCI_TAG})))[0][:2] == (
        "general_pool.image_cache.snapshot_id", SNAPSHOT)


def test_an_untagged_image_cache_snapshot_is_a_warning() -> None:
    config = settings(gpu_pools=[cached()])
    assert plan(config, facts(config, snapshots={SNAPSHOT: 100})).warnings == (
        f"pool 'gpu': image cache snapshot {SNAPSHOT} has no {SNAPSHOTTER_TAG} tag (not built by scripts/image_cache.py), "
        "so preview cannot check it holds what the nodes read: FastImagePull's SOCI snapshotter, layers unpacked in "
        "/var/lib/soci-snapshotter-grpc. Images unpacked by the other snapshotter are invisible to them and are pulled "
        f"again. Once you know, tag it: `aws ec2 create-tags --resources {SNAPSHOT} --tags "
        f"Key={SNAPSHOTTER_TAG},Value=soci`",)


RAID0_NEEDS = ("with localStorage RAID0 the image store must stay off the array (nodeadm's disabledMounts SOCI, since "
               "AMI release v20260120); the pinned release {} would put the SOCI store on the array, away from "
               "containerd's metadata on the cache volume. Pin a newer amiReleaseVersion, or set localStorage none")


def test_an_image_cache_on_raid0_needs_an_ami_release_that_keeps_the_store_off_the_array() -> None:
    def with_release(release: str, local_storage: str = "") -> Settings:
        return settings(cluster=ClusterSettings(name="ml", ami_release_version=release),
                        gpu_pools=[cached(local_storage=local_storage)])

    def tagged(config: Settings) -> AwsFacts:
        return facts(config, snapshots={SNAPSHOT: 100}, snapshot_tags={SNAPSHOT: SOCI_TAG})

    old = with_release("v20260119")
    assert refused(lambda: plan(old, tagged(old))) == [("gpu_pools[0].image_cache", SNAPSHOT,
                                                        RAID0_NEEDS.format("v20260119"))]
    for good in (with_release("v20260120"), with_release("recommended"), with_release("v20260119", "none")):
        assert plan(good, tagged(good)).warnings == ()


def test_fast_snapshot_restore_is_told_and_warned_past_its_credits() -> None:
    config = settings(gpu_pools=[cached(restore=True, max_size=5), cached(name="gb", max_size=6)])
    aws = facts(config, snapshots={SNAPSHOT: 200}, snapshot_tags={SNAPSHOT: SOCI_TAG})
    result = plan(config, aws)
    assert result.notes[0] == (
        "fast snapshot restore is enabled for 1 snapshot(s) in us-east-1; a region allows 5 by default, shared with "
        "the account's other stacks (Service Quotas, Amazon EBS), and each snapshot bills per zone and hour "
        "(docs/performance.md)")
    assert result.warnings == ()
    more = settings(gpu_pools=[cached(restore=True, max_size=6)])
    assert plan(more, facts(more, snapshots={SNAPSHOT: 200}, snapshot_tags={SNAPSHOT: SOCI_TAG})).warnings == (
        f"pool 'gpu': fast snapshot restore of {SNAPSHOT} (200 GiB) makes 5 fully initialised volume(s) per zone per "
        "hour (floor(1024 / 200), 1 to 10), and a zone may launch 6 nodes: volumes past the credits load their blocks "
        "from S3 on first read, and those nodes start cached images slowly. Lower the pool's maximum size "
        "(maxSizePerAz, maxSize on the general pool), or use a smaller snapshot",)
    # The general pool's nodes spread over its zones: 11 over 2 zones is 6 in one.
    general = settings(general_pool=NodePoolSpec(name="general", max_size=11, image_cache=ImageCacheSpec(
        SNAPSHOT, fast_snapshot_restore=True)), network=NewVpcSettings(az_count=2))
    overlay = facts(general, snapshots={SNAPSHOT: 200}, snapshot_tags={SNAPSHOT: {SNAPSHOTTER_TAG: "overlayfs"}})
    assert "a zone may launch 6 nodes" in plan(general, overlay).warnings[0]
    assert plan(settings(gpu_pools=[cached()]), facts(settings(gpu_pools=[cached()]), snapshots={SNAPSHOT: 1})).notes[
        0] == GENERAL_NOTE.format(1, 17, 2)


# --- tags as sent ---------------------------------------------------------------------------------

def user_tags(count: int) -> dict[str, str]:
    return {f"team{i}": "ml" for i in range(count)}


def test_user_tags_count_on_each_subnet() -> None:
    # A subnet carries the user's tags, the project's, Name and its two Kubernetes tags.
    config = settings(cluster=ClusterSettings(name="ml", tags=user_tags(47)), gpu_pools=[])
    assert refused(lambda: plan(config))[0] == ("cluster.tags", user_tags(47), "leads to 51 tags on each subnet; AWS "
                                                                               "allows 50 tags per resource")
    fewer = settings(cluster=ClusterSettings(name="ml", tags=user_tags(46)), gpu_pools=[])
    assert "on each subnet" not in refused(lambda: plan(fewer))[0][2]


def test_user_tags_count_on_each_group_with_the_propagated_ones() -> None:
    handler = {"aws-node-termination-handler/managed": "true"}
    limit = settings(cluster=ClusterSettings(name="ml", tags=user_tags(40)), gpu_pools=[])
    assert plan(limit).pool_zones == {"general": names([B, C, D])}
    assert refused(lambda: plan(limit, propagated=handler)) == [
        ("cluster.tags", {**user_tags(40), "eks-gpu-spot/cluster": "ml"}, "leads to 51 tags on the Auto Scaling group "
                                                                          "ml-general; AWS allows 50 tags per resource")]
    # A GPU group's node template tags count too; too many are the labels' fault when the pool has some.
    labelled = settings(cluster=ClusterSettings(name="ml", tags=user_tags(34)), gpu_pools=[gpu(labels={"team": "a"})])
    assert refused(lambda: plan(labelled)) == [
        ("gpu_pools[0].labels", {"team": "a"}, "leads to 51 tags on the Auto Scaling group ml-gpu-us-east-1b; AWS "
                                               "allows 50 tags per resource")]
    fits = settings(cluster=ClusterSettings(name="ml", tags=user_tags(33)), gpu_pools=[gpu(labels={"team": "a"})])
    assert plan(fits).pool_zones["gpu"] == names([B, C, D])
