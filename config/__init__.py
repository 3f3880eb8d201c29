"""Typed stack configuration: the only reader of `pulumi.Config`.

It maps stack keys onto the package's settings types (`components/settings.py`), which check the
values; errors come back worded with the stack key (`ConfigError`).
"""

from .errors import ConfigError, ConfigErrors, check_instance_shapes, stack_key, stack_keys
from .keys import TOP_LEVEL_KEYS
from .loader import PROJECT, config_strings, load_settings, parse_settings

__all__ = [
    "PROJECT",
    "TOP_LEVEL_KEYS",
    "ConfigError",
    "ConfigErrors",
    "check_instance_shapes",
    "config_strings",
    "load_settings",
    "parse_settings",
    "stack_key",
    "stack_keys",
]
