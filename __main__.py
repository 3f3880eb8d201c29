"""eks-gpu-spot: an EKS cluster whose GPU nodes are Spot, scale from zero and back to zero."""

from __future__ import annotations

import pulumi

import config
from components import aws_facts
from components.platform import GpuSpotCluster, GpuSpotClusterArgs

# Everything that can be wrong with the config is refused before the first resource, worded with
# the stack key: the settings check themselves, then the component checks them against AWS facts.
settings = config.load_settings()
with config.stack_keys(settings.project):
    facts = aws_facts.read(settings)
    platform = GpuSpotCluster("eks-gpu-spot", GpuSpotClusterArgs(settings=settings, facts=facts))
for output_name, value in platform.outputs().items():
    pulumi.export(output_name, value)
