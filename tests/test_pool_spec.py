"""Pure tests of `NodePoolSpec` and the pool checks of pool_spec.py: every limit at its edge (accepted)
and one step past it (refused word for word, naming the field), each refusal with the nearest good
value that is accepted, and the checks against the instance types' shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.errors import InvalidValueError
from components.image_cache import ImageCacheSpec
from components.instance_catalog import KNOWN_SHAPES
from components.node_template import GPU_TAINT, InstanceShape, Taint
from components.pool_spec import (
    GENERAL_POOL_DEFAULTS,
    GPU_POOL_DEFAULTS,
    NodePoolSpec,
    accelerator_label_value,
    build_node_template,
    check_gp3_iops,
    check_gp3_throughput,
    check_image_cache,
    check_pool_shapes,
    describe,
    lifecycle_label_value,
    node_local_storage,
    pool_defaults,
)
from components.userdata import LocalStorage

GPU: dict[str, Any] = {"name": "gpu", "gpu": True}
GENERAL: dict[str, Any] = {"name": "general"}
# Forty-one distinct names of the instance type form (the spec checks the form; shapes come later).
MANY_TYPES = tuple(f"m{n}.xlarge" for n in range(1, 42))
# Keys whose autoscaler tag, 'k8s.io/cluster-autoscaler/node-template/label/<key>' (46 + key), or
# '.../taint/<key>' (46 + key) is exactly AWS's 128 characters: the key at 82, and one past it.
KEY_82 = "x" * 65 + ".example.com/role"
KEY_83 = "x" * 66 + ".example.com/role"
INSTANCE_TYPE_ALLOWED = "must be an EC2 instance type such as 'g5.xlarge'"
NAME_ALLOWED = "must be 2-32 lowercase letters, digits or '-', starting with a letter"
LABEL_VALUE_ALLOWED = ("must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and "
                       "ending with a letter or digit (or empty)")
RESERVED_ALLOWED = ("is set by the project (reserved label keys: node-pool, lifecycle, nvidia.com/gpu, "
                    "k8s.amazonaws.com/accelerator, nvidia.com/gpu.memory, nvidia.com/device-plugin.config; a GPU "
                    "pool sets its accelerator label with its accelerator setting)")
KUBELET_ALLOWED = ("kubelet refuses --node-labels in the kubernetes.io and k8s.io namespaces except its own set "
                   "(kubernetes.io/arch, ...) and the node.kubernetes.io/ and kubelet.kubernetes.io/ prefixes; such a "
                   "node never joins. Use your own prefix, such as example.com/role")
GENERAL_TAINT_ALLOWED = ("the general pool runs CoreDNS, the autoscaler and the termination handler, which do not "
                         "tolerate it: use the PreferNoSchedule effect")
UNNEEDED_ALLOWED = "must be a duration such as '5m', '90s' or '1h30m', from 1m to 1440m"
THROUGHPUT_RANGE = "gp3 throughput must be from 125 to 1000 MiB/s"


def shape(instance_type: str) -> InstanceShape:
    return KNOWN_SHAPES[instance_type].instance_shape(instance_type)


def refusal(build: Callable[[], object]) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as raised:
        build()
    return raised.value


def refused_lines(**fields: Any) -> list[str]:
    """Each refused value of a pool built from `fields`, one line each as the user reads it."""
    return [str(error) for error in refusal(lambda: NodePoolSpec(**fields)).errors]


REFUSED = [
    # The kind of pool: every default depends on it.
    pytest.param(GPU | {"gpu": "yes"}, "gpu: got 'yes'; must be true or false, not a string", id="gpu-kind"),
    pytest.param({"name": "g"}, f"name: got 'g'; {NAME_ALLOWED}", id="name-1"),
    pytest.param({"name": "g" * 33}, f"name: got '{'g' * 33}'; {NAME_ALLOWED}", id="name-33"),
    pytest.param({"name": "1gpu"}, f"name: got '1gpu'; {NAME_ALLOWED}", id="name-digit-first"),
    pytest.param({"name": "gpu-"}, f"name: got 'gpu-'; {NAME_ALLOWED}", id="name-dash-last"),
    pytest.param({"name": "Gpu"}, f"name: got 'Gpu'; {NAME_ALLOWED}", id="name-upper"),
    pytest.param({"name": 7}, f"name: got 7; {NAME_ALLOWED}, not a whole number", id="name-kind"),
    # Instance types.
    pytest.param(GENERAL | {"instance_types": "m5.xlarge"},
                 "instance_types: got 'm5.xlarge'; must be a list of instance types, not a string", id="types-kind"),
    pytest.param(GENERAL | {"instance_types": ("m5.xlarge", 5)},
                 "instance_types[1]: got 5; must be a string (instance type), not a whole number", id="type-kind"),
    pytest.param(GENERAL | {"instance_types": ()}, "instance_types: got []; must list 1 to 40 instance types",
                 id="types-0"),
    pytest.param(GENERAL | {"instance_types": MANY_TYPES},
                 f"instance_types: got {list(MANY_TYPES)!r}; must list 1 to 40 instance types", id="types-41"),
    pytest.param(GENERAL | {"instance_types": ("m5.xlarge", "M5.xlarge")},
                 f"instance_types[1]: got 'M5.xlarge'; {INSTANCE_TYPE_ALLOWED}", id="type-form"),
    pytest.param(GENERAL | {"instance_types": ("m5.xlarge", "m5a.xlarge", "m5.xlarge")},
                 "instance_types: got ['m5.xlarge', 'm5a.xlarge', 'm5.xlarge']; must not repeat a value "
                 "(repeated: m5.xlarge)", id="types-repeated"),
    # Sizes.
    pytest.param(GENERAL | {"min_size": -1}, "min_size: got -1; must be a whole number from 0 to 1000", id="min--1"),
    pytest.param(GENERAL | {"min_size": 1001, "max_size": 1000},
                 "min_size: got 1001; must be a whole number from 0 to 1000", id="min-1001"),
    pytest.param(GENERAL | {"max_size": 0, "min_size": 0}, "max_size: got 0; must be a whole number from 1 to 1000",
                 id="max-0"),
    pytest.param(GENERAL | {"max_size": 1001}, "max_size: got 1001; must be a whole number from 1 to 1000",
                 id="max-1001"),
    pytest.param(GPU | {"min_size": 3, "max_size": 2}, "min_size: got 3; must not exceed the maximum size (2)",
                 id="min-above-max"),
    pytest.param(GPU | {"min_size": 1, "max_size": 3, "desired_size": 0},
                 "desired_size: got 0; must lie between the minimum (1) and maximum (3) sizes", id="desired-below"),
    pytest.param(GPU | {"min_size": 1, "max_size": 3, "desired_size": 4},
                 "desired_size: got 4; must lie between the minimum (1) and maximum (3) sizes", id="desired-above"),
    pytest.param(GPU | {"desired_size": "1"},
                 "desired_size: got '1'; must be a whole number from 0 to 1000, not a string", id="desired-kind"),
    pytest.param(GPU | {"max_size": 1000, "desired_size": 1001},
                 "desired_size: got 1001; must be a whole number from 0 to 1000", id="desired-1001"),
    # The root volume (gp3).
    pytest.param(GENERAL | {"root_volume_gib": 19}, "root_volume_gib: got 19; must be a whole number from 20 to 16384",
                 id="root-19"),
    pytest.param(GENERAL | {"root_volume_gib": 16385},
                 "root_volume_gib: got 16385; must be a whole number from 20 to 16384", id="root-16385"),
    pytest.param(GENERAL | {"root_volume_iops": 2999},
                 "root_volume_iops: got 2999; gp3 IOPS must be from 3000 to 16000", id="iops-2999"),
    pytest.param(GENERAL | {"root_volume_iops": 16001, "root_volume_gib": 1000},
                 "root_volume_iops: got 16001; gp3 IOPS must be from 3000 to 16000", id="iops-16001"),
    pytest.param(GENERAL | {"root_volume_iops": 10001, "root_volume_gib": 20},
                 "root_volume_iops: got 10001; gp3 allows at most 500 IOPS per GiB: a 20 GiB root volume takes at "
                 "most 10000 IOPS", id="iops-per-gib"),
    pytest.param(GENERAL | {"root_volume_iops": "3000"},
                 "root_volume_iops: got '3000'; must be a whole number of IOPS, not a string", id="iops-kind"),
    pytest.param(GENERAL | {"root_volume_throughput_mibps": 124},
                 f"root_volume_throughput_mibps: got 124; {THROUGHPUT_RANGE}", id="throughput-124"),
    pytest.param(GENERAL | {"root_volume_throughput_mibps": 1001, "root_volume_iops": 16000, "root_volume_gib": 100},
                 f"root_volume_throughput_mibps: got 1001; {THROUGHPUT_RANGE}", id="throughput-1001"),
    pytest.param(GENERAL | {"root_volume_throughput_mibps": 751},
                 "root_volume_throughput_mibps: got 751; gp3 allows at most 0.25 MiB/s per provisioned IOPS: 3000 "
                 "IOPS carry at most 750 MiB/s; provision at least 3004 IOPS", id="throughput-baseline-iops"),
    pytest.param(GPU | {"root_volume_throughput_mibps": 1000, "root_volume_iops": 3999},
                 "root_volume_throughput_mibps: got 1000; gp3 allows at most 0.25 MiB/s per provisioned IOPS: 3999 "
                 "IOPS carry at most 999 MiB/s; provision at least 4000 IOPS", id="throughput-set-iops"),
    pytest.param(GPU | {"root_volume_throughput_mibps": 600.0},
                 "root_volume_throughput_mibps: got 600.0; must be a whole number of MiB/s, not a decimal number",
                 id="throughput-kind"),
    # Purchase options.
    pytest.param(GENERAL | {"on_demand_base_capacity": -1},
                 "on_demand_base_capacity: got -1; must be a whole number from 0 to 1000", id="base--1"),
    pytest.param(GENERAL | {"on_demand_base_capacity": 1001},
                 "on_demand_base_capacity: got 1001; must be a whole number from 0 to 1000", id="base-1001"),
    pytest.param(GENERAL | {"on_demand_percentage_above_base": -1},
                 "on_demand_percentage_above_base: got -1; must be a whole number from 0 to 100", id="percent--1"),
    pytest.param(GENERAL | {"on_demand_percentage_above_base": 101},
                 "on_demand_percentage_above_base: got 101; must be a whole number from 0 to 100", id="percent-101"),
    pytest.param(GENERAL | {"spot_allocation_strategy": "cheapest"},
                 "spot_allocation_strategy: got 'cheapest'; must be one of: price-capacity-optimized, "
                 "capacity-optimized, capacity-optimized-prioritized, lowest-price", id="strategy"),
    # Labels.
    pytest.param(GPU | {"labels": "role=x"}, "labels: got 'role=x'; must be an object of string values, not a string",
                 id="labels-kind"),
    pytest.param(GPU | {"labels": {"team": 1}}, "labels.team: got 1; must be a string, not a whole number",
                 id="label-value-kind"),
    pytest.param(GPU | {"labels": {"-team": "a"}},
                 "labels.-team: got '-team'; must be a Kubernetes key '[prefix/]name': an optional DNS subdomain "
                 "prefix (253 characters at most) and a name of at most 63 letters, digits, '-', '_' or '.', "
                 "starting and ending with a letter or digit", id="label-key"),
    pytest.param(GPU | {"labels": {"team": "a b"}}, f"labels.team: got 'a b'; {LABEL_VALUE_ALLOWED}",
                 id="label-value"),
    pytest.param(GPU | {"labels": {"node-pool": "x"}}, f"labels.node-pool: got 'x'; {RESERVED_ALLOWED}",
                 id="reserved-pool"),
    pytest.param(GPU | {"labels": {"lifecycle": "x"}}, f"labels.lifecycle: got 'x'; {RESERVED_ALLOWED}",
                 id="reserved-lifecycle"),
    pytest.param(GPU | {"labels": {"nvidia.com/gpu": "x"}}, f"labels.nvidia.com/gpu: got 'x'; {RESERVED_ALLOWED}",
                 id="reserved-gpu"),
    pytest.param(GPU | {"labels": {"k8s.amazonaws.com/accelerator": "x"}},
                 f"labels.k8s.amazonaws.com/accelerator: got 'x'; {RESERVED_ALLOWED}", id="reserved-accelerator"),
    pytest.param(GPU | {"labels": {"nvidia.com/gpu.memory": "x"}},
                 f"labels.nvidia.com/gpu.memory: got 'x'; {RESERVED_ALLOWED}", id="reserved-gpu-memory"),
    pytest.param(GPU | {"labels": {"nvidia.com/device-plugin.config": "x"}},
                 f"labels.nvidia.com/device-plugin.config: got 'x'; {RESERVED_ALLOWED}", id="reserved-plugin-config"),
    pytest.param(GPU | {"labels": {"node-role.kubernetes.io/gpu": ""}},
                 f"labels.node-role.kubernetes.io/gpu: got 'node-role.kubernetes.io/gpu'; {KUBELET_ALLOWED}",
                 id="kubelet-label"),
    pytest.param(GPU | {"labels": {KEY_83: "a"}},
                 f"labels.{KEY_83}: got '{KEY_83}'; its autoscaler tag key "
                 "'k8s.io/cluster-autoscaler/node-template/label/<key>' would pass the 128 characters AWS allows: "
                 "at most 82 characters", id="label-key-83"),
    # Taints.
    pytest.param(GPU | {"taints": "a=b:NoSchedule"},
                 "taints: got 'a=b:NoSchedule'; must be a list of taints 'key=value:Effect', not a string",
                 id="taints-text"),
    pytest.param(GPU | {"taints": {"a": "b:NoSchedule"}},
                 "taints: got {'a': 'b:NoSchedule'}; must be a list of taints 'key=value:Effect', not an object",
                 id="taints-object"),
    pytest.param(GPU | {"taints": 1}, "taints: got 1; must be a list of taints 'key=value:Effect', not a whole number",
                 id="taints-number"),
    pytest.param(GPU | {"taints": ["a=b:NoSchedule", "a=b"]},
                 "taints[1]: got 'a=b'; must be a taint 'key=value:Effect' with Effect one of NoSchedule, "
                 "PreferNoSchedule, NoExecute", id="taint-text"),
    pytest.param(GPU | {"taints": ["nvidia.com/gpu=false:NoSchedule"]},
                 "taints[0]: got 'nvidia.com/gpu=false:NoSchedule'; the project sets the 'nvidia.com/gpu' taint on "
                 "GPU pools itself; it cannot be replaced or added", id="taint-gpu"),
    pytest.param(GPU | {"taints": ["a=b:NoSchedule", "a=c:NoExecute"]},
                 "taints[1]: got 'a=c:NoExecute'; repeats a taint key: the autoscaler's ASG tags hold one taint per key",
                 id="taint-twice"),
    pytest.param(GENERAL | {"taints": ["a=b:NoSchedule"]}, f"taints[0]: got 'a=b:NoSchedule'; {GENERAL_TAINT_ALLOWED}",
                 id="general-no-schedule"),
    pytest.param(GENERAL | {"taints": ["a=b:PreferNoSchedule", "c=d:NoExecute"]},
                 f"taints[1]: got 'c=d:NoExecute'; {GENERAL_TAINT_ALLOWED}", id="general-no-execute"),
    pytest.param(GPU | {"taints": [f"{KEY_83}=a:NoSchedule"]},
                 f"taints[0]: got '{KEY_83}=a:NoSchedule'; its autoscaler tag key would pass the 128 characters AWS "
                 "allows", id="taint-key-83"),
    # The autoscaler's settings.
    pytest.param(GPU | {"scale_down_unneeded_time": "59s"},
                 f"scale_down_unneeded_time: got '59s'; {UNNEEDED_ALLOWED}", id="unneeded-59s"),
    pytest.param(GENERAL | {"scale_down_unneeded_time": "24h1s"},
                 f"scale_down_unneeded_time: got '24h1s'; {UNNEEDED_ALLOWED}", id="unneeded-24h1s"),
    pytest.param(GPU | {"accelerator": "nvidia a10g"}, f"accelerator: got 'nvidia a10g'; {LABEL_VALUE_ALLOWED}",
                 id="accelerator-value"),
    pytest.param(GENERAL | {"accelerator": "nvidia-a10g"}, "accelerator: got 'nvidia-a10g'; applies to GPU pools only",
                 id="accelerator-general"),
    pytest.param(GENERAL | {"scale_down_gpu_utilization_threshold": 0.5},
                 "scale_down_gpu_utilization_threshold: got 0.5; a GPU utilization threshold applies to GPU pools only",
                 id="threshold-general"),
    pytest.param(GPU | {"scale_down_gpu_utilization_threshold": 1.01},
                 "scale_down_gpu_utilization_threshold: got 1.01; GPU utilization threshold must be a number from 0 "
                 "to 1", id="threshold-1.01"),
    pytest.param(GENERAL | {"time_slicing_replicas": 2},
                 "time_slicing_replicas: got 2; time-slicing applies to GPU pools only", id="slicing-general"),
    pytest.param(GPU | {"memory_overhead_percent": 50.1},
                 "memory_overhead_percent: got 50.1; memory overhead must be a number of percent from 0 to 50 "
                 "(default 7.5, Karpenter's)", id="overhead-50.1"),
    pytest.param(GPU | {"max_pods": -1},
                 "max_pods: got -1; max pods must be a whole number from 1 to 2147483647 (0 or unset: nodeadm's ENI "
                 "rule)", id="max-pods--1"),
    # Groups and rollouts.
    pytest.param(GPU | {"on_demand_fallback": "yes"},
                 "on_demand_fallback: got 'yes'; must be true or false, not a string", id="fallback-kind"),
    pytest.param(GENERAL | {"on_demand_fallback": True},
                 "on_demand_fallback: got True; applies to GPU pools only (the general pool is one group; use "
                 "onDemandBaseCapacity there)", id="fallback-general"),
    pytest.param(GPU | {"on_demand_fallback": True, "on_demand_percentage_above_base": 100},
                 "on_demand_fallback: got True; the pool is already all On-Demand (on_demand_percentage_above_base "
                 "100); a fallback would only duplicate its groups", id="fallback-all-on-demand"),
    pytest.param(GPU | {"capacity_rebalance": "no"},
                 "capacity_rebalance: got 'no'; must be true or false, not a string", id="rebalance-kind"),
    pytest.param(GPU | {"replace_busy_nodes": 1},
                 "replace_busy_nodes: got 1; must be true or false, not a whole number", id="busy-kind"),
    pytest.param(GENERAL | {"replace_busy_nodes": True},
                 "replace_busy_nodes: got True; applies to GPU pools only (the general pool's nodes are always "
                 "replaced by an instance refresh)", id="busy-general"),
    pytest.param(GPU | {"drain_timeout": "29s"},
                 "drain_timeout: got '29s'; must be a duration such as '30m' or '1h30m', from 30s to 2h: it is the "
                 "lifecycle hook's heartbeat timeout (AWS allows 30 s to 2 h), the longest Auto Scaling holds a "
                 "terminating node while the termination handler drains it", id="drain-29s"),
    pytest.param(GPU | {"local_storage": "raid0"},
                 "local_storage: got 'raid0'; must be one of: RAID0, Mount, none (unset: RAID0 when every instance "
                 "type of the pool has NVMe instance store)", id="local-storage"),
    pytest.param(GPU | {"image_cache": "snap-0123456789abcdef0"},
                 "image_cache: got 'snap-0123456789abcdef0'; must be an image cache {snapshot_id, size_gib, "
                 "fast_snapshot_restore}, not a string", id="image-cache-kind"),
    pytest.param(GPU | {"warm_nodes": -1}, "warm_nodes: got -1; must be a whole number from 0 to 1000", id="warm--1"),
    pytest.param(GPU | {"warm_nodes": 1001}, "warm_nodes: got 1001; must be a whole number from 0 to 1000",
                 id="warm-1001"),
    pytest.param(GENERAL | {"warm_nodes": 1},
                 "warm_nodes: got 1; applies to GPU pools only (the general pool keeps its minimum size running "
                 "already)", id="warm-general"),
]


@pytest.mark.parametrize(("fields", "message"), REFUSED)
def test_a_refused_value_is_named_with_its_field_and_what_is_allowed(fields: dict[str, Any], message: str) -> None:
    assert refused_lines(**fields) == [message]


ACCEPTED = [
    # (fields, attribute, value after construction): each next to a refusal above.
    pytest.param({"name": "gp"}, "name", "gp", id="name-2"),
    pytest.param({"name": "g" * 31 + "1"}, "name", "g" * 31 + "1", id="name-32"),
    pytest.param({"name": "a-1"}, "name", "a-1", id="name-dash-digit"),
    pytest.param(GENERAL | {"instance_types": ["m5.xlarge"]}, "instance_types", ("m5.xlarge",), id="types-1"),
    pytest.param(GENERAL | {"instance_types": MANY_TYPES[:40]}, "instance_types", MANY_TYPES[:40], id="types-40"),
    pytest.param(GENERAL | {"min_size": 0}, "min_size", 0, id="min-0"),
    pytest.param(GENERAL | {"min_size": 1000, "max_size": 1000}, "desired_size", 1000, id="min-max-1000"),
    pytest.param(GENERAL | {"min_size": 0, "max_size": 1}, "max_size", 1, id="max-1"),
    pytest.param(GPU | {"min_size": 2, "max_size": 2}, "desired_size", 2, id="min-equals-max"),
    pytest.param(GPU | {"min_size": 1, "max_size": 3, "desired_size": 3}, "desired_size", 3, id="desired-max"),
    pytest.param(GPU | {"min_size": 1, "max_size": 3}, "desired_size", 1, id="desired-is-min"),
    pytest.param(GENERAL | {"root_volume_gib": 20}, "root_volume_gib", 20, id="root-20"),
    pytest.param(GENERAL | {"root_volume_gib": 16384}, "root_volume_gib", 16384, id="root-16384"),
    pytest.param(GENERAL | {"root_volume_iops": 3000}, "root_volume_iops", 3000, id="iops-3000"),
    pytest.param(GENERAL | {"root_volume_iops": 16000, "root_volume_gib": 32}, "root_volume_iops", 16000,
                 id="iops-16000"),
    pytest.param(GENERAL | {"root_volume_iops": 10000, "root_volume_gib": 20}, "root_volume_iops", 10000,
                 id="iops-500-per-gib"),
    pytest.param(GENERAL | {"root_volume_throughput_mibps": 125}, "root_volume_throughput_mibps", 125,
                 id="throughput-125"),
    pytest.param(GENERAL | {"root_volume_throughput_mibps": 750}, "root_volume_throughput_mibps", 750,
                 id="throughput-baseline-iops"),
    pytest.param(GENERAL | {"root_volume_throughput_mibps": 751, "root_volume_iops": 3004},
                 "root_volume_throughput_mibps", 751, id="throughput-3004-iops"),
    pytest.param(GPU | {"root_volume_throughput_mibps": 1000, "root_volume_iops": 4000}, "root_volume_throughput_mibps",
                 1000, id="throughput-1000"),
    pytest.param(GENERAL | {"on_demand_base_capacity": 1000}, "on_demand_base_capacity", 1000, id="base-1000"),
    pytest.param(GENERAL | {"on_demand_percentage_above_base": 100}, "on_demand_percentage_above_base", 100,
                 id="percent-100"),
    pytest.param(GENERAL | {"spot_allocation_strategy": "lowest-price"}, "spot_allocation_strategy", "lowest-price",
                 id="strategy-lowest-price"),
    pytest.param(GENERAL | {"spot_allocation_strategy": "capacity-optimized-prioritized"}, "spot_allocation_strategy",
                 "capacity-optimized-prioritized", id="strategy-prioritized"),
    pytest.param(GPU | {"labels": {KEY_82: "a", "node.kubernetes.io/role": "gpu", "kubernetes.io/arch": "amd64"}},
                 "labels", {KEY_82: "a", "node.kubernetes.io/role": "gpu", "kubernetes.io/arch": "amd64"},
                 id="label-key-82-and-kubelets-own"),
    pytest.param(GPU | {"taints": [f"{KEY_82}=a:NoSchedule", Taint("b", "", "NoExecute")]}, "taints",
                 (Taint(KEY_82, "a", "NoSchedule"), Taint("b", "", "NoExecute")), id="taint-key-82"),
    pytest.param(GENERAL | {"taints": ["a=b:PreferNoSchedule"]}, "taints", (Taint("a", "b", "PreferNoSchedule"),),
                 id="general-prefer-no-schedule"),
    pytest.param(GPU | {"scale_down_unneeded_time": "1m"}, "scale_down_unneeded_time", "1m", id="unneeded-1m"),
    pytest.param(GENERAL | {"scale_down_unneeded_time": "24h"}, "scale_down_unneeded_time", "24h", id="unneeded-24h"),
    pytest.param(GPU | {"accelerator": "nvidia-a10g"}, "accelerator", "nvidia-a10g", id="accelerator-gpu"),
    pytest.param(GPU | {"scale_down_gpu_utilization_threshold": 1}, "scale_down_gpu_utilization_threshold", 1.0,
                 id="threshold-1"),
    pytest.param(GPU | {"time_slicing_replicas": 2}, "time_slicing_replicas", 2, id="slicing-gpu"),
    pytest.param(GPU | {"memory_overhead_percent": 50}, "memory_overhead_percent", 50.0, id="overhead-50"),
    pytest.param(GPU | {"max_pods": 2147483647}, "max_pods", 2147483647, id="max-pods-int32"),
    pytest.param(GPU | {"on_demand_fallback": True, "on_demand_percentage_above_base": 99}, "on_demand_fallback", True,
                 id="fallback-99-percent"),
    pytest.param(GPU | {"capacity_rebalance": True}, "capacity_rebalance", True, id="rebalance-set"),
    pytest.param(GENERAL | {"capacity_rebalance": False}, "capacity_rebalance", False, id="rebalance-unset"),
    pytest.param(GPU | {"replace_busy_nodes": True}, "replace_busy_nodes", True, id="busy-gpu"),
    pytest.param(GPU | {"drain_timeout": "30s"}, "drain_timeout", "30s", id="drain-30s"),
    pytest.param(GPU | {"local_storage": "RAID0"}, "local_storage", "RAID0", id="local-storage"),
    pytest.param(GPU | {"image_cache": ImageCacheSpec("snap-0123456789abcdef0")}, "image_cache",
                 ImageCacheSpec("snap-0123456789abcdef0"), id="image-cache"),
    pytest.param(GPU | {"warm_nodes": 1000, "max_size": 1000}, "warm_nodes", 1000, id="warm-1000"),
    pytest.param(GENERAL | {"warm_nodes": 0}, "warm_nodes", 0, id="warm-general-0"),
]


@pytest.mark.parametrize(("fields", "attribute", "value"), ACCEPTED)
def test_the_nearest_good_value_is_accepted(fields: dict[str, Any], attribute: str, value: object) -> None:
    got = getattr(NodePoolSpec(**fields), attribute)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("instance_type", ["t3.nano", "t3.micro", "t3.small", "t3.medium", "m5.large", "m5.2xlarge",
                                           "p5.48xlarge", "c5.metal", "m7i.metal-24xl", "u-6tb1.metal",
                                           "g6e.xlarge", "trn1n.32xlarge"])
def test_every_ec2_size_form_is_an_instance_type(instance_type: str) -> None:
    assert NodePoolSpec(name="general", instance_types=(instance_type,)).instance_types == (instance_type,)


@pytest.mark.parametrize("instance_type", ["m5", "m5.huge", "m.xlarge", "m5.metal-24", "m5.xlarge ", "5m.xlarge"])
def test_what_is_not_an_instance_type_is_refused(instance_type: str) -> None:
    assert refused_lines(name="general", instance_types=(instance_type,)) == [
        f"instance_types[0]: got {instance_type!r}; {INSTANCE_TYPE_ALLOWED}"]


def test_each_bad_instance_type_is_named_and_the_count_is_checked_alone() -> None:
    assert refused_lines(name="general", instance_types=("m5", "m5.xlarge", "M6i.xlarge")) == [
        f"instance_types[0]: got 'm5'; {INSTANCE_TYPE_ALLOWED}",
        f"instance_types[2]: got 'M6i.xlarge'; {INSTANCE_TYPE_ALLOWED}",
    ]


@pytest.mark.parametrize("strategy", ["price-capacity-optimized", "capacity-optimized",
                                      "capacity-optimized-prioritized", "lowest-price"])
def test_every_spot_allocation_strategy_of_auto_scaling_is_accepted(strategy: str) -> None:
    assert NodePoolSpec(name="general", spot_allocation_strategy=strategy).spot_allocation_strategy == strategy


def test_defaults_follow_the_kind_of_pool() -> None:
    assert pool_defaults(True) is GPU_POOL_DEFAULTS and pool_defaults(False) is GENERAL_POOL_DEFAULTS
    gpu, general = NodePoolSpec(name="gpu", gpu=True), NodePoolSpec(name="general")
    assert (gpu.instance_types, gpu.min_size, gpu.max_size, gpu.desired_size, gpu.root_volume_gib,
            gpu.scale_down_unneeded_time, gpu.root_volume_throughput_mibps, gpu.capacity_rebalance) == (
        ("g5.xlarge", "g6.xlarge"), 0, 2, 0, 100, "5m", 600, False)
    assert (general.instance_types, general.min_size, general.max_size, general.desired_size,
            general.root_volume_gib, general.scale_down_unneeded_time, general.root_volume_throughput_mibps,
            general.capacity_rebalance) == (
        ("m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge"), 2, 20, 2, 50, "", None, True)
    # Everything else the same for both kinds.
    assert (gpu.on_demand_base_capacity, gpu.on_demand_percentage_above_base, gpu.spot_allocation_strategy,
            gpu.labels, gpu.taints, gpu.root_volume_iops, gpu.local_storage, gpu.warm_nodes) == (
        0, 0, "price-capacity-optimized", {}, (), None, "", 0)


def test_a_value_given_is_kept_over_the_kinds_default() -> None:
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g6e.xlarge",), min_size=1, max_size=4,
                        root_volume_gib=200, scale_down_unneeded_time="10m", root_volume_throughput_mibps=700,
                        capacity_rebalance=True)
    assert (pool.instance_types, pool.min_size, pool.max_size, pool.desired_size, pool.root_volume_gib,
            pool.scale_down_unneeded_time, pool.root_volume_throughput_mibps, pool.capacity_rebalance) == (
        ("g6e.xlarge",), 1, 4, 1, 200, "10m", 700, True)


def test_checks_that_need_another_field_wait_for_it_to_be_good() -> None:
    # A bad size is named alone: the comparisons that need it are not made with it.
    assert refused_lines(name="gpu", gpu=True, min_size="1", max_size=0, desired_size=5) == [
        "min_size: got '1'; must be a whole number from 0 to 1000, not a string",
        "max_size: got 0; must be a whole number from 1 to 1000",
    ]
    assert refused_lines(name="gpu", gpu=True, min_size=1, max_size=1001, desired_size=5) == [
        "max_size: got 1001; must be a whole number from 1 to 1000"]
    assert refused_lines(name="gpu", gpu=True, min_size=0, max_size=0, desired_size=1) == [
        "max_size: got 0; must be a whole number from 1 to 1000"]
    assert refused_lines(name="gpu", gpu=True, min_size=1, max_size=0, desired_size=1) == [
        "max_size: got 0; must be a whole number from 1 to 1000"]
    assert refused_lines(name="gpu", gpu=True, min_size=5, max_size=1001, desired_size="5") == [
        "max_size: got 1001; must be a whole number from 1 to 1000",
        "desired_size: got '5'; must be a whole number from 0 to 1000, not a string",
    ]
    # The IOPS need a good volume size, the throughput good IOPS.
    assert refused_lines(name="general", root_volume_gib=10, root_volume_iops=12000) == [
        "root_volume_gib: got 10; must be a whole number from 20 to 16384"]
    assert refused_lines(name="general", root_volume_iops=2000, root_volume_throughput_mibps=2000) == [
        "root_volume_iops: got 2000; gp3 IOPS must be from 3000 to 16000"]
    # A good volume with no IOPS set: the throughput is checked against gp3's included 3000.
    assert refused_lines(name="general", root_volume_gib=10, root_volume_throughput_mibps=1000) == [
        "root_volume_gib: got 10; must be a whole number from 20 to 16384",
        "root_volume_throughput_mibps: got 1000; gp3 allows at most 0.25 MiB/s per provisioned IOPS: 3000 IOPS "
        "carry at most 750 MiB/s; provision at least 4000 IOPS",
    ]


def test_every_bad_field_of_one_pool_is_named_at_once_in_field_order() -> None:
    error = refusal(lambda: NodePoolSpec(name="X", instance_types=("m5.xlarge", "m5.xlarge"), min_size=-1,
                                         root_volume_gib=10, on_demand_percentage_above_base=101,
                                         labels={"node-pool": "x"}, taints=["a=b:NoSchedule"],  # type: ignore[list-item]
                                         accelerator="a10g", warm_nodes=1))
    assert [e.field for e in error.errors] == [
        "name", "instance_types", "min_size", "root_volume_gib", "on_demand_percentage_above_base", "labels.node-pool",
        "taints[0]", "accelerator", "warm_nodes"]


def test_labels_and_taints_are_stored_as_plain_values() -> None:
    from types import MappingProxyType

    pool = NodePoolSpec(name="gpu", gpu=True, labels=MappingProxyType({"team": "a"}),
                        taints=["team=a:NoSchedule", Taint("x", "y", "NoExecute")])  # type: ignore[list-item]
    assert type(pool.labels) is dict and pool.labels == {"team": "a"}
    assert pool.taints == (Taint("team", "a", "NoSchedule"), Taint("x", "y", "NoExecute"))
    assert pool.all_taints() == (GPU_TAINT, Taint("team", "a", "NoSchedule"), Taint("x", "y", "NoExecute"))
    general = NodePoolSpec(name="general", taints=[Taint("x", "y", "PreferNoSchedule")])
    assert general.all_taints() == (Taint("x", "y", "PreferNoSchedule"),)


def test_a_taint_that_does_not_parse_is_named_by_its_place() -> None:
    error = refusal(lambda: NodePoolSpec(name="gpu", gpu=True, taints=["a=b:NoSchedule", "a b=c:NoSchedule"]))  # type: ignore[list-item]
    assert (error.field, error.value) == ("taints[1]", "a b=c:NoSchedule")


@pytest.mark.parametrize(("base", "percent", "label"), [
    (0, 0, "Ec2Spot"), (1, 0, ""), (0, 1, ""), (0, 99, ""), (0, 100, "OnDemand"), (5, 100, "OnDemand"),
])
def test_the_lifecycle_label_says_what_every_node_of_the_group_is(base: int, percent: int, label: str) -> None:
    assert lifecycle_label_value(base, percent) == label
    pool = NodePoolSpec(name="gpu", gpu=True, on_demand_base_capacity=base, on_demand_percentage_above_base=percent)
    assert pool.lifecycle() == label


@pytest.mark.parametrize(("fields", "zones", "in_zone", "total"), [
    (GPU | {"max_size": 3}, 2, 3, 6),
    (GPU | {"max_size": 3, "on_demand_fallback": True}, 2, 6, 12),
    (GENERAL | {"max_size": 20}, 3, 7, 20),
    (GENERAL | {"max_size": 20}, 1, 20, 20),
    (GENERAL | {"max_size": 20}, 0, 20, 20),
])
def test_the_most_nodes_per_zone_and_in_all(fields: dict[str, Any], zones: int, in_zone: int, total: int) -> None:
    pool = NodePoolSpec(**fields)
    assert pool.max_nodes_in_zone(zones) == in_zone
    assert pool.max_nodes(zones) == total


# --- gp3 ------------------------------------------------------------------------------------------------


def test_gp3_iops_at_their_limits() -> None:
    check_gp3_iops(3000, 1)  # the included IOPS whatever the size
    check_gp3_iops(16000, 32)
    assert str(refusal(lambda: check_gp3_iops(3001, 6))) == (
        "root_volume_iops: got 3001; gp3 allows at most 500 IOPS per GiB: a 6 GiB root volume takes at most 3000 IOPS")
    assert str(refusal(lambda: check_gp3_iops(16000, 31))) == (
        "root_volume_iops: got 16000; gp3 allows at most 500 IOPS per GiB: a 31 GiB root volume takes at most 15500 "
        "IOPS")


def test_gp3_throughput_at_its_limits() -> None:
    check_gp3_throughput(125, 3000)
    check_gp3_throughput(1000, 4000)
    assert str(refusal(lambda: check_gp3_throughput(1000, 3999))).endswith(
        "3999 IOPS carry at most 999 MiB/s; provision at least 4000 IOPS")
    assert str(refusal(lambda: check_gp3_throughput(126, 500))).endswith(
        "500 IOPS carry at most 125 MiB/s; provision at least 504 IOPS")


# --- Image cache ------------------------------------------------------------------------------------------

CACHE = ImageCacheSpec("snap-0123456789abcdef0", size_gib=30)


def test_the_image_cache_volume_takes_the_pools_iops_within_gp3s_per_gib_limit() -> None:
    check_image_cache(NodePoolSpec(name="gpu", gpu=True), 10)  # no cache: nothing to check
    check_image_cache(NodePoolSpec(name="gpu", gpu=True, image_cache=CACHE, root_volume_iops=15000), 30)
    check_image_cache(NodePoolSpec(name="gpu", gpu=True, image_cache=ImageCacheSpec("snap-0123456789abcdef0"),
                                   root_volume_iops=3000), 1)
    error = refusal(lambda: check_image_cache(NodePoolSpec(name="gpu", gpu=True, image_cache=CACHE,
                                                           root_volume_iops=15001), 30))
    assert str(error) == ("image_cache.size_gib: got 30; the cache volume takes the pool's 15001 IOPS, and gp3 allows "
                          "at most 500 per GiB: make it at least 31 GiB")
    # Without a size the volume is the snapshot's.
    sized_by_snapshot = NodePoolSpec(name="gpu", gpu=True, image_cache=ImageCacheSpec("snap-0123456789abcdef0"),
                                     root_volume_iops=5000)
    check_image_cache(sized_by_snapshot, 10)
    assert refusal(lambda: check_image_cache(sized_by_snapshot, 9)).field == "image_cache.size_gib"


def test_an_image_cache_smaller_than_its_snapshot_is_refused_under_its_field() -> None:
    pool = NodePoolSpec(name="gpu", gpu=True, image_cache=CACHE)
    check_image_cache(pool, 30)
    assert str(refusal(lambda: check_image_cache(pool, 31))) == (
        "image_cache.size_gib: got 30; must be at least the size of snapshot snap-0123456789abcdef0 (31 GiB): EC2 "
        "cannot make a volume smaller than its snapshot")


# --- Local storage ----------------------------------------------------------------------------------------


def test_node_local_storage_follows_the_strategy_and_keeps_the_image_store_on_the_cache() -> None:
    g5 = [shape("g5.xlarge")]
    assert node_local_storage(NodePoolSpec(name="gpu", gpu=True), g5) == LocalStorage("RAID0")
    assert node_local_storage(NodePoolSpec(name="gpu", gpu=True, image_cache=CACHE), g5) == LocalStorage(
        "RAID0", ("Containerd", "SOCI"))
    assert node_local_storage(NodePoolSpec(name="gpu", gpu=True, image_cache=CACHE, local_storage="Mount"),
                              g5) == LocalStorage("Mount")
    assert node_local_storage(NodePoolSpec(name="gpu", gpu=True, local_storage="none"), g5) is None
    assert node_local_storage(NodePoolSpec(name="general"), [shape("m6i.xlarge")]) is None


# --- Against the instance types' shapes -----------------------------------------------------------------


def shapes_of(*types: str) -> dict[str, InstanceShape]:
    return {t: shape(t) for t in types}


def shape_refusal(pool: NodePoolSpec, shapes: dict[str, InstanceShape]) -> str:
    return str(refusal(lambda: check_pool_shapes(pool, shapes)))


def test_describe_gives_vcpus_memory_in_gib_and_gpus() -> None:
    assert describe(shape("g5.2xlarge")) == "8 vCPU / 32 GiB / 1 GPU"
    assert describe(InstanceShape("x1.large", 2, 3071)) == "2 vCPU / 2 GiB / 0 GPU"


def test_a_gpu_pool_takes_nvidia_gpu_types_only() -> None:
    def gpu_pool(*types: str) -> NodePoolSpec:
        return NodePoolSpec(name="gpu", gpu=True, instance_types=types)

    check_pool_shapes(gpu_pool("g5.xlarge", "g6.xlarge"), shapes_of("g5.xlarge", "g6.xlarge"))
    assert shape_refusal(gpu_pool("g5.xlarge", "g9.xlarge"), shapes_of("g5.xlarge")) == (
        "instance_types: got 'g9.xlarge'; has no known shape (pass the shapes of every type)")
    assert shape_refusal(gpu_pool("inf2.xlarge"), shapes_of("inf2.xlarge")) == (
        "instance_types: got 'inf2.xlarge'; has Inferentia2 accelerators, not NVIDIA GPUs; GPU pools take NVIDIA "
        "GPU types only (the NVIDIA AMI and device plugin)")
    assert shape_refusal(gpu_pool("m6i.xlarge"), shapes_of("m6i.xlarge")) == (
        "instance_types: got 'm6i.xlarge'; has no GPU; a GPU pool ('gpu') needs GPU instance types")
    assert shape_refusal(gpu_pool("g4ad.xlarge"), shapes_of("g4ad.xlarge")) == (
        "instance_types: got 'g4ad.xlarge'; has AMD GPUs; GPU pools take NVIDIA GPU types only (the NVIDIA AMI and "
        "device plugin)")
    unnamed = InstanceShape("g9.xlarge", 4, 16384, 1, "X1", "")
    assert shape_refusal(gpu_pool("g9.xlarge"), {"g9.xlarge": unnamed}) == (
        "instance_types: got 'g9.xlarge'; has non-NVIDIA GPUs; GPU pools take NVIDIA GPU types only (the NVIDIA AMI "
        "and device plugin)")
    trainer = InstanceShape("trn9.xlarge", 4, 16384, other_accelerators=("Inferentia2", "Trainium"))
    assert shape_refusal(gpu_pool("trn9.xlarge"), {"trn9.xlarge": trainer}) == (
        "instance_types: got 'trn9.xlarge'; has Inferentia2, Trainium accelerators, not NVIDIA GPUs; GPU pools take "
        "NVIDIA GPU types only (the NVIDIA AMI and device plugin)")
    # A GPU type that also lists other accelerators is still an NVIDIA GPU type; the maker's case does not matter.
    both = InstanceShape("g9.xlarge", 4, 16384, 1, "A10G", "nvidia", 58, other_accelerators=("Media",))
    check_pool_shapes(gpu_pool("g9.xlarge"), {"g9.xlarge": both})


def test_the_general_pool_takes_no_accelerator() -> None:
    general = NodePoolSpec(name="general", instance_types=("m6i.xlarge", "g5.xlarge"))
    assert shape_refusal(general, shapes_of("m6i.xlarge", "g5.xlarge")) == (
        "instance_types: got 'g5.xlarge'; has 1 GPU(s) or other accelerators; the general pool must not use GPU "
        "instance types (put them in a gpuPools entry)")
    inferentia = NodePoolSpec(name="general", instance_types=("inf2.xlarge",))
    assert shape_refusal(inferentia, shapes_of("inf2.xlarge")) == (
        "instance_types: got 'inf2.xlarge'; has 0 GPU(s) or other accelerators; the general pool must not use GPU "
        "instance types (put them in a gpuPools entry)")


def test_a_pool_has_one_shape_and_one_architecture_from_its_first_type() -> None:
    check_pool_shapes(NodePoolSpec(name="general", instance_types=("m6i.xlarge", "m5.xlarge")),
                      shapes_of("m6i.xlarge", "m5.xlarge"))
    assert shape_refusal(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge", "g5.2xlarge")),
                         shapes_of("g5.xlarge", "g5.2xlarge")) == (
        "instance_types: got 'g5.2xlarge'; is 8 vCPU / 32 GiB / 1 GPU but the first type g5.xlarge is 4 vCPU / 16 GiB "
        "/ 1 GPU; all types of a pool must have the same vCPU, memory and GPU count, because the Cluster Autoscaler "
        "sizes the whole group from its first type")
    assert shape_refusal(NodePoolSpec(name="general", instance_types=("m6i.xlarge", "m7g.xlarge")),
                         shapes_of("m6i.xlarge", "m7g.xlarge")) == (
        "instance_types: got 'm7g.xlarge'; is arm64 but the first type m6i.xlarge is amd64; a pool has one CPU "
        "architecture (one AMI)")


def test_max_pods_within_what_every_types_network_interfaces_give() -> None:
    # g4dn.xlarge: 3 ENIs x (10 - 1) + 2 = 29 pods; g5.xlarge 58.
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge", "g4dn.xlarge"), max_pods=29)
    shapes = shapes_of("g5.xlarge", "g4dn.xlarge")
    shapes["g4dn.xlarge"] = InstanceShape("g4dn.xlarge", 4, 16384, 1, "A10G", "NVIDIA", 29, 3, 10, 22888)
    check_pool_shapes(pool, shapes)
    over = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge", "g4dn.xlarge"), max_pods=30)
    assert shape_refusal(over, shapes) == (
        "max_pods: got 30; must not exceed what g4dn.xlarge's network interfaces give pods (29): more pods would wait "
        "for an IP address forever")


def test_shared_gpus_are_counted_against_the_pods_the_pool_allows() -> None:
    g5 = shapes_of("g5.xlarge")
    check_pool_shapes(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_pods=3,
                                   time_slicing_replicas=3), g5)
    assert shape_refusal(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_pods=3,
                                      time_slicing_replicas=4), g5) == (
        "time_slicing_replicas: got 4; 4 time-slicing replicas of 1 GPU(s) make 4 schedulable GPUs, more than the "
        "node's 3 pods")
    # nodeadm's ENI rule when max_pods is unset: 58 pods for g5.xlarge.
    check_pool_shapes(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), time_slicing_replicas=58), g5)
    assert refusal(lambda: check_pool_shapes(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",),
                                                           time_slicing_replicas=59), g5)).field == "time_slicing_replicas"


def test_the_memory_overhead_counts_when_the_node_is_checked_for_room() -> None:
    # 3 GiB with 110 pods: 1276Mi allocatable at the default 7.5% overhead, -29Mi at 50%.
    small = {"t3.medium": InstanceShape("t3.medium", 2, 3072, max_pods=110)}
    check_pool_shapes(NodePoolSpec(name="general", instance_types=("t3.medium",), max_pods=110), small)
    assert shape_refusal(NodePoolSpec(name="general", instance_types=("t3.medium",), max_pods=110,
                                      memory_overhead_percent=50), small) == (
        "max_pods: got 110; t3.medium with a 50 GiB root volume and 110 pods leaves nothing allocatable (cpu 1930m, "
        "memory -29Mi, ephemeral-storage 44894Mi)")


def test_gpu_memory_classes_and_local_storage_are_checked_against_the_shapes() -> None:
    t4_a10g = NodePoolSpec(name="gpu", gpu=True, instance_types=("g4dn.xlarge", "g5.xlarge"))
    assert refusal(lambda: check_pool_shapes(t4_a10g, shapes_of("g4dn.xlarge", "g5.xlarge"))).field == "instance_types"
    raid = NodePoolSpec(name="general", instance_types=("m6i.xlarge",), local_storage="RAID0")
    assert refusal(lambda: check_pool_shapes(raid, shapes_of("m6i.xlarge"))).field == "local_storage"
    check_pool_shapes(NodePoolSpec(name="general", instance_types=("m6id.xlarge",), local_storage="RAID0"),
                      shapes_of("m6id.xlarge"))


# --- The node template -----------------------------------------------------------------------------------


def test_the_accelerator_label_of_mixed_or_unknown_models() -> None:
    assert accelerator_label_value([shape("g5.xlarge")]) == "nvidia-a10g"
    assert accelerator_label_value([shape("g5.xlarge"), shape("m6i.xlarge")]) == "nvidia-a10g"
    odd = InstanceShape("x9.large", 4, 16384, 1, "H100 SXM/80GB", "")
    assert accelerator_label_value([odd]) == "nvidia-h100-sxm-80gb"
    assert accelerator_label_value([shape("m6i.xlarge")]) == "gpu"
    long = InstanceShape("x9.large", 4, 16384, 1, "A" * 70, "NVIDIA")
    assert accelerator_label_value([long]) == ("nvidia-" + "a" * 70)[:63]
    # Cut at 63 characters just after a '-': a label value must end with a letter or digit.
    cut = InstanceShape("x9.large", 4, 16384, 1, "A" * 55 + "-B" * 5, "NVIDIA")
    assert accelerator_label_value([cut]) == "nvidia-" + "a" * 55


def test_a_gpu_pools_template_labels_and_capacity() -> None:
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_pods=20, time_slicing_replicas=2,
                        labels={"team": "a"}, scale_down_gpu_utilization_threshold=0.25)
    template = build_node_template(pool, [shape("g5.xlarge")])
    assert template.labels == {"node-pool": "gpu", "lifecycle": "Ec2Spot", "nvidia.com/gpu": "true",
                               "k8s.amazonaws.com/accelerator": "nvidia-a10g", "nvidia.com/gpu.memory": "22888",
                               "nvidia.com/device-plugin.config": "time-slicing-2", "team": "a"}
    assert template.capacity["nvidia.com/gpu"] == "2" and template.capacity["pods"] == "20"
    assert template.taints == (GPU_TAINT,)
    assert template.scale_down_unneeded_time == "5m"
    assert template.extra_autoscaling_options == {"scaledowngpuutilizationthreshold": "0.25"}


def test_the_templates_memory_is_left_after_the_pools_memory_overhead() -> None:
    node = [InstanceShape("t3.medium", 2, 4096, max_pods=110)]
    default = build_node_template(NodePoolSpec(name="general", instance_types=("t3.medium",), max_pods=110), node)
    heavy = build_node_template(NodePoolSpec(name="general", instance_types=("t3.medium",), max_pods=110,
                                             memory_overhead_percent=50), node)
    assert (default.capacity["memory"], heavy.capacity["memory"]) == ("2223Mi", "483Mi")


def test_a_template_without_sharing_or_gpu_memory_and_with_its_own_accelerator() -> None:
    unknown_memory = InstanceShape("g9.xlarge", 4, 16384, 1, "A10G", "NVIDIA", 58)
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g9.xlarge",), accelerator="my-gpu",
                        on_demand_percentage_above_base=50)
    template = build_node_template(pool, [unknown_memory])
    assert template.labels == {"node-pool": "gpu", "nvidia.com/gpu": "true", "k8s.amazonaws.com/accelerator": "my-gpu"}
    assert template.capacity["nvidia.com/gpu"] == "1"
    assert template.extra_autoscaling_options == {}


def test_the_on_demand_fallback_template_says_on_demand() -> None:
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), on_demand_fallback=True)
    assert build_node_template(pool, [shape("g5.xlarge")]).labels["lifecycle"] == "Ec2Spot"
    assert build_node_template(pool, [shape("g5.xlarge")], on_demand_fallback=True).labels["lifecycle"] == "OnDemand"


def test_the_template_counts_the_raid0_array_and_refuses_shared_gpus_past_the_pods() -> None:
    root = build_node_template(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), local_storage="none"),
                               [shape("g5.xlarge")])
    array = build_node_template(NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",)),
                                [shape("g5.xlarge")])
    assert root.capacity["ephemeral-storage"] != array.capacity["ephemeral-storage"]
    pool = NodePoolSpec(name="gpu", gpu=True, instance_types=("g5.xlarge",), max_pods=3, time_slicing_replicas=4)
    assert refusal(lambda: build_node_template(pool, [shape("g5.xlarge")])).field == "time_slicing_replicas"
