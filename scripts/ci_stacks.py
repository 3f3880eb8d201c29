"""The stacks CI previews and deploys: one entry per `Pulumi.<stack>.yaml` in the project.

    venv/bin/python scripts/ci_stacks.py [--project-dir DIR]     (prints `stacks=<JSON list>`)

The workflow's test job appends this line to $GITHUB_OUTPUT; the preview and up jobs take their
matrix from it, so a new stack file is covered without editing the workflow. Each entry:
`stack`, `region` (its `aws:region`, for the AWS credentials) and `private_api` (true when its API
endpoint is private: such a stack's Kubernetes objects are reachable only from a runner in, or
connected to, its VPC). Stacks with deletion protection come last, so `up` reaches them only after
the others have deployed.
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
STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[A-Za-z0-9][A-Za-z0-9_.-]*)\.yaml")


def stacks(project_dir: Path) -> list[dict[str, Any]]:
    project = str(yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"])
    found = []
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        match = STACK_FILE.fullmatch(path.name)
        if not match:
            continue
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        region = config.get("aws:region")
        if not region:
            raise SystemExit(f"error: {path.name} has no aws:region; CI needs it for the stack's credentials")
        found.append({
            "stack": match["stack"],
            "region": str(region),
            "private_api": config.get(f"{project}:endpointPublicAccess") is False,
            "protected": config.get(f"{project}:deletionProtection") is True,
        })
    return sorted(found, key=lambda entry: (entry["protected"], entry["stack"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the CI matrix of stacks as `stacks=<JSON>`.")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    print("stacks=" + json.dumps(stacks(args.project_dir), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
