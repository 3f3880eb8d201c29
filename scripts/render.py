"""Render what a stack would deploy, with no AWS account and no Pulumi CLI.

    venv/bin/python scripts/render.py --stack dev [--out DIR]     (or: make render STACK=dev)

Runs the program (`__main__.py`) with the stack's config under the project's Pulumi mocks
(tests/harness.py, which answers the AWS look-ups with real instance shapes and fakes pulumi-eks's
outputs) and writes, under rendered/<stack>/ by default:

- one YAML file per Kubernetes object, exactly the object the program sends to the API server
  (apiVersion, kind, metadata, spec, ...), named `<kind>-<namespace>-<name>.yaml`;
- aws-resources.json: every AWS resource, as a list of {type, name, inputs} sorted by type and name.

Pulumi registers resources concurrently, so names and order come from the objects, never from the
order of registration: two renders of the same config are identical files.

Values that only exist after a real deployment (IDs, ARNs, the cluster endpoint) are the mocks'
stand-ins: read the files for what is configured, not for those values.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
AWS_RESOURCES_FILE = "aws-resources.json"
# The top-level keys a manifest starts with, in the order kubectl shows them.
LEADING_KEYS = ("apiVersion", "kind", "metadata")


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
    # plane; its children are not visible under mocks). The project's own components are not resources.
    return resource_type.startswith(("aws:", "eks:"))


def render(stack: str, out_dir: Path) -> tuple[int, int]:
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", stack) or not stack_file.is_file():
        raise SystemExit(f"error: {stack_file.name} not found: STACK={stack} has no stack file")
    sys.path.insert(0, str(ROOT))
    from tests.harness import run_program, stack_config

    run = run_program(stack_config(stack_file), stack=stack)

    out_dir.mkdir(parents=True, exist_ok=True)
    # The kinds of file this script writes are removed first, so that a render never mixes two runs.
    for old in [*out_dir.glob("*.yaml"), out_dir / AWS_RESOURCES_FILE]:
        old.unlink(missing_ok=True)

    kubernetes_objects = run.kubernetes_objects()
    written: set[str] = set()
    for resource in kubernetes_objects:
        obj = manifest(resource.inputs)
        name = file_name(obj, resource.name)
        if name in written:
            raise SystemExit(f"error: two Kubernetes objects render to {name}")
        written.add(name)
        (out_dir / name).write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))

    aws_resources = sorted(({"type": r.type, "name": r.name, "inputs": normalized(r.inputs)}
                            for r in run.resources if is_aws_resource(r.type)),
                           key=lambda r: (r["type"], r["name"]))
    (out_dir / AWS_RESOURCES_FILE).write_text(json.dumps(aws_resources, indent=2, default=str) + "\n")
    return len(kubernetes_objects), len(aws_resources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render what a stack would deploy, with no AWS account and no Pulumi CLI.")
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to render (default dev)")
    parser.add_argument("--out", type=Path, help="output folder (default rendered/<stack>/)")
    args = parser.parse_args(argv)
    out_dir = args.out or ROOT / "rendered" / args.stack
    objects, aws_resources = render(args.stack, out_dir)
    print(f"Rendered stack {args.stack} under mocks: {objects} Kubernetes objects and {aws_resources} AWS resources "
          f"in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
