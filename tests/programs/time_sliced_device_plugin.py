"""A program that installs the NVIDIA device plugin for pools with and without GPU time-slicing."""

import pulumi_kubernetes as k8s

from components.addons.device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from components.node_template import Taint

provider = k8s.Provider("cluster", kubeconfig="{}")
NvidiaDevicePlugin("device-plugin", NvidiaDevicePluginArgs(
    image="nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
    provider=provider,
    gpu_pool_taints=(Taint("team", "ml", "NoSchedule"),),
    time_slicing_replicas=(1, 4, 2, 4),
))
