"""Which build each managed EKS add-on runs (pure): the rule that keeps plans stable.

EKS never moves an add-on by itself, neither when AWS publishes a new default build nor when the
control plane changes minor ("Update an Amazon EKS add-on"). The program decides, at every preview,
from the live builds (`aws_facts.DeployedCluster.addon_versions`):

- a pin (`managed_addon_versions`) always wins;
- a live add-on keeps its build while the cluster stays on its minor: never downgraded (stacks whose
  add-ons pulumi-eks created run its `mostRecent` builds), never moved because AWS changed its default;
- on a minor step (the add-on's build was chosen for another minor: its `ADDON_MINOR_TAG`), each live
  add-on moves to the new minor's default build (`aws.eks.get_addon_version`,
  most_recent false), unless its build is already newer and still compatible: not newer than the new
  minor's newest build. `aws eks describe-addon-versions --kubernetes-version <minor>` lists the
  compatible builds (their `compatibilities[].clusterVersion`), newest first; the provider's invoke
  only gives the default and the newest, so this takes the builds in between as compatible too;
- an add-on that does not run yet (a new cluster, or one never created) gets the default.

vpc-cni moves one minor at a time: EKS refuses any other update ("Updating VPC-CNI can only go up or
down 1 minor version at a time", terraform-aws-eks#2749). A pin that jumps further is refused; a move
to a new minor's default that would jump further is not made: the add-on keeps its build, and preview
warns with the intermediate step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .aws_facts import AddonBuilds
from .errors import InvalidValueError
from .settings import MANAGED_ADDON_NAMES

VPC_CNI = "vpc-cni"
_BUILD = re.compile(r"v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)")


def build_key(version: str) -> tuple[int, int, int, int] | None:
    """`v1.20.1-eksbuild.3` -> (1, 20, 1, 3), to compare builds; None for another form."""
    match = _BUILD.fullmatch(version)
    return (int(match[1]), int(match[2]), int(match[3]), int(match[4])) if match else None


def newer(version: str, than: str) -> bool:
    mine, theirs = build_key(version), build_key(than)
    return mine is not None and theirs is not None and mine > theirs


def minor_jump(live: str, target: str) -> int:
    """How many add-on minors (the second number) lie between two builds; 0 when either is unreadable."""
    old, new = build_key(live), build_key(target)
    if old is None or new is None or old[0] != new[0]:
        return 0
    return abs(new[1] - old[1])


def addon_version(*, pinned: str | None, live: str | None, minor_step: bool, builds: AddonBuilds | None) -> str | None:
    """The build an add-on should run; None: the EKS default of the cluster's minor (`Cluster` reads it)."""
    if pinned:
        return pinned
    if live is None:
        return None
    if not minor_step:
        return live
    if builds is None:
        return None
    if newer(live, builds.default) and not newer(live, builds.newest):
        return live
    return builds.default


@dataclass(frozen=True)
class AddonPlan:
    """What `resolve_addon_versions` decided: `versions` (by `managed_addon_versions` key; a key left
    out takes the EKS default), `held` (key -> the Kubernetes minor the build it keeps was chosen for,
    for an add-on that cannot follow this step yet), and what preview says (`notes`, `warnings`)."""

    versions: dict[str, str]
    held: dict[str, str]
    notes: list[str]
    warnings: list[str]


def resolve_addon_versions(pins: Mapping[str, str], live: Mapping[str, str], live_minors: Mapping[str, str],
                           minor: str, builds: Mapping[str, AddonBuilds]) -> AddonPlan:
    """The version of each managed add-on (by `managed_addon_versions` key; a key left out takes the
    EKS default of `minor`), and what preview should say (notes, warnings). `live` (the builds that
    run), `live_minors` (the Kubernetes minor each was chosen for: `DeployedCluster.addon_minor`) and
    `builds` (of `minor`, read for the add-ons that step) are by EKS add-on name. An add-on steps when
    its build was chosen for another minor than `minor`, also when an earlier `pulumi up` moved the
    control plane and stopped before the add-ons. Refuses (`managed_addon_versions.vpcCni`) a pin EKS
    would refuse."""
    versions: dict[str, str] = {}
    held: dict[str, str] = {}
    notes: list[str] = []
    warnings: list[str] = []
    for key, name in MANAGED_ADDON_NAMES.items():
        running, pinned, published = live.get(name), pins.get(key), builds.get(name)
        minor_step = running is not None and live_minors.get(name, minor) != minor
        version = addon_version(pinned=pinned, live=running, minor_step=minor_step, builds=published)
        if version is None:
            continue
        jump = minor_jump(running, version) if name == VPC_CNI and running else 0
        if running and jump > 1:
            steps = (f"pin a {_next_minor(running, version)} build first (`pulumi config set --path "
                     f"'managedAddonVersions.{key}' <build>`; `aws eks describe-addon-versions --addon-name {name} "
                     f"--kubernetes-version {minor}` lists them) and `pulumi up`, then {version}")
            if pinned:
                raise InvalidValueError(f"managed_addon_versions.{key}", pinned,
                                        f"the cluster runs {name} {running}, {jump} minors away, and EKS moves {name} "
                                        f"one minor at a time: {steps}")
            warnings.append(f"managed add-on {name}: Kubernetes {minor}'s default build {version} is {jump} minors from "
                            f"the running {running}, and EKS moves {name} one minor at a time, so it stays on {running} "
                            f"for now: {steps}")
            version = running
            held[key] = live_minors.get(name, minor)
        elif published and minor_step and not pinned and version == running and newer(version, published.default):
            notes.append(f"managed add-on {name}: keeps {running} on Kubernetes {minor}: newer than the minor's default "
                         f"build {published.default}, not newer than its newest {published.newest}")
        versions[key] = version
    return AddonPlan(versions, held, notes, warnings)


def _next_minor(running: str, target: str) -> str:
    """The add-on minor one step from `running` towards `target`, such as `v1.19`."""
    old, new = build_key(running), build_key(target)
    assert old is not None and new is not None
    return f"v{old[0]}.{old[1] + (1 if new > old else -1)}"
