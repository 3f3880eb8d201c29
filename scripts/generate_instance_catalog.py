"""Generate the offline instance table (components/instance_types_generated.py) from upstream tables.

    venv/bin/python scripts/generate_instance_catalog.py \\
        --eks-ami-git <awslabs/amazon-eks-ami git dir> --karpenter-git <aws/karpenter-provider-aws git dir> [--check]

Both repositories' tables are themselves generated from EC2's DescribeInstanceTypes:
- awslabs/amazon-eks-ami nodeadm/internal/kubelet/instance-info.jsonl: the table nodeadm embeds and
  reads for max pods (`defaultMaxENIs`, the ENIs of the DEFAULT network card, and
  `ipv4AddressesPerInterface`; nodeadm/internal/util/ec2.go picks the card whose index is
  DefaultNetworkCardIndex);
- aws/karpenter-provider-aws website/content/en/docs/reference/instance-types.md: vCPUs, memory,
  GPUs, other accelerators, architecture, NVMe instance store and hypervisor, as Karpenter's labels
  say them (pkg/providers/instancetype/types.go, `computeRequirements`: `instance-local-nvme` is
  EC2's TotalSizeInGB where its NvmeSupport is not "unsupported", `instance-hypervisor` EC2's
  Hypervisor, empty on bare metal);
- aws/karpenter-provider-aws pkg/providers/instancetype/zz_generated.vpclimits.go (same commit):
  the network cards and the ENIs over all cards, which neither table above lists.

Every type both nodeadm's and Karpenter's tables list is written, one line each. The git mode reads
the files at `--*-ref` (HEAD by default) and names each source's commit and date in the header;
without `--check` it writes the module, with `--check` it fails unless the committed module is
exactly what these sources give.

With the files themselves (`--eks-ami`, `--karpenter`, `--karpenter-vpc-limits`), which carry no
commit, only `--check` runs: each type the files describe must be in the committed module with
exactly the line these files give (the tests run it on excerpts of each source).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "components" / "instance_types_generated.py"
SCRIPT = "scripts/generate_instance_catalog.py"

EKS_AMI = ("awslabs/amazon-eks-ami", "nodeadm/internal/kubelet/instance-info.jsonl")
KARPENTER = ("aws/karpenter-provider-aws", "website/content/en/docs/reference/instance-types.md")
KARPENTER_VPC_LIMITS = ("aws/karpenter-provider-aws", "pkg/providers/instancetype/zz_generated.vpclimits.go")

LABEL = "karpenter.k8s.aws/"
# Karpenter writes EC2's names in lower kebab case (`lowerKabobCase` in types.go: lower case, spaces
# to dashes). These map them back to EC2's own spelling (GpuInfo.Gpus[].Name and Manufacturer,
# NeuronInfo / InferenceAcceleratorInfo names), the names components/gpu.py maps to the Cluster
# Autoscaler's. A name missing here stops the script: add it with EC2's spelling, never a guess
# from the kebab case.
EC2_GPU_NAMES = {
    "a100": "A100",
    "a10g": "A10G",
    "b200": "B200",
    "b300": "B300",
    "h100": "H100",
    "h200": "H200",
    "k80": "K80",
    "l4": "L4",
    "l40s": "L40S",
    "radeon-pro-v520": "Radeon Pro V520",
    "rtx-pro-4500": "RTX PRO 4500",
    "rtx-pro-server-6000": "RTX PRO Server 6000",
    "t4": "T4",
    "t4g": "T4g",
    "v100": "V100",
}
EC2_GPU_MANUFACTURERS = {"amd": "AMD", "nvidia": "NVIDIA"}
# Karpenter's resource name for each manufacturer's GPUs (types.go, `nvidiaGPUs`, `amdGPUs`).
GPU_RESOURCES = {"NVIDIA": "nvidia.com/gpu", "AMD": "amd.com/gpu"}
EC2_ACCELERATOR_NAMES = {
    "inferentia": "Inferentia",
    "inferentia2": "Inferentia2",
    "qualcomm-ai100": "Qualcomm AI100",
    "trainium": "Trainium",
    "trainium2": "Trainium2",
}
ARCHITECTURES = ("amd64", "arm64")
HYPERVISORS = ("nitro", "xen", "")  # EC2's Hypervisor values; bare metal has none

# KnownShape's fields, in order (components/instance_catalog.py builds each from one row).
COLUMNS = ("vcpus", "memory_mib", "default_card_enis", "ipv4_per_eni", "gpus", "gpu_name", "gpu_memory_mib",
           "arch", "gpu_manufacturer", "neuron_device", "network_cards", "total_enis", "local_nvme_gb", "hypervisor")
ROW_TYPE = "tuple[int, int, int, int, int, str, int, str, str, str, int, int, int, str]"


class SourceError(ValueError):
    """A source file this script cannot read as the format it knows, or a value it cannot map."""


@dataclass(frozen=True)
class EniInfo:
    """One line of nodeadm's instance-info.jsonl."""

    default_card_enis: int
    ipv4_per_eni: int


@dataclass
class KarpenterType:
    """One `### \\`type\\`` section of Karpenter's reference: its Labels and Resources tables."""

    labels: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VpcLimits:
    """One entry of Karpenter's VPC limits: every card's (index, ENIs), and all cards' ENIs."""

    interfaces: int
    ipv4_per_eni: int
    default_card_index: int
    cards: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Source:
    repository: str
    path: str
    text: str
    commit: str = ""  # the snapshot read
    date: str = ""  # the commit's date (YYYY-MM-DD)
    changed_in: str = ""  # the last commit that changed the file, and its date
    changed_on: str = ""


# --- parsers, one per source format ---------------------------------------------------------------


def parse_eks_ami(text: str) -> dict[str, EniInfo]:
    """nodeadm's instance-info.jsonl: one JSON object a line, {instanceType, defaultMaxENIs,
    ipv4AddressesPerInterface} (util.InstanceInfo)."""
    found: dict[str, EniInfo] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            name, enis, ipv4 = record["instanceType"], record["defaultMaxENIs"], record["ipv4AddressesPerInterface"]
        except (ValueError, KeyError, TypeError) as error:
            raise SourceError(f"instance-info.jsonl line {number}: not an instance-info record: {error}") from None
        if not isinstance(name, str) or not all(isinstance(v, int) and v > 0 for v in (enis, ipv4)):
            raise SourceError(f"instance-info.jsonl line {number}: unexpected values {record}")
        if name in found:
            raise SourceError(f"instance-info.jsonl line {number}: {name} is listed twice")
        found[name] = EniInfo(enis, ipv4)
    return found


_TYPE_HEADING = re.compile(r"^### `([^`]+)`$")
_TABLE_ROW = re.compile(r"^ \|([^|]*)\|([^|]*)\|$")
_TABLE_HEADS = {("Label", "Value"), ("Resource", "Quantity"), ("--", "--")}
_SECTIONS = {"#### Labels": "labels", "#### Resources": "resources"}


def parse_karpenter(text: str) -> dict[str, KarpenterType]:
    """Karpenter's instance-types.md (hack/docs/instancetypes_gen/main.go): front matter and an
    introduction, then `## <family> Family`, and per type `### \\`<type>\\``, `#### Labels` and
    `#### Resources`, each a two-column table whose rows read ` |name|value|`."""
    found: dict[str, KarpenterType] = {}
    current: KarpenterType | None = None
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        heading = _TYPE_HEADING.match(line)
        if heading:
            if heading[1] in found:
                raise SourceError(f"instance-types.md line {number}: {heading[1]} is listed twice")
            current = found[heading[1]] = KarpenterType()
            section = ""
        elif current is None:
            continue  # front matter and introduction
        elif line in _SECTIONS:
            section = _SECTIONS[line]
        elif re.match(r"^## \S+ Family$", line):
            current, section = None, ""
        elif (row := _TABLE_ROW.match(line)) and section:
            key, value = row[1].strip(), row[2].strip()
            if (key, value) in _TABLE_HEADS:
                continue
            table = current.labels if section == "labels" else current.resources
            if key in table:
                raise SourceError(f"instance-types.md line {number}: {key} appears twice")
            table[key] = value
        else:
            raise SourceError(f"instance-types.md line {number}: not the format this script knows: {line!r}")
    return found


_LIMITS_ENTRY = re.compile(r'^\t"([^"]+)": \{\n(.*?)^\t\},?$', re.S | re.M)
_CARD = re.compile(r"\{\s*MaximumNetworkInterfaces:\s*(\d+),\s*NetworkCardIndex:\s*(\d+),[^}]*\}")


def _limits_int(name: str, body: str, key: str) -> int:
    found = re.search(rf"^\t\t{key}:\s+(\d+),$", body, re.M)
    if not found:
        raise SourceError(f"zz_generated.vpclimits.go: {name} has no {key}")
    return int(found[1])


def parse_vpc_limits(text: str) -> dict[str, VpcLimits]:
    """Karpenter's zz_generated.vpclimits.go: the `Limits` map of VPCLimits literals, one per type."""
    start = text.find("var Limits = map[string]*VPCLimits{")
    if start < 0:
        raise SourceError("zz_generated.vpclimits.go: no `var Limits = map[string]*VPCLimits{`")
    found: dict[str, VpcLimits] = {}
    for entry in _LIMITS_ENTRY.finditer(text, start):
        name, body = entry[1], entry[2]
        cards_block = re.search(r"NetworkCards: \[\]NetworkCard\{(.*?)^\t\t\},$", body, re.S | re.M)
        if not cards_block:
            raise SourceError(f"zz_generated.vpclimits.go: {name} has no NetworkCards")
        cards = tuple((int(index), int(maximum)) for maximum, index in _CARD.findall(cards_block[1]))
        if not cards or name in found:
            raise SourceError(f"zz_generated.vpclimits.go: {name}: no network card, or listed twice")
        found[name] = VpcLimits(_limits_int(name, body, "Interface"), _limits_int(name, body, "IPv4PerInterface"),
                                _limits_int(name, body, "DefaultNetworkCardIndex"), cards)
    if not found:
        raise SourceError("zz_generated.vpclimits.go: no VPCLimits entry found")
    return found


# --- one row per type ---------------------------------------------------------------------------


def _mapped(table: Mapping[str, str], value: str, what: str, instance_type: str) -> str:
    if value not in table:
        raise SourceError(f"{instance_type}: Karpenter's {what} {value!r} has no EC2 spelling in this script; "
                          f"add it to the script's table with the name EC2 gives it")
    return table[value]


def _whole(value: str, what: str, instance_type: str) -> int:
    if not value.isdigit():
        raise SourceError(f"{instance_type}: {what} {value!r} is not a whole number")
    return int(value)


def shape_row(instance_type: str, enis: EniInfo, karpenter: KarpenterType,
              limits: VpcLimits | None) -> tuple[int | str, ...]:
    """One type's row, in COLUMNS order, from what each source says of it."""
    labels = karpenter.labels

    def number(key: str, default: str | None = None) -> int:
        value = labels.get(LABEL + key, default)
        if value is None:
            raise SourceError(f"{instance_type}: Karpenter's reference has no {LABEL + key}")
        return _whole(value, LABEL + key, instance_type)

    arch = labels.get("kubernetes.io/arch", "")
    if arch not in ARCHITECTURES:
        raise SourceError(f"{instance_type}: architecture {arch!r} is not one of {', '.join(ARCHITECTURES)}")
    hypervisor = labels.get(LABEL + "instance-hypervisor")
    if hypervisor not in HYPERVISORS:
        raise SourceError(f"{instance_type}: hypervisor {hypervisor!r} is not one of "
                          f"{', '.join(repr(h) for h in HYPERVISORS)}")
    gpu_name = gpu_manufacturer = ""
    gpus = gpu_memory_mib = 0
    if LABEL + "instance-gpu-name" in labels:
        gpu_name = _mapped(EC2_GPU_NAMES, labels[LABEL + "instance-gpu-name"], "GPU name", instance_type)
        gpu_manufacturer = _mapped(EC2_GPU_MANUFACTURERS, labels.get(LABEL + "instance-gpu-manufacturer", ""),
                                   "GPU manufacturer", instance_type)
        gpus, gpu_memory_mib = number("instance-gpu-count"), number("instance-gpu-memory")
    # Karpenter counts each manufacturer's GPUs as a resource; its labels name one GPU model only.
    resource_gpus = {r: _whole(karpenter.resources[r], r, instance_type)
                     for r in GPU_RESOURCES.values() if r in karpenter.resources}
    if sum(resource_gpus.values()) != gpus or (gpus and set(resource_gpus) != {GPU_RESOURCES[gpu_manufacturer]}):
        raise SourceError(f"{instance_type}: Karpenter's GPU resources {resource_gpus} disagree with its labels "
                          f"({gpus} {gpu_manufacturer} {gpu_name})")
    accelerator = labels.get(LABEL + "instance-accelerator-name", "")
    neuron_device = _mapped(EC2_ACCELERATOR_NAMES, accelerator, "accelerator name", instance_type) if accelerator else ""
    # nodeadm's figures are the ones a node runs with; the VPC limits only add the other cards.
    if limits is None:
        network_cards, total_enis = 1, 0  # not listed: the default card's only, as KnownShape defaults
    else:
        network_cards, total_enis = len(limits.cards), limits.interfaces
    return (number("instance-cpu"), number("instance-memory"), enis.default_card_enis, enis.ipv4_per_eni, gpus,
            gpu_name, gpu_memory_mib, arch, gpu_manufacturer, neuron_device, network_cards, total_enis,
            number("instance-local-nvme", "0"), hypervisor)


def disagreements(instance_type: str, enis: EniInfo, karpenter: KarpenterType, limits: VpcLimits | None) -> list[str]:
    """Where Karpenter's own figures differ from nodeadm's for a type (nodeadm's are kept)."""
    found = []
    pods = enis.default_card_enis * (enis.ipv4_per_eni - 1) + 2
    if karpenter.resources.get("pods") != str(pods):
        found.append(f"{instance_type}: Karpenter lists {karpenter.resources.get('pods')} pods, nodeadm's rule "
                     f"gives {pods}")
    if limits is not None:
        default = dict(limits.cards).get(limits.default_card_index)
        if (default, limits.ipv4_per_eni) != (enis.default_card_enis, enis.ipv4_per_eni):
            found.append(f"{instance_type}: Karpenter's VPC limits give the default card {default} ENIs of "
                         f"{limits.ipv4_per_eni} IPv4, nodeadm {enis.default_card_enis} of {enis.ipv4_per_eni}")
    return found


@dataclass(frozen=True)
class Table:
    rows: dict[str, tuple[int | str, ...]]
    warnings: list[str]
    without_vpc_limits: list[str]


def build_table(eks_ami: Mapping[str, EniInfo], karpenter: Mapping[str, KarpenterType],
                vpc_limits: Mapping[str, VpcLimits]) -> Table:
    """A row for every type both nodeadm's and Karpenter's tables list, sorted by name."""
    rows, warnings = {}, []
    for name in sorted(set(eks_ami) & set(karpenter)):
        limits = vpc_limits.get(name)
        rows[name] = shape_row(name, eks_ami[name], karpenter[name], limits)
        warnings += disagreements(name, eks_ami[name], karpenter[name], limits)
    return Table(rows, warnings, sorted(name for name in rows if name not in vpc_limits))


# --- the module ---------------------------------------------------------------------------------


def _literal(value: int | str) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def entry_line(name: str, row: Iterable[int | str]) -> str:
    return f"    {json.dumps(name)}: ({', '.join(_literal(v) for v in row)}),"


def _described(source: Source) -> str:
    changed = f" (the file last changed in {source.changed_in[:12]}, {source.changed_on})" if source.changed_in else ""
    return f"{source.repository} {source.path}\n  at commit {source.commit} of {source.date}{changed}"


def render_module(table: Table, eks_ami: Source, karpenter: Source, vpc_limits: Source) -> str:
    missing = (f"\n{len(table.without_vpc_limits)} of them are missing from the VPC limits and are written with one "
               f"network card\n(the default card's ENIs only): {', '.join(table.without_vpc_limits)}."
               if table.without_vpc_limits else "")
    sources = ",\n".join(f"    ({json.dumps(s.repository)}, {json.dumps(s.path)}, {json.dumps(s.commit)}, "
                         f"{json.dumps(s.date)})" for s in (eks_ami, karpenter, vpc_limits))
    return f'''"""EC2 instance shapes for the offline table (components/instance_catalog.py, KNOWN_SHAPES).

Generated by {SCRIPT}; do not edit. Regenerate (and check) with that script, from
upstream tables that are themselves generated from EC2's DescribeInstanceTypes:
- ENIs of the default network card and IPv4 addresses per ENI, the numbers nodeadm's max pods reads:
  {_described(eks_ami)}
- vCPUs, memory, GPUs (count, model, memory of one GPU), other accelerators, architecture,
  NVMe instance store (GB) and hypervisor: Karpenter's generated instance-type reference,
  {_described(karpenter)}
- network cards and the ENIs over all of them: Karpenter's VPC limits,
  {_described(vpc_limits)}

{len(table.rows)} instance types: every type listed both in nodeadm's table and in Karpenter's reference.{missing}
"""

# (repository, path, commit, commit date) of each source above.
SOURCES = (
{sources},
)

# The columns of each row: KnownShape's fields, in order.
COLUMNS = ({", ".join(json.dumps(c) for c in COLUMNS)})

SHAPES: dict[str, {ROW_TYPE}] = {{
{chr(10).join(entry_line(name, row) for name, row in table.rows.items())}
}}
'''


def entry_lines(module_text: str) -> dict[str, str]:
    """The module's entry lines by instance type."""
    return {match[1]: match[0] for match in re.finditer(r'^    "([^"]+)": \(.*\),$', module_text, re.M)}


def check_entries(table: Table, module_text: str) -> list[str]:
    """Each type of `table` whose line in the module differs from what the sources give, or is missing."""
    committed = entry_lines(module_text)
    problems = []
    for name, row in table.rows.items():
        expected = entry_line(name, row)
        if name not in committed:
            problems.append(f"{name}: missing from the module; the sources give\n  {expected.strip()}")
        elif committed[name] != expected:
            problems.append(f"{name}: the module has\n  {committed[name].strip()}\nthe sources give\n  {expected.strip()}")
    return problems


# --- reading the sources ------------------------------------------------------------------------


def _git(git_dir: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(git_dir), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SourceError(f"git -C {git_dir} {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def from_git(git_dir: Path, ref: str, repository: str, path: str) -> Source:
    commit, date = _git(git_dir, "log", "-1", "--format=%H %cs", ref).split()
    changed = _git(git_dir, "log", "-1", "--format=%H %cs", commit, "--", path).split()
    return Source(repository, path, _git(git_dir, "show", f"{commit}:{path}"), commit, date,
                  *(changed if len(changed) == 2 else ("", "")))


def from_file(path: Path, repository: str, source_path: str) -> Source:
    return Source(repository, source_path, path.read_text(encoding="utf-8"))


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eks-ami-git", type=Path, help="a git directory of awslabs/amazon-eks-ami")
    parser.add_argument("--eks-ami-ref", default="HEAD")
    parser.add_argument("--karpenter-git", type=Path, help="a git directory of aws/karpenter-provider-aws")
    parser.add_argument("--karpenter-ref", default="HEAD")
    parser.add_argument("--eks-ami", type=Path, help=f"a copy of {EKS_AMI[1]} (with --check only)")
    parser.add_argument("--karpenter", type=Path, help=f"a copy of {KARPENTER[1]} (with --check only)")
    parser.add_argument("--karpenter-vpc-limits", type=Path, help=f"a copy of {KARPENTER_VPC_LIMITS[1]} (with --check only)")
    parser.add_argument("--module", type=Path, default=MODULE, help="the generated module (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="fail unless the module is what these sources give")
    args = parser.parse_args(argv)
    files = (args.eks_ami, args.karpenter, args.karpenter_vpc_limits)
    gits = (args.eks_ami_git, args.karpenter_git)
    if all(gits) and not any(files):
        return args
    if all(files) and not any(gits):
        if not args.check:
            parser.error("files carry no commit for the header: write the module from git directories "
                         "(--eks-ami-git, --karpenter-git), or pass --check")
        return args
    parser.error("give either --eks-ami-git and --karpenter-git, or --eks-ami, --karpenter and "
                 "--karpenter-vpc-limits")
    raise AssertionError  # parser.error exits


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    whole_module = args.eks_ami_git is not None
    try:
        if whole_module:
            eks_ami = from_git(args.eks_ami_git, args.eks_ami_ref, *EKS_AMI)
            karpenter = from_git(args.karpenter_git, args.karpenter_ref, *KARPENTER)
            vpc_limits = from_git(args.karpenter_git, args.karpenter_ref, *KARPENTER_VPC_LIMITS)
        else:
            eks_ami = from_file(args.eks_ami, *EKS_AMI)
            karpenter = from_file(args.karpenter, *KARPENTER)
            vpc_limits = from_file(args.karpenter_vpc_limits, *KARPENTER_VPC_LIMITS)
        table = build_table(parse_eks_ami(eks_ami.text), parse_karpenter(karpenter.text),
                            parse_vpc_limits(vpc_limits.text))
    except (SourceError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for warning in table.warnings:
        print(f"warning: {warning} (nodeadm's figures are written)", file=sys.stderr)
    if not whole_module:
        problems = check_entries(table, args.module.read_text(encoding="utf-8"))
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(table.rows) - len(problems)} of {len(table.rows)} types as the sources give them in {args.module}")
        return 1 if problems else 0
    text = render_module(table, eks_ami, karpenter, vpc_limits)
    if args.check:
        current = args.module.read_text(encoding="utf-8") if args.module.exists() else ""
        if current != text:
            for problem in check_entries(table, current):
                print(problem, file=sys.stderr)
            extra = sorted(set(entry_lines(current)) - set(table.rows))
            if extra:
                print(f"types the sources do not list: {', '.join(extra)}", file=sys.stderr)
            print(f"{args.module} is not what these sources give; run {SCRIPT} without --check", file=sys.stderr)
            return 1
        print(f"{args.module}: {len(table.rows)} types, as the sources give them")
        return 0
    args.module.write_text(text, encoding="utf-8")
    print(f"wrote {args.module}: {len(table.rows)} types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
