"""The command line: `eks-gpu-spot-preflight` when installed, `python -m components.preflight` in the project.

It names itself in its usage and messages as it was started. `--stack-output` needs nothing but the
installed package; `--stack-config` also needs the project's `config/` package, which it finds beside
the stack file (see `templates.project_config`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from ..node_template import GPU_RESOURCE
from .errors import PreflightError
from .inputs import read_json
from .manifests import POD_SPEC_PATHS, load_manifests
from .quantities import format_quantity
from .scheduling import Allocatable, Verdict, daemonset_pod_specs, evaluate, group_rooms, taint_text
from .shapes import SHAPE_SOURCES
from .templates import (
    GroupTemplate,
    StackTemplates,
    groups_from_stack_config,
    groups_from_stack_output,
    project_daemonsets,
)

PLACEHOLDER_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:preflight"
WORKLOAD_KINDS = ", ".join(kind for kind in POD_SPEC_PATHS if kind != "DaemonSet")


def program_name(prog: str | None = None) -> str:
    """`prog` if given, else how this process was started: the installed script's name, or
    `python -m <package>` (argparse alone would say `__main__.py`)."""
    if prog:
        return prog
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if started in ("", "-c", "__main__.py"):
        return f"python -m {__package__}"
    return started


def report(verdicts: Sequence[Verdict], out: TextIO) -> None:
    for verdict in verdicts:
        head = f"{verdict.workload.source}: {verdict.workload.title}"
        if len(verdict.fits) == 1:
            print(f"{head}: would scale up {verdict.fits[0]}", file=out)
        elif verdict.fits:
            print(f"{head}: would scale up one of {', '.join(verdict.fits)} (the expander picks among them)",
                  file=out)
        else:
            print(f"{head}: NEVER SCHEDULES, no group fits:", file=out)
            for group, reasons in verdict.rejections.items():
                for reason in reasons:
                    print(f"  {group}: {reason}", file=out)
    stuck = sum(1 for v in verdicts if not v.schedules)
    summary = (f"{stuck} of {len(verdicts)} workload(s) would stay Pending forever." if stuck
               else f"All {len(verdicts)} workload(s) fit a node group.")
    print(summary, file=out)


def describe_groups(groups: Sequence[GroupTemplate], rooms: Mapping[str, Allocatable]) -> Iterator[str]:
    for group in groups:
        room = rooms[group.name]
        shown = ", ".join(f"{name} {format_quantity(name, room.of(name))}"
                          for name in ("cpu", "memory", GPU_RESOURCE, "pods") if name in group.capacity)
        taints = ", ".join(taint_text(t) for t in group.taints) or "none"
        less = f" (after DaemonSets {', '.join(room.daemonsets)})" if room.daemonsets else ""
        yield f"  {group.name} ({group.instance_type or 'type unknown'}): taints {taints}; allocatable {shown}{less}"


def parser(prog: str) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Would these workloads make the Cluster Autoscaler scale a node group up from zero, and which?",
        epilog=f"""examples:
  pulumi stack output nodeGroups --json > nodegroups.json
  {prog} --stack-output nodegroups.json examples/*.yaml
  {prog} --stack-config Pulumi.dev.yaml examples/*.yaml   (needs the project's config/ beside the file)

exit status: 0 when every workload pod fits some group, 1 when one fits none, 2 on bad input
(including a pod the API server would reject, such as a fractional nvidia.com/gpu).""")
    source = result.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack-output", metavar="FILE",
                        help="JSON of `pulumi stack output nodeGroups --json` of a deployed stack ('-': stdin)")
    source.add_argument("--stack-config", metavar="FILE",
                        help="a Pulumi.<stack>.yaml in the project root: compute the templates from its config")
    result.add_argument("--region", default="", help="AWS region (default: aws:region of the stack config)")
    result.add_argument("--instance-shapes", choices=SHAPE_SOURCES, default="auto",
                        help="with --stack-config: read shapes from EC2 (aws), the built-in table (builtin), "
                             "or EC2 when credentials exist (auto, the default)")
    result.add_argument("--no-device-plugin", action="store_true",
                        help="do not count the project's NVIDIA device plugin DaemonSet")
    result.add_argument("--device-plugin-image", default="",
                        help="device plugin image (default: the stack config's; does not change scheduling)")
    result.add_argument("manifests", nargs="+", metavar="MANIFEST",
                        help="Kubernetes YAML files (multi-document; DaemonSets in them count as overhead)")
    return result


def _templates(args: argparse.Namespace) -> StackTemplates:
    if args.stack_output:
        data = read_json(args.stack_output)
        return StackTemplates(groups_from_stack_output(data), f"from the stack output {args.stack_output}")
    return groups_from_stack_config(args.stack_config, args.region, args.instance_shapes)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         *, prog: str | None = None) -> int:
    """Run the preflight; the exit status: 0 all fit, 1 one fits no group, 2 bad input."""
    stdout: TextIO = out or sys.stdout
    stderr: TextIO = err or sys.stderr
    name = program_name(prog)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser(name).parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code in (0, None) else 2
    ignored: list[str] = []
    try:
        templates = _templates(args)
        daemonset_manifests: list[dict[str, Any]] = []
        if templates.device_plugin_enabled and not args.no_device_plugin:
            image = args.device_plugin_image or templates.device_plugin_image or PLACEHOLDER_DEVICE_PLUGIN_IMAGE
            daemonset_manifests = project_daemonsets(templates.groups, image)
        daemonsets = daemonset_pod_specs(daemonset_manifests, "project")
        workloads = load_manifests(args.manifests, ignored)
        if not any(w.kind != "DaemonSet" for w in workloads):
            raise PreflightError(f"no workload ({WORKLOAD_KINDS}) in {', '.join(args.manifests)}"
                                 + "".join(f"\n  {note}" for note in ignored))
        verdicts = evaluate(workloads, templates.groups, daemonsets)
    except PreflightError as error:
        # Several errors come one per line (a stack config with several bad keys); indented lines
        # continue the line above.
        for line in str(error).splitlines():
            print(line if line.startswith(" ") else f"{name}: error: {line}", file=stderr)
        return 2
    rooms = group_rooms(workloads, templates.groups, daemonsets)
    print(f"Node group templates {templates.source}", file=stdout)
    if templates.shapes_source:
        print(f"Instance shapes: {templates.shapes_source}", file=stdout)
    for line in describe_groups(templates.groups, rooms):
        print(line, file=stdout)
    print(file=stdout)
    for note in ignored:
        print(note, file=stdout)
    report(verdicts, stdout)
    return 0 if all(v.schedules for v in verdicts) else 1
