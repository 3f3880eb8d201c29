"""The one error type of the package: a value it refuses, named with the field and what is allowed.

It is a `pulumi.RunError`, so `pulumi preview` and `pulumi up` print its one-line message instead
of a Python traceback, and a `ValueError`, so plain Python callers can catch it as one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pulumi


def kind_in_words(value: object) -> str:
    """What kind of value this is, in words (the same words at every level of nesting)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def shown(value: object) -> str:
    """A value as the error message shows it (tuples as lists, mappings as dicts)."""
    if isinstance(value, tuple):
        return repr([v for v in value])
    if isinstance(value, Mapping) and not isinstance(value, dict):
        return repr(dict(value))
    return repr(value)


class InvalidValueError(pulumi.RunError, ValueError):
    """A refused value: `field` (a path such as `gpu_pools[1].taints[0]`), `value`, `allowed`."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: got {shown(value)}; {allowed}")

    def within(self, prefix: str) -> InvalidValueError:
        """The same error, its field seen from an enclosing object (`prefix` is that object's field)."""
        if not self.field:
            field = prefix
        elif self.field.startswith("["):
            field = prefix + self.field
        else:
            field = f"{prefix}.{self.field}" if prefix else self.field
        return InvalidValueError(field, self.value, self.allowed)


@contextmanager
def within(prefix: str) -> Iterator[None]:
    """Re-raise package errors raised inside, with their field prefixed by `prefix`."""
    try:
        yield
    except InvalidValueError as error:
        raise error.within(prefix) from None
