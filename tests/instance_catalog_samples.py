"""Excerpts of the three upstream tables scripts/generate_instance_catalog.py reads, exactly as each
source has them (whole records, in the source's own format), for the types the tests need:
p5.48xlarge, g6e.12xlarge, g5.48xlarge and c7i.2xlarge (the stack test), g4dn.xlarge, p4d.24xlarge (four
network cards), g5g.xlarge (arm64), g4ad.xlarge (AMD GPU) and inf2.xlarge (Inferentia).

- EKS_AMI: awslabs/amazon-eks-ami nodeadm/internal/kubelet/instance-info.jsonl at 81fec2e8 (2026-07-23);
- KARPENTER: aws/karpenter-provider-aws website/content/en/docs/reference/instance-types.md at 1d927085
  (2026-08-21): its front matter, and each type's record under its family heading;
- KARPENTER_VPC_LIMITS: aws/karpenter-provider-aws pkg/providers/instancetype/zz_generated.vpclimits.go at
  1d927085: the `Limits` map's entries for these types (p5.48xlarge has 32 network cards).
"""

SAMPLE_TYPES = ("p5.48xlarge", "g6e.12xlarge", "g5.48xlarge", "c7i.2xlarge", "g4dn.xlarge", "p4d.24xlarge",
                "g5g.xlarge", "g4ad.xlarge", "inf2.xlarge")

EKS_AMI = """\
{"instanceType":"c7i.2xlarge","defaultMaxENIs":4,"ipv4AddressesPerInterface":15}
{"instanceType":"g4ad.xlarge","defaultMaxENIs":2,"ipv4AddressesPerInterface":4}
{"instanceType":"g4dn.xlarge","defaultMaxENIs":3,"ipv4AddressesPerInterface":10}
{"instanceType":"g5.48xlarge","defaultMaxENIs":7,"ipv4AddressesPerInterface":50}
{"instanceType":"g5g.xlarge","defaultMaxENIs":4,"ipv4AddressesPerInterface":15}
{"instanceType":"g6e.12xlarge","defaultMaxENIs":10,"ipv4AddressesPerInterface":30}
{"instanceType":"inf2.xlarge","defaultMaxENIs":4,"ipv4AddressesPerInterface":15}
{"instanceType":"p4d.24xlarge","defaultMaxENIs":15,"ipv4AddressesPerInterface":50}
{"instanceType":"p5.48xlarge","defaultMaxENIs":2,"ipv4AddressesPerInterface":50}
"""

KARPENTER = """\
---
title: "Instance Types"
linkTitle: "Instance Types"
weight: 100

description: >
  Evaluate Instance Type Resources
---
<!-- this document is generated from hack/docs/instancetypes_gen/main.go -->
AWS instance types offer varying resources and can be selected by labels. The values provided
below are the resources available with some assumptions and after the instance overhead has been subtracted:
- `blockDeviceMappings` are not configured
- `amiFamily` is set to `AL2023`
## p5 Family
### `p5.48xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|p|
 |karpenter.k8s.aws/instance-cpu|192|
 |karpenter.k8s.aws/instance-cpu-manufacturer|amd|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3600|
 |karpenter.k8s.aws/instance-ebs-bandwidth|80000|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|p5|
 |karpenter.k8s.aws/instance-generation|5|
 |karpenter.k8s.aws/instance-gpu-count|8|
 |karpenter.k8s.aws/instance-gpu-manufacturer|nvidia|
 |karpenter.k8s.aws/instance-gpu-memory|81920|
 |karpenter.k8s.aws/instance-gpu-name|h100|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-local-nvme|30400|
 |karpenter.k8s.aws/instance-memory|2097152|
 |karpenter.k8s.aws/instance-network-bandwidth|3200000|
 |karpenter.k8s.aws/instance-size|48xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|p5.48xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|191450m|
 |ephemeral-storage|17Gi|
 |memory|1938410Mi|
 |nvidia.com/gpu|8|
 |pods|100|
 |vpc.amazonaws.com/efa|32|
 |vpc.amazonaws.com/pod-eni|120|
## g6e Family
### `g6e.12xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|g|
 |karpenter.k8s.aws/instance-cpu|48|
 |karpenter.k8s.aws/instance-cpu-manufacturer|amd|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3400|
 |karpenter.k8s.aws/instance-ebs-bandwidth|20000|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|g6e|
 |karpenter.k8s.aws/instance-generation|6|
 |karpenter.k8s.aws/instance-gpu-count|4|
 |karpenter.k8s.aws/instance-gpu-manufacturer|nvidia|
 |karpenter.k8s.aws/instance-gpu-memory|45776|
 |karpenter.k8s.aws/instance-gpu-name|l40s|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-local-nvme|3800|
 |karpenter.k8s.aws/instance-memory|393216|
 |karpenter.k8s.aws/instance-network-bandwidth|100000|
 |karpenter.k8s.aws/instance-size|12xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|g6e.12xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|47810m|
 |ephemeral-storage|17Gi|
 |memory|360157Mi|
 |nvidia.com/gpu|4|
 |pods|292|
 |vpc.amazonaws.com/efa|1|
 |vpc.amazonaws.com/pod-eni|112|
## g5 Family
### `g5.48xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|g|
 |karpenter.k8s.aws/instance-cpu|192|
 |karpenter.k8s.aws/instance-cpu-manufacturer|amd|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3300|
 |karpenter.k8s.aws/instance-ebs-bandwidth|19000|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|g5|
 |karpenter.k8s.aws/instance-generation|5|
 |karpenter.k8s.aws/instance-gpu-count|8|
 |karpenter.k8s.aws/instance-gpu-manufacturer|nvidia|
 |karpenter.k8s.aws/instance-gpu-memory|22888|
 |karpenter.k8s.aws/instance-gpu-name|a10g|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-local-nvme|7600|
 |karpenter.k8s.aws/instance-memory|786432|
 |karpenter.k8s.aws/instance-network-bandwidth|100000|
 |karpenter.k8s.aws/instance-size|48xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|g5.48xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|191450m|
 |ephemeral-storage|17Gi|
 |memory|723299Mi|
 |nvidia.com/gpu|8|
 |pods|345|
 |vpc.amazonaws.com/efa|1|
 |vpc.amazonaws.com/pod-eni|115|
## c7i Family
### `c7i.2xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|c|
 |karpenter.k8s.aws/instance-cpu|8|
 |karpenter.k8s.aws/instance-cpu-manufacturer|intel|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3200|
 |karpenter.k8s.aws/instance-ebs-bandwidth|10000|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|c7i|
 |karpenter.k8s.aws/instance-generation|7|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-memory|16384|
 |karpenter.k8s.aws/instance-network-bandwidth|3125|
 |karpenter.k8s.aws/instance-size|2xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|c7i.2xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|7910m|
 |ephemeral-storage|17Gi|
 |memory|14162Mi|
 |pods|58|
 |vpc.amazonaws.com/pod-eni|38|
## g4dn Family
### `g4dn.xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|g|
 |karpenter.k8s.aws/instance-cpu|4|
 |karpenter.k8s.aws/instance-cpu-manufacturer|intel|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|2500|
 |karpenter.k8s.aws/instance-ebs-bandwidth|3500|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|g4dn|
 |karpenter.k8s.aws/instance-generation|4|
 |karpenter.k8s.aws/instance-gpu-count|1|
 |karpenter.k8s.aws/instance-gpu-manufacturer|nvidia|
 |karpenter.k8s.aws/instance-gpu-memory|16384|
 |karpenter.k8s.aws/instance-gpu-name|t4|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-local-nvme|125|
 |karpenter.k8s.aws/instance-memory|16384|
 |karpenter.k8s.aws/instance-network-bandwidth|5000|
 |karpenter.k8s.aws/instance-size|xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|g4dn.xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|3920m|
 |ephemeral-storage|17Gi|
 |memory|14481Mi|
 |nvidia.com/gpu|1|
 |pods|29|
 |vpc.amazonaws.com/pod-eni|39|
## p4d Family
### `p4d.24xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|p|
 |karpenter.k8s.aws/instance-cpu|96|
 |karpenter.k8s.aws/instance-cpu-manufacturer|intel|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3000|
 |karpenter.k8s.aws/instance-ebs-bandwidth|19000|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|p4d|
 |karpenter.k8s.aws/instance-generation|4|
 |karpenter.k8s.aws/instance-gpu-count|8|
 |karpenter.k8s.aws/instance-gpu-manufacturer|nvidia|
 |karpenter.k8s.aws/instance-gpu-memory|40960|
 |karpenter.k8s.aws/instance-gpu-name|a100|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-local-nvme|8000|
 |karpenter.k8s.aws/instance-memory|1179648|
 |karpenter.k8s.aws/instance-network-bandwidth|400000|
 |karpenter.k8s.aws/instance-size|24xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|p4d.24xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|95690m|
 |ephemeral-storage|17Gi|
 |memory|1082712Mi|
 |nvidia.com/gpu|8|
 |pods|737|
 |vpc.amazonaws.com/efa|4|
 |vpc.amazonaws.com/pod-eni|62|
## g5g Family
### `g5g.xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|g|
 |karpenter.k8s.aws/instance-cpu|4|
 |karpenter.k8s.aws/instance-cpu-manufacturer|aws|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|2500|
 |karpenter.k8s.aws/instance-ebs-bandwidth|4750|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|false|
 |karpenter.k8s.aws/instance-family|g5g|
 |karpenter.k8s.aws/instance-generation|5|
 |karpenter.k8s.aws/instance-gpu-count|1|
 |karpenter.k8s.aws/instance-gpu-manufacturer|nvidia|
 |karpenter.k8s.aws/instance-gpu-memory|16384|
 |karpenter.k8s.aws/instance-gpu-name|t4g|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-memory|8192|
 |karpenter.k8s.aws/instance-network-bandwidth|1250|
 |karpenter.k8s.aws/instance-size|xlarge|
 |kubernetes.io/arch|arm64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|g5g.xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |cpu|3920m|
 |ephemeral-storage|17Gi|
 |memory|6525Mi|
 |nvidia.com/gpu|1|
 |pods|58|
 |vpc.amazonaws.com/pod-eni|18|
## g4ad Family
### `g4ad.xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|g|
 |karpenter.k8s.aws/instance-cpu|4|
 |karpenter.k8s.aws/instance-cpu-manufacturer|amd|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3000|
 |karpenter.k8s.aws/instance-ebs-bandwidth|3170|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|g4ad|
 |karpenter.k8s.aws/instance-generation|4|
 |karpenter.k8s.aws/instance-gpu-count|1|
 |karpenter.k8s.aws/instance-gpu-manufacturer|amd|
 |karpenter.k8s.aws/instance-gpu-memory|8192|
 |karpenter.k8s.aws/instance-gpu-name|radeon-pro-v520|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-local-nvme|150|
 |karpenter.k8s.aws/instance-memory|16384|
 |karpenter.k8s.aws/instance-network-bandwidth|2000|
 |karpenter.k8s.aws/instance-size|xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|g4ad.xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |amd.com/gpu|1|
 |cpu|3920m|
 |ephemeral-storage|17Gi|
 |memory|14712Mi|
 |pods|8|
 |vpc.amazonaws.com/pod-eni|12|
## inf2 Family
### `inf2.xlarge`
#### Labels
 | Label | Value |
 |--|--|
 |karpenter.k8s.aws/instance-accelerator-count|1|
 |karpenter.k8s.aws/instance-accelerator-manufacturer|aws|
 |karpenter.k8s.aws/instance-accelerator-name|inferentia2|
 |karpenter.k8s.aws/instance-capability-flex|false|
 |karpenter.k8s.aws/instance-category|inf|
 |karpenter.k8s.aws/instance-cpu|4|
 |karpenter.k8s.aws/instance-cpu-manufacturer|amd|
 |karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz|3600|
 |karpenter.k8s.aws/instance-ebs-bandwidth|10000|
 |karpenter.k8s.aws/instance-encryption-in-transit-supported|true|
 |karpenter.k8s.aws/instance-family|inf2|
 |karpenter.k8s.aws/instance-generation|2|
 |karpenter.k8s.aws/instance-hypervisor|nitro|
 |karpenter.k8s.aws/instance-memory|16384|
 |karpenter.k8s.aws/instance-network-bandwidth|2083|
 |karpenter.k8s.aws/instance-size|xlarge|
 |kubernetes.io/arch|amd64|
 |kubernetes.io/os|linux|
 |node.kubernetes.io/instance-type|inf2.xlarge|
#### Resources
 | Resource | Quantity |
 |--|--|
 |aws.amazon.com/neuron|1|
 |aws.amazon.com/neuroncore|2|
 |cpu|3920m|
 |ephemeral-storage|17Gi|
 |memory|14162Mi|
 |pods|58|
 |vpc.amazonaws.com/pod-eni|18|
"""

KARPENTER_VPC_LIMITS = """\
package instancetype

// VPC Limits and flags for ENI and IPv4 Addresses
var Limits = map[string]*VPCLimits{
	"p5.48xlarge": {
		Interface:               64,
		IPv4PerInterface:        50,
		IsTrunkingCompatible:    true,
		BranchInterface:         120,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         0,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         1,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         2,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         3,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         4,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         5,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         6,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         7,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         8,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         9,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         10,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         11,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         12,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         13,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         14,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         15,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         16,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         17,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         18,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         19,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         20,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         21,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         22,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         23,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         24,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         25,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         26,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         27,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         28,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         29,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         30,
			},

			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         31,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"g6e.12xlarge": {
		Interface:               10,
		IPv4PerInterface:        30,
		IsTrunkingCompatible:    true,
		BranchInterface:         112,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 10,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"g5.48xlarge": {
		Interface:               7,
		IPv4PerInterface:        50,
		IsTrunkingCompatible:    true,
		BranchInterface:         115,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 7,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"c7i.2xlarge": {
		Interface:               4,
		IPv4PerInterface:        15,
		IsTrunkingCompatible:    true,
		BranchInterface:         38,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 4,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"g4dn.xlarge": {
		Interface:               3,
		IPv4PerInterface:        10,
		IsTrunkingCompatible:    true,
		BranchInterface:         39,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 3,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"p4d.24xlarge": {
		Interface:               60,
		IPv4PerInterface:        50,
		IsTrunkingCompatible:    true,
		BranchInterface:         62,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 15,
				NetworkCardIndex:         0,
			},

			{
				MaximumNetworkInterfaces: 15,
				NetworkCardIndex:         1,
			},

			{
				MaximumNetworkInterfaces: 15,
				NetworkCardIndex:         2,
			},

			{
				MaximumNetworkInterfaces: 15,
				NetworkCardIndex:         3,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"g5g.xlarge": {
		Interface:               4,
		IPv4PerInterface:        15,
		IsTrunkingCompatible:    true,
		BranchInterface:         18,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 4,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"g4ad.xlarge": {
		Interface:               2,
		IPv4PerInterface:        4,
		IsTrunkingCompatible:    true,
		BranchInterface:         12,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 2,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},

	"inf2.xlarge": {
		Interface:               4,
		IPv4PerInterface:        15,
		IsTrunkingCompatible:    true,
		BranchInterface:         18,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 4,
				NetworkCardIndex:         0,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},
}
"""
