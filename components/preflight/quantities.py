"""Kubernetes quantities and resource names: parsed exactly, shown readably, classified as the API server does.

The name rules follow kubernetes/kubernetes `pkg/apis/core/helper/helpers.go` (IsNativeResource,
IsExtendedResourceName, IsOvercommitAllowed, IsHugePageResourceName).
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import PreflightError

_QUANTITY = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|([numkMGTPE]))?$")
_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "k": Fraction(10**3),
                     "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15),
                     "E": Fraction(10**18)}

# The resources a container may name without a domain (helpers.go standardContainerResources).
STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
HUGEPAGES_PREFIX = "hugepages-"
# A qualified name (apimachinery IsQualifiedName): an optional DNS-subdomain prefix and a name part.
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def parse_quantity(value: object) -> Fraction:
    """A Kubernetes quantity (`500m`, `16Gi`, `1.5`, `2e3`, `100M`, or a YAML number), exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise PreflightError(f"{value!r} is not a Kubernetes quantity")
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise PreflightError(f"{text!r} is not a Kubernetes quantity (such as 500m, 2, 1.5, 16Gi, 100M or 1e3)")
    sign, number, binary, exponent, decimal = match.groups()
    result = Fraction(number)
    if binary:
        result *= _BINARY_SUFFIXES[binary]
    elif exponent is not None:
        result *= Fraction(10) ** int(exponent)
    elif decimal:
        result *= _DECIMAL_SUFFIXES[decimal]
    return -result if sign == "-" else result


def is_byte_resource(name: str) -> bool:
    return name in ("memory", "ephemeral-storage") or name.startswith(HUGEPAGES_PREFIX)


def format_quantity(name: str, value: Fraction) -> str:
    """A readable form: `16Gi`, `16320Mi` for byte resources; `4`, `3900m` for the others."""
    if is_byte_resource(name) and value.denominator == 1 and value:
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = _BINARY_SUFFIXES[suffix]
            if value % unit == 0:
                return f"{value // unit}{suffix}"
    if value.denominator == 1:
        return str(value.numerator)
    milli = value * 1000
    if milli.denominator == 1:
        return f"{milli.numerator}m"
    return str(float(value))


def is_native_resource(name: str) -> bool:
    """In the kubernetes.io namespace: unprefixed (cpu, memory, hugepages-2Mi) or `*kubernetes.io/...`."""
    return "/" not in name or "kubernetes.io/" in name


def is_qualified_name(name: str) -> bool:
    prefix, slash, part = name.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return len(part) <= 63 and bool(_NAME_PART.match(part))


def is_extended_resource_name(name: str) -> bool:
    """Outside kubernetes.io, such as `nvidia.com/gpu`: whole numbers, never overcommitted."""
    if is_native_resource(name) or name.startswith("requests."):
        return False
    return is_qualified_name(f"requests.{name}")  # as the quota system would name it


def is_hugepages(name: str) -> bool:
    return name.startswith(HUGEPAGES_PREFIX)


def overcommit_allowed(name: str) -> bool:
    """A request below the limit is allowed only for native resources other than hugepages."""
    return is_native_resource(name) and not is_hugepages(name)


def container_resource_name_problem(name: str) -> str | None:
    """Why the API server refuses `name` in a container's resources (validateContainerResourceName)."""
    if "/" not in name:
        if name in STANDARD_CONTAINER_RESOURCES or is_hugepages(name):
            return None
        return "must be a standard resource for containers"
    if not is_qualified_name(name):
        return "must be a qualified name (such as example.com/device)"
    if not is_native_resource(name) and not is_extended_resource_name(name):
        return "doesn't follow extended resource name standard"
    return None
