"""Typed stack configuration: the only reader of `pulumi.Config`."""

from components.settings import (
    ClusterAutoscalerSettings,
    ClusterSettings,
    DevicePluginSettings,
    NetworkSettings,
    Settings,
    TerminationHandlerSettings,
)

from .aws_checks import check_distinct_zones, check_instance_shapes, check_zone_count
from .errors import ConfigError
from .loader import PROJECT, TOP_LEVEL_KEYS, config_strings, load_settings, parse_settings

__all__ = [
    "PROJECT",
    "TOP_LEVEL_KEYS",
    "ClusterAutoscalerSettings",
    "ClusterSettings",
    "ConfigError",
    "DevicePluginSettings",
    "NetworkSettings",
    "Settings",
    "TerminationHandlerSettings",
    "check_distinct_zones",
    "check_instance_shapes",
    "check_zone_count",
    "config_strings",
    "load_settings",
    "parse_settings",
]
