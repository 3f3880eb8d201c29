"""The shared checks at their limits: the value at each limit is accepted (and returned as the
types use it), one step past it is refused with a message that names the field and what is allowed."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import pytest

from components import validation
from components.errors import InvalidValueError
from components.validation import INT32_MAX


def refused(check: Callable[[], object]) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as raised:
        check()
    return raised.value


def test_int32_max_is_the_largest_signed_32_bit_integer() -> None:
    assert INT32_MAX == 2_147_483_647


# --- Whole numbers, booleans, strings, choices --------------------------------------------------------

def test_whole_number_accepts_both_ends_of_its_range() -> None:
    assert validation.whole_number("min_size", 0, 0, 10) == 0
    assert validation.whole_number("min_size", 10, 0, 10) == 10
    assert validation.whole_number("heartbeat_timeout_seconds", 30, 30, 7200) == 30
    assert validation.whole_number("heartbeat_timeout_seconds", 7200, 30, 7200) == 7200


def test_whole_number_refuses_one_past_either_end_naming_the_field() -> None:
    assert str(refused(lambda: validation.whole_number("min_size", -1, 0, 10))) == (
        "min_size: got -1; must be a whole number from 0 to 10")
    assert str(refused(lambda: validation.whole_number("min_size", 11, 0, 10))) == (
        "min_size: got 11; must be a whole number from 0 to 10")
    assert refused(lambda: validation.whole_number("heartbeat_timeout_seconds", 29, 30, 7200)).field == (
        "heartbeat_timeout_seconds")
    assert refused(lambda: validation.whole_number("heartbeat_timeout_seconds", 7201, 30, 7200)).value == 7201


def test_whole_number_is_bounded_by_int32_by_default() -> None:
    assert validation.whole_number("count", INT32_MAX, 1) == INT32_MAX
    error = refused(lambda: validation.whole_number("count", INT32_MAX + 1, 1))
    assert str(error) == "count: got 2147483648; must be a whole number from 1 to 2147483647"


@pytest.mark.parametrize(("value", "kind"), [(True, "true/false"), (1.0, "a decimal number"), ("1", "a string"),
                                             (None, "null")])
def test_whole_number_refuses_other_kinds(value: object, kind: str) -> None:
    error = refused(lambda: validation.whole_number("max_size", value, 1, 10))
    assert str(error) == f"max_size: got {value!r}; must be a whole number from 1 to 10, not {kind}"


def test_integer_checks_only_the_kind() -> None:
    assert validation.integer("root_volume_iops", -5, "a whole number of IOPS") == -5
    assert validation.integer("root_volume_iops", INT32_MAX + 1, "a whole number of IOPS") == INT32_MAX + 1
    for bad, kind in ((False, "true/false"), (3000.0, "a decimal number")):
        error = refused(lambda bad=bad: validation.integer("root_volume_iops", bad, "a whole number of IOPS"))
        assert str(error) == f"root_volume_iops: got {bad!r}; must be a whole number of IOPS, not {kind}"


def test_boolean() -> None:
    assert validation.boolean("gpu", True) is True
    assert validation.boolean("gpu", False) is False
    for bad, kind in (("true", "a string"), (1, "a whole number"), (None, "null")):
        assert str(refused(lambda bad=bad: validation.boolean("gpu", bad))) == (
            f"gpu: got {bad!r}; must be true or false, not {kind}")


def test_string_without_a_pattern_takes_any_string() -> None:
    assert validation.string("region", "") == ""
    assert validation.string("region", "anything at all") == "anything at all"
    assert str(refused(lambda: validation.string("region", 5))) == "region: got 5; must be a string, not a whole number"


def test_string_with_a_pattern_says_what_is_allowed() -> None:
    pattern = re.compile(r"[a-z]+")
    allowed = "must be lowercase letters"
    assert validation.string("name", "abc", pattern=pattern, allowed=allowed) == "abc"
    assert str(refused(lambda: validation.string("name", "abc1", pattern=pattern, allowed=allowed))) == (
        "name: got 'abc1'; must be lowercase letters")
    # The wrong kind reuses the words of `allowed`, without repeating "must be".
    assert str(refused(lambda: validation.string("name", ["abc"], pattern=pattern, allowed=allowed))) == (
        "name: got ['abc']; must be lowercase letters, not a list")


def test_choice() -> None:
    choices = ("NoSchedule", "PreferNoSchedule", "NoExecute")
    assert validation.choice("effect", "NoExecute", choices) == "NoExecute"
    assert str(refused(lambda: validation.choice("effect", "noexecute", choices))) == (
        "effect: got 'noexecute'; must be one of: NoSchedule, PreferNoSchedule, NoExecute")
    assert str(refused(lambda: validation.choice("effect", 1, choices))) == (
        "effect: got 1; must be one of: NoSchedule, PreferNoSchedule, NoExecute, not a whole number")


# --- Lists and maps -------------------------------------------------------------------------------------

def test_string_list_returns_a_tuple() -> None:
    assert validation.string_list("instance_types", ["g5.xlarge", "g6.xlarge"]) == ("g5.xlarge", "g6.xlarge")
    assert validation.string_list("instance_types", ()) == ()


@pytest.mark.parametrize(("value", "kind"), [("g5.xlarge", "a string"), (b"g5", "a list"), ({"a": "b"}, "an object"),
                                             (5, "a whole number")])
def test_string_list_refuses_what_is_not_a_list(value: object, kind: str) -> None:
    error = refused(lambda: validation.string_list("instance_types", value, "instance types"))
    assert str(error) == f"instance_types: got {value!r}; must be a list of instance types, not {kind}"


def test_string_list_names_the_item_that_is_not_a_string() -> None:
    error = refused(lambda: validation.string_list("instance_types", ["g5.xlarge", 5], "instance types"))
    assert str(error) == "instance_types[1]: got 5; must be a string (instance type), not a whole number"
    error = refused(lambda: validation.string_list("log_types", [None]))
    assert str(error) == "log_types[0]: got None; must be a string (string), not null"
    error = refused(lambda: validation.string_list("subnets", [1], "subnet IDs of the VPC"))
    assert str(error) == "subnets[0]: got 1; must be a string (subnet IDs of the VPC), not a whole number"


def test_string_map() -> None:
    source = {"team": "ml"}
    copied = validation.string_map("labels", source)
    assert copied == source and copied is not source
    assert str(refused(lambda: validation.string_map("labels", ["team"]))) == (
        "labels: got ['team']; must be an object of string values, not a list")
    assert str(refused(lambda: validation.string_map("labels", {1: "ml"}))) == (
        "labels: got 1; must be an object with string keys, not a whole number")
    assert str(refused(lambda: validation.string_map("labels", {"team": 1}))) == (
        "labels.team: got 1; must be a string, not a whole number")


def test_unique_lists_each_repeated_value_once_in_order() -> None:
    validation.unique("log_types", ["api", "audit"])
    error = refused(lambda: validation.unique("log_types", ("b", "a", "b", "a", "c", "a")))
    assert error.field == "log_types" and error.value == ["b", "a", "b", "a", "c", "a"]
    assert error.allowed == "must not repeat a value (repeated: a, b)"


# --- Durations ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [("0s", 0), ("90s", 90), ("5m", 300), ("1m1s", 61), ("1h", 3600),
                                               ("2h", 7200), ("1h30m", 5400), ("1h1m1s", 3661), ("10m0s", 600)])
def test_duration_seconds(text: str, seconds: int) -> None:
    assert validation.duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m", "1d", "1m1h", "-1m", "1.5h", " 5m"])
def test_duration_seconds_refuses_what_go_would_not_write(text: str) -> None:
    with pytest.raises(ValueError):
        validation.duration_seconds(text)


def test_duration_accepts_both_ends_of_its_range() -> None:
    assert validation.duration("max_node_provision_time", "1m", 60, 3600) == "1m"
    assert validation.duration("max_node_provision_time", "60s", 60, 3600) == "60s"
    assert validation.duration("max_node_provision_time", "1h", 60, 3600) == "1h"
    assert validation.duration("max_node_provision_time", "59m60s", 60, 3600) == "59m60s"
    assert validation.duration("scale_down_delay_after_add", "0s", 0, 24 * 3600) == "0s"
    assert validation.duration("scale_down_delay_after_add", "24h", 0, 24 * 3600) == "24h"


def test_duration_refuses_one_second_past_either_end() -> None:
    allowed = "must be a duration such as '5m', '90s' or '1h30m', from 1m to 60m"
    assert str(refused(lambda: validation.duration("max_node_provision_time", "59s", 60, 3600))) == (
        f"max_node_provision_time: got '59s'; {allowed}")
    assert str(refused(lambda: validation.duration("max_node_provision_time", "1h0m1s", 60, 3600))) == (
        f"max_node_provision_time: got '1h0m1s'; {allowed}")
    assert str(refused(lambda: validation.duration("scale_down_delay_after_add", "24h0m1s", 0, 24 * 3600))) == (
        "scale_down_delay_after_add: got '24h0m1s'; must be a duration such as '5m', '90s' or '1h30m', "
        "from 0s to 1440m")


def test_duration_bounds_are_shown_in_the_unit_they_divide_into() -> None:
    def bounds(low: int, high: int) -> str:
        return refused(lambda: validation.duration("t", "x", low, high)).allowed.rpartition(", ")[2]

    assert bounds(59, 61) == "from 59s to 61s"
    assert bounds(60, 120) == "from 1m to 2m"
    assert bounds(30, 90) == "from 30s to 90s"
    assert bounds(0, 7200) == "from 0s to 120m"


def test_duration_refuses_other_kinds_and_text() -> None:
    error = refused(lambda: validation.duration("scale_down_unneeded_time", 600, 60, 3600))
    assert str(error) == ("scale_down_unneeded_time: got 600; must be a duration such as '5m', '90s' or '1h30m', "
                          "from 1m to 60m, not a whole number")
    error = refused(lambda: validation.duration("scale_down_unneeded_time", "10 minutes", 60, 3600))
    assert error.field == "scale_down_unneeded_time" and error.value == "10 minutes"


# --- Networks -------------------------------------------------------------------------------------------

def test_cidr() -> None:
    assert validation.cidr("vpc_cidr", "10.0.0.0/16") == ipaddress.IPv4Network("10.0.0.0/16")
    assert str(refused(lambda: validation.cidr("vpc_cidr", "10.0.0.1/16"))) == (
        "vpc_cidr: got '10.0.0.1/16'; must be an IPv4 CIDR such as '10.0.0.0/16' (host bits zero)")
    assert str(refused(lambda: validation.cidr("service_cidr", "fd00::/108", "172.20.0.0/16"))) == (
        "service_cidr: got 'fd00::/108'; must be an IPv4 CIDR such as '172.20.0.0/16' (host bits zero)")
    assert str(refused(lambda: validation.cidr("vpc_cidr", 10))) == (
        "vpc_cidr: got 10; must be an IPv4 CIDR such as '10.0.0.0/16' (host bits zero), not a whole number")


@pytest.mark.parametrize(("network", "private"), [
    ("10.0.0.0/8", True), ("10.255.255.0/24", True), ("9.255.255.0/24", False), ("11.0.0.0/24", False),
    ("172.16.0.0/12", True), ("172.16.0.0/16", True), ("172.31.255.0/24", True),
    ("172.15.255.0/24", False), ("172.32.0.0/24", False), ("172.0.0.0/8", False), ("172.0.0.0/11", False),
    ("192.168.0.0/16", True), ("192.168.255.0/24", True), ("192.167.255.0/24", False), ("192.169.0.0/24", False),
    ("192.168.0.0/15", False), ("100.64.0.0/16", False),
])
def test_private_ranges_end_where_rfc_1918_ends(network: str, private: bool) -> None:
    assert validation.is_private(ipaddress.IPv4Network(network)) is private


# --- Kubernetes keys, label values, kubelet's label namespaces ----------------------------------------

KEY_RULE = ("must be a Kubernetes key '[prefix/]name': an optional DNS subdomain prefix (253 characters at most) and "
            "a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
NAME_63 = "n" * 63
# A DNS subdomain of exactly 253 characters: labels of 63, 63, 63 and 61.
PREFIX_253 = ".".join(("a" * 63, "b" * 63, "c" * 63, "d" * 61))


def test_qualified_name_limits_are_inclusive() -> None:
    assert len(PREFIX_253) == 253
    assert validation.qualified_name("key", NAME_63) == NAME_63
    assert validation.qualified_name("key", f"{PREFIX_253}/{NAME_63}") == f"{PREFIX_253}/{NAME_63}"
    assert validation.qualified_name("key", "a") == "a"
    assert validation.qualified_name("key", "example.com/A_b.c-9") == "example.com/A_b.c-9"


@pytest.mark.parametrize("key", [
    "n" * 64, f"{PREFIX_253}x/name", f"example.com/{'n' * 64}", "/name", "example.com/", "", "-name", "name-",
    "Example.com/name", "exa_mple.com/name", "a b", "example.com/a/b",
])
def test_qualified_name_refuses_one_past_each_limit_and_bad_syntax(key: str) -> None:
    error = refused(lambda: validation.qualified_name("taints[0].key", key))
    assert (error.field, error.value, error.allowed) == ("taints[0].key", key, KEY_RULE)


def test_keys_and_label_values_must_be_strings() -> None:
    assert str(refused(lambda: validation.qualified_name("labels", 5))) == f"labels: got 5; {KEY_RULE}, not a whole number"
    assert str(refused(lambda: validation.label_value("labels.team", None))) == (
        "labels.team: got None; must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', "
        "starting and ending with a letter or digit (or empty), not null")


def test_label_value_limits_are_inclusive() -> None:
    assert validation.label_value("labels.team", "v" * 63) == "v" * 63
    assert validation.label_value("labels.team", "") == ""
    assert validation.label_value("labels.team", "A-b_c.9") == "A-b_c.9"


@pytest.mark.parametrize("value", ["v" * 64, "-a", "a-", ".a", "a b", "a/b", "a:b"])
def test_label_value_refuses_one_past_the_limit_and_bad_syntax(value: str) -> None:
    error = refused(lambda: validation.label_value("labels.team", value))
    assert str(error) == (f"labels.team: got {value!r}; must be a Kubernetes label value: at most 63 letters, digits, "
                          "'-', '_' or '.', starting and ending with a letter or digit (or empty)")


@pytest.mark.parametrize(("key", "refused_by_kubelet"), [
    ("kubernetes.io/role", True), ("node-role.kubernetes.io/gpu", True), ("k8s.io/team", True),
    ("sub.k8s.io/team", True), ("kubernetes.io/hostname", False), ("node.kubernetes.io/instance-type", False),
    ("topology.kubernetes.io/zone", False), ("kubelet.kubernetes.io/team", False),
    ("x.kubelet.kubernetes.io/team", False), ("x.node.kubernetes.io/team", False), ("notkubernetes.io/team", False),
    ("notk8s.io/team", False), ("example.com/team", False), ("team", False), ("kubernetes.io", False),
])
def test_kubelet_refuses_labels_in_the_kubernetes_namespaces_it_does_not_own(key: str, refused_by_kubelet: bool) -> None:
    assert validation.kubelet_refuses_label(key) is refused_by_kubelet


# --- AWS tags -------------------------------------------------------------------------------------------

TAG_KEY_RULE = "an AWS tag key must be 1 to 128 letters, digits, spaces or _ . : / = + - @"
TAG_VALUE_RULE = "an AWS tag value must be at most 256 letters, digits, spaces or _ . : / = + - @"


def test_tag_limits_are_inclusive() -> None:
    assert (validation.MAX_TAGS, validation.MAX_TAG_KEY, validation.MAX_TAG_VALUE) == (50, 128, 256)
    validation.tag("tags", "k" * 128, "v" * 256)
    validation.tag("tags", "k", "")
    validation.tag("tags", "team name_1.2:3/4=5+6-7@8", "a value: 1/2 = 3+4 @ 5")
    validation.tag("tags", "awsteam", "aws:value")  # only keys are reserved


def test_tag_key_refused_one_past_the_limit_or_empty_or_reserved() -> None:
    for key in ("k" * 129, "", "team#1", "team\u00e9!"):
        error = refused(lambda key=key: validation.tag("tags.x", key, "v"))
        assert (error.field, error.value, error.allowed) == ("tags.x", key, TAG_KEY_RULE)
    for key in ("aws:team", "AWS:team", "Aws:Team"):
        error = refused(lambda key=key: validation.tag("tags", key, "v"))
        assert str(error) == f"tags: got {key!r}; an AWS tag key must not start with 'aws:' (reserved for AWS)"


def test_tag_value_refused_one_past_the_limit_naming_the_key() -> None:
    for value in ("v" * 257, "a#b", "a;b"):
        error = refused(lambda value=value: validation.tag("tags", "team", value))
        assert (error.field, error.value, error.allowed) == ("tags.team", value, TAG_VALUE_RULE)


def test_tags_as_sent_allows_fifty_tags_and_refuses_fifty_one() -> None:
    fifty = [(f"k{i}", "v") for i in range(50)]
    validation.tags_as_sent("cluster.tags", {"team": "ml"}, fifty, "each subnet")
    error = refused(lambda: validation.tags_as_sent("cluster.tags", {"team": "ml"}, [*fifty, ("k50", "v")],
                                                    "each subnet"))
    assert str(error) == ("cluster.tags: got {'team': 'ml'}; leads to 51 tags on each subnet; AWS allows 50 tags "
                          "per resource")


def test_tags_as_sent_checks_each_tag() -> None:
    error = refused(lambda: validation.tags_as_sent("cluster.tags", {}, [("ok", "v"), ("aws:x", "v")], "each subnet"))
    assert error.field == "cluster.tags" and error.value == "aws:x"


# --- Container images -----------------------------------------------------------------------------------

IMAGE_RULE = ("must be an image reference '[registry[:port]/]repository:tag' or '...@sha256:<digest>' with an explicit "
              "tag other than 'latest', or a digest")
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("reference", [
    "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2", "nginx:1.27", f"nginx@{DIGEST}",
    f"nginx:1.27@{DIGEST}", "localhost:5000/team/app:v1", "nginx:latest-1",
])
def test_pinned_images_are_accepted(reference: str) -> None:
    assert validation.image("image", reference).group(0) == reference


def test_image_parts_are_returned() -> None:
    match = validation.image("image", f"public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.25.2@{DIGEST}")
    assert match["name"] == "public.ecr.aws/aws-ec2/aws-node-termination-handler"
    assert (match["tag"], match["digest"]) == ("v1.25.2", DIGEST)


def test_image_name_limit_is_inclusive() -> None:
    longest = "r/" + "n" * 253  # 255 characters
    assert validation.image("image", f"{longest}:v1")["name"] == longest
    error = refused(lambda: validation.image("image", f"{longest}n:v1"))
    assert str(error) == f"image: got '{longest}n:v1'; {IMAGE_RULE}"


@pytest.mark.parametrize("reference", ["nginx", "nginx:latest", "registry.k8s.io/pause:latest", "Nginx:1.0",
                                       "nginx@sha256:abc", "nginx:", ":1.0"])
def test_unpinned_or_malformed_images_are_refused(reference: str) -> None:
    error = refused(lambda: validation.image("cluster_autoscaler.image", reference))
    assert (error.field, error.value, error.allowed) == ("cluster_autoscaler.image", reference, IMAGE_RULE)


def test_an_image_must_be_a_string() -> None:
    assert str(refused(lambda: validation.image("image", None))) == f"image: got None; {IMAGE_RULE}, not null"
