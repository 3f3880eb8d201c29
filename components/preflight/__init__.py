"""Scale-from-zero preflight: would a workload make the Cluster Autoscaler scale a node group up, and which?

Before anything is deployed, this answers with the facts the autoscaler itself uses for a group at
zero: the template node built from the group's ASG tags and first instance type (labels, taints,
capacity), less the requests of the DaemonSets that would run on it. Each workload pod is checked
against each template with the scheduler rules that the autoscaler simulates:

- `nodeSelector` and required node affinity (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`);
- taints (`NoSchedule`, `NoExecute`; `PreferNoSchedule` never blocks) against tolerations, plus the
  toleration EKS's ExtendedResourceToleration admission plugin adds for each extended resource a pod
  requests (a pod asking for `nvidia.com/gpu` tolerates the `nvidia.com/gpu` NoSchedule taint);
- resource requests (limits stand in for absent requests) against allocatable, and one pod slot.

A pod the API server would reject is bad input, not a verdict: a negative quantity, an extended
resource (such as `nvidia.com/gpu`) that is not a whole number, has no limit, or whose request differs
from its limit. Documents that are not workloads are named in the output and ignored.

Not simulated: pod (anti-)affinity, topology spread, volumes and zones, and existing nodes with
room, which would take the pod without any scale-up.

Command line. Installing the package (`pip install .` in the checkout, or the wheel) installs the
`eks-gpu-spot-preflight` command, which runs from any directory:

    eks-gpu-spot-preflight --stack-output nodegroups.json my-workloads.yaml
    pulumi stack output nodeGroups --json | eks-gpu-spot-preflight --stack-output - my-workloads.yaml

`--stack-output` needs nothing but this package. `--stack-config FILE` computes the templates from a
`Pulumi.<stack>.yaml` with the project's `config/` package, which it finds beside that file (the
project root); in the project it also runs as a module:

    python -m components.preflight --stack-config Pulumi.dev.yaml [--region us-east-1] examples/*.yaml

Input files are YAML (or JSON) in UTF-8, or UTF-16/UTF-32 with a byte-order mark; `-` is standard
input. Exit status: 0 when every workload pod fits some group, 1 when one fits none, 2 on bad input.

Modules: `quantities` (quantities, resource names), `requests` (pod requests, API server resource
rules), `manifests` (workloads out of documents), `inputs` (reading files), `templates` and `shapes`
(the template nodes, instance shapes), `scheduling` (the rules and verdicts), `cli` (the command).
"""

from __future__ import annotations

from .cli import main, report
from .errors import PreflightError
from .inputs import decode, read_json, read_text, read_yaml_documents
from .manifests import POD_SPEC_PATHS, Workload, check_pod_spec, load_manifests, workloads_from_documents
from .quantities import format_quantity, is_extended_resource_name, parse_quantity
from .requests import container_requests, pod_requests, pod_resource_problems
from .scheduling import (
    Allocatable,
    Verdict,
    admission_tolerations,
    allocatable,
    daemonset_pod_specs,
    evaluate,
    group_rooms,
    tolerates,
)
from .shapes import ShapeLookup, aws_shapes, builtin_shapes, instance_shapes
from .templates import (
    GroupTemplate,
    StackTemplates,
    architecture,
    group_template,
    groups_from_stack_config,
    groups_from_stack_output,
    project_config,
    project_daemonsets,
)

__all__ = [
    "POD_SPEC_PATHS",
    "Allocatable",
    "GroupTemplate",
    "PreflightError",
    "ShapeLookup",
    "StackTemplates",
    "Verdict",
    "Workload",
    "admission_tolerations",
    "allocatable",
    "architecture",
    "aws_shapes",
    "builtin_shapes",
    "check_pod_spec",
    "container_requests",
    "daemonset_pod_specs",
    "decode",
    "evaluate",
    "format_quantity",
    "group_rooms",
    "group_template",
    "groups_from_stack_config",
    "groups_from_stack_output",
    "instance_shapes",
    "is_extended_resource_name",
    "load_manifests",
    "main",
    "parse_quantity",
    "pod_requests",
    "pod_resource_problems",
    "project_config",
    "project_daemonsets",
    "read_json",
    "read_text",
    "read_yaml_documents",
    "report",
    "tolerates",
    "workloads_from_documents",
]
