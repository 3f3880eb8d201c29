"""The one error type of the package: a value it refuses, named with the field and what is allowed.

It is a `pulumi.RunError`, so `pulumi preview` and `pulumi up` print its message (one line per
refused value) instead of a Python traceback, and a `ValueError`, so plain Python callers can catch
it as one. The types check every field and report all that are wrong at once (`Checks`).
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


def field_within(prefix: str, field: str) -> str:
    """`field` seen from an enclosing object whose field is `prefix`."""
    if not field:
        return prefix
    if field.startswith("["):
        return prefix + field
    return f"{prefix}.{field}" if prefix else field


class InvalidValueError(pulumi.RunError, ValueError):
    """A refused value: `field` (a path such as `gpu_pools[1].taints[0]`), `value`, `allowed`.

    `errors` lists every refused value it stands for: itself, or several (`InvalidValuesError`).
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: got {shown(value)}; {allowed}")

    @property
    def errors(self) -> list[InvalidValueError]:
        return [self]

    def within(self, prefix: str) -> InvalidValueError:
        """The same error, its field seen from an enclosing object (`prefix` is that object's field)."""
        return InvalidValueError(field_within(prefix, self.field), self.value, self.allowed)


class InvalidValuesError(InvalidValueError):
    """Several refused values found in one pass, one line each (the first also as `field`,
    `value`, `allowed`), so that a user fixes them all in one go."""

    def __init__(self, errors: Sequence[InvalidValueError]) -> None:
        self._errors = [one for error in errors for one in error.errors]
        first = self._errors[0]
        self.field, self.value, self.allowed = first.field, first.value, first.allowed
        Exception.__init__(self, "\n".join(str(error) for error in self._errors))

    @property
    def errors(self) -> list[InvalidValueError]:
        return list(self._errors)

    def within(self, prefix: str) -> InvalidValueError:
        return InvalidValuesError([error.within(prefix) for error in self._errors])


def first_per_field(errors: Sequence[InvalidValueError]) -> list[InvalidValueError]:
    """Each refused value of `errors` once per field: one cause (too many tags, say) can fail the
    checks of several resources, and the user has one value to fix."""
    found: dict[str, InvalidValueError] = {}
    for one in (one for error in errors for one in error.errors):
        found.setdefault(one.field, one)
    return list(found.values())


def all_of(errors: Sequence[InvalidValueError]) -> InvalidValueError:
    """One error for `errors` (at least one): itself when alone, else `InvalidValuesError`."""
    flat = first_per_field(errors)
    return flat[0] if len(flat) == 1 else InvalidValuesError(flat)


class Checks:
    """Collects refused values, so that a type's checks report every bad field of one construction,
    not only the first. Each independent check runs in `with checks.check():`; a check that needs
    earlier values runs only `if checks.ok(<their fields>)`; `done()` raises what was found.
    """

    def __init__(self) -> None:
        self.errors: list[InvalidValueError] = []

    @contextmanager
    def check(self, prefix: str = "") -> Iterator[None]:
        """Record an error raised inside (its field under `prefix`) and go on after the block."""
        try:
            yield
        except InvalidValueError as error:
            self.errors.extend((error.within(prefix) if prefix else error).errors)

    def ok(self, *fields: str) -> bool:
        """No error recorded yet on any of `fields` or inside them (or on anything, without fields)."""
        if not fields:
            return not self.errors
        return not any(error.field == f or error.field.startswith((f"{f}.", f"{f}["))
                       for error in self.errors for f in fields)

    def done(self) -> None:
        if self.errors:
            raise all_of(self.errors)


@contextmanager
def within(prefix: str) -> Iterator[None]:
    """Re-raise package errors raised inside, with their field prefixed by `prefix`."""
    try:
        yield
    except InvalidValueError as error:
        raise error.within(prefix) from None
