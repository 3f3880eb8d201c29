"""Checks that need facts only AWS knows, made before the first resource exists (pure).

`plan_cluster` checks the Kubernetes version step against the running cluster, picks the zones
and each zone's subnet CIDRs, checks an existing VPC, each pool's instance shapes and where its
types are offered, and counts the tags every resource will carry. It raises `InvalidValueError`
with the `Settings` field at fault, or returns what the components need and what preview should
say (rollouts, a newer AMI release, a stack to pin).

Zones and CIDRs come from config and stable facts only (docs/upgrades.md): the zones EKS supports
that offer the general pool's types, in zone-ID order, unless `availability_zone_ids` pins them; CIDRs
keyed by zone (`zones.py`). What a live cluster already runs on is never moved unless config says so:
unpinned, its zones and CIDRs are kept, with a warning saying how to pin them; its control plane keeps
the zones it was created in; a GPU pool's live group stays when its zone stops offering the pool's
types.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import ami, validation
from .allocatable import RAID0
from .aws_facts import AwsFacts, Subnet, Zone
from .errors import Checks, InvalidValueError, within
from .image_cache import FSR_DEFAULT_SNAPSHOTS_PER_REGION, SNAPSHOT_NOT_FOUND, check_snapshotter, fsr_credit_warning
from .local_storage import DISABLED_MOUNT_SOCI_SINCE, local_storage_note, resolve_local_storage
from .network import ELB_ROLE_TAG, INTERNAL_ELB_ROLE_TAG, subnet_tags
from .node_template import InstanceShape
from .nodegroup import asg_plans, check_node_group_tags, check_warm_nodes
from .pool_spec import NodePoolSpec, check_image_cache, check_pool_shapes
from .rollout import refresh_policy, rollout_minutes
from .settings import ExistingVpcSettings, NewVpcSettings, Settings
from .userdata import feature_gates, snapshotter
from .versions import SUPPORTED_KUBERNETES_VERSIONS
from .zones import EKS_UNSUPPORTED_ZONE_IDS, slot_cidrs, zone_id_order


@dataclass(frozen=True)
class ZoneSubnets:
    """A zone of a new VPC and the CIDRs of its private (node) and public subnets."""

    zone: Zone
    private_cidr: str
    public_cidr: str


@dataclass(frozen=True)
class ClusterPlan:
    """`zones`: the node subnets' zones, in subnet order (by name for a new VPC); `subnets`: each
    zone's CIDRs (a new VPC only); `pool_zones`: pool name -> the zone names whose subnets get an
    Auto Scaling group of it; `control_plane_zones`: the zone names whose private and public subnets
    the control plane gets; `notes` and `warnings`: what to tell at preview."""

    zones: tuple[Zone, ...]
    pool_zones: Mapping[str, tuple[str, ...]]
    control_plane_zones: tuple[str, ...]
    subnets: tuple[ZoneSubnets, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def check_version_step(requested: str, deployed: str | None) -> None:
    """EKS moves a running control plane one minor per update and never back (UpdateClusterVersion):
    refuse (`kubernetes_version`) anything else before `pulumi up` fails halfway. No cluster yet
    (`deployed` None) or no change: nothing to check."""
    if deployed is None or requested == deployed:
        return
    have, want = _minor(deployed), _minor(requested)
    following = f"{have[0]}.{have[1] + 1}"
    if following not in SUPPORTED_KUBERNETES_VERSIONS:
        step = (f"{following} is not a minor this project supports ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)}): "
                f"move the control plane to it outside this program (aws eks update-cluster-version), then here")
    else:
        step = f"set {following} and run `pulumi up`"
    if want < have:
        raise InvalidValueError("kubernetes_version", requested,
                                f"the cluster runs {deployed} and EKS never downgrades a cluster: keep {deployed}"
                                + (f", or upgrade to {following}" if following in SUPPORTED_KUBERNETES_VERSIONS else ""))
    if want != (have[0], have[1] + 1):
        raise InvalidValueError("kubernetes_version", requested,
                                f"the cluster runs {deployed} and EKS upgrades one minor per update: the next "
                                f"allowed version is {following}; {step}, then go on one minor at a time to {requested}")


def rollout_notes(settings: Settings, deployed: str | None) -> tuple[list[str], list[str]]:
    """What preview says (notes, warnings) about how a changed launch template reaches each pool's
    nodes, and which nodes an upgrade from `deployed` leaves behind."""
    notes: list[str] = []
    warnings: list[str] = []
    handler = settings.termination_handler
    upgrade = deployed is not None and deployed != settings.cluster.kubernetes_version
    for pool in settings.pools:
        policy = refresh_policy(pool.gpu, pool.replace_busy_nodes)
        drain = pool.drain_timeout or f"{handler.heartbeat_timeout_seconds}s"
        if policy is not None and not pool.gpu:
            desired = pool.desired_size
            notes.append(f"pool '{pool.name}': a new launch template version rolls onto its nodes by instance "
                         f"refresh, one canary node and a {policy.checkpoint_delay_seconds // 60}-minute pause, then "
                         f"{policy.nodes_at_once(desired)} at a time, each launched before an old one is drained: "
                         f"about {rollout_minutes(policy, desired):.0f} minutes at its desired size {desired}")
        elif policy is not None:
            notes.append(f"GPU pool '{pool.name}': a new launch template version replaces its nodes one at a time, "
                         f"busy or not, each drained for up to {drain} (replaceBusyNodes)")
        elif pool.min_size > 0:
            notes.append(f"GPU pool '{pool.name}': its {pool.min_size} node(s) per zone (minSizePerAz) keep the "
                         "launch template they started with when it changes: the autoscaler never removes a "
                         "pool's minimum and the pool has no instance refresh (set replaceBusyNodes: true, or "
                         "replace them by hand)")
            if upgrade:
                warnings.append(f"GPU pool '{pool.name}': after this upgrade from {deployed} to "
                                f"{settings.cluster.kubernetes_version} its minSizePerAz node(s) keep kubelet "
                                f"{deployed}; kubelet may be at most 3 minors older than the control plane: replace "
                                "them (replaceBusyNodes: true, or by hand) before the third upgrade")
        if not handler.enabled and policy is not None:
            warnings.append(f"pool '{pool.name}': the termination handler is off, so an instance refresh "
                            "terminates its nodes without draining them")
    return notes, warnings


def _offers(facts: AwsFacts, zone: Zone, pool: NodePoolSpec) -> bool:
    return bool(facts.offerings.get(zone.zone_id, frozenset()) & set(pool.instance_types))


def _words(zones: Iterable[Zone]) -> str:
    return ", ".join(f"{z.name} ({z.zone_id})" for z in zones)


def _created_role(network: NewVpcSettings, subnet: Subnet) -> bool | None:
    """Whether a live subnet is a public (True) or private (False) one of those this program creates:
    tagged with its load-balancer role, inside the VPC CIDR of the config (with another CIDR the VPC
    is replaced, and every subnet with it); None for any other subnet."""
    public, private = (subnet.tags.get(tag) == "1" for tag in (ELB_ROLE_TAG, INTERNAL_ELB_ROLE_TAG))
    inside = bool(subnet.cidr_block) and ipaddress.IPv4Network(subnet.cidr_block).subnet_of(
        ipaddress.IPv4Network(network.vpc_cidr))
    return public if public != private and inside else None


def _deployed_subnets(network: NewVpcSettings, facts: AwsFacts) -> dict[tuple[str, bool], Subnet]:
    """(zone ID, public) -> the live subnet of that role, for the subnets this program creates: the
    control plane's and the others tagged for the cluster (zones added after its creation)."""
    cluster = facts.deployed_cluster
    found: dict[tuple[str, bool], Subnet] = {}
    for subnet in (*cluster.subnets, *cluster.vpc_subnets) if cluster else ():
        public = _created_role(network, subnet)
        if public is not None:
            found.setdefault((subnet.zone.zone_id, public), subnet)
    return found


def _pinned_zones(settings: Settings, network: NewVpcSettings, facts: AwsFacts) -> list[Zone]:
    by_id = {z.zone_id: z for z in facts.zones}
    checks = Checks()
    for index, zone_id in enumerate(network.availability_zone_ids):
        zone = by_id.get(zone_id)
        with checks.check(f"network.availability_zone_ids[{index}]"):
            if zone is None:
                raise InvalidValueError("", zone_id, f"is not a zone ID of {settings.region}, whose zones are "
                                        f"{_words(sorted(facts.zones, key=lambda z: zone_id_order(z.zone_id)))}")
            if not _offers(facts, zone, settings.general_pool):
                raise InvalidValueError("", zone_id, f"{zone.name} offers none of the general pool's types ("
                                        f"{', '.join(settings.general_pool.instance_types)}); choose another zone")
    checks.done()
    return [by_id[zone_id] for zone_id in network.availability_zone_ids]


def _eligible_zones(settings: Settings, facts: AwsFacts) -> list[Zone]:
    """The zones EKS supports that offer the general pool's types, in zone-ID order. Offerings of
    GPU types play no part: a pool never moves the cluster."""
    return sorted((z for z in facts.zones if z.zone_id not in EKS_UNSUPPORTED_ZONE_IDS
                   and _offers(facts, z, settings.general_pool)), key=lambda z: zone_id_order(z.zone_id))


def _chosen_zones(settings: Settings, network: NewVpcSettings, facts: AwsFacts, kept: Sequence[Zone]) -> list[Zone]:
    """`az_count` zones: those the live cluster runs in (`kept`), then the eligible ones."""
    eligible = _eligible_zones(settings, facts)
    count = network.az_count
    if len(kept) > count:
        raise InvalidValueError("network.az_count", count,
                                f"this stack's cluster runs in {len(kept)} zones ({_words(kept)}): to remove one, "
                                "list the zones to keep by ID (availabilityZoneIds) instead of a count")
    chosen = [*kept, *(z for z in eligible if z not in kept)][:count]
    if len(chosen) < count:
        left_out = [z for z in facts.zones if z not in eligible]
        raise InvalidValueError("network.az_count", count,
                                f"must be from 2 to {len(eligible)}: region {settings.region} has {len(eligible)} "
                                "Availability Zones that EKS supports and that offer the general pool's types"
                                + (f" (left out: {_words(left_out)})" if left_out else ""))
    return chosen


def _pin_commands(subnets: Sequence[ZoneSubnets], with_cidrs: bool) -> str:
    commands = [f"pulumi config set --path 'availabilityZoneIds[{i}]' {s.zone.zone_id}" for i, s in enumerate(subnets)]
    if with_cidrs:
        for key, attribute in (("privateSubnetCidrs", "private_cidr"), ("publicSubnetCidrs", "public_cidr")):
            commands += [f"pulumi config set --path '{key}[{i}]' {getattr(s, attribute)}" for i, s in enumerate(subnets)]
    # `;`: the count may be unset already, and the zone IDs refuse it.
    return "pulumi config rm availabilityZoneCount; " + " && ".join(commands)


_ROLES = ((False, "private_subnet_cidrs"), (True, "public_subnet_cidrs"))


def _planned_cidrs(network: NewVpcSettings, zones: Sequence[Zone], order: Sequence[Zone],
                   deployed: Mapping[tuple[str, bool], Subnet]) -> tuple[ZoneSubnets, ...]:
    """Each zone's CIDRs: given in config (paired with `order`), else the live subnet's, else the
    zone's slot."""
    planned: dict[tuple[str, bool], str] = {}
    for public, field in _ROLES:
        given = getattr(network, field)
        for zone in zones:
            live = deployed.get((zone.zone_id, public))
            slot = slot_cidrs(network.vpc_cidr, zone.name)
            if given:
                planned[(zone.zone_id, public)] = given[order.index(zone)]
            elif live is not None:
                planned[(zone.zone_id, public)] = live.cidr_block
            elif slot is not None:
                planned[(zone.zone_id, public)] = slot[public]
            else:
                raise InvalidValueError(f"network.{field}", [], "the layout by zone has room for zones a to g only; "
                                        f"give the subnets' CIDRs, one per zone, to use {zone.name}")
    return tuple(ZoneSubnets(z, planned[(z.zone_id, False)], planned[(z.zone_id, True)]) for z in zones)


def _check_cidrs(network: NewVpcSettings, subnets: Sequence[ZoneSubnets], order: Sequence[Zone],
                 deployed: Mapping[tuple[str, bool], Subnet]) -> list[str]:
    """Refuse subnets that overlap each other, or that are created (new, or replacing a live one)
    over a live subnet: Pulumi creates a replacement before it deletes the old subnet, and AWS
    refuses overlapping subnets. Returns the live subnets replaced or deleted, in words."""
    taken: list[ipaddress.IPv4Network] = []
    changed: list[str] = []
    for public, field in _ROLES:
        given = getattr(network, field)
        for subnet in subnets:
            cidr = subnet.public_cidr if public else subnet.private_cidr
            # Blamed on the list entry when the CIDR was given, else on the (empty) list.
            where, value = ((f"network.{field}[{order.index(subnet.zone)}]", cidr) if given
                            else (f"network.{field}", list(given)))
            network_cidr = ipaddress.IPv4Network(cidr)
            clash = next((t for t in taken if t.overlaps(network_cidr)), None)
            if clash is not None:
                raise InvalidValueError(where, value, f"subnets must not overlap (overlaps {clash})")
            taken.append(network_cidr)
            live = deployed.get((subnet.zone.zone_id, public))
            if live is not None and live.cidr_block == cidr:
                continue
            if live is not None:
                changed.append(f"{live.subnet_id} ({subnet.zone.name}, {live.cidr_block} -> {cidr})")
            under = next((d for d in deployed.values() if ipaddress.IPv4Network(d.cidr_block).overlaps(network_cidr)),
                         None)
            if under is not None:
                raise InvalidValueError(where, value,
                                        f"{subnet.zone.name}'s new subnet {cidr} overlaps the live subnet "
                                        f"{under.subnet_id} ({under.zone.name}, {under.cidr_block}), which still "
                                        "exists when the new one is created; AWS refuses overlapping subnets: choose "
                                        "a CIDR no live subnet uses")
    zones = {s.zone.zone_id for s in subnets}
    changed += [f"{d.subnet_id} ({d.zone.name}, {d.cidr_block}, deleted)" for (zone_id, _), d in deployed.items()
                if zone_id not in zones]
    return changed


def _new_vpc_layout(settings: Settings, network: NewVpcSettings,
                    facts: AwsFacts) -> tuple[tuple[ZoneSubnets, ...], list[str]]:
    """Each zone with its CIDRs, by zone name, and the warnings to give."""
    deployed = _deployed_subnets(network, facts)
    by_id = {z.zone_id: z for z in facts.zones}
    if network.availability_zone_ids:
        order = _pinned_zones(settings, network, facts)
    else:
        kept = sorted({by_id[zone_id] for zone_id, public in deployed if not public and zone_id in by_id},
                      key=lambda z: z.name)
        order = sorted(_chosen_zones(settings, network, facts, kept), key=lambda z: z.name)
    zones = sorted(order, key=lambda z: z.name)
    subnets = _planned_cidrs(network, zones, order, deployed)

    warnings: list[str] = []
    changed = _check_cidrs(network, subnets, order, deployed)
    if changed:
        warnings.append("network: live subnets replaced or deleted: " + ", ".join(changed) + ". AWS deletes a subnet "
                        "only once nothing runs in it (nodes, a NAT gateway, the control plane's network "
                        "interfaces): drain the zone first (docs/upgrades.md)")
    what = []
    if not network.availability_zone_ids:
        fresh = _eligible_zones(settings, facts)[:network.az_count]
        if {z.zone_id for z in fresh} != {z.zone_id for z in zones}:
            what.append(f"its cluster runs in {_words(zones)}, where a new stack would get {_words(fresh)}")
    given = network.private_subnet_cidrs or network.public_subnet_cidrs
    legacy = [s.zone.name for s in subnets
              if not given and slot_cidrs(network.vpc_cidr, s.zone.name) != (s.private_cidr, s.public_cidr)]
    if legacy:
        what.append(f"the subnets of {', '.join(legacy)} have the CIDRs of their old position, not of their zone")
    if what:
        warnings.append(f"network: this stack was planned before zones and subnets were keyed by zone: {'; '.join(what)}. "
                        "The plan keeps what is deployed; pin it once so that it no longer depends on the live "
                        f"cluster (docs/upgrades.md): `{_pin_commands(subnets, bool(legacy))}`")
    return subnets, warnings


def _existing_vpc_zones(network: ExistingVpcSettings, facts: AwsFacts) -> tuple[Zone, ...]:
    zones = []
    for name in ("private_subnet_ids", "public_subnet_ids"):
        for index, subnet_id in enumerate(getattr(network, name)):
            subnet = facts.subnets[subnet_id]
            if subnet.vpc_id != network.vpc_id:
                raise InvalidValueError(f"network.{name}[{index}]", subnet_id,
                                        f"belongs to {subnet.vpc_id}, not to the existing VPC {network.vpc_id}")
            if subnet.zone.zone_id in EKS_UNSUPPORTED_ZONE_IDS:
                raise InvalidValueError(f"network.{name}[{index}]", subnet_id,
                                        f"is in zone {subnet.zone.name} ({subnet.zone.zone_id}), where EKS does not "
                                        "allow control-plane subnets; choose subnets in other zones")
            if name == "private_subnet_ids":
                zones.append(subnet.zone)
    if len(set(zones)) < 2:
        raise InvalidValueError("network.private_subnet_ids", list(network.private_subnet_ids),
                                "must span at least 2 Availability Zones (all are in "
                                f"{', '.join(sorted({z.name for z in zones}))})")
    return tuple(zones)


def _live_control_plane_zones(settings: Settings, facts: AwsFacts) -> list[Zone]:
    """The zones of the live control plane's subnets, when the plan keeps that control plane: none
    before the first `pulumi up`, or when the cluster is replaced with its VPC (another VPC CIDR, or
    a move between a new and an existing VPC)."""
    cluster = facts.deployed_cluster
    if cluster is None:
        return []
    network = settings.network
    if isinstance(network, ExistingVpcSettings):
        kept = list(cluster.subnets) if cluster.vpc_id == network.vpc_id else []
    else:
        kept = [s for s in cluster.subnets if _created_role(network, s) is not None]
    return sorted({s.zone for s in kept}, key=lambda z: z.name)


def _control_plane_zones(settings: Settings, facts: AwsFacts, zones: Sequence[Zone]) -> tuple[str, ...]:
    """The names of the zones, among `zones` (those with subnets), whose subnets the control plane
    gets: all of them for a cluster to create; for a live one, the zones it was created in.

    EKS fixes a cluster's Availability Zones when it creates it. UpdateClusterConfig takes other
    subnets, but "the subnets passed as an update must contain the same set of AZs as originally
    passed when creating the cluster" (the EKS product manager on aws/containers-roadmap#170 when
    subnet updates shipped, October 2023; the EKS user guide's subnet requirements say the same, and
    #2258, open, asks for more). terraform-provider-aws, under pulumi-aws, updates the cluster's
    `vpc_config.subnet_ids` in place (internal/service/eks/cluster.go, resourceClusterUpdate ->
    updateVPCConfig, UpdateClusterConfig with the subnet IDs alone; the field is not ForceNew), so
    another zone set passes preview and fails halfway through `pulumi up`. So a zone added later gets
    node subnets and groups only, and removing a zone the control plane uses is refused here."""
    live = _live_control_plane_zones(settings, facts)
    if not live:
        return tuple(dict.fromkeys(z.name for z in zones))
    planned = {z.zone_id for z in zones}
    gone = [z for z in live if z.zone_id not in planned]
    if gone:
        network = settings.network
        reason = (f"the cluster's control plane runs in {_words(live)}, the zones it was created in, and EKS never "
                  "moves a control plane to other zones: an update of its subnets must keep the same set of zones "
                  "(UpdateClusterConfig; aws/containers-roadmap#2258), so removing "
                  f"{_words(gone)} would fail halfway through `pulumi up`. ")
        if isinstance(network, ExistingVpcSettings):
            raise InvalidValueError("network.private_subnet_ids", list(network.private_subnet_ids), reason
                                    + f"Keep a subnet of {', '.join(z.name for z in gone)} among the existing subnet "
                                      "IDs, or recreate the cluster in the zones you want (another clusterName, or "
                                      "a new stack)")
        raise InvalidValueError("network.availability_zone_ids",
                                list(network.availability_zone_ids) or [z.zone_id for z in zones], reason
                                + f"Keep {', '.join(z.zone_id for z in gone)} among the zone IDs (its subnets stay, "
                                  "with the control plane's network interfaces in them), or recreate the cluster in "
                                  "the zones you want (another clusterName, or a new stack)")
    kept = {z.zone_id for z in live}
    return tuple(dict.fromkeys(z.name for z in zones if z.zone_id in kept))


def _unoffered_pool(settings: Settings, facts: AwsFacts, zones: Sequence[Zone], path: str,
                    pool: NodePoolSpec) -> InvalidValueError:
    """A GPU pool none of the cluster's zones offers: refused, never a reason to move the cluster."""
    if isinstance(settings.network, ExistingVpcSettings):
        return InvalidValueError(f"{path}.instance_types", list(pool.instance_types),
                                 f"none of these types is offered in any of the cluster's zones ({_words(zones)})")
    elsewhere = [z for z in _eligible_zones(settings, facts) if z not in zones and _offers(facts, z, pool)]
    return InvalidValueError(
        "network.availability_zone_ids", [z.zone_id for z in zones],
        f"GPU pool '{pool.name}': none of the cluster's zones offers its types ({', '.join(pool.instance_types)}); "
        + (f"{_words(elsewhere)} do. " if elsewhere else "")
        + "Adding a pool never moves the cluster's subnets: list a zone that offers them among the zone IDs "
          "(it gets subnets of its own, the others stay), or choose types the cluster's zones offer")


def plan_cluster(settings: Settings, facts: AwsFacts, propagated_tags: Mapping[str, str]) -> ClusterPlan:
    """Version step, zones, subnets, shapes, offerings and tag counts checked; fields are those of
    `Settings`."""
    network = settings.network
    notes: list[str] = []
    warnings: list[str] = []
    subnets: tuple[ZoneSubnets, ...] = ()
    if isinstance(network, ExistingVpcSettings):
        zones = _existing_vpc_zones(network, facts)
        service = settings.cluster.service_network
        for cidr in facts.vpc_cidrs:
            if service.overlaps(ipaddress.IPv4Network(cidr)):
                raise InvalidValueError("cluster.service_cidr", settings.cluster.service_cidr,
                                        f"must not overlap the CIDR {cidr} of the existing VPC {network.vpc_id}")
        control_plane_zones = _control_plane_zones(
            settings, facts, [*zones, *(facts.subnets[s].zone for s in network.public_subnet_ids)])
    else:
        subnets, warnings = _new_vpc_layout(settings, network, facts)
        zones = tuple(s.zone for s in subnets)
        control_plane_zones = _control_plane_zones(settings, facts, zones)
    # Each pool is checked on its own, so that one run reports every pool at fault.
    checks = Checks()
    with checks.check("cluster"):
        check_version_step(settings.cluster.kubernetes_version, facts.deployed_kubernetes_version)
    for path, pool in settings.pool_paths():
        with checks.check(path):
            check_pool_shapes(pool, facts.shapes)

    pool_zones: dict[str, tuple[str, ...]] = {settings.general_pool.name: tuple(dict.fromkeys(z.name for z in zones))}
    for index, (path, pool) in enumerate(settings.pool_paths()[1:]):
        live = _live_groups_unoffered(settings, facts, zones, pool)
        offered = tuple(dict.fromkeys(z.name for z in zones if _offers(facts, z, pool) or z.name in live))
        if not offered:
            with checks.check():
                raise _unoffered_pool(settings, facts, zones, path, pool)
            continue
        skipped = [z.name for z in zones if z.name not in offered]
        if skipped:
            notes.append(f"GPU pool '{pool.name}': no Auto Scaling group in {', '.join(skipped)}, which offers none "
                         f"of {', '.join(pool.instance_types)}")
        warnings.extend(_kept_group_warning(settings, pool, index, zone, names) for zone, names in live.items())
        pool_zones[pool.name] = offered
    ami_warning = _pinned_default_warning(settings, facts)
    warnings.extend([ami_warning] if ami_warning else [])
    notes += ami.newer_release_notes(settings.cluster.ami_release_version, facts.recommended_ami_releases,
                                     newer=not ami_warning)

    for path, pool in settings.pool_paths():
        if not checks.ok(path) or pool.name not in pool_zones:
            continue
        shapes = [facts.shapes[t] for t in pool.instance_types]
        note = local_storage_note(pool.name, pool.local_storage, shapes)
        if note:
            notes.append(note)
        zone_count = len(pool_zones[pool.name])
        with checks.check(path):
            check_warm_nodes(pool, zone_count)
        with checks.check(path):
            warnings.extend(_image_cache_checks(settings, pool, shapes, facts, zone_count))
        if pool.warm_nodes:
            notes.append(f"GPU pool '{pool.name}': warmNodes {pool.warm_nodes} keeps {pool.warm_nodes} node(s) of the "
                         f"pool ({' or '.join(pool.instance_types)}) running around the clock, each held by a "
                         "placeholder pod that any pod of the pool preempts")
    fsr_snapshots = {p.image_cache.snapshot_id for p in settings.pools if p.image_cache and p.image_cache.fast_snapshot_restore}
    if fsr_snapshots:
        notes.append(f"fast snapshot restore is enabled for {len(fsr_snapshots)} snapshot(s) in {settings.region}; a "
                     f"region allows {FSR_DEFAULT_SNAPSHOTS_PER_REGION} by default, shared with the account's other "
                     "stacks (Service Quotas, Amazon EBS), and each snapshot bills per zone and hour "
                     "(docs/performance.md)")

    user_tags = settings.cluster.resource_tags
    for public in (True, False):
        tags = [*user_tags.items(), ("Name", "x"), *subnet_tags(settings.cluster.name, public).items()]
        with checks.check():
            validation.tags_as_sent("cluster.tags", dict(settings.cluster.tags), tags, "each subnet")
    for path, pool in settings.pool_paths():
        if checks.ok(path) and pool.name in pool_zones:
            with checks.check():
                check_node_group_tags(settings.cluster.name, pool, [facts.shapes[t] for t in pool.instance_types],
                                      pool_zones[pool.name], propagated_tags, user_tags,
                                      labels_field=f"{path}.labels", tags_field="cluster.tags")
    checks.done()
    rollouts, rollout_warnings = rollout_notes(settings, facts.deployed_kubernetes_version)
    return ClusterPlan(zones=tuple(zones), pool_zones=pool_zones, control_plane_zones=control_plane_zones,
                       subnets=subnets, notes=(*notes, *rollouts), warnings=(*warnings, *rollout_warnings))


def _live_groups_unoffered(settings: Settings, facts: AwsFacts, zones: Sequence[Zone],
                           pool: NodePoolSpec) -> dict[str, list[str]]:
    """Zone name -> the pool's live Auto Scaling groups there, for the cluster's zones that no longer
    offer any of the pool's types. Offerings decide where a pool's groups are created, never that a
    live one goes: deleting it would drain and terminate its running nodes at an unrelated
    `pulumi up` (docs/upgrades.md, "What changes when")."""
    cluster = facts.deployed_cluster
    if cluster is None:
        return {}
    found: dict[str, list[str]] = {}
    for zone in zones:
        names = [p.name for p in asg_plans(settings.cluster.name, pool, [zone.name]) if p.name in cluster.groups]
        if names and not _offers(facts, zone, pool):
            found[zone.name] = names
    return found


def _kept_group_warning(settings: Settings, pool: NodePoolSpec, index: int, zone: str, names: Sequence[str]) -> str:
    where = ("its subnets from existingPrivateSubnetIds" if isinstance(settings.network, ExistingVpcSettings)
             else "it from availabilityZoneIds")
    return (f"GPU pool '{pool.name}': {zone} no longer offers any of its types ({', '.join(pool.instance_types)}), but "
            f"its Auto Scaling group {' and '.join(names)} exists, so it is kept: deleting it would drain and terminate "
            "its running nodes. New nodes there will fail to launch, and the Cluster Autoscaler backs off the group "
            "for a while after each failure and scales the pool in its other zones. To remove the group, take the "
            f"zone out deliberately: remove {where} (a zone the control plane was not created in). Or give the pool "
            f"types {zone} offers (gpuPools[{index}].instanceTypes), and the group launches nodes again")


def _pinned_default_warning(settings: Settings, facts: AwsFacts) -> str | None:
    """The warning for a live cluster that sets no AMI release while AWS recommends a newer one than
    the package's pin: if it followed `recommended` (the old default), its nodes run that newer
    release, and this `pulumi up` takes every launch template back to the pin."""
    cluster = settings.cluster
    if facts.deployed_cluster is None or cluster.ami_release_from_config:
        return None
    newer = ami.newer_release(cluster.ami_release_version, facts.recommended_ami_releases)
    if newer is None:
        return None
    release, which = newer
    return (f"AMI release: amiReleaseVersion is unset, so every pool runs the package's pinned release "
            f"{cluster.ami_release_version}, and AWS recommends a newer one, {release} ({which}). If this cluster "
            "followed the recommended AMI before (the old default), this `pulumi up` gives every launch template "
            f"{cluster.ami_release_version}'s AMI back: the general pool's instance refresh rolls its nodes onto it, "
            f"and every GPU node launched from then on boots it. To keep {release}: "
            f"`pulumi config set amiReleaseVersion {release}` (or `recommended`, to keep following AWS); to take the "
            f"pin and silence this: `pulumi config set amiReleaseVersion {cluster.ami_release_version}` "
            "(docs/upgrades.md, \"AMI releases\")")


def _image_cache_checks(settings: Settings, pool: NodePoolSpec, shapes: list[InstanceShape],
                        facts: AwsFacts, zone_count: int) -> list[str]:
    """Refuses a snapshot AWS does not find, a volume smaller than it, a snapshot tagged with the
    other snapshotter than the pool's nodes use, and an image cache on a RAID0 pool whose pinned AMI
    release cannot keep the image store off the array; returns the untagged-snapshot and
    restore-credit warnings. Fields are those of `pool`."""
    cache = pool.image_cache
    if cache is None:
        return []
    snapshot_gib = facts.snapshots.get(cache.snapshot_id)
    if snapshot_gib is None:
        raise InvalidValueError("image_cache.snapshot_id", cache.snapshot_id, SNAPSHOT_NOT_FOUND)
    check_image_cache(pool, snapshot_gib)
    gates = feature_gates(pool.gpu)
    with within("image_cache"):
        tag_warning = check_snapshotter(cache, facts.snapshot_tags.get(cache.snapshot_id, {}), {
            s.instance_type: snapshotter(gates, s.vcpus, s.memory_mib) for s in shapes}, pool.name)
    release = settings.cluster.ami_release_version
    if resolve_local_storage(pool.local_storage, shapes) == RAID0 and ami.is_pinned_before(release,
                                                                                            DISABLED_MOUNT_SOCI_SINCE):
        raise InvalidValueError("image_cache", cache.snapshot_id,
                                f"with localStorage RAID0 the image store must stay off the array (nodeadm's "
                                f"disabledMounts SOCI, since AMI release {DISABLED_MOUNT_SOCI_SINCE}); the pinned "
                                f"release {release} would put the SOCI store on the array, away from containerd's "
                                "metadata on the cache volume. Pin a newer amiReleaseVersion, or set localStorage none")
    credit_warning = fsr_credit_warning(pool.name, cache, snapshot_gib, pool.max_nodes_in_zone(zone_count))
    return [w for w in (tag_warning, credit_warning) if w]
