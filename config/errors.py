"""The one error type for bad stack configuration, and the package's errors reworded with stack keys."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from components.errors import InvalidValueError, shown
from components.node_template import InstanceShape
from components.pool_spec import check_pool_shapes
from components.settings import Settings

from .keys import SECTIONS


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


def did_you_mean(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def reject_unknown(where: str, names: Iterable[str], known: Iterable[str]) -> None:
    """Raise for the first name not in `known`, with a did-you-mean for near misses."""
    known = sorted(known)
    for name in names:
        if name not in known:
            raise ConfigError(
                f"{where}{name}" if where.endswith(":") else f"{where}.{name}",
                name,
                f"unknown key.{did_you_mean(name, known)} Known keys: {', '.join(known)}.",
            )


_PATH = re.compile(r"(?P<section>\w+)(?P<index>\[\d+\])?(?:\.(?P<field>\w+)(?P<rest>.*))?")


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
    return f"{project}:{key}{index}.{name}{match['rest']}" if key else f"{project}:{name}{match['rest']}"


def reword(project: str, error: InvalidValueError) -> InvalidValueError:
    key = stack_key(project, error.field)
    return error if key is None else ConfigError(key, error.value, error.allowed)


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
    for path, pool in settings.pool_paths():
        with stack_keys(settings.project, path):
            check_pool_shapes(pool, shapes)
