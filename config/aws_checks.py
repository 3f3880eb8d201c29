"""Checks of settings against facts only AWS knows: the region's zones and instance shapes.

Pure functions: `__main__` fetches the facts with invokes and calls these before registering
any resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.node_template import InstanceShape
from components.settings import Settings

from .errors import ConfigError
from .loader import PROJECT


def check_zone_count(settings: Settings, zone_names: Sequence[str]) -> None:
    if settings.network.creates_vpc and settings.network.az_count > len(zone_names):
        raise ConfigError(
            f"{PROJECT}:availabilityZoneCount",
            settings.network.az_count,
            f"must be from 2 to {len(zone_names)}: region {settings.region} offers {len(zone_names)} "
            f"Availability Zones ({', '.join(zone_names)})",
        )


def check_distinct_zones(settings: Settings, subnet_zones: Sequence[str]) -> None:
    """Existing private subnets must spread over at least two zones."""
    if len(set(subnet_zones)) < 2:
        raise ConfigError(
            f"{PROJECT}:existingPrivateSubnetIds",
            list(settings.network.existing_private_subnet_ids),
            f"must span at least 2 Availability Zones (all are in {', '.join(sorted(set(subnet_zones)))})",
        )


def check_instance_shapes(settings: Settings, shapes: Mapping[str, InstanceShape]) -> None:
    """One shape per pool (CA sizes a group from its first type); GPUs only in GPU pools."""
    pool_keys = [("generalPool", settings.general_pool)] + [
        (f"gpuPools[{index}]", pool) for index, pool in enumerate(settings.gpu_pools)
    ]
    for where, pool in pool_keys:
        key = f"{PROJECT}:{where}.instanceTypes"
        first = shapes[pool.instance_types[0]]
        for instance_type in pool.instance_types:
            shape = shapes[instance_type]
            if pool.gpu and shape.gpu_count == 0:
                raise ConfigError(key, instance_type, f"has no GPU; a GPU pool ('{pool.name}') needs GPU instance types")
            if not pool.gpu and shape.gpu_count > 0:
                raise ConfigError(key, instance_type,
                                  f"has {shape.gpu_count} GPU(s); the general pool must not use GPU instance types "
                                  "(put them in a gpuPools entry)")
            if not shape.same_size_as(first):
                raise ConfigError(
                    key, instance_type,
                    f"is {_describe(shape)} but the first type {first.instance_type} is {_describe(first)}; "
                    "all types of a pool must have the same vCPU, memory and GPU count, because the "
                    "Cluster Autoscaler sizes the whole group from its first type",
                )


def _describe(shape: InstanceShape) -> str:
    return f"{shape.vcpus} vCPU / {shape.memory_mib // 1024} GiB / {shape.gpu_count} GPU"
