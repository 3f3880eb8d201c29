"""Facts read from AWS at preview time (zones, subnet zones, instance shapes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pulumi_aws as aws

from .instance_catalog import default_card_enis, max_pods
from .node_template import InstanceShape


def instance_shape(instance_type: str) -> InstanceShape:
    result = aws.ec2.get_instance_type(instance_type=instance_type)
    gpus = list(result.gpuses or [])
    card_enis = default_card_enis(((card.index, card.maximum_interfaces) for card in result.network_cards or []),
                                  result.default_network_card_index or 0, result.maximum_network_interfaces)
    architectures = list(result.supported_architectures or [])
    return InstanceShape(
        instance_type=instance_type,
        vcpus=result.default_vcpus,
        memory_mib=result.memory_size,
        gpu_count=sum(gpu.count for gpu in gpus),
        gpu_model=gpus[0].name if gpus else "",
        gpu_manufacturer=gpus[0].manufacturer if gpus else "",
        max_pods=max_pods(card_enis, result.maximum_ipv4_addresses_per_interface),
        default_card_enis=card_enis,
        ipv4_per_eni=result.maximum_ipv4_addresses_per_interface,
        gpu_memory_mib=gpus[0].memory_size if gpus else 0,
        architecture="arm64" if "arm64" in architectures else "amd64",
    )


def instance_shapes(instance_types: Iterable[str]) -> dict[str, InstanceShape]:
    return {t: instance_shape(t) for t in dict.fromkeys(instance_types)}


def availability_zones() -> list[str]:
    """The region's available zones (standard zones only, not Local or Wavelength Zones)."""
    result = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    return list(result.names)


def subnet_zones(subnet_ids: Sequence[str]) -> list[str]:
    return [aws.ec2.get_subnet(id=subnet_id).availability_zone for subnet_id in subnet_ids]
