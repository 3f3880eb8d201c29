"""The URN of every resource of the dev and prod stacks, pinned in tests/data/urns.json.

A URN is a resource's identity in a live stack: a new one is a delete and a create (the cluster
included) unless the resource names its old URN in `aliases`. tests/test_urn_snapshot.py fails on
any difference, so a rename lands together with its alias and the regenerated file.

`venv/bin/python -m tests.urn_snapshot --write` regenerates the file from the program. It refuses to
drop a URN that no current resource aliases, unless told why: `--removed "<why>"` records the reason
next to each dropped URN in the file, for the review.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.offline import FakeAws, ProgramRun, run_program, stack_config

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "data" / "urns.json"
PROJECT = "eks-gpu-spot"
STACKS = ("dev", "prod")
COMMAND = "venv/bin/python -m tests.urn_snapshot --write"


def config_of(stack: str) -> dict[str, Any]:
    return stack_config(ROOT / f"Pulumi.{stack}.yaml")


def run_stack(stack: str, config: Mapping[str, Any] | None = None, aws: FakeAws | None = None,
              catch_errors: bool = False) -> ProgramRun:
    """The stack run offline, AWS answering for every zone of its region (as `make render` does)."""
    config = dict(config_of(stack) if config is None else config)
    return run_program(config, main=ROOT / "__main__.py", project=PROJECT, stack=stack,
                       aws=aws or FakeAws(region=str(config["aws:region"])), catch_errors=catch_errors)


def urns(run: ProgramRun) -> dict[str, list[str]]:
    """URN -> its aliases, for every resource the run registered (components too)."""
    return {r.urn: sorted(r.aliases) for r in sorted(run.resources, key=lambda r: r.urn)}


def load() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}


def differences(pinned: Mapping[str, list[str]], current: Mapping[str, list[str]]) -> list[str]:
    """What differs, one line per URN: gone (and whether a current resource aliases it), new, or
    with other aliases."""
    aliased = {alias: urn for urn, aliases in current.items() for alias in aliases}
    lines = []
    for urn in sorted(pinned.keys() - current.keys()):
        lines.append(f"gone: {urn}" + (f" (aliased by {aliased[urn]})" if urn in aliased else " (no alias: replaced)"))
    lines += [f"new: {urn}" for urn in sorted(current.keys() - pinned.keys())]
    lines += [f"aliases changed: {urn}: {pinned[urn]} -> {current[urn]}"
              for urn in sorted(pinned.keys() & current.keys()) if pinned[urn] != current[urn]]
    return lines


def regenerate(pinned: Mapping[str, Any], current: Mapping[str, Mapping[str, list[str]]],
               why: str | None) -> dict[str, Any]:
    """The new snapshot; refuses (ValueError) to drop a URN no current resource aliases without `why`."""
    snapshot: dict[str, Any] = {}
    for stack, now in current.items():
        before = pinned.get(stack, {})
        aliased = {alias for aliases in now.values() for alias in aliases}
        dropped = sorted(set(before.get("urns", {})) - set(now) - aliased)
        if dropped and not why:
            raise ValueError(f"{stack}: these URNs would be dropped and no resource aliases them, so a live stack "
                             "would delete them and create new ones:\n  " + "\n  ".join(dropped)
                             + "\nAdd `aliases` to the renamed resources, or say why with --removed \"<why>\".")
        removed = {urn: reason for urn, reason in before.get("removed", {}).items() if urn not in now}
        removed.update(dict.fromkeys(dropped, why))
        snapshot[stack] = {"urns": dict(now), **({"removed": removed} if removed else {})}
    return snapshot


def main(argv: list[str]) -> int:
    why = argv[argv.index("--removed") + 1] if "--removed" in argv else None
    current = {stack: urns(run_stack(stack)) for stack in STACKS}
    if "--write" not in argv:
        for stack in STACKS:
            print(f"{stack}:", *(differences(load().get(stack, {}).get("urns", {}), current[stack]) or ["no change"]),
                  sep="\n  ")
        return 0
    try:
        snapshot = regenerate(load(), current, why)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: " + ", ".join(f"{s} {len(current[s])} URNs" for s in STACKS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
