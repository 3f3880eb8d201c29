"""Kubernetes quantities and resource names, as the API server reads them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from components.preflight import (
    PreflightError,
    format_quantity,
    parse_quantity,
)
from components.preflight.quantities import container_resource_name_problem, is_extended_resource_name


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Fraction(1, 2)), ("2", Fraction(2)), ("1.5", Fraction(3, 2)), (".5", Fraction(1, 2)),
    ("0.1", Fraction(1, 10)), ("16Gi", Fraction(16 * 2**30)), ("1Ki", Fraction(1024)), ("3Ti", Fraction(3 * 2**40)),
    ("100M", Fraction(10**8)), ("250k", Fraction(250_000)), ("5n", Fraction(5, 10**9)), ("3u", Fraction(3, 10**6)),
    ("1e3", Fraction(1000)), ("1E3", Fraction(1000)), ("12e-3", Fraction(12, 1000)), ("1E", Fraction(10**18)),
    ("2G", Fraction(2 * 10**9)), ("+1", Fraction(1)), ("1.5Gi", Fraction(3 * 2**29)), (2, Fraction(2)),
    (0.25, Fraction(1, 4)),
])
def test_quantities_parse_exactly(text: object, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["1.2.3", "1KiB", "Gi", "", "1e", "1 Gi", "abc", "1ki", True, None, [1]])
def test_bad_quantities_are_errors(text: object) -> None:
    with pytest.raises(PreflightError, match="not a Kubernetes quantity"):
        parse_quantity(text)


@pytest.mark.parametrize(("name", "value", "text"), [
    ("memory", Fraction(16 * 2**30), "16Gi"), ("memory", Fraction(16320 * 2**20), "16320Mi"),
    ("memory", Fraction(1000), "1000"), ("cpu", Fraction(4), "4"), ("cpu", Fraction(79, 20), "3950m"),
    ("nvidia.com/gpu", Fraction(0), "0"), ("ephemeral-storage", Fraction(100 * 2**30), "100Gi"),
])
def test_quantities_format_readably(name: str, value: Fraction, text: str) -> None:
    assert format_quantity(name, value) == text


# --- resource names (kubernetes/kubernetes pkg/apis/core/helper/helpers.go) ------------------------

@pytest.mark.parametrize(("name", "extended"), [
    ("nvidia.com/gpu", True), ("amd.com/gpu", True), ("vpc.amazonaws.com/efa", True), ("example.com/foo_bar", True),
    ("cpu", False), ("memory", False), ("ephemeral-storage", False), ("hugepages-2Mi", False),
    ("kubernetes.io/foo", False), ("scheduling.kubernetes.io/x", False),  # the kubernetes.io namespace is native
    ("requests.example.com/foo", False),  # the quota prefix is not an extended resource
    ("Example.com/foo", False),  # the prefix must be a lower-case DNS subdomain
])
def test_extended_resource_names(name: str, extended: bool) -> None:
    assert is_extended_resource_name(name) is extended


@pytest.mark.parametrize(("name", "problem"), [
    ("cpu", None), ("memory", None), ("ephemeral-storage", None), ("hugepages-1Gi", None), ("nvidia.com/gpu", None),
    ("gpu", "must be a standard resource for containers"),
    ("pods", "must be a standard resource for containers"),
    ("Nvidia.com/gpu", "must be a qualified name (such as example.com/device)"),
])
def test_container_resource_names(name: str, problem: str | None) -> None:
    assert container_resource_name_problem(name) == problem
