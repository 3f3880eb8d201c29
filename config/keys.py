"""The stack config keys and the settings fields they set: one table, read both ways."""

from __future__ import annotations

# Object keys: config key -> attribute of the settings type.
CLUSTER_FIELDS = {
    "clusterName": "name",
    "kubernetesVersion": "kubernetes_version",
    "tags": "tags",
    "endpointPublicAccess": "endpoint_public_access",
    "publicAccessCidrs": "public_access_cidrs",
    "clusterLogTypes": "log_types",
    "serviceCidr": "service_cidr",
    "deletionProtection": "deletion_protection",
    "managedAddonVersions": "managed_addon_versions",
    "amiReleaseVersion": "ami_release_version",
    "clusterLogRetentionDays": "log_retention_days",
}
NEW_VPC_FIELDS = {
    "vpcCidr": "vpc_cidr",
    "availabilityZoneCount": "az_count",
    "availabilityZoneIds": "availability_zone_ids",
    "natGateways": "nat_mode",
    "privateSubnetCidrs": "private_subnet_cidrs",
    "publicSubnetCidrs": "public_subnet_cidrs",
}
# The object key `vpcFlowLogs` sets two fields of a new VPC.
FLOW_LOG_FIELDS = {"enabled": "flow_logs", "retentionDays": "flow_log_retention_days"}
EXISTING_VPC_FIELDS = {
    "existingVpcId": "vpc_id",
    "existingPrivateSubnetIds": "private_subnet_ids",
    "existingPublicSubnetIds": "public_subnet_ids",
}
_POOL_FIELDS = {
    "instanceTypes": "instance_types",
    "rootVolumeGiB": "root_volume_gib",
    "onDemandBaseCapacity": "on_demand_base_capacity",
    "onDemandPercentageAboveBase": "on_demand_percentage_above_base",
    "spotAllocationStrategy": "spot_allocation_strategy",
    "labels": "labels",
    "taints": "taints",
    "scaleDownUnneededTime": "scale_down_unneeded_time",
    "rootVolumeThroughput": "root_volume_throughput_mibps",
    "rootVolumeIops": "root_volume_iops",
    "memoryOverheadPercent": "memory_overhead_percent",
    "maxPods": "max_pods",
    "capacityRebalance": "capacity_rebalance",
    "drainTimeout": "drain_timeout",
    "localStorage": "local_storage",
    "imageCache": "image_cache",
}
# The object key `imageCache` of a pool: config key -> attribute of ImageCacheSpec.
IMAGE_CACHE_FIELDS = {"snapshotId": "snapshot_id", "sizeGiB": "size_gib", "fastSnapshotRestore": "fast_snapshot_restore"}
# Attributes of a pool that are objects with keys of their own, for rewording errors.
NESTED_FIELDS = {"image_cache": IMAGE_CACHE_FIELDS}
GENERAL_POOL_FIELDS = {"minSize": "min_size", "maxSize": "max_size", "desiredSize": "desired_size", **_POOL_FIELDS}
GPU_POOL_FIELDS = {"name": "name", "minSizePerAz": "min_size", "maxSizePerAz": "max_size", **_POOL_FIELDS,
                   "acceleratorLabel": "accelerator", "timeSlicingReplicas": "time_slicing_replicas",
                   "scaleDownGpuUtilizationThreshold": "scale_down_gpu_utilization_threshold",
                   "onDemandFallback": "on_demand_fallback", "replaceBusyNodes": "replace_busy_nodes",
                   "warmNodes": "warm_nodes"}
DEVICE_PLUGIN_FIELDS = {"enabled": "enabled", "image": "image"}
CLUSTER_AUTOSCALER_FIELDS = {
    "enabled": "enabled",
    "image": "image",
    "imageTags": "image_tags",
    "expander": "expander",
    "scaleDownUnneededTime": "scale_down_unneeded_time",
    "scaleDownDelayAfterAdd": "scale_down_delay_after_add",
    "scaleDownUtilizationThreshold": "scale_down_utilization_threshold",
    "maxNodeProvisionTime": "max_node_provision_time",
}
TERMINATION_HANDLER_FIELDS = {"enabled": "enabled", "image": "image",
                              "heartbeatTimeoutSeconds": "heartbeat_timeout_seconds"}

# Settings attribute -> (config key of the object, or "" where its fields are top-level keys; fields).
SECTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "cluster": ("", CLUSTER_FIELDS),
    "network": ("", {**NEW_VPC_FIELDS, **EXISTING_VPC_FIELDS,
                     **{f"vpcFlowLogs.{name}": attribute for name, attribute in FLOW_LOG_FIELDS.items()}}),
    "general_pool": ("generalPool", GENERAL_POOL_FIELDS),
    "gpu_pools": ("gpuPools", GPU_POOL_FIELDS),
    "device_plugin": ("nvidiaDevicePlugin", DEVICE_PLUGIN_FIELDS),
    "cluster_autoscaler": ("clusterAutoscaler", CLUSTER_AUTOSCALER_FIELDS),
    "termination_handler": ("nodeTerminationHandler", TERMINATION_HANDLER_FIELDS),
}

# Top-level keys and how Pulumi's config string is decoded (objects and lists arrive as JSON).
TOP_LEVEL_KEYS: dict[str, str] = {
    "clusterName": "string",
    "kubernetesVersion": "string",
    "tags": "object",
    "endpointPublicAccess": "boolean",
    "publicAccessCidrs": "array",
    "clusterLogTypes": "array",
    "serviceCidr": "string",
    "deletionProtection": "boolean",
    "managedAddonVersions": "object",
    "amiReleaseVersion": "string",
    "clusterLogRetentionDays": "integer",
    "vpcFlowLogs": "object",
    "vpcCidr": "string",
    "availabilityZoneCount": "integer",
    "availabilityZoneIds": "array",
    "natGateways": "string",
    "privateSubnetCidrs": "array",
    "publicSubnetCidrs": "array",
    "existingVpcId": "string",
    "existingPrivateSubnetIds": "array",
    "existingPublicSubnetIds": "array",
    "generalPool": "object",
    "gpuPools": "objects",
    "nvidiaDevicePlugin": "object",
    "clusterAutoscaler": "object",
    "nodeTerminationHandler": "object",
}
