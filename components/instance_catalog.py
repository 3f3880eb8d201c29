"""A small table of well-known EC2 instance shapes, and the VPC CNI pod limit.

The one copy of these facts in the project: the preflight tool falls back to it when no AWS
credentials are at hand, and the test harness answers `aws.ec2.get_instance_type` from it.
Figures are from the EC2 instance type documentation (`describe-instance-types`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .node_template import InstanceShape


def max_pods(vcpus: int, enis: int, ipv4_per_eni: int) -> int:
    """The VPC CNI pod limit EKS computes for an instance type (without prefix delegation)."""
    by_addresses = enis * (ipv4_per_eni - 1) + 2
    return min(by_addresses, 110 if vcpus < 30 else 250)


@dataclass(frozen=True)
class KnownShape:
    vcpus: int
    memory_mib: int
    enis: int
    ipv4_per_eni: int
    gpus: int = 0
    gpu_name: str = ""
    gpu_memory_mib: int = 0
    arch: str = "amd64"
    gpu_manufacturer: str = "NVIDIA"
    neuron_device: str = ""  # AWS Inferentia / Trainium

    def instance_shape(self, instance_type: str) -> InstanceShape:
        return InstanceShape(
            instance_type=instance_type,
            vcpus=self.vcpus,
            memory_mib=self.memory_mib,
            gpu_count=self.gpus,
            gpu_model=self.gpu_name if self.gpus else "",
            gpu_manufacturer=self.gpu_manufacturer if self.gpus else "",
            max_pods=max_pods(self.vcpus, self.enis, self.ipv4_per_eni),
            architecture="arm64" if self.arch == "arm64" else "x86_64",
            other_accelerators=(self.neuron_device,) if self.neuron_device else (),
        )


KNOWN_SHAPES: dict[str, KnownShape] = {
    "m5.xlarge": KnownShape(4, 16384, 4, 15),
    "m5a.xlarge": KnownShape(4, 16384, 4, 15),
    "m6i.xlarge": KnownShape(4, 16384, 4, 15),
    "m6a.xlarge": KnownShape(4, 16384, 4, 15),
    "m7i.xlarge": KnownShape(4, 16384, 4, 15),
    "m5.2xlarge": KnownShape(8, 32768, 4, 15),
    "m5a.2xlarge": KnownShape(8, 32768, 4, 15),
    "m6i.2xlarge": KnownShape(8, 32768, 4, 15),
    "m6a.2xlarge": KnownShape(8, 32768, 4, 15),
    "m7i.2xlarge": KnownShape(8, 32768, 4, 15),
    "m5.4xlarge": KnownShape(16, 65536, 8, 30),
    "m5a.4xlarge": KnownShape(16, 65536, 8, 30),
    "m6i.4xlarge": KnownShape(16, 65536, 8, 30),
    "m6a.4xlarge": KnownShape(16, 65536, 8, 30),
    "m7i.4xlarge": KnownShape(16, 65536, 8, 30),
    "c5.2xlarge": KnownShape(8, 16384, 4, 15),
    "g4dn.xlarge": KnownShape(4, 16384, 3, 10, 1, "T4", 16384),
    "g4dn.2xlarge": KnownShape(8, 32768, 3, 10, 1, "T4", 16384),
    "g4dn.12xlarge": KnownShape(48, 196608, 8, 30, 4, "T4", 16384),
    "g5.xlarge": KnownShape(4, 16384, 4, 15, 1, "A10G", 24576),
    "g5.2xlarge": KnownShape(8, 32768, 4, 15, 1, "A10G", 24576),
    "g5.12xlarge": KnownShape(48, 196608, 15, 50, 4, "A10G", 24576),
    "g6.xlarge": KnownShape(4, 16384, 4, 15, 1, "L4", 23034),
    "g6.2xlarge": KnownShape(8, 32768, 4, 15, 1, "L4", 23034),
    "g6.12xlarge": KnownShape(48, 196608, 8, 30, 4, "L4", 23034),
    "g6e.xlarge": KnownShape(4, 32768, 4, 15, 1, "L40S", 46068),
    "p3.2xlarge": KnownShape(8, 62464, 4, 15, 1, "V100", 16384),
    "m6g.xlarge": KnownShape(4, 16384, 4, 15, arch="arm64"),
    "m7g.xlarge": KnownShape(4, 16384, 4, 15, arch="arm64"),
    "g5g.xlarge": KnownShape(4, 8192, 4, 15, 1, "T4g", 16384, arch="arm64"),
    "g4ad.xlarge": KnownShape(4, 16384, 2, 4, 1, "Radeon Pro V520", 8192, gpu_manufacturer="AMD"),
    "inf2.xlarge": KnownShape(4, 16384, 4, 15, neuron_device="Inferentia2"),
}
