"""The offline instance table is generated from upstream tables, and says so (issue 21).

scripts/generate_instance_catalog.py reads nodeadm's instance-info.jsonl (ENIs and IPv4 per ENI),
Karpenter's generated instance-type reference (vCPU, memory, GPUs, accelerators, NVMe) and
Karpenter's VPC limits (network cards), and writes components/instance_types_generated.py. Here its
parsers meet excerpts of each real source (tests/instance_catalog_samples.py), its `--check` finds
the committed table's lines for those types exactly as the excerpts give them, and a stack of the
types the old hand-written table refused renders offline with the right autoscaler templates.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from components import instance_types_generated as generated
from components import preflight
from components.instance_catalog import KNOWN_SHAPES, XEN_NVME_FAMILIES, KnownShape, nvme_instance_store_gb
from components.node_template import GPU_RESOURCE
from components.offline import instance_type_result
from components.preflight import groups_from_stack_config
from tests import instance_catalog_samples as samples
from tests.harness import ROOT, ProgramRun, run_program
from tests.preflight_helpers import project_copy
from tests.test_gpu_pool_wiring import CA, groups_of, tags_of

SCRIPT = ROOT / "scripts" / "generate_instance_catalog.py"
MODULE = ROOT / "components" / "instance_types_generated.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_instance_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen: Any = load_script()


@pytest.fixture
def sample_files(tmp_path: Path) -> list[str]:
    """The excerpts as files, and the arguments that give them to the script."""
    paths = {"--eks-ami": ("instance-info.jsonl", samples.EKS_AMI),
             "--karpenter": ("instance-types.md", samples.KARPENTER),
             "--karpenter-vpc-limits": ("zz_generated.vpclimits.go", samples.KARPENTER_VPC_LIMITS)}
    arguments = []
    for option, (name, text) in paths.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        arguments += [option, str(tmp_path / name)]
    return arguments


def run_script(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, check=False)


# --- each parser against its source's real format ---------------------------------------------------


def test_nodeadms_table_gives_the_default_cards_enis_and_ipv4_per_eni() -> None:
    table = gen.parse_eks_ami(samples.EKS_AMI)
    assert set(table) == set(samples.SAMPLE_TYPES)
    assert (table["p5.48xlarge"].default_card_enis, table["p5.48xlarge"].ipv4_per_eni) == (2, 50)
    assert (table["g4dn.xlarge"].default_card_enis, table["g4dn.xlarge"].ipv4_per_eni) == (3, 10)
    # Four cards of 15 ENIs: nodeadm's defaultMaxENIs is the default card's 15, not the 60 of all cards.
    assert (table["p4d.24xlarge"].default_card_enis, table["p4d.24xlarge"].ipv4_per_eni) == (15, 50)


def test_karpenters_reference_gives_each_types_labels_and_resources() -> None:
    table = gen.parse_karpenter(samples.KARPENTER)
    assert set(table) == set(samples.SAMPLE_TYPES)
    p5 = table["p5.48xlarge"]
    assert p5.labels["karpenter.k8s.aws/instance-cpu"] == "192"
    assert p5.labels["karpenter.k8s.aws/instance-memory"] == "2097152"
    assert p5.labels["karpenter.k8s.aws/instance-gpu-name"] == "h100"  # Karpenter's lower case
    assert p5.labels["karpenter.k8s.aws/instance-local-nvme"] == "30400"
    assert p5.resources["nvidia.com/gpu"] == "8" and p5.resources["pods"] == "100"
    assert table["g4ad.xlarge"].resources["amd.com/gpu"] == "1"
    assert table["inf2.xlarge"].labels["karpenter.k8s.aws/instance-accelerator-name"] == "inferentia2"
    assert "karpenter.k8s.aws/instance-local-nvme" not in table["c7i.2xlarge"].labels  # EBS only


def test_karpenters_vpc_limits_give_every_network_card() -> None:
    table = gen.parse_vpc_limits(samples.KARPENTER_VPC_LIMITS)
    assert set(table) == set(samples.SAMPLE_TYPES)
    p4d = table["p4d.24xlarge"]
    assert (p4d.interfaces, p4d.default_card_index, p4d.cards) == (60, 0, ((0, 15), (1, 15), (2, 15), (3, 15)))
    p5 = table["p5.48xlarge"]
    assert (p5.interfaces, len(p5.cards), dict(p5.cards)[0]) == (64, 32, 2)
    assert table["c7i.2xlarge"].cards == ((0, 4),)


# Rows written by hand from the excerpts: KnownShape's fields in order, EC2's spelling of names.
EXPECTED = {
    "p5.48xlarge": KnownShape(192, 2097152, 2, 50, 8, "H100", 81920, "amd64", "NVIDIA", "", 32, 64, 30400, "nitro"),
    "g6e.12xlarge": KnownShape(48, 393216, 10, 30, 4, "L40S", 45776, "amd64", "NVIDIA", "", 1, 10, 3800, "nitro"),
    "g5.48xlarge": KnownShape(192, 786432, 7, 50, 8, "A10G", 22888, "amd64", "NVIDIA", "", 1, 7, 7600, "nitro"),
    "c7i.2xlarge": KnownShape(8, 16384, 4, 15, 0, "", 0, "amd64", "", "", 1, 4, 0, "nitro"),
    "g4dn.xlarge": KnownShape(4, 16384, 3, 10, 1, "T4", 16384, "amd64", "NVIDIA", "", 1, 3, 125, "nitro"),
    "p4d.24xlarge": KnownShape(96, 1179648, 15, 50, 8, "A100", 40960, "amd64", "NVIDIA", "", 4, 60, 8000, "nitro"),
    "g5g.xlarge": KnownShape(4, 8192, 4, 15, 1, "T4g", 16384, "arm64", "NVIDIA", "", 1, 4, 0, "nitro"),
    "g4ad.xlarge": KnownShape(4, 16384, 2, 4, 1, "Radeon Pro V520", 8192, "amd64", "AMD", "", 1, 2, 150, "nitro"),
    "inf2.xlarge": KnownShape(4, 16384, 4, 15, 0, "", 0, "amd64", "", "Inferentia2", 1, 4, 0, "nitro"),
}


def test_the_excerpts_give_these_rows_and_the_committed_table_holds_them() -> None:
    table = gen.build_table(gen.parse_eks_ami(samples.EKS_AMI), gen.parse_karpenter(samples.KARPENTER),
                            gen.parse_vpc_limits(samples.KARPENTER_VPC_LIMITS))
    assert {name: KnownShape(*row) for name, row in table.rows.items()} == EXPECTED
    assert table.warnings == [] and table.without_vpc_limits == []
    assert {name: KNOWN_SHAPES[name] for name in EXPECTED} == EXPECTED


# --- names the script cannot map, and formats it does not know, stop it -------------------------


def karpenter_with(instance_type: str, old: str, new: str) -> dict[str, Any]:
    """Karpenter's excerpt parsed, with `old` replaced by `new` in one type's record."""
    start = samples.KARPENTER.index(f"### `{instance_type}`")
    end = samples.KARPENTER.find("### `", start + 1)
    end = len(samples.KARPENTER) if end < 0 else end
    record = samples.KARPENTER[start:end]
    assert old in record
    return gen.parse_karpenter(samples.KARPENTER[:start] + record.replace(old, new) + samples.KARPENTER[end:])


@pytest.mark.parametrize(("instance_type", "old", "new", "message"), [
    pytest.param("p5.48xlarge", "instance-gpu-name|h100|", "instance-gpu-name|h999|",
                 "GPU name 'h999' has no EC2 spelling", id="unknown-gpu-name"),
    pytest.param("g4ad.xlarge", "instance-gpu-manufacturer|amd|", "instance-gpu-manufacturer|intel|",
                 "GPU manufacturer 'intel' has no EC2 spelling", id="unknown-gpu-manufacturer"),
    pytest.param("inf2.xlarge", "instance-accelerator-name|inferentia2|", "instance-accelerator-name|inferentia9|",
                 "accelerator name 'inferentia9' has no EC2 spelling", id="unknown-accelerator"),
    pytest.param("g6e.12xlarge", " |nvidia.com/gpu|4|", " |nvidia.com/gpu|8|",
                 "GPU resources {'nvidia.com/gpu': 8} disagree with its labels (4 NVIDIA L40S)", id="gpu-count-disagrees"),
    pytest.param("g5g.xlarge", "|kubernetes.io/arch|arm64|", "|kubernetes.io/arch|riscv64|",
                 "architecture 'riscv64' is not one of amd64, arm64", id="unknown-architecture"),
    pytest.param("c7i.2xlarge", "instance-hypervisor|nitro|", "instance-hypervisor|kvm|",
                 "hypervisor 'kvm' is not one of 'nitro', 'xen', ''", id="unknown-hypervisor"),
])
def test_a_value_the_script_cannot_map_stops_it_naming_the_type(instance_type: str, old: str, new: str,
                                                                 message: str) -> None:
    karpenter = karpenter_with(instance_type, old, new)
    with pytest.raises(gen.SourceError, match=re.escape(f"{instance_type}: ") + ".*" + re.escape(message)):
        gen.build_table(gen.parse_eks_ami(samples.EKS_AMI), karpenter, gen.parse_vpc_limits(samples.KARPENTER_VPC_LIMITS))


def test_an_unknown_line_or_record_format_stops_the_parsers() -> None:
    with pytest.raises(gen.SourceError, match="instance-types.md line .*not the format"):
        gen.parse_karpenter(samples.KARPENTER.replace("#### Resources", "#### Capacity"))
    with pytest.raises(gen.SourceError, match="instance-info.jsonl line 1: not an instance-info record"):
        gen.parse_eks_ami(samples.EKS_AMI.replace('"defaultMaxENIs"', '"maxENIs"', 1))
    with pytest.raises(gen.SourceError, match="listed twice"):
        gen.parse_eks_ami(samples.EKS_AMI + samples.EKS_AMI.splitlines()[0])
    with pytest.raises(gen.SourceError, match="p5.48xlarge has no DefaultNetworkCardIndex"):
        gen.parse_vpc_limits(samples.KARPENTER_VPC_LIMITS.replace("DefaultNetworkCardIndex: 0", "DefaultCard: 0", 1))


# --- the script's --check: the committed lines are exactly what the sources give ------------------


def test_check_finds_the_committed_lines_of_the_excerpts_types(sample_files: list[str]) -> None:
    result = run_script(*sample_files, "--check")
    assert result.returncode == 0, result.stderr
    assert f"{len(samples.SAMPLE_TYPES)} of {len(samples.SAMPLE_TYPES)} types as the sources give them" in result.stdout


def test_check_fails_on_a_hand_edit_of_the_generated_module(sample_files: list[str], tmp_path: Path) -> None:
    text = MODULE.read_text(encoding="utf-8")
    line = '    "g6e.12xlarge": (48, 393216, 10, 30, 4, "L40S", 45776, "amd64", "NVIDIA", "", 1, 10, 3800, "nitro"),'
    assert line in text
    edited = tmp_path / "edited.py"
    edited.write_text(text.replace(line, line.replace("10, 30, 4,", "15, 50, 4,")), encoding="utf-8")
    result = run_script(*sample_files, "--check", "--module", str(edited))
    assert result.returncode == 1
    assert "g6e.12xlarge: the module has" in result.stderr and "8 of 9 types" in result.stdout


def test_files_without_a_commit_cannot_write_the_module(sample_files: list[str]) -> None:
    result = run_script(*sample_files)
    assert result.returncode == 2 and "carry no commit" in result.stderr
    assert run_script("--eks-ami", sample_files[1]).returncode == 2


def test_the_committed_module_names_its_sources_commits_and_generator() -> None:
    assert [source[:2] for source in generated.SOURCES] == [
        ("awslabs/amazon-eks-ami", "nodeadm/internal/kubelet/instance-info.jsonl"),
        ("aws/karpenter-provider-aws", "website/content/en/docs/reference/instance-types.md"),
        ("aws/karpenter-provider-aws", "pkg/providers/instancetype/zz_generated.vpclimits.go"),
    ]
    header = generated.__doc__ or ""
    for repository, path, commit, date in generated.SOURCES:
        assert re.fullmatch(r"[0-9a-f]{40}", commit) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)
        assert f"{repository} {path}\n  at commit {commit} of {date}" in header
    assert "Generated by scripts/generate_instance_catalog.py; do not edit." in header
    assert f"\n{len(generated.SHAPES)} instance types: every type listed both" in header
    assert generated.COLUMNS == gen.COLUMNS


def test_every_family_is_in_the_table_and_gpu_names_are_ec2s() -> None:
    # General pools draw on m, c, r and t families, GPU pools on g and p; all are there.
    assert {"m7i.2xlarge", "c7i.2xlarge", "r7i.xlarge", "t3.medium", "m7g.xlarge", "g6.xlarge", "p5.48xlarge"} <= set(KNOWN_SHAPES)
    assert len(KNOWN_SHAPES) > 1000
    assert {s.gpu_name for s in KNOWN_SHAPES.values() if s.gpu_name} == set(gen.EC2_GPU_NAMES.values()) - {"K80"}
    assert {s.neuron_device for s in KNOWN_SHAPES.values() if s.neuron_device} <= set(gen.EC2_ACCELERATOR_NAMES.values())


# --- max pods: nodeadm's rule over the sources' numbers, worked out by hand -----------------------

MAX_PODS = {
    "p5.48xlarge": 2 * (50 - 1) + 2,  # 100: 2 ENIs on the default card (of 32 cards), 50 IPv4 each
    "g6e.12xlarge": 10 * (30 - 1) + 2,  # 292
    "g5.48xlarge": 7 * (50 - 1) + 2,  # 345
    "c7i.2xlarge": 4 * (15 - 1) + 2,  # 58
}


@pytest.mark.parametrize(("instance_type", "pods"), MAX_PODS.items())
def test_max_pods_is_nodeadms_rule_over_the_default_card(instance_type: str, pods: int) -> None:
    assert KNOWN_SHAPES[instance_type].instance_shape(instance_type).max_pods == pods
    # Karpenter's reference, computed by its own copy of the rule, lists the same figure.
    assert gen.parse_karpenter(samples.KARPENTER)[instance_type].resources["pods"] == str(pods)


# --- a stack of the types the old table refused renders offline ----------------------------------

STACK = {
    "generalPool": {"instanceTypes": ["c7i.2xlarge"]},
    "gpuPools": [{"name": "h100", "instanceTypes": ["p5.48xlarge"]},
                 {"name": "l40s", "instanceTypes": ["g6e.12xlarge"]},
                 {"name": "a10g", "instanceTypes": ["g5.48xlarge"]}],
}


@pytest.fixture(scope="module")
def stack_run() -> ProgramRun:
    return run_program(STACK)


TEMPLATES = [("h100", "8", "100"), ("l40s", "4", "292"), ("a10g", "8", "345"), ("general", None, "58")]


@pytest.mark.parametrize(("pool", "gpus", "pods"), TEMPLATES)
def test_a_stack_of_these_types_tags_each_group_with_its_gpus_and_pods(stack_run: ProgramRun, pool: str,
                                                                       gpus: str | None, pods: str) -> None:
    assert stack_run.error is None
    groups = groups_of(stack_run, pool)
    assert groups
    for group in groups:
        tags = tags_of(group)
        assert tags.get(f"{CA}/resources/nvidia.com/gpu") == gpus
        assert tags[f"{CA}/resources/pods"] == pods


def test_the_stack_file_gives_the_same_templates_offline(tmp_path: Path) -> None:
    stack = project_copy(tmp_path) / "Pulumi.big-gpus.yaml"
    stack.write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1",
                                                **{f"eks-gpu-spot:{k}": v for k, v in STACK.items()}}}))
    found = groups_from_stack_config(stack, shape_source="builtin")
    assert found.shapes_source.startswith("built-in table")
    assert [(g.name, g.capacity.get(GPU_RESOURCE), g.capacity["pods"]) for g in found.groups] == [
        ("general", None, 58), ("h100", 8, 100), ("l40s", 4, 292), ("a10g", 8, 345)]


# --- NVMe instance store: one rule, the same answer whichever way EC2 is asked ---------------------


def ec2_nvme_gb(described: dict[str, Any]) -> int:
    """What setup-local-disks finds, as EC2 itself says it: the total where NvmeSupport is not unsupported."""
    info = described.get("InstanceStorageInfo") or {}
    nvme = described.get("InstanceStorageSupported") and info.get("NvmeSupport") in ("supported", "required")
    return info["TotalSizeInGB"] if nvme else 0


def test_the_rule_is_ec2s_own_nvme_support_for_every_type_ec2_describes() -> None:
    # moto's copy of DescribeInstanceTypes (every type, as EC2 answered): the rule reads the name, the
    # hypervisor and the total, as the Pulumi invoke can, and lands on NvmeSupport for every one.
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    assert len(INSTANCE_TYPES) > 1000
    for name, described in INSTANCE_TYPES.items():
        info = described.get("InstanceStorageInfo") or {}
        assert nvme_instance_store_gb(name, described.get("Hypervisor", ""), described.get("InstanceStorageSupported"),
                                      info.get("TotalSizeInGB")) == ec2_nvme_gb(described), name
    xen_nvme = {n.split(".")[0] for n, d in INSTANCE_TYPES.items() if d.get("Hypervisor") == "xen" and ec2_nvme_gb(d)}
    assert xen_nvme == XEN_NVME_FAMILIES
    # The offline table (Karpenter's labels) says what EC2 says, type by type.
    common = set(INSTANCE_TYPES) & set(KNOWN_SHAPES)
    assert len(common) > 1000
    for name in common:
        described = INSTANCE_TYPES[name]
        assert KNOWN_SHAPES[name].hypervisor == described.get("Hypervisor", ""), name
        assert KNOWN_SHAPES[name].instance_shape(name).local_nvme_gb == ec2_nvme_gb(described), name
        # The offline invoke answers as EC2 does (the store of a non-NVMe Xen type is not in the table).
        answer = instance_type_result(name)
        assert (answer["hypervisor"], answer["bareMetal"]) == (described.get("Hypervisor", ""),
                                                               described["BareMetal"]), name
        if ec2_nvme_gb(described) or not described["InstanceStorageSupported"]:
            assert (answer["instanceStorageSupported"], answer["totalInstanceStorage"]) == (
                described["InstanceStorageSupported"], ec2_nvme_gb(described)), name


# EC2's figures, by hand: i3 is Xen with NVMe SSD, d3's three HDDs are NVMe devices, c5 has no store.
NVME_GB = {"i3.large": 475, "m5d.large": 75, "g5.xlarge": 250, "d3.xlarge": 3 * 1980, "c5.large": 0}


def test_the_pulumi_invoke_the_preflights_boto3_call_and_the_offline_table_agree() -> None:
    from moto import mock_aws

    # The stack's way: aws.ec2.get_instance_type, answered by the offline AWS from the table.
    run = run_program({"types": list(NVME_GB)}, main=ROOT / "tests" / "programs" / "instance_store.py")
    assert run.outputs["localNvmeGb"] == NVME_GB
    # The preflight's way: ec2:DescribeInstanceTypes through boto3, answered by moto's copy of EC2's.
    with mock_aws():
        lookup = preflight.instance_shapes(list(NVME_GB), "us-east-1", "aws")
    assert lookup.source == "AWS ec2:DescribeInstanceTypes in us-east-1"
    assert {t: s.local_nvme_gb for t, s in lookup.shapes.items()} == NVME_GB
    # The offline table, read directly (the preflight without credentials).
    assert {t: KNOWN_SHAPES[t].instance_shape(t).local_nvme_gb for t in NVME_GB} == NVME_GB
