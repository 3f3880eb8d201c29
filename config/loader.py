"""Turns raw stack config into `Settings`.

`parse_settings` is pure (raw strings in, settings out): it decodes Pulumi's config strings, refuses
unknown keys (with a did-you-mean), maps each key onto the package's settings types and rewords
their errors with the stack key. The values themselves are checked by those types, so a library
user gets the same checks. `load_settings` is the one place in the program that reads
`pulumi.Config`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.errors import Checks, kind_in_words
from components.image_cache import ImageCacheSpec
from components.pool_spec import NodePoolSpec
from components.settings import (
    ClusterAutoscalerSettings,
    ClusterSettings,
    DevicePluginSettings,
    ExistingVpcSettings,
    NewVpcSettings,
    Settings,
    TerminationHandlerSettings,
)

from .errors import ConfigError, config_error, reject_unknown, stack_keys
from .keys import (
    CLUSTER_AUTOSCALER_FIELDS,
    CLUSTER_FIELDS,
    DEVICE_PLUGIN_FIELDS,
    EXISTING_VPC_FIELDS,
    FLOW_LOG_FIELDS,
    GENERAL_POOL_FIELDS,
    GPU_POOL_FIELDS,
    IMAGE_CACHE_FIELDS,
    NEW_VPC_FIELDS,
    TERMINATION_HANDLER_FIELDS,
    TOP_LEVEL_KEYS,
)

PROJECT = "eks-gpu-spot"
GENERAL_POOL_NAME = "general"


def _decode(raw: str, kind: str) -> Any:
    """Pulumi hands every value over as a string; objects, lists, numbers and booleans as JSON.
    A string that is not JSON stays a string, so the types name the mistake in words."""
    if kind == "string":
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _object(key: str, value: object, fields: Mapping[str, str]) -> dict[str, Any]:
    """Constructor arguments from one config object: known keys only, unknown ones refused."""
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, f"must be an object, not {kind_in_words(value)}")
    reject_unknown(key, value, fields)
    return {fields[name]: item for name, item in value.items() if item is not None}


def _pick(top: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    return {attribute: top[name] for name, attribute in fields.items() if name in top}


def _network(project: str, top: Mapping[str, Any]) -> NewVpcSettings | ExistingVpcSettings:
    new_vpc_keys = [name for name in (*NEW_VPC_FIELDS, "vpcFlowLogs") if name in top]
    if top.get("existingVpcId"):
        if new_vpc_keys:
            name = new_vpc_keys[0]
            raise ConfigError(f"{project}:{name}", top[name],
                              "applies only to a new VPC; remove it, or remove existingVpcId to create a VPC")
        return ExistingVpcSettings(**_pick(top, EXISTING_VPC_FIELDS))
    for name in ("existingPrivateSubnetIds", "existingPublicSubnetIds"):
        if top.get(name):
            raise ConfigError(f"{project}:{name}", top[name],
                              "subnet IDs need existingVpcId too; leave both unset to create a VPC")
    flow_logs = _object(f"{project}:vpcFlowLogs", top["vpcFlowLogs"], FLOW_LOG_FIELDS) if "vpcFlowLogs" in top else {}
    return NewVpcSettings(**_pick(top, NEW_VPC_FIELDS), **flow_logs)


def _pool_arguments(project: str, key: str, path: str, raw: object, fields: Mapping[str, str]) -> dict[str, Any]:
    """A pool's constructor arguments from its config object (`key`, field path `path`); its
    `imageCache` object becomes an ImageCacheSpec."""
    arguments = _object(key, raw, fields)
    if "image_cache" in arguments:
        cache = _object(f"{key}.imageCache", arguments["image_cache"], IMAGE_CACHE_FIELDS)
        with stack_keys(project, f"{path}.image_cache"):
            arguments["image_cache"] = ImageCacheSpec(**cache)
    return arguments


def _gpu_pools(project: str, value: object) -> tuple[NodePoolSpec, ...]:
    key = f"{project}:gpuPools"
    if isinstance(value, (str, Mapping)) or not isinstance(value, list):
        raise ConfigError(key, value, f"must be a list of GPU pool objects, not {kind_in_words(value)}")
    pools = []
    checks = Checks()
    for index, raw in enumerate(value):
        with checks.check():
            arguments = _pool_arguments(project, f"{key}[{index}]", f"gpu_pools[{index}]", raw, GPU_POOL_FIELDS)
            if "name" not in arguments:
                raise ConfigError(f"{key}[{index}].name", None, "every GPU pool needs a name")
            with stack_keys(project, f"gpu_pools[{index}]"):
                pools.append(NodePoolSpec(gpu=True, **arguments))
    if checks.errors:
        raise config_error(checks.errors)
    return tuple(pools)


def parse_settings(raw: Mapping[str, str], *, project: str = PROJECT, stack: str, region: str) -> Settings:
    """Validate raw stack config (`{'<project>:<key>': '<string>'}`, other namespaces ignored).

    Every error is reported, not only the first: each part is checked on its own, and the whole
    (`Settings`) once all parts are valid. One `ConfigError`, or `ConfigErrors` for several.
    """
    prefix = f"{project}:"
    checks = Checks()
    names = [full_key[len(prefix):] for full_key in raw if full_key.startswith(prefix)]
    with checks.check():
        reject_unknown(prefix, names, TOP_LEVEL_KEYS)
    top = {name: _decode(raw[prefix + name], TOP_LEVEL_KEYS[name]) for name in names if name in TOP_LEVEL_KEYS}
    if not region:
        with checks.check():
            raise ConfigError("aws:region", region, "must be set, for example 'pulumi config set aws:region us-east-1'")

    parts: dict[str, Any] = {}
    with checks.check(), stack_keys(project, "cluster"):
        parts["cluster"] = ClusterSettings(**{"name": f"{project}-{stack}", **_pick(top, CLUSTER_FIELDS)})
    with checks.check(), stack_keys(project, "network"):
        parts["network"] = _network(project, top)
    if "generalPool" in top:
        with checks.check():
            general = _pool_arguments(project, f"{prefix}generalPool", "general_pool", top["generalPool"],
                                      GENERAL_POOL_FIELDS)
            with stack_keys(project, "general_pool"):
                parts["general_pool"] = NodePoolSpec(name=GENERAL_POOL_NAME, **general)
    if "gpuPools" in top:
        with checks.check():
            parts["gpu_pools"] = _gpu_pools(project, top["gpuPools"])
    for key, name, kind, fields in (
        ("nvidiaDevicePlugin", "device_plugin", DevicePluginSettings, DEVICE_PLUGIN_FIELDS),
        ("clusterAutoscaler", "cluster_autoscaler", ClusterAutoscalerSettings, CLUSTER_AUTOSCALER_FIELDS),
        ("nodeTerminationHandler", "termination_handler", TerminationHandlerSettings, TERMINATION_HANDLER_FIELDS),
    ):
        if key in top:
            with checks.check():
                arguments = _object(f"{prefix}{key}", top[key], fields)
                with stack_keys(project, name):
                    parts[name] = kind(**arguments)
    if checks.errors:
        raise config_error(checks.errors)
    with stack_keys(project):
        return Settings(project=project, stack=stack, region=region, **parts)


def config_strings(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values as Pulumi hands them to a program: strings, with objects and lists as JSON."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def load_settings() -> Settings:
    """Read this stack's config through Pulumi and validate it."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    region = pulumi.Config("aws").get("region") or ""
    return parse_settings(
        config_strings(raw),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=region,
    )
