"""The tests' way to run the whole program (`__main__.py`) offline: `components/offline.py` with the
project's defaults, and assertions shared by many tests.

`run_program(config)` returns every registered resource (type, name, inputs, parent, options), every
stack output (value and secretness), the invokes and the log lines. AWS answers for the config's
`aws:region` (us-east-1 by default) with real instance shapes (see `FakeAws`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from components.offline import (
    FAKE_ACCOUNT,
    FAKE_VPC_ID,
    QUOTA_UNREADABLE,
    US_EAST_1_ZONE_IDS,
    FakeAws,
    ProgramRun,
    Registered,
    region_zones,
    stack_config,
)
from components.offline import run_program as run_offline

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"
PROJECT = "eks-gpu-spot"
REGION = "us-east-1"
ACCOUNT = FAKE_ACCOUNT
VPC_ID = FAKE_VPC_ID
# The us-east-1 zones EKS accepts control-plane subnets in: us-east-1e (use1-az3) is left out.
ZONES = tuple(z for z in region_zones(REGION) if US_EAST_1_ZONE_IDS[z] != "use1-az3")

__all__ = ["ACCOUNT", "MAIN", "PROJECT", "QUOTA_UNREADABLE", "REGION", "ROOT", "VPC_ID", "ZONES", "ProgramRun",
           "Registered", "assert_refused", "run_program", "stack_config"]


def run_program(
    config: Mapping[str, Any],
    *,
    stack: str = "test",
    zones: Iterable[str] | None = None,
    subnet_zones: Mapping[str, str] | None = None,
    not_offered: Mapping[str, set[str]] | None = None,
    subnet_vpcs: Mapping[str, str] | None = None,
    subnet_cidrs: Mapping[str, str] | None = None,
    vpc_cidrs: list[str] | None = None,
    quotas: Mapping[str, float | str] | None = None,
    deployed_clusters: Mapping[str, str] | None = None,
    snapshots: Mapping[str, int] | None = None,
    snapshot_tags: Mapping[str, Mapping[str, str]] | None = None,
    expect_error: bool = False,
    main: Path = MAIN,
    project: str = PROJECT,
) -> ProgramRun:
    """Run the program with `config` (keys with or without the `eks-gpu-spot:` prefix).

    AWS answers (`FakeAws`) for the config's region: its `zones` (default: us-east-1a, b and c in
    us-east-1, as most tests were written against them; every standard zone of another region), every catalog instance type offered in every zone except `not_offered` (zone name
    -> types), existing subnets in `subnet_zones` of the VPC VPC_ID (or `subnet_vpcs`), with
    `subnet_cidrs`, in a VPC whose CIDRs are `vpc_cidrs`, EC2 vCPU `quotas` (quota code -> vCPUs, or QUOTA_UNREADABLE for a failed read),
    EKS clusters that exist already (`deployed_clusters`, name -> Kubernetes version; default none), EBS
    `snapshots` (ID -> GiB; others are not found) with their `snapshot_tags` (ID -> tags; default none).
    With `expect_error`, a raised error is returned in `.error` instead of propagating, with
    whatever was registered before it.
    """
    region = str(config.get("aws:region") or REGION)
    if zones is None and region == REGION:
        zones = ZONES[:3]
    aws = FakeAws(region=region, zones=list(zones) if zones is not None else None,
                  not_offered=dict(not_offered or {}), subnet_zones=dict(subnet_zones or {}),
                  subnet_vpcs=dict(subnet_vpcs or {}), subnet_cidrs=dict(subnet_cidrs or {}), vpc_cidrs=list(vpc_cidrs or ["10.50.0.0/16"]),
                  quotas=dict(quotas or {}), clusters=dict(deployed_clusters or {}),
                  snapshots=dict(snapshots or {}), snapshot_tags=dict(snapshot_tags or {}))
    run = run_offline(config, main=main, project=project, stack=stack, aws=aws, catch_errors=expect_error)
    if expect_error and run.error is None:
        raise AssertionError("the program was expected to fail but succeeded")
    return run


def assert_refused(run: ProgramRun, key: str, allowed: str) -> None:
    """The run stopped with one line naming the stack `key` and what is allowed
    (`config key '<key>': got ...; ...<allowed>...`), before any resource was registered."""
    from config import ConfigError

    assert isinstance(run.error, ConfigError), run.error
    assert run.error.key == key
    message = str(run.error)
    assert message.startswith(f"config key '{key}': got "), message
    assert allowed in message, message
    assert "\n" not in message
    assert run.resources == []
