"""Render what a stack would deploy, with no AWS account and no Pulumi CLI.

    eks-gpu-spot-render --stack dev [--project-dir DIR] [--out DIR]
    (in this project: `make render STACK=dev`, which runs `python -m components.render`)

Runs the project's program (`main:` of its Pulumi.yaml, `__main__.py` by default) with the config of
its `Pulumi.<stack>.yaml` offline (`offline.py`: AWS answered for the stack's own region, real
instance shapes, pulumi-eks's outputs faked) and writes, under `<project>/rendered/<stack>/` by
default:

- one YAML file per Kubernetes object, exactly the object the program sends to the API server
  (apiVersion, kind, metadata, spec, ...), named `<kind>-<namespace>-<name>.yaml`;
- aws-resources.json: every AWS resource, as a list of {type, name, inputs} sorted by type and name.

It prints what a preview would print besides (notes, warnings). Pulumi registers resources
concurrently, so names and order come from the objects, never from the order of registration:
two renders of the same config are identical files. Values that only exist after a real
deployment (IDs, ARNs, the cluster endpoint) are stand-ins: read the files for what is configured.

A config the program refuses is printed as its error lines, with no traceback, and the command
exits 1. An instance type the offline instance table lacks is said to be missing there, since a
real preview would ask EC2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml

from .offline import DEFAULT_REGION, FakeAws, ProgramRun, project_name, run_program, stack_config

AWS_RESOURCES_FILE = "aws-resources.json"
# The top-level keys a manifest starts with, in the order kubectl shows them.
LEADING_KEYS = ("apiVersion", "kind", "metadata")
STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
OFFLINE_TABLE_LACKS = ("the offline instance table (components/instance_catalog.py) lacks this type, so this render "
                       "cannot show it; a real `pulumi preview` asks EC2")


class RenderError(Exception):
    """Why nothing was rendered, in lines for the user (no traceback)."""


def normalized(value: Any) -> Any:
    """The value as the providers read it off Pulumi's wire format (a protobuf Struct), in a stable
    form: the Struct carries every number as a double (`replicas: 1` arrives as 1.0) and the
    providers turn whole ones back into integers, as this does for readers and scanners; a Struct's
    key order is not kept from one run to the next, so keys are sorted."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: normalized(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def manifest(inputs: dict[str, Any]) -> dict[str, Any]:
    """The object as sent, with apiVersion, kind and metadata first for the reader."""
    inputs = normalized(inputs)
    ordered = {key: inputs[key] for key in LEADING_KEYS if key in inputs}
    ordered.update((key, value) for key, value in inputs.items() if key not in ordered)
    return ordered


def file_name(obj: dict[str, Any], resource_name: str) -> str:
    metadata = obj.get("metadata") or {}
    parts = [str(obj.get("kind", "object")), metadata.get("namespace") or "", metadata.get("name") or resource_name]
    return "-".join(re.sub(r"[^a-z0-9.]+", "-", part.lower()).strip("-") for part in parts if part) + ".yaml"


def is_aws_resource(resource_type: str) -> bool:
    # aws:* resources, plus pulumi-eks's remote eks:index:Cluster component (it creates the control
    # plane; its children are not visible offline). The project's own components are not resources.
    return resource_type.startswith(("aws:", "eks:"))


def error_lines(run: ProgramRun) -> list[str]:
    """The lines that say why the run stopped. A refused instance type the offline table lacks is
    blamed on the table, not on the region."""
    error = run.error
    lines = str(error).splitlines() if isinstance(error, pulumi.RunError) else [f"{type(error).__name__}: {error}"]
    for instance_type in sorted(run.aws.missing_types):
        refused = f"got {instance_type!r};"
        lines = [line.split(refused)[0] + f"{refused} {OFFLINE_TABLE_LACKS}" if refused in line else line
                 for line in lines]
    return lines


def run_stack(project_dir: Path, stack: str, snapshots: Mapping[str, int] | None = None) -> ProgramRun:
    """The project's program run offline with the stack's config; RenderError when it stopped.
    `snapshots` (EBS snapshot ID -> GiB) are the image cache snapshots the offline AWS knows."""
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not STACK_NAME.fullmatch(stack) or not stack_file.is_file():
        raise RenderError(f"{stack_file.name} not found: STACK={stack} has no stack file in {project_dir}")
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    main = project_dir / str(project.get("main") or "")
    if main.is_dir() or not main.suffix:
        main = main / "__main__.py"
    # The program imports its own modules (this project: config, components) from its folder.
    sys.path.insert(0, str(project_dir))
    try:
        config = stack_config(stack_file)
        aws = FakeAws(region=str(config.get("aws:region") or DEFAULT_REGION), snapshots=dict(snapshots or {}))
        run = run_program(config, main=main, project=project_name(project_dir), stack=stack, aws=aws,
                          catch_errors=True)
    finally:
        sys.path.remove(str(project_dir))
    if run.error is not None:
        raise RenderError("\n".join(error_lines(run)))
    return run


def write(run: ProgramRun, out_dir: Path) -> tuple[int, int]:
    """The files of a run under `out_dir`: (Kubernetes objects, AWS resources) written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # The kinds of file this command writes are removed first, so that a render never mixes two runs.
    for old in [*out_dir.glob("*.yaml"), out_dir / AWS_RESOURCES_FILE]:
        old.unlink(missing_ok=True)

    kubernetes_objects = run.kubernetes_objects()
    written: set[str] = set()
    for resource in kubernetes_objects:
        obj = manifest(resource.inputs)
        name = file_name(obj, resource.name)
        if name in written:
            raise RenderError(f"two Kubernetes objects render to {name}")
        written.add(name)
        (out_dir / name).write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))

    aws_resources = sorted(({"type": r.type, "name": r.name, "inputs": normalized(r.inputs)}
                            for r in run.resources if is_aws_resource(r.type)),
                           key=lambda r: (r["type"], r["name"]))
    (out_dir / AWS_RESOURCES_FILE).write_text(json.dumps(aws_resources, indent=2, default=str) + "\n")
    return len(kubernetes_objects), len(aws_resources)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Render what a stack would deploy, with no AWS account "
                                                            "and no Pulumi CLI.")
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to render (default dev)")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(),
                        help="the Pulumi project (its Pulumi.yaml and stack files; default: this folder)")
    parser.add_argument("--out", type=Path, help="output folder (default <project-dir>/rendered/<stack>/)")
    parser.add_argument("--snapshot", action="append", default=[], metavar="SNAPSHOT_ID=GIB",
                        help="an image cache snapshot and its size, which offline AWS cannot know (repeatable)")
    args = parser.parse_args(argv)
    snapshots = {}
    for item in args.snapshot:
        snapshot_id, _, size = item.partition("=")
        if not size.isdigit():
            parser.error(f"--snapshot {item!r}: expected SNAPSHOT_ID=GIB, such as snap-0123456789abcdef0=100")
        snapshots[snapshot_id] = int(size)
    project_dir = args.project_dir.resolve()
    try:
        run = run_stack(project_dir, args.stack, snapshots)
        out_dir = args.out or project_dir / "rendered" / args.stack
        objects, aws_resources = write(run, out_dir)
    except RenderError as error:
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    for severity, message in run.logs:
        print(f"{severity}: {message}")
    region = run.aws.region
    print(f"Rendered stack {args.stack} ({region}) offline: {objects} Kubernetes objects and {aws_resources} AWS "
          f"resources in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog=f"python -m {__package__}.render"))
