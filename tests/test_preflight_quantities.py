"""Kubernetes quantities and resource names, as the API server reads them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from components.preflight import (
    PreflightError,
    format_quantity,
    parse_quantity,
)
from components.preflight.quantities import (
    container_resource_name_problem,
    is_byte_resource,
    is_extended_resource_name,
    is_hugepages,
    is_native_resource,
    is_qualified_name,
    overcommit_allowed,
)


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


# --- every suffix, sign and limit ------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "factor"), [
    ("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("Ti", 2**40), ("Pi", 2**50), ("Ei", 2**60),
    ("n", Fraction(1, 10**9)), ("u", Fraction(1, 10**6)), ("m", Fraction(1, 1000)), ("k", 10**3), ("M", 10**6),
    ("G", 10**9), ("T", 10**12), ("P", 10**15), ("E", 10**18),
])
def test_each_suffix_has_its_factor(suffix: str, factor: Fraction) -> None:
    assert parse_quantity(f"3{suffix}") == 3 * factor


@pytest.mark.parametrize(("text", "value"), [
    ("-1", Fraction(-1)), ("-500m", Fraction(-1, 2)), ("+2Gi", Fraction(2 * 2**30)), ("1e+3", Fraction(1000)),
    ("5e0", Fraction(5)), ("2.5e-1", Fraction(1, 4)), (" 4 ", Fraction(4)), ("1.", Fraction(1)), ("0", Fraction(0)),
])
def test_signs_exponents_and_spaces(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


def test_a_quantity_error_shows_the_value() -> None:
    with pytest.raises(PreflightError) as raised:
        parse_quantity(" 1KiB ")
    assert str(raised.value) == "'1KiB' is not a Kubernetes quantity (such as 500m, 2, 1.5, 16Gi, 100M or 1e3)"
    for value in (True, None):
        with pytest.raises(PreflightError) as raised:
            parse_quantity(value)
        assert str(raised.value) == f"{value!r} is not a Kubernetes quantity"


@pytest.mark.parametrize(("name", "value", "text"), [
    ("memory", Fraction(2**60), "1Ei"), ("memory", Fraction(3 * 2**50), "3Pi"), ("memory", Fraction(2**40), "1Ti"),
    ("memory", Fraction(5 * 2**30), "5Gi"), ("memory", Fraction(2**20), "1Mi"), ("memory", Fraction(2048), "2Ki"),
    ("memory", Fraction(1536), "1536"), ("memory", Fraction(0), "0"), ("memory", Fraction(1, 2), "500m"),
    ("ephemeral-storage", Fraction(2**30), "1Gi"), ("hugepages-2Mi", Fraction(2 * 2**20), "2Mi"),
    ("cpu", Fraction(1024), "1024"), ("pods", Fraction(2**20), "1048576"), ("cpu", Fraction(1, 1000), "1m"),
    ("cpu", Fraction(1, 3), "0.3333333333333333"), ("cpu", Fraction(-1, 2), "-500m"),
])
def test_byte_resources_take_the_largest_binary_unit_and_others_stay_plain(name: str, value: Fraction,
                                                                          text: str) -> None:
    assert format_quantity(name, value) == text


# A DNS subdomain of exactly 253 characters, and a name of 63.
PREFIX_253 = ".".join(("a" * 63, "b" * 63, "c" * 63, "d" * 61))


@pytest.mark.parametrize(("name", "qualified"), [
    (f"{PREFIX_253}/gpu", True), (f"{PREFIX_253}d/gpu", False), ("example.com/" + "g" * 63, True),
    ("example.com/" + "g" * 64, False), ("g" * 63, True), ("/gpu", False), ("example.com/", False),
    ("example.com/-gpu", False), ("example.com/gpu_1.a-b", True), ("Example.com/gpu", False), ("a/b/c", False),
])
def test_qualified_names_at_their_limits(name: str, qualified: bool) -> None:
    assert is_qualified_name(name) is qualified


@pytest.mark.parametrize(("name", "native", "hugepages", "overcommit"), [
    ("cpu", True, False, True), ("memory", True, False, True), ("hugepages-2Mi", True, True, False),
    ("kubernetes.io/foo", True, False, True), ("example.kubernetes.io/foo", True, False, True),
    ("nvidia.com/gpu", False, False, False), ("kubernetes.iox/foo", False, False, False),
])
def test_native_resources_and_which_may_be_overcommitted(name: str, native: bool, hugepages: bool,
                                                         overcommit: bool) -> None:
    assert (is_native_resource(name), is_hugepages(name), overcommit_allowed(name)) == (native, hugepages, overcommit)


@pytest.mark.parametrize(("name", "byte"), [("memory", True), ("ephemeral-storage", True), ("hugepages-1Gi", True),
                                            ("cpu", False), ("pods", False), ("nvidia.com/gpu", False)])
def test_byte_resources(name: str, byte: bool) -> None:
    assert is_byte_resource(name) is byte


@pytest.mark.parametrize(("name", "problem"), [
    ("hugepages-2Mi", None), ("kubernetes.io/foo", None), ("nvidia.com/gpu", None),
    ("requests.example.com/foo", "doesn't follow extended resource name standard"),
    # The quota system names it `requests.<name>`, whose prefix may not pass 253 characters either.
    (f"{PREFIX_253}/gpu", "doesn't follow extended resource name standard"),
    ("example.com/" + "g" * 64, "must be a qualified name (such as example.com/device)"),
    ("storage", "must be a standard resource for containers"),
])
def test_container_resource_names_at_the_edges(name: str, problem: str | None) -> None:
    assert container_resource_name_problem(name) == problem
