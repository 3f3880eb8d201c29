"""Cluster add-ons as typed Kubernetes resources: NVIDIA device plugin, Cluster Autoscaler, NTH, warm nodes."""

from .cluster_autoscaler import AutoscaledPool, ClusterAutoscaler, ClusterAutoscalerArgs
from .device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs, device_plugin_daemonset_manifest
from .termination_handler import NodeTerminationHandler, NodeTerminationHandlerArgs
from .warm_nodes import WarmNodes, WarmNodesArgs, WarmPool

__all__ = [
    "AutoscaledPool",
    "ClusterAutoscaler",
    "ClusterAutoscalerArgs",
    "NodeTerminationHandler",
    "NodeTerminationHandlerArgs",
    "NvidiaDevicePlugin",
    "NvidiaDevicePluginArgs",
    "WarmNodes",
    "WarmNodesArgs",
    "WarmPool",
    "device_plugin_daemonset_manifest",
]
