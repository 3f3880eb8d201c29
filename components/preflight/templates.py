"""The node each group would bring up, as the Cluster Autoscaler imagines it at zero: from a deployed
stack's output, or computed from a stack's config by the code that writes the ASG tags."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

from ..instance_catalog import KNOWN_SHAPES
from ..node_template import GPU_RESOURCE, NodeTemplate, Taint, template_from_tags
from ..pool_spec import ON_DEMAND_SUFFIX, build_node_template
from .errors import PreflightError
from .inputs import read_yaml_documents
from .quantities import parse_quantity
from .shapes import instance_shapes

ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
REGION_LABEL = "topology.kubernetes.io/region"
PROJECT_NAME = "eks-gpu-spot"

_GRAVITON_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*\.")


def architecture(instance_type: str) -> str:
    """`amd64` or `arm64` (Graviton families carry a `g` after the generation: m7g, c6gn, g5g)."""
    known = KNOWN_SHAPES.get(instance_type)
    if known is not None:
        return known.arch
    return "arm64" if _GRAVITON_FAMILY.match(instance_type) else "amd64"


@dataclass(frozen=True)
class GroupTemplate:
    """The node the autoscaler imagines for a group at zero."""

    name: str
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    capacity: Mapping[str, Fraction]
    instance_type: str = ""

    @property
    def has_gpus(self) -> bool:
        return self.capacity.get(GPU_RESOURCE, Fraction(0)) > 0


def group_template(name: str, template: NodeTemplate, instance_type: str = "", *, arch: str = "",
                   region: str = "") -> GroupTemplate:
    """A group's template node: the tagged labels plus the ones the autoscaler adds on AWS
    (os, arch and instance type of the first type, region), which win over tags as in CA."""
    labels = dict(template.labels)
    labels[OS_LABEL] = "linux"
    if instance_type:
        labels[ARCH_LABEL] = arch or architecture(instance_type)
        labels[INSTANCE_TYPE_LABEL] = instance_type
    if region:
        labels[REGION_LABEL] = region
    capacity = {}
    for resource, quantity in template.capacity.items():
        try:
            capacity[resource] = parse_quantity(quantity)
        except PreflightError as error:
            raise PreflightError(f"node group {name}: capacity {resource}: {error}") from None
        if capacity[resource] < 0:
            raise PreflightError(f"node group {name}: capacity {resource}: {quantity!r} must be greater than or "
                                 "equal to 0")
    return GroupTemplate(name, labels, tuple(template.taints), capacity, instance_type)


def as_the_autoscaler_sees(template: NodeTemplate, cluster_name: str) -> NodeTemplate:
    """The template a group's ASG tags give the Cluster Autoscaler: rendered as the program tags
    the ASG (`NodeTemplate.autoscaler_tags`), then parsed back as CA parses them
    (`template_from_tags`), so a tag CA would skip is missing here too."""
    return template_from_tags(template.autoscaler_tags(cluster_name))


def groups_from_stack_output(data: object) -> list[GroupTemplate]:
    """Templates from `pulumi stack output nodeGroups --json` (or all outputs, `--json`)."""
    if isinstance(data, Mapping) and isinstance(data.get("nodeGroups"), Mapping):
        data = data["nodeGroups"]
    if not isinstance(data, Mapping) or not data:
        raise PreflightError("the stack output must be the 'nodeGroups' object: {pool: {instanceTypes, template}}")
    groups = []
    for pool, group in data.items():
        if not isinstance(group, Mapping) or not isinstance(group.get("template"), Mapping):
            raise PreflightError(f"stack output nodeGroups.{pool}: missing 'template'")
        # A pool with an On-Demand fallback has a second template (its groups' lifecycle label).
        for name, template in ((pool, group["template"]), (f"{pool}{ON_DEMAND_SUFFIX}", group.get("onDemandTemplate"))):
            if isinstance(template, Mapping):
                groups.append(_stack_output_group(str(name), group, template))
    return groups


def _stack_output_group(name: str, group: Mapping[str, Any], template: Mapping[str, Any]) -> GroupTemplate:
    """One group template from a pool's stack output (`template` or `onDemandTemplate`)."""
    try:
        taints = tuple(Taint(str(t["key"]), str(t.get("value") or ""), str(t["effect"]))
                       for t in template.get("taints") or [])
        node_template = NodeTemplate(labels={str(k): str(v) for k, v in (template.get("labels") or {}).items()},
                                     taints=taints,
                                     capacity={str(k): str(v) for k, v in (template.get("capacity") or {}).items()})
        instance_types = list(group.get("instanceTypes") or [])
    except (KeyError, TypeError, AttributeError) as error:
        raise PreflightError(f"stack output nodeGroups.{name}: a template is malformed: {error!r}") from None
    return group_template(name, node_template, str(instance_types[0]) if instance_types else "")


@dataclass(frozen=True)
class StackTemplates:
    groups: list[GroupTemplate]
    source: str
    shapes_source: str = ""
    device_plugin_enabled: bool = True
    device_plugin_image: str = ""


def project_config(stack_file: Path) -> ModuleType:
    """The project's `config` package, from the project root that holds the stack file.

    It is not part of the installed package (it reads `pulumi.Config` for the program), so the
    installed command finds it beside `Pulumi.<stack>.yaml` and puts that root on `sys.path`;
    `--stack-output` needs none of this.
    """
    root = stack_file.absolute().parent
    package = root / "config" / "__init__.py"
    if not package.is_file():
        raise PreflightError(
            f"--stack-config needs the {PROJECT_NAME} project's config/ package beside the stack file, and "
            f"{root / 'config'} is not there: give the Pulumi.<stack>.yaml in the project root (with Pulumi.yaml "
            "and config/), or check a deployed stack with --stack-output")
    loaded = sys.modules.get("config")
    if loaded is None:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        try:
            loaded = importlib.import_module("config")
        except Exception as error:  # noqa: BLE001 whatever breaks in the project's code, say where
            raise PreflightError(f"{root / 'config'}: cannot import it: {type(error).__name__}: {error}") from None
    found = getattr(loaded, "__file__", None)
    if found is None or Path(found).resolve() != package.resolve():
        raise PreflightError(f"cannot use {root / 'config'}: a different module named 'config' is already "
                             f"imported ({found})")
    return loaded


def _project_name(root: Path, default: str) -> str:
    project_file = root / "Pulumi.yaml"
    if not project_file.exists():
        return default
    documents = read_yaml_documents(str(project_file))
    document = documents[0] if documents else None
    name = document.get("name") if isinstance(document, Mapping) else None
    return str(name) if name else default


def _several_config_errors(config: ModuleType) -> tuple[type[Exception], ...]:
    """The project's error type for several config errors at once (projects from before it have none)."""
    several = getattr(config, "ConfigErrors", None)
    return (several,) if isinstance(several, type) and issubclass(several, Exception) else ()


def groups_from_stack_config(path: str | Path, region: str = "", shape_source: str = "auto") -> StackTemplates:
    """Templates computed from a `Pulumi.<stack>.yaml` by the code that writes the ASG tags, and
    read back from those tags as the autoscaler reads them."""
    path = Path(path)
    documents = read_yaml_documents(str(path))
    if len(documents) > 1:
        raise PreflightError(f"{path}: not valid YAML: a stack file holds one document, not {len(documents)}")
    document = documents[0] if documents else None
    raw = document.get("config") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping):
        raise PreflightError(f"{path}: has no 'config:' mapping")
    config = project_config(path)

    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    stack = match[1] if match else path.stem
    project = _project_name(path.absolute().parent, config.PROJECT)
    strings = config.config_strings(raw)
    region = region or strings.get("aws:region", "")
    try:
        settings = config.parse_settings(strings, project=project, stack=stack, region=region)
        lookup = instance_shapes((t for pool in settings.pools for t in pool.instance_types), region, shape_source)
        config.check_instance_shapes(settings, lookup.shapes)
    except (config.ConfigError, *_several_config_errors(config)) as error:
        # One line per refused value, as `pulumi preview` prints them.
        raise PreflightError("\n".join(f"{path}: {line}" for line in str(error).splitlines())) from None
    groups = []
    for pool, on_demand in [(pool, od) for pool in settings.pools for od in (False, True)
                            if not od or pool.on_demand_fallback]:
        first = pool.instance_types[0]
        template = build_node_template(pool, [lookup.shapes[t] for t in pool.instance_types],
                                       on_demand_fallback=on_demand)
        seen = as_the_autoscaler_sees(template, settings.cluster.name)
        name = f"{pool.name}{ON_DEMAND_SUFFIX}" if on_demand else pool.name
        groups.append(group_template(name, seen, first, arch=lookup.architectures[first], region=region))
    return StackTemplates(groups, f"computed from the config in {path}", lookup.source,
                          settings.device_plugin.enabled, settings.device_plugin.image)


def project_daemonsets(groups: Sequence[GroupTemplate], image: str) -> list[dict[str, Any]]:
    """The DaemonSets this project deploys on node groups: the NVIDIA device plugin, which
    tolerates the taints of the GPU groups."""
    try:
        # Imported here: the add-on module pulls in the Pulumi SDK, which only this overhead needs.
        module = importlib.import_module("..addons.device_plugin", __package__)
    except ImportError as error:
        raise PreflightError(
            "cannot build the project's NVIDIA device plugin DaemonSet (components/addons/device_plugin.py): "
            f"{error}; pass --no-device-plugin to check without its overhead") from None
    tolerations = list(dict.fromkeys(t for g in groups if g.has_gpus for t in g.taints))
    return [module.device_plugin_daemonset_manifest(image, tolerations)]
