"""The typed description of a node pool that the node-group component builds from.

`NodePoolSpec` refuses, when it is constructed, every value that AWS, EKS or kubelet would refuse
later; checks that need the instance types' shapes run in `plan.py`, before any resource exists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import validation
from .allocatable import (
    DEFAULT_MEMORY_OVERHEAD_PERCENT,
    RAID0,
    check_max_pods,
    check_memory_overhead_percent,
    pool_allocatable,
)
from .errors import Checks, InvalidValueError, within
from .gpu import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_MEMORY_LABEL,
    ca_gpu_type,
    check_gpu_memory,
    check_gpu_utilization_threshold,
    check_time_slicing_replicas,
    gpu_memory_label_value,
    gpu_models,
    time_slicing_config_name,
)
from .image_cache import ImageCacheSpec, check_snapshot_size
from .local_storage import (
    DISABLED_MOUNT_CONTAINERD,
    DISABLED_MOUNT_SOCI,
    check_local_storage,
    resolve_local_storage,
)
from .node_template import (
    ACCELERATOR_LABEL,
    CA_LABEL_PREFIX,
    CA_TAINT_PREFIX,
    GPU_LABEL,
    GPU_RESOURCE,
    GPU_TAINT,
    GPU_TAINT_KEY,
    LIFECYCLE_LABEL,
    POOL_LABEL,
    SPOT_LIFECYCLE,
    InstanceShape,
    NodeTemplate,
    Taint,
)
from .rollout import check_drain_timeout
from .userdata import LocalStorage

# The lifecycle label of an all On-Demand group: the value the EC2 Spot workshops pair with Ec2Spot.
ON_DEMAND_LIFECYCLE = "OnDemand"
SPOT_ALLOCATION_STRATEGIES = (
    "price-capacity-optimized",
    "capacity-optimized",
    "capacity-optimized-prioritized",
    "lowest-price",
)
RESERVED_LABELS = (POOL_LABEL, LIFECYCLE_LABEL, GPU_LABEL, ACCELERATOR_LABEL, GPU_MEMORY_LABEL,
                   DEVICE_PLUGIN_CONFIG_LABEL)
POOL_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(\d*(nano|micro|small|medium|large|xlarge)|metal(-\d+xl)?)")
MAX_INSTANCE_TYPES = 40  # overrides of one MixedInstancesPolicy
MAX_GROUP_SIZE = 1000  # per Auto Scaling group: a sanity bound far above any one pool's need
MIN_ROOT_VOLUME_GIB = 20  # the AL2023 EKS AMIs' snapshot size
MAX_ROOT_VOLUME_GIB = 16384  # gp3
SCALE_DOWN_UNNEEDED_SECONDS = (60, 24 * 3600)
# Names the On-Demand fallback groups of a pool (and their templates) after the Spot ones.
ON_DEMAND_SUFFIX = "-on-demand"
# An unset field: __post_init__ replaces it with the default of the pool's kind.
BY_KIND: Any = None


@dataclass(frozen=True)
class PoolDefaults:
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    root_volume_gib: int
    scale_down_unneeded_time: str
    root_volume_throughput_mibps: int | None = None
    # Early replacement on a Spot rebalance recommendation (the ASG's capacity rebalance).
    capacity_rebalance: bool = True


# The one place the pools' defaults are written; config/, the examples and the docs read them here.
GENERAL_POOL_DEFAULTS = PoolDefaults(("m6i.xlarge", "m6a.xlarge", "m5.xlarge", "m5a.xlarge", "m7i.xlarge"),
                                     min_size=2, max_size=20, root_volume_gib=50, scale_down_unneeded_time="")
# Capacity rebalance off for GPU pools: a rebalance recommendation is a warning that may never turn
# into an interruption, and acting on it drains the node at once, evicting a long GPU job for
# nothing. The 2-minute interruption warning still drains the node (the handler's Spot rule). The
# general pool keeps it on: its pods move cheaply, and a replacement is launched before the drain.
# GPU pools: A10G (g5) and L4 (g6), both 22888 MiB per GPU; T4 (g4dn, 16384 MiB) would be refused
# with them (gpu.check_gpu_memory). Unneeded time 5m: a short idle tail at GPU prices
# (docs/autoscaling.md, section 5: at most 6 GPU instance-minutes per scale-out with the
# autoscaler's 5m scale-down delay after add).
# Throughput 600 MiB/s: GPU pools pull large images (CUDA, model servers) with nodeadm's FastImagePull on (see
# userdata.py). nodeadm's docs (doc/examples.md, "Enabling fast image pull") recommend at least
# 600 MiB/s; below that parallel pull can be slower than serial. 600 MiB/s is about what the
# default GPU types can take in anyway (EBS burst bandwidth of g4dn/g5 .xlarge up to 3.5 Gbps,
# g6.xlarge/.2xlarge up to 5 Gbps, ~596 MiB/s, per the EC2 instance type specifications; see
# `aws ec2 describe-instance-types --query 'InstanceTypes[].EbsInfo'`), and it fits under the baseline 3,000 IOPS
# (3,000 x 0.25 = 750 MiB/s), so no IOPS are bought. Large pools (12xlarge: 16-20 Gbps) may set
# 1,000 MiB/s with 4,000 IOPS.
GPU_POOL_DEFAULTS = PoolDefaults(("g5.xlarge", "g6.xlarge"),
                                 min_size=0, max_size=2, root_volume_gib=100, scale_down_unneeded_time="5m",
                                 root_volume_throughput_mibps=600, capacity_rebalance=False)


def pool_defaults(gpu: bool) -> PoolDefaults:
    return GPU_POOL_DEFAULTS if gpu else GENERAL_POOL_DEFAULTS


@dataclass(frozen=True)
class NodePoolSpec:
    """A node pool: instance types of one shape, sizes, and what its nodes register with.

    For a GPU pool (`gpu=True`) the sizes are per Availability Zone: the node-group component
    builds one Auto Scaling group per AZ so the autoscaler can pick the zone a pod needs.
    Fields left unset take the defaults of the pool's kind (`pool_defaults`); `desired_size`
    defaults to `min_size`. Taints may also be given as strings `key=value:Effect`.

    Refused at construction: a name that is not 2-32 of `a-z0-9-`; no, repeated or malformed
    instance types (at most 40); sizes outside 0-1000 or not min <= desired <= max; a root volume
    outside 20-16384 GiB; labels that are not valid Kubernetes labels, that the project sets itself,
    that kubelet refuses in `--node-labels` (the kubernetes.io and k8s.io namespaces outside
    kubelet's own set), or whose autoscaler tag key would pass 128 characters; two taints with one
    key, a taint on `nvidia.com/gpu` (the project sets it), and NoSchedule/NoExecute taints on the
    general pool, where CoreDNS, the autoscaler and the termination handler run; `replace_busy_nodes`
    on the general pool, and a `drain_timeout` outside 30 s to 2 h (a lifecycle hook's heartbeat).
    """

    name: str
    instance_types: Sequence[str] = BY_KIND
    gpu: bool = False
    min_size: int = BY_KIND
    max_size: int = BY_KIND
    desired_size: int = BY_KIND
    root_volume_gib: int = BY_KIND
    on_demand_base_capacity: int = 0
    on_demand_percentage_above_base: int = 0
    spot_allocation_strategy: str = "price-capacity-optimized"
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[Taint] = ()
    scale_down_unneeded_time: str = BY_KIND
    accelerator: str = ""
    # gp3 root volume performance; None keeps gp3's baseline (125 MiB/s, 3000 IOPS) at no cost.
    root_volume_throughput_mibps: int | None = BY_KIND
    root_volume_iops: int | None = None

    # GPU time-slicing: each GPU is advertised as this many `nvidia.com/gpu` (1 = not shared).
    time_slicing_replicas: int = 1
    # Memory the OS does not report, in percent of the instance type's memory (allocatable.py).
    memory_overhead_percent: float = DEFAULT_MEMORY_OVERHEAD_PERCENT
    # kubelet maxPods; 0 = nodeadm's ENI rule. When set, nodeadm must get it as maxPodsExpression.
    max_pods: int = 0
    # The autoscaler's per-group `scaledowngpuutilizationthreshold` (None: its default, 0.5).
    scale_down_gpu_utilization_threshold: float | None = None
    # GPU pools: one more ASG per zone, all On-Demand, that the priority expander ranks below
    # every Spot group, so the autoscaler turns to it only when Spot scale-ups fail.
    on_demand_fallback: bool = False
    # The groups' capacity rebalance (see GPU_POOL_DEFAULTS for why it differs by kind).
    capacity_rebalance: bool = BY_KIND
    # GPU pools: roll busy nodes onto a changed launch template too (instance refresh, one node at a
    # time, each drained for up to `drain_timeout`); off, only idle nodes leave (rollout.py).
    replace_busy_nodes: bool = False
    # How long Auto Scaling holds a terminating node of this pool for its drain (its lifecycle hook's
    # heartbeat timeout), e.g. "1h"; empty: the termination handler's heartbeat_timeout_seconds.
    drain_timeout: str = ""
    # nodeadm's localStorage strategy (local_storage.py): "" = RAID0 when every type has NVMe
    # instance store, else the root volume; RAID0, Mount, or none.
    local_storage: str = ""
    # A second volume from a snapshot holding the pool's images (image_cache.py).
    image_cache: ImageCacheSpec | None = None
    # GPU pools: nodes kept ready with placeholder pods that real pods preempt (addons/warm_nodes.py).
    warm_nodes: int = 0

    def __post_init__(self) -> None:
        # Every default depends on the kind of pool: a wrong `gpu` stops here.
        gpu = validation.boolean("gpu", self.gpu)
        defaults = pool_defaults(gpu)
        checks = Checks()

        def resolve(name: str, default: object) -> object:
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, default)
                return default
            return value

        with checks.check():
            validation.string("name", self.name, pattern=POOL_NAME,
                              allowed="must be 2-32 lowercase letters, digits or '-', starting with a letter")
        with checks.check():
            types = validation.string_list("instance_types", resolve("instance_types", defaults.instance_types),
                                           "instance types")
            if not 1 <= len(types) <= MAX_INSTANCE_TYPES:
                raise InvalidValueError("instance_types", list(types),
                                        f"must list 1 to {MAX_INSTANCE_TYPES} instance types")
            object.__setattr__(self, "instance_types", types)
            for index, instance_type in enumerate(types):
                with checks.check():
                    validation.string(f"instance_types[{index}]", instance_type, pattern=INSTANCE_TYPE,
                                      allowed="must be an EC2 instance type such as 'g5.xlarge'")
            validation.unique("instance_types", types)

        with checks.check():
            validation.whole_number("min_size", resolve("min_size", defaults.min_size), 0, MAX_GROUP_SIZE)
        with checks.check():
            validation.whole_number("max_size", resolve("max_size", defaults.max_size), 1, MAX_GROUP_SIZE)
        if checks.ok("min_size", "max_size") and self.min_size > self.max_size:
            with checks.check():
                raise InvalidValueError("min_size", self.min_size, f"must not exceed the maximum size ({self.max_size})")
        if checks.ok("min_size"):
            with checks.check():
                desired = validation.whole_number("desired_size", resolve("desired_size", self.min_size), 0,
                                                  MAX_GROUP_SIZE)
                if checks.ok("max_size") and not self.min_size <= desired <= self.max_size:
                    raise InvalidValueError("desired_size", desired, f"must lie between the minimum ({self.min_size}) "
                                                                     f"and maximum ({self.max_size}) sizes")
        with checks.check():
            validation.whole_number("root_volume_gib", resolve("root_volume_gib", defaults.root_volume_gib),
                                    MIN_ROOT_VOLUME_GIB, MAX_ROOT_VOLUME_GIB)
        iops = self.root_volume_iops
        if iops is not None and checks.ok("root_volume_gib"):
            with checks.check():
                check_gp3_iops(validation.integer("root_volume_iops", iops, "a whole number of IOPS"),
                               self.root_volume_gib)
        throughput = resolve("root_volume_throughput_mibps", defaults.root_volume_throughput_mibps)
        if throughput is not None and checks.ok("root_volume_iops"):
            with checks.check():
                check_gp3_throughput(validation.integer("root_volume_throughput_mibps", throughput,
                                                        "a whole number of MiB/s"),
                                     iops if iops is not None else GP3_BASELINE_IOPS)
        with checks.check():
            validation.whole_number("on_demand_base_capacity", self.on_demand_base_capacity, 0, MAX_GROUP_SIZE)
        with checks.check():
            validation.whole_number("on_demand_percentage_above_base", self.on_demand_percentage_above_base, 0, 100)
        with checks.check():
            validation.choice("spot_allocation_strategy", self.spot_allocation_strategy, SPOT_ALLOCATION_STRATEGIES)
        with checks.check():
            object.__setattr__(self, "labels", _labels(self.labels))
        with checks.check():
            object.__setattr__(self, "taints", _taints(self.taints, gpu))
        with checks.check():
            unneeded = resolve("scale_down_unneeded_time", defaults.scale_down_unneeded_time)
            if unneeded:
                validation.duration("scale_down_unneeded_time", unneeded, *SCALE_DOWN_UNNEEDED_SECONDS)
        with checks.check():
            validation.label_value("accelerator", self.accelerator)
            if self.accelerator and not gpu:
                raise InvalidValueError("accelerator", self.accelerator, "applies to GPU pools only")
        # The limits that need the instance shapes (replicas x GPUs within max pods) are in check_pool_shapes.
        with checks.check():
            check_time_slicing_replicas(self.time_slicing_replicas, gpu_pool=gpu)
        with checks.check():
            object.__setattr__(self, "memory_overhead_percent",
                               check_memory_overhead_percent(self.memory_overhead_percent))
        with checks.check():
            check_max_pods(self.max_pods)
        if self.scale_down_gpu_utilization_threshold is not None:
            with checks.check():
                object.__setattr__(self, "scale_down_gpu_utilization_threshold", check_gpu_utilization_threshold(
                    self.scale_down_gpu_utilization_threshold, gpu_pool=gpu))
        with checks.check():
            fallback = validation.boolean("on_demand_fallback", self.on_demand_fallback)
            if fallback and not gpu:
                raise InvalidValueError("on_demand_fallback", fallback, "applies to GPU pools only (the general pool "
                                                                        "is one group; use onDemandBaseCapacity there)")
            if fallback and self.on_demand_percentage_above_base == 100:
                raise InvalidValueError("on_demand_fallback", fallback, "the pool is already all On-Demand "
                                                                        "(on_demand_percentage_above_base 100); a "
                                                                        "fallback would only duplicate its groups")
        with checks.check():
            validation.boolean("capacity_rebalance", resolve("capacity_rebalance", defaults.capacity_rebalance))
        with checks.check():
            busy = validation.boolean("replace_busy_nodes", self.replace_busy_nodes)
            if busy and not gpu:
                raise InvalidValueError("replace_busy_nodes", busy, "applies to GPU pools only (the general pool's "
                                                                    "nodes are always replaced by an instance refresh)")
        with checks.check():
            check_drain_timeout(self.drain_timeout)
        with checks.check():
            check_local_storage(self.local_storage)
        with checks.check():
            if self.image_cache is not None and not isinstance(self.image_cache, ImageCacheSpec):
                raise validation.wrong_kind("image_cache", self.image_cache,
                                            "an image cache {snapshot_id, size_gib, fast_snapshot_restore}")
        with checks.check():
            warm = validation.whole_number("warm_nodes", self.warm_nodes, 0, MAX_GROUP_SIZE)
            if warm and not gpu:
                raise InvalidValueError("warm_nodes", warm, "applies to GPU pools only (the general pool keeps its "
                                                            "minimum size running already)")
        checks.done()

    def lifecycle(self) -> str:
        """The lifecycle label value of the pool's own (Spot-settings) groups; "" when they mix both."""
        return lifecycle_label_value(self.on_demand_base_capacity, self.on_demand_percentage_above_base)

    def all_taints(self) -> tuple[Taint, ...]:
        return (GPU_TAINT, *self.taints) if self.gpu else tuple(self.taints)

    def max_nodes_in_zone(self, zone_count: int) -> int:
        """The most nodes the pool may have in one of its `zone_count` zones: a GPU pool's maximum per
        zone, twice with its On-Demand fallback group there; the general pool's maximum spread over
        its zones, rounded up (its one group keeps them balanced)."""
        if self.gpu:
            return self.max_size * (2 if self.on_demand_fallback else 1)
        return math.ceil(self.max_size / max(1, zone_count))

    def max_nodes(self, zone_count: int) -> int:
        """The most nodes the pool's groups may hold together over its `zone_count` zones."""
        return self.max_nodes_in_zone(zone_count) * zone_count if self.gpu else self.max_size


def lifecycle_label_value(on_demand_base_capacity: int, on_demand_percentage_above_base: int) -> str:
    """What the `lifecycle` label may truthfully say of every node of a group with this distribution.

    `Ec2Spot` when the group launches only Spot (base 0, 0% above), `OnDemand` when it launches
    only On-Demand (100% above base, whatever the base), and "" (no label) when it mixes both:
    kubelet registers one label per group's launch template, and it cannot know which kind this
    instance is, so a label would lie on some of the nodes.
    """
    if on_demand_percentage_above_base == 100:
        return ON_DEMAND_LIFECYCLE
    if on_demand_percentage_above_base == 0 and on_demand_base_capacity == 0:
        return SPOT_LIFECYCLE
    return ""


def _labels(raw: object) -> dict[str, str]:
    labels = validation.string_map("labels", raw)
    for key, value in labels.items():
        where = f"labels.{key}"
        validation.qualified_name(where, key)
        validation.label_value(where, value)
        if key in RESERVED_LABELS:
            raise InvalidValueError(where, value, f"is set by the project (reserved label keys: "
                                                  f"{', '.join(RESERVED_LABELS)}; a GPU pool sets its "
                                                  "accelerator label with its accelerator setting)")
        if validation.kubelet_refuses_label(key):
            raise InvalidValueError(where, key, "kubelet refuses --node-labels in the kubernetes.io and k8s.io "
                                                "namespaces except its own set (kubernetes.io/arch, ...) and the "
                                                "node.kubernetes.io/ and kubelet.kubernetes.io/ prefixes; such a "
                                                "node never joins. Use your own prefix, such as example.com/role")
        if len(CA_LABEL_PREFIX + key) > validation.MAX_TAG_KEY:
            raise InvalidValueError(where, key, f"its autoscaler tag key '{CA_LABEL_PREFIX}<key>' would pass the "
                                                f"{validation.MAX_TAG_KEY} characters AWS allows: at most "
                                                f"{validation.MAX_TAG_KEY - len(CA_LABEL_PREFIX)} characters")
    return labels


def _taints(raw: object, gpu: bool) -> tuple[Taint, ...]:
    if isinstance(raw, (str, Mapping)) or not isinstance(raw, Sequence):
        raise validation.wrong_kind("taints", raw, "a list of taints 'key=value:Effect'")
    taints: list[Taint] = []
    for index, item in enumerate(raw):
        where = f"taints[{index}]"
        with within(where):
            taint = item if isinstance(item, Taint) else Taint.parse(item)
        if taint.key == GPU_TAINT_KEY:
            raise InvalidValueError(where, taint.kubelet_form(), f"the project sets the '{GPU_TAINT_KEY}' taint on "
                                                                 "GPU pools itself; it cannot be replaced or added")
        if any(t.key == taint.key for t in taints):
            raise InvalidValueError(where, taint.kubelet_form(), "repeats a taint key: the autoscaler's ASG tags "
                                                                 "hold one taint per key")
        if not gpu and taint.effect != "PreferNoSchedule":
            raise InvalidValueError(where, taint.kubelet_form(), "the general pool runs CoreDNS, the autoscaler and "
                                                                 "the termination handler, which do not tolerate "
                                                                 "it: use the PreferNoSchedule effect")
        if len(CA_TAINT_PREFIX + taint.key) > validation.MAX_TAG_KEY:
            raise InvalidValueError(where, taint.kubelet_form(), "its autoscaler tag key would pass the "
                                                                 f"{validation.MAX_TAG_KEY} characters AWS allows")
        taints.append(taint)
    return tuple(taints)


def describe(shape: InstanceShape) -> str:
    return f"{shape.vcpus} vCPU / {shape.memory_mib // 1024} GiB / {shape.gpu_count} GPU"


def check_pool_shapes(pool: NodePoolSpec, shapes: Mapping[str, InstanceShape]) -> None:
    """One shape and one CPU architecture per pool (the autoscaler sizes a group from its first
    type; one AMI per launch template); NVIDIA GPUs in GPU pools, no accelerator in the general one.
    Fields are those of `pool`."""
    types = list(pool.instance_types)
    missing = [t for t in types if t not in shapes]
    if missing:
        raise InvalidValueError("instance_types", missing[0], "has no known shape (pass the shapes of every type)")
    first = shapes[types[0]]
    for instance_type in types:
        shape = shapes[instance_type]
        if pool.gpu:
            if shape.other_accelerators and not shape.gpu_count:
                raise InvalidValueError("instance_types", instance_type,
                                        f"has {', '.join(shape.other_accelerators)} accelerators, not NVIDIA GPUs; "
                                        "GPU pools take NVIDIA GPU types only (the NVIDIA AMI and device plugin)")
            if shape.gpu_count == 0:
                raise InvalidValueError("instance_types", instance_type,
                                        f"has no GPU; a GPU pool ('{pool.name}') needs GPU instance types")
            if shape.gpu_manufacturer.lower() != "nvidia":
                raise InvalidValueError("instance_types", instance_type,
                                        f"has {shape.gpu_manufacturer or 'non-NVIDIA'} GPUs; GPU pools take NVIDIA "
                                        "GPU types only (the NVIDIA AMI and device plugin)")
        elif shape.gpu_count or shape.other_accelerators:
            raise InvalidValueError("instance_types", instance_type,
                                    f"has {shape.gpu_count} GPU(s) or other accelerators; the general pool must not "
                                    "use GPU instance types (put them in a gpuPools entry)")
        if not shape.same_size_as(first):
            raise InvalidValueError("instance_types", instance_type,
                                    f"is {describe(shape)} but the first type {first.instance_type} is "
                                    f"{describe(first)}; all types of a pool must have the same vCPU, memory and "
                                    "GPU count, because the Cluster Autoscaler sizes the whole group from its "
                                    "first type")
        if shape.architecture != first.architecture:
            raise InvalidValueError("instance_types", instance_type,
                                    f"is {shape.architecture} but the first type {first.instance_type} is "
                                    f"{first.architecture}; a pool has one CPU architecture (one AMI)")
    pool_shapes = [shapes[t] for t in types]
    for shape in pool_shapes:
        # Without VPC CNI prefix delegation (not enabled here) every pod needs a secondary IP: pods past
        # nodeadm's ENI rule stay in ContainerCreating, which the autoscaler never answers with a node.
        if pool.max_pods > shape.max_pods:
            raise InvalidValueError("max_pods", pool.max_pods,
                                    f"must not exceed what {shape.instance_type}'s network interfaces give pods "
                                    f"({shape.max_pods}): more pods would wait for an IP address forever")
    allocatable = pool_allocatable(pool_shapes, pool.root_volume_gib,
                                   memory_overhead_percent=pool.memory_overhead_percent, max_pods=pool.max_pods,
                                   local_storage=resolve_local_storage(pool.local_storage, pool_shapes))
    if pool.gpu:
        check_gpu_memory(pool_shapes)
        check_time_slicing_replicas(pool.time_slicing_replicas, gpu_pool=True, gpus_per_node=first.gpu_count,
                                    max_pods=allocatable.pods)


# gp3 limits (Amazon EBS User Guide, "General Purpose SSD volumes", gp3): 3,000 IOPS and
# 125 MiB/s included; more IOPS up to 16,000 at no more than 500 IOPS per GiB; more throughput up
# to 1,000 MiB/s at no more than 0.25 MiB/s per provisioned IOPS (so 1,000 MiB/s needs 4,000 IOPS).
# AWS has since raised the ceilings for larger volumes (API references list up to 2,000 MiB/s);
# these are the limits every gp3 volume accepts, and they cover nodeadm's FastImagePull advice.
GP3_BASELINE_IOPS = 3000
GP3_MAX_IOPS = 16000
GP3_MAX_IOPS_PER_GIB = 500
GP3_BASELINE_THROUGHPUT_MIBPS = 125
GP3_MAX_THROUGHPUT_MIBPS = 1000
GP3_MAX_MIBPS_PER_IOPS = 0.25



def check_gp3_iops(iops: int, size_gib: int) -> None:
    """Refuse (`root_volume_iops`) what gp3 refuses for `iops` on a volume of `size_gib`."""
    if not GP3_BASELINE_IOPS <= iops <= GP3_MAX_IOPS:
        raise InvalidValueError("root_volume_iops", iops, f"gp3 IOPS must be from {GP3_BASELINE_IOPS} to {GP3_MAX_IOPS}")
    if iops > GP3_BASELINE_IOPS and iops > GP3_MAX_IOPS_PER_GIB * size_gib:
        raise InvalidValueError("root_volume_iops", iops,
                                f"gp3 allows at most {GP3_MAX_IOPS_PER_GIB} IOPS per GiB: a {size_gib} GiB root "
                                f"volume takes at most {GP3_MAX_IOPS_PER_GIB * size_gib} IOPS")


def check_gp3_throughput(throughput_mibps: int, iops: int) -> None:
    """Refuse (`root_volume_throughput_mibps`) what gp3 refuses for `throughput_mibps` with `iops`."""
    if not GP3_BASELINE_THROUGHPUT_MIBPS <= throughput_mibps <= GP3_MAX_THROUGHPUT_MIBPS:
        raise InvalidValueError("root_volume_throughput_mibps", throughput_mibps,
                                f"gp3 throughput must be from {GP3_BASELINE_THROUGHPUT_MIBPS} to "
                                f"{GP3_MAX_THROUGHPUT_MIBPS} MiB/s")
    if throughput_mibps > GP3_MAX_MIBPS_PER_IOPS * iops:
        needed = int(-(-throughput_mibps // GP3_MAX_MIBPS_PER_IOPS))
        raise InvalidValueError("root_volume_throughput_mibps", throughput_mibps,
                                f"gp3 allows at most {GP3_MAX_MIBPS_PER_IOPS} MiB/s per provisioned IOPS: {iops} "
                                f"IOPS carry at most {int(GP3_MAX_MIBPS_PER_IOPS * iops)} MiB/s; provision at "
                                f"least {needed} IOPS")


def check_image_cache(pool: NodePoolSpec, snapshot_gib: int) -> None:
    """The pool's image cache against its snapshot's size: a volume at least that large, and the
    pool's IOPS within what gp3 allows for the volume. Fields are those of `pool`."""
    cache = pool.image_cache
    if cache is None:
        return
    with within("image_cache"):
        check_snapshot_size(cache, snapshot_gib)
    size = cache.volume_gib(snapshot_gib)
    iops = pool.root_volume_iops
    if iops is not None and iops > GP3_BASELINE_IOPS and iops > GP3_MAX_IOPS_PER_GIB * size:
        raise InvalidValueError("image_cache.size_gib", cache.size_gib,
                                f"the cache volume takes the pool's {iops} IOPS, and gp3 allows at most "
                                f"{GP3_MAX_IOPS_PER_GIB} per GiB: make it at least "
                                f"{-(-iops // GP3_MAX_IOPS_PER_GIB)} GiB")


def node_local_storage(pool: NodePoolSpec, shapes: Sequence[InstanceShape]) -> LocalStorage | None:
    """The NodeConfig's `spec.instance.localStorage` of the pool's nodes, or None (root volume).

    With an image cache and RAID0, containerd's and the SOCI snapshotter's directories stay on the
    cache volume (`disabledMounts`); kubelet and pod logs go to the array.
    """
    strategy = resolve_local_storage(pool.local_storage, shapes)
    if not strategy:
        return None
    disabled = (DISABLED_MOUNT_CONTAINERD, DISABLED_MOUNT_SOCI) if pool.image_cache and strategy == RAID0 else ()
    return LocalStorage(strategy, disabled)


def accelerator_label_value(shapes: Sequence[InstanceShape]) -> str:
    """`k8s.amazonaws.com/accelerator` of a pool.

    One GPU model: the Cluster Autoscaler's own name for it where it has one (`nvidia-tesla-t4`,
    `nvidia-a10g`, `nvidia-l4`, ...; see gpu.CA_GPU_TYPES), else `nvidia-<model>`. Several models:
    a combined value such as `nvidia-a10g-l4`, which no per-type autoscaler limit matches.
    """
    models = gpu_models(shapes)
    if len(models) == 1 and ca_gpu_type(models[0]):
        return ca_gpu_type(models[0])
    vendors = sorted({(s.gpu_manufacturer or "nvidia").lower() for s in shapes if s.gpu_count})
    value = "-".join(vendors[:1] + sorted(m.lower() for m in models)) or "gpu"
    return re.sub(r"[^a-z0-9.-]", "-", value)[:63].strip("-.")


def build_node_template(spec: NodePoolSpec, shapes: Sequence[InstanceShape], *,
                        on_demand_fallback: bool = False) -> NodeTemplate:
    """The node template of a pool. `shapes` follow `spec.instance_types`; CA sizes from the first.

    `on_demand_fallback`: the template of the pool's On-Demand fallback groups, identical but for
    the lifecycle label (`OnDemand`). Otherwise the lifecycle label follows the pool's Spot
    settings (`lifecycle_label_value`) and is absent when its groups mix Spot and On-Demand.

    Capacity holds what kubelet will report as ALLOCATABLE (allocatable.py), because the
    autoscaler takes the template's capacity as allocatable: the least over the pool's types, so
    every node the group launches has at least what the template promises.
    """
    first = shapes[0]
    labels: dict[str, str] = {POOL_LABEL: spec.name}
    lifecycle = ON_DEMAND_LIFECYCLE if on_demand_fallback else spec.lifecycle()
    if lifecycle:
        labels[LIFECYCLE_LABEL] = lifecycle
    allocatable = pool_allocatable(shapes, spec.root_volume_gib, memory_overhead_percent=spec.memory_overhead_percent,
                                   max_pods=spec.max_pods, local_storage=resolve_local_storage(spec.local_storage, shapes))
    capacity = allocatable.quantities()
    replicas = check_time_slicing_replicas(spec.time_slicing_replicas, gpu_pool=spec.gpu,
                                           gpus_per_node=first.gpu_count, max_pods=allocatable.pods)
    if spec.gpu:
        labels[GPU_LABEL] = "true"
        labels[ACCELERATOR_LABEL] = spec.accelerator or accelerator_label_value(shapes)
        gpu_memory = gpu_memory_label_value(shapes)
        if gpu_memory:
            labels[GPU_MEMORY_LABEL] = gpu_memory
        if replicas > 1:
            labels[DEVICE_PLUGIN_CONFIG_LABEL] = time_slicing_config_name(replicas)
        capacity[GPU_RESOURCE] = str(first.gpu_count * replicas)
    labels.update(spec.labels)
    options: dict[str, str] = {}
    if spec.scale_down_gpu_utilization_threshold is not None:
        # CA parses it with strconv.ParseFloat.
        options["scaledowngpuutilizationthreshold"] = f"{spec.scale_down_gpu_utilization_threshold:g}"
    return NodeTemplate(
        labels=labels,
        taints=spec.all_taints(),
        capacity=capacity,
        scale_down_unneeded_time=spec.scale_down_unneeded_time,
        extra_autoscaling_options=options,
    )
