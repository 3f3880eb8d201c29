"""Pure checks shared by the package's types: each returns the value (normalised) or raises
`InvalidValueError` naming the field, the value and what is allowed.

The limits are those of the systems that would otherwise refuse the value halfway through a
deploy: AWS (tags, CIDRs), the EKS API, kubelet (`--node-labels`), the Kubernetes API (label
syntax) and the container registry reference grammar.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

from .errors import InvalidValueError, kind_in_words

INT32_MAX = 2**31 - 1


def wrong_kind(field: str, value: object, expected: str) -> InvalidValueError:
    return InvalidValueError(field, value, f"must be {expected}, not {kind_in_words(value)}")


def whole_number(field: str, value: object, minimum: int, maximum: int = INT32_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_kind(field, value, f"a whole number from {minimum} to {maximum}")
    if not minimum <= value <= maximum:
        raise InvalidValueError(field, value, f"must be a whole number from {minimum} to {maximum}")
    return value


def integer(field: str, value: object, expected: str) -> int:
    """Only the kind: a whole number (`expected` says which, in words), ranges checked by the caller."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_kind(field, value, expected)
    return value


def boolean(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise wrong_kind(field, value, "true or false")
    return value


def string(field: str, value: object, *, pattern: re.Pattern[str] | None = None, allowed: str = "") -> str:
    if not isinstance(value, str):
        raise wrong_kind(field, value, allowed.removeprefix("must be ") if allowed else "a string")
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidValueError(field, value, allowed)
    return value


def choice(field: str, value: object, choices: Sequence[str]) -> str:
    allowed = "must be one of: " + ", ".join(choices)
    if not isinstance(value, str):
        raise wrong_kind(field, value, "one of: " + ", ".join(choices))
    if value not in choices:
        raise InvalidValueError(field, value, allowed)
    return value


def string_list(field: str, value: object, what: str = "strings") -> tuple[str, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise wrong_kind(field, value, f"a list of {what}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise wrong_kind(f"{field}[{index}]", item, f"a string ({what[:-1] if what.endswith('s') else what})")
    return tuple(value)


def string_map(field: str, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise wrong_kind(field, value, "an object of string values")
    for key, item in value.items():
        if not isinstance(key, str):
            raise wrong_kind(field, key, "an object with string keys")
        if not isinstance(item, str):
            raise wrong_kind(f"{field}.{key}", item, "a string")
    return dict(value)


def unique(field: str, values: Sequence[str]) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise InvalidValueError(field, list(values), f"must not repeat a value (repeated: {', '.join(repeated)})")


# --- Durations, as the Cluster Autoscaler's Go flags and tags take them ------------------------------

_DURATION = re.compile(r"(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def duration_seconds(text: str) -> int:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(text)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _duration_text(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 and seconds >= 60 else f"{seconds}s"


def duration(field: str, value: object, minimum_seconds: int, maximum_seconds: int) -> str:
    bounds = f"from {_duration_text(minimum_seconds)} to {_duration_text(maximum_seconds)}"
    allowed = f"must be a duration such as '5m', '90s' or '1h30m', {bounds}"
    text = string(field, value, allowed=allowed)
    try:
        seconds = duration_seconds(text)
    except ValueError:
        raise InvalidValueError(field, value, allowed) from None
    if not minimum_seconds <= seconds <= maximum_seconds:
        raise InvalidValueError(field, value, allowed)
    return text


# --- Networks ------------------------------------------------------------------------------------------

def cidr(field: str, value: object, example: str = "10.0.0.0/16") -> ipaddress.IPv4Network:
    allowed = f"must be an IPv4 CIDR such as '{example}' (host bits zero)"
    text = string(field, value, allowed=allowed)
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise InvalidValueError(field, value, allowed) from None


PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def is_private(network: ipaddress.IPv4Network) -> bool:
    return any(network.subnet_of(private) for private in PRIVATE_RANGES)


# --- Kubernetes labels and taints -------------------------------------------------------------------

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")

# kubelet refuses to start with --node-labels in the kubernetes.io or k8s.io namespaces (or their
# subdomains) unless the key is one of these or lies in one of these namespaces:
# kubernetes cmd/kubelet/app/options/options.go ValidateKubeletFlags, and
# staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go (kubeletLabels, kubeletLabelNamespaces).
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "kubernetes.io/os",
    "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
KUBERNETES_NAMESPACES = ("kubernetes.io", "k8s.io")


def _in_namespace(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def kubelet_refuses_label(key: str) -> bool:
    namespace = key.split("/", 1)[0] if "/" in key else ""
    return (any(_in_namespace(namespace, d) for d in KUBERNETES_NAMESPACES)
            and key not in KUBELET_LABELS
            and not any(_in_namespace(namespace, d) for d in KUBELET_LABEL_NAMESPACES))


def qualified_name(field: str, key: object) -> str:
    """A label or taint key: `[prefix/]name`, prefix a DNS subdomain of at most 253, name at most 63."""
    allowed = ("must be a Kubernetes key '[prefix/]name': an optional DNS subdomain prefix (253 characters "
               "at most) and a name of at most 63 letters, digits, '-', '_' or '.', starting and ending "
               "with a letter or digit")
    text = string(field, key, allowed=allowed)
    prefix, _, name = text.rpartition("/")
    if "/" in text and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise InvalidValueError(field, key, allowed)
    if len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise InvalidValueError(field, key, allowed)
    return text


def label_value(field: str, value: object) -> str:
    allowed = ("must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and "
               "ending with a letter or digit (or empty)")
    text = string(field, value, allowed=allowed)
    if len(text) > 63 or not LABEL_VALUE.fullmatch(text):
        raise InvalidValueError(field, value, allowed)
    return text


# --- AWS tags ---------------------------------------------------------------------------------------

MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
# Characters every service the program tags (EC2, Auto Scaling, IAM, KMS, SQS, EKS, EventBridge) accepts.
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


def tag(field: str, key: str, value: str) -> None:
    if not key or len(key) > MAX_TAG_KEY or not _TAG_TEXT.fullmatch(key):
        raise InvalidValueError(field, key, f"an AWS tag key must be 1 to {MAX_TAG_KEY} letters, digits, spaces "
                                            "or _ . : / = + - @")
    if key.lower().startswith("aws:"):
        raise InvalidValueError(field, key, "an AWS tag key must not start with 'aws:' (reserved for AWS)")
    if len(value) > MAX_TAG_VALUE or not _TAG_TEXT.fullmatch(value):
        raise InvalidValueError(f"{field}.{key}", value, f"an AWS tag value must be at most {MAX_TAG_VALUE} "
                                                         "letters, digits, spaces or _ . : / = + - @")


def tags_as_sent(field: str, value: object, tags: Sequence[tuple[str, str]], what: str) -> None:
    """Every tag of one resource valid, and no more of them than AWS allows, counted as sent.
    `field` and `value` name the setting that brought them."""
    for key, tag_value in tags:
        tag(field, key, tag_value)
    if len(tags) > MAX_TAGS:
        raise InvalidValueError(field, value, f"leads to {len(tags)} tags on {what}; AWS allows {MAX_TAGS} "
                                              "tags per resource")


# --- Container images ---------------------------------------------------------------------------------

_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# The reference grammar of github.com/distribution/reference (reference.go): [domain[:port]/]path[:tag][@digest].
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?")


def image(field: str, value: object) -> re.Match[str]:
    """A pinned image reference: a tag other than `latest`, or a digest (or both)."""
    allowed = ("must be an image reference '[registry[:port]/]repository:tag' or '...@sha256:<digest>' "
               "with an explicit tag other than 'latest', or a digest")
    text = string(field, value, allowed=allowed)
    match = IMAGE_REFERENCE.fullmatch(text)
    if (match is None or len(match["name"]) > 255 or not (match["tag"] or match["digest"])
            or match["tag"] == "latest"):
        raise InvalidValueError(field, value, allowed)
    return match
