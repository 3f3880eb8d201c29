"""The typed settings `config.loader` produces: defined in the components package, so that the
top-level `GpuSpotCluster` component and library users share them."""

from components.settings import (
    ClusterAutoscalerSettings,
    ClusterSettings,
    DevicePluginSettings,
    NetworkSettings,
    Settings,
    TerminationHandlerSettings,
)

__all__ = [
    "ClusterAutoscalerSettings",
    "ClusterSettings",
    "DevicePluginSettings",
    "NetworkSettings",
    "Settings",
    "TerminationHandlerSettings",
]
