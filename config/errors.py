"""The one error type for bad stack configuration, and the package's errors reworded with stack keys."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from components.errors import Checks, InvalidValueError, InvalidValuesError, first_per_field, shown
from components.node_template import InstanceShape
from components.pool_spec import check_pool_shapes
from components.settings import Settings

from .keys import NESTED_FIELDS, SECTIONS


class ConfigError(InvalidValueError):
    """Bad stack configuration: names the stack key, the bad value and what is allowed.

    A `pulumi.RunError` (through `InvalidValueError`): Pulumi prints the one line, no traceback.
    """

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.field = key
        self.value = value
        self.allowed = allowed
        Exception.__init__(self, f"config key '{key}': got {shown(value)}; {allowed}")


class ConfigErrors(InvalidValuesError):  # noqa: N818 (the plural of ConfigError reads best)
    """Several `ConfigError`s found in one run: one line each, so a user fixes them all at once."""


def config_error(errors: Sequence[InvalidValueError]) -> InvalidValueError:
    """One error for what a run found: the `ConfigError` when alone, else `ConfigErrors`."""
    flat = first_per_field(errors)
    return flat[0] if len(flat) == 1 else ConfigErrors(flat)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def reject_unknown(where: str, names: Iterable[str], known: Iterable[str]) -> None:
    """Raise for every name not in `known`, with a did-you-mean for near misses."""
    known = sorted(known)
    unknown = [ConfigError(f"{where}{name}" if where.endswith(":") else f"{where}.{name}", name,
                           f"unknown key.{did_you_mean(name, known)} Known keys: {', '.join(known)}.")
               for name in names if name not in known]
    if unknown:
        raise config_error(unknown)


_PATH = re.compile(r"(?P<section>\w+)(?P<index>\[\d+\])?(?:\.(?P<field>\w+)(?P<rest>.*))?")
_NESTED = re.compile(r"\.(?P<field>\w+)(?P<rest>.*)")


def stack_key(project: str, path: str) -> str | None:
    """The stack config key of a settings field path (`gpu_pools[1].min_size` ->
    `<project>:gpuPools[1].minSizePerAz`), or None for a path that is not a settings field."""
    match = _PATH.fullmatch(path)
    if match is None:
        return None
    if match["section"] == "region":
        return "aws:region"
    if match["section"] not in SECTIONS:
        return None
    key, fields = SECTIONS[match["section"]]
    index = match["index"] or ""
    if match["field"] is None:
        return f"{project}:{key}{index}" if key else None
    by_attribute = {attribute: name for name, attribute in fields.items()}
    name = by_attribute.get(match["field"], match["field"])
    rest = match["rest"]
    nested = _NESTED.fullmatch(rest) if match["field"] in NESTED_FIELDS else None
    if nested is not None:
        inner = {attribute: inner_name for inner_name, attribute in NESTED_FIELDS[match["field"]].items()}
        rest = f".{inner.get(nested['field'], nested['field'])}{nested['rest']}"
    return f"{project}:{key}{index}.{name}{rest}" if key else f"{project}:{name}{rest}"


def reword(project: str, error: InvalidValueError) -> InvalidValueError:
    """The error with each refused value's field named by its stack key (where it has one)."""
    def one(error: InvalidValueError) -> InvalidValueError:
        key = stack_key(project, error.field)
        return error if key is None else ConfigError(key, error.value, error.allowed)

    return config_error([one(e) for e in error.errors])


@contextmanager
def stack_keys(project: str, prefix: str = "") -> Iterator[None]:
    """Re-raise the package's errors (fields of `Settings`, under `prefix`) as `ConfigError`s."""
    try:
        yield
    except ConfigError:
        raise
    except InvalidValueError as error:
        raise reword(project, error.within(prefix) if prefix else error) from None


def check_instance_shapes(settings: Settings, shapes: Mapping[str, InstanceShape]) -> None:
    """The package's per-pool shape check (`pool_spec.check_pool_shapes`), worded with stack keys."""
    checks = Checks()
    for path, pool in settings.pool_paths():
        with checks.check(), stack_keys(settings.project, path):
            check_pool_shapes(pool, shapes)
    if checks.errors:
        raise config_error(checks.errors)
