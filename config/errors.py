"""The one error type for bad stack configuration."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """Bad stack configuration: names the key, the bad value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"config key '{key}': got {value!r}; {allowed}")


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
