"""Instance shapes (vCPU, memory, GPUs, max pods) for templates computed from stack config: from EC2
when AWS answers, else from the project's built-in table, and the output says which."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import instance_catalog as catalog
from ..instance_catalog import KNOWN_SHAPES
from ..node_template import InstanceShape
from .errors import PreflightError

SHAPE_SOURCES = ("auto", "aws", "builtin")
BUILTIN_TABLE = "built-in table (components/instance_catalog.py)"


@dataclass(frozen=True)
class ShapeLookup:
    shapes: Mapping[str, InstanceShape]
    architectures: Mapping[str, str]
    source: str


def builtin_shapes(instance_types: Iterable[str], reason: str = "") -> ShapeLookup:
    types = list(dict.fromkeys(instance_types))
    unknown = [t for t in types if t not in KNOWN_SHAPES]
    if unknown:
        # The table has over a thousand types: name the nearest few, not all of them.
        near = sorted({m for t in unknown for m in difflib.get_close_matches(t, KNOWN_SHAPES, n=3, cutoff=0.8)})
        raise PreflightError(
            f"instance type(s) {', '.join(unknown)} are not in the {BUILTIN_TABLE}"
            f"{' and ' + reason if reason else ''}; run with AWS credentials (and boto3) to read them from EC2"
            + (f" (the table has: {', '.join(near)})" if near else ""))
    source = BUILTIN_TABLE + (f"; {reason}" if reason else "")
    return ShapeLookup({t: KNOWN_SHAPES[t].instance_shape(t) for t in types},
                       {t: KNOWN_SHAPES[t].arch for t in types}, source)


def aws_shapes(instance_types: Iterable[str], region: str) -> ShapeLookup:
    """Shapes from `ec2:DescribeInstanceTypes`; raises PreflightError when that is impossible."""
    try:
        boto3 = importlib.import_module("boto3")  # optional: only this lookup needs it
    except ImportError:
        raise PreflightError("boto3 is not installed") from None
    session = boto3.session.Session(region_name=region or None)
    if session.get_credentials() is None:
        raise PreflightError("no AWS credentials found")
    types = list(dict.fromkeys(instance_types))
    try:
        client = session.client("ec2")
        pages = client.get_paginator("describe_instance_types").paginate(InstanceTypes=types)
        described = [item for page in pages for item in page["InstanceTypes"]]
    except Exception as error:  # noqa: BLE001 botocore's errors are many; all mean "no answer"
        raise PreflightError(f"ec2:DescribeInstanceTypes failed: {error}") from None
    shapes: dict[str, InstanceShape] = {}
    archs: dict[str, str] = {}
    for item in described:
        name = item["InstanceType"]
        vcpus = item["VCpuInfo"]["DefaultVCpus"]
        gpus = item.get("GpuInfo", {}).get("Gpus", [])
        network = item["NetworkInfo"]
        shapes[name] = shape = catalog.instance_shape(
            name, vcpus=vcpus, memory_mib=item["MemoryInfo"]["SizeInMiB"],
            gpus=[catalog.Gpu(g.get("Count", 0), g.get("Name", ""), g.get("Manufacturer", ""),
                              g.get("MemoryInfo", {}).get("SizeInMiB", 0)) for g in gpus],
            cards=[(c["NetworkCardIndex"], c["MaximumNetworkInterfaces"]) for c in network.get("NetworkCards", [])],
            default_card_index=network.get("DefaultNetworkCardIndex", 0),
            total_enis=network["MaximumNetworkInterfaces"], ipv4_per_eni=network["Ipv4AddressesPerInterface"],
            architectures=item.get("ProcessorInfo", {}).get("SupportedArchitectures", ["x86_64"]),
            other_accelerators=[a.get("Name", "") for a in item.get("NeuronInfo", {}).get("NeuronDevices", [])],
            # Bare metal has no Hypervisor. NvmeSupport is not read: catalog.nvme_instance_store_gb
            # derives it as the Pulumi invoke, which lacks it, must.
            hypervisor=item.get("Hypervisor", ""), instance_store_supported=item.get("InstanceStorageSupported"),
            instance_store_gb=(item.get("InstanceStorageInfo") or {}).get("TotalSizeInGB"),
        )
        archs[name] = shape.architecture
    missing = [t for t in types if t not in shapes]
    if missing:
        raise PreflightError(f"EC2 does not describe instance type(s) {', '.join(missing)} in {region}")
    return ShapeLookup(shapes, archs, f"AWS ec2:DescribeInstanceTypes in {region}")


def instance_shapes(instance_types: Iterable[str], region: str, source: str = "auto") -> ShapeLookup:
    """`aws`: EC2 only; `builtin`: the table only; `auto`: EC2 when credentials exist, else the table."""
    types = list(instance_types)
    if source == "builtin":
        return builtin_shapes(types, "chosen with --instance-shapes builtin")
    try:
        return aws_shapes(types, region)
    except PreflightError as error:
        if source == "aws":
            raise
        return builtin_shapes(types, f"AWS not used: {error}")
