"""eks-gpu-spot: an EKS cluster whose GPU nodes are Spot, scale from zero and back to zero."""

from __future__ import annotations

import pulumi

import config
from components import aws_facts
from components.platform import GpuSpotCluster, GpuSpotClusterArgs

# Everything that can be wrong with the config is checked before the first resource.
settings = config.load_settings()
if settings.network.creates_vpc:
    zones = aws_facts.availability_zones()
    config.check_zone_count(settings, zones)
else:
    zones = aws_facts.subnet_zones(settings.network.existing_private_subnet_ids)
    config.check_distinct_zones(settings, zones)
shapes = aws_facts.instance_shapes(t for pool in settings.pools for t in pool.instance_types)
config.check_instance_shapes(settings, shapes)

platform = GpuSpotCluster("eks-gpu-spot", GpuSpotClusterArgs(settings=settings, zones=zones, shapes=shapes))
for output_name, value in platform.outputs().items():
    pulumi.export(output_name, value)
