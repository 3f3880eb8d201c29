"""Run the whole program (`__main__.py`) under Pulumi mocks and record what it registers.

`run_program(config)` returns every registered resource (type, name, inputs, parent, options) and
every stack output (value and secretness). It answers the invokes the program makes with real
instance shapes, and fakes pulumi-eks's remote `eks:index:Cluster` outputs, including the
`eksCluster` resource reference (see FIELD-NOTES).
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.instance_catalog import KNOWN_SHAPES, KnownShape
from config import config_strings

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"
PROJECT = "eks-gpu-spot"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f")
# Zone IDs in the mapping of a typical account: us-east-1e (use1-az3) is left out of ZONES, since EKS
# refuses it; tests that want it pass it explicitly.
ZONE_IDS = {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2",
            "us-east-1d": "use1-az4", "us-east-1e": "use1-az3", "us-east-1f": "use1-az5"}
VPC_ID = "vpc-0a1b2c3d4e5f67890"
RESOURCE_REFERENCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"


# Real shapes (EC2 instance type documentation), answered for aws.ec2.get_instance_type. The table
# lives in components/instance_catalog.py, which the preflight tool also uses.
Shape = KnownShape
INSTANCE_SHAPES: dict[str, KnownShape] = KNOWN_SHAPES


# EC2 vCPU quotas answered for aws.servicequotas.get_service_quota when a test gives none: enough for
# every pool of the test stacks, so only tests about quotas see quota warnings.
GENEROUS_QUOTA_VCPUS = 10000.0
QUOTA_UNREADABLE = "unreadable"  # a `quotas` value that makes the invoke fail, as AccessDenied does


def zone_id(zone: str) -> str:
    return ZONE_IDS.get(zone, f"{zone[:2]}{zone.split('-')[1][0]}{zone[-2]}-az{ord(zone[-1]) - ord('a') + 1}")


def instance_type_result(instance_type: str) -> dict[str, Any]:
    shape = INSTANCE_SHAPES[instance_type]
    gpus = [{"count": shape.gpus, "manufacturer": shape.gpu_manufacturer, "name": shape.gpu_name,
             "memorySize": shape.gpu_memory_mib}] if shape.gpus else []
    return {
        "id": instance_type,
        "instanceType": instance_type,
        "defaultVcpus": shape.vcpus,
        "memorySize": shape.memory_mib,
        "gpuses": gpus,
        "maximumNetworkInterfaces": shape.enis,
        "maximumIpv4AddressesPerInterface": shape.ipv4_per_eni,
        # nodeadm counts the default card's ENIs only; multi-card types list the other cards too.
        "defaultNetworkCardIndex": 0,
        "networkCards": [{"index": i, "maximumInterfaces": shape.default_card_enis, "baselineBandwidth": 10.0,
                          "peakBandwidth": 25.0, "performance": "Up to 25 Gigabit"}
                         for i in range(shape.network_cards)],
        "supportedArchitectures": ["arm64" if shape.arch == "arm64" else "x86_64"],
        "inferenceAccelerators": [],
        "neuronDevices": [{"count": 1, "name": shape.neuron_device, "coreCount": 2, "coreVersion": 2,
                           "memorySize": 32768}] if shape.neuron_device else [],
    }


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    custom: bool
    protect: bool
    ignore_changes: list[str]
    depends_on: list[str]
    provider: str
    aliases: list[str] = field(default_factory=list)  # alias URNs (aliases given as full URNs)


@dataclass
class ProgramRun:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def children_of(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants_of(self, ancestor: Registered) -> list[Registered]:
        found, frontier = [], [ancestor.urn]
        while frontier:
            urn = frontier.pop()
            kids = [r for r in self.resources if r.parent == urn]
            found.extend(kids)
            frontier.extend(k.urn for k in kids)
        return found

    def kubernetes_objects(self) -> list[Registered]:
        return [r for r in self.resources if r.type.startswith("kubernetes:") and r.custom
                and not r.type.startswith("pulumi:providers:")]


class ProgramMocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun, zones: Iterable[str], subnet_zones: dict[str, str],
                 not_offered: dict[str, set[str]], subnet_vpcs: dict[str, str], vpc_cidrs: list[str],
                 quotas: dict[str, float | str] | None = None) -> None:
        self.run = run
        self.quotas = quotas or {}
        self.zones = list(zones)
        self.subnet_zones = subnet_zones
        self.not_offered = not_offered
        self.subnet_vpcs = subnet_vpcs
        self.vpc_cidrs = vpc_cidrs
        self.monitor: pulumi_mocks.MockMonitor | None = None

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.run.invokes.append((args.token, dict(args.args)))
        token = args.token
        if token == "aws:servicequotas/getServiceQuota:getServiceQuota":
            code = args.args["quotaCode"]
            value = self.quotas.get(code, GENEROUS_QUOTA_VCPUS)
            if value == QUOTA_UNREADABLE:
                # A (result, failures) pair: the SDK raises "invoke of ... failed: <reason> (<property>)".
                return {}, [("quotaCode", "AccessDeniedException: not authorized to perform "
                                          "servicequotas:GetServiceQuota")]
            return {"id": f"ec2/{code}", "serviceCode": args.args["serviceCode"], "quotaCode": code,
                    "quotaName": code, "value": float(value), "defaultValue": 0.0, "adjustable": True,
                    "globalQuota": False, "region": REGION, "serviceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                    "arn": f"arn:aws:servicequotas:{REGION}:{ACCOUNT}:ec2/{code}", "usageMetrics": []}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"id": REGION, "names": self.zones, "zoneIds": [zone_id(z) for z in self.zones]}
        if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            (wanted,) = [f["values"] for f in args.args["filters"] if f["name"] == "instance-type"]
            offered = [(t, zone_id(z)) for z in self.zones for t in wanted
                       if t in INSTANCE_SHAPES and t not in self.not_offered.get(z, set())]
            return {"id": REGION, "instanceTypes": [t for t, _ in offered], "locations": [z for _, z in offered],
                    "locationTypes": ["availability-zone-id"] * len(offered)}
        if token == "aws:ec2/getInstanceType:getInstanceType":
            return instance_type_result(args.args["instanceType"])
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args["id"], "cidrBlock": self.vpc_cidrs[0],
                    "cidrBlockAssociations": [{"cidrBlock": c, "associationId": f"a-{i}", "state": "associated"}
                                              for i, c in enumerate(self.vpc_cidrs)]}
        if token == "aws:ssm/getParameter:getParameter":
            return {"id": args.args["name"], "name": args.args["name"], "type": "String",
                    "value": "ami-0123456789abcdef0", "insecureValue": "ami-0123456789abcdef0", "arn": "arn:aws:ssm:::parameter", "version": 1}
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet_id = args.args["id"]
            zone = self.subnet_zones[subnet_id]
            return {"id": subnet_id, "availabilityZone": zone, "availabilityZoneId": zone_id(zone),
                    "vpcId": self.subnet_vpcs.get(subnet_id, VPC_ID)}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": ACCOUNT, "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "userId": "AIDAEXAMPLE"}
        if token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:index/getRegion:getRegion":
            return {"id": REGION, "region": REGION, "name": REGION, "endpoint": f"ec2.{REGION}.amazonaws.com",
                    "description": "US East (N. Virginia)"}
        raise AssertionError(f"the program made an invoke the harness does not know: {token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        arn = f"arn:aws:mock:{REGION}:123456789012:{args.typ.split(':')[-1].lower()}/{args.name}"
        if args.typ == "eks:index:Cluster":
            return resource_id, self._eks_cluster_outputs(args.name, inputs)
        state: dict[str, Any] = {**inputs, "arn": arn}
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = f"{args.name}-key-id"
        if args.typ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{inputs.get('name', args.name)}"
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{REGION}.amazonaws.com/123456789012/{args.name}"
            state["arn"] = f"arn:aws:sqs:{REGION}:123456789012:{args.name}"
        if args.typ == "aws:autoscaling/group:Group":
            state["arn"] = (f"arn:aws:autoscaling:{REGION}:123456789012:autoScalingGroup:"
                            f"00000000-0000-0000-0000-000000000000:autoScalingGroupName/{inputs.get('name', args.name)}")
        if "name" not in inputs and args.typ.startswith("aws:"):
            state["name"] = f"{args.name}-generated"
        return resource_id, state

    def _eks_cluster_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        assert self.monitor is not None
        cluster_name = inputs.get("name", name)
        urn = self.monitor.make_urn("", "aws:eks/cluster:Cluster", f"{name}-eksCluster")
        state = {
            "name": cluster_name,
            "arn": f"arn:aws:eks:{REGION}:123456789012:cluster/{cluster_name}",
            "endpoint": f"https://{cluster_name}.gr7.{REGION}.eks.amazonaws.com",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
            "version": inputs.get("version"),
        }
        self.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, cluster_name, state)
        kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": cluster_name, "cluster": {
            "server": state["endpoint"], "certificate-authority-data": state["certificateAuthority"]["data"]}}]}
        return {
            **inputs,
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig),
            "clusterSecurityGroupId": "sg-0c1a2b3c4d5e6f701",
            "nodeSecurityGroupId": "sg-0a1b2c3d4e5f67890",
            "eksCluster": {SPECIAL_SIG_KEY: RESOURCE_REFERENCE_SIG, "urn": urn, "id": cluster_name},
        }


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also records parents and resource options, which `Mocks` never sees."""

    def __init__(self, mocks: ProgramMocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.run.resources.append(Registered(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object),
                custom=bool(request.custom),
                protect=bool(request.protect),
                ignore_changes=list(request.ignoreChanges),
                depends_on=list(request.dependencies),
                provider=request.provider,
                aliases=[alias.urn for alias in request.aliases if alias.urn],
            ))
        return response


def stack_config(path: Path) -> dict[str, Any]:
    """The `config:` of a Pulumi.<stack>.yaml file."""
    import yaml

    return dict(yaml.safe_load(path.read_text())["config"])


def run_program(
    config: dict[str, Any],
    *,
    stack: str = "test",
    zones: Iterable[str] = ZONES[:3],
    subnet_zones: dict[str, str] | None = None,
    not_offered: dict[str, set[str]] | None = None,
    subnet_vpcs: dict[str, str] | None = None,
    vpc_cidrs: list[str] | None = None,
    quotas: dict[str, float | str] | None = None,
    expect_error: bool = False,
    main: Path = MAIN,
    project: str = PROJECT,
) -> ProgramRun:
    """Run the program with `config` (keys with or without the `eks-gpu-spot:` prefix).

    `aws:region` defaults to us-east-1. AWS answers: `zones` of the region (zone IDs from
    ZONE_IDS), every catalog instance type offered in every zone except `not_offered` (zone name ->
    types), existing subnets in `subnet_zones` of the VPC VPC_ID (or `subnet_vpcs`) whose CIDRs are
    `vpc_cidrs`, EC2 vCPU `quotas` (quota code -> vCPUs, or QUOTA_UNREADABLE for a failed read;
    GENEROUS_QUOTA_VCPUS for any other code). With `expect_error`, a raised error is returned in `.error` instead of
    propagating, with whatever was registered before it.
    """
    run = ProgramRun()
    program_mocks = ProgramMocks(run, zones, subnet_zones or {}, not_offered or {}, subnet_vpcs or {},
                                 vpc_cidrs or ["10.50.0.0/16"], quotas)
    monitor = RecordingMonitor(program_mocks, run)
    program_mocks.monitor = monitor
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(program_mocks, project=project, stack=stack, preview=False, monitor=monitor)
    full_config = {"aws:region": REGION, **{key if ":" in key else f"{project}:{key}": value
                                            for key, value in config.items()}}
    pulumi.runtime.set_all_config(config_strings(full_config))

    exports: dict[str, Any] = {}

    async def resolve_exports() -> None:
        for name, value in exports.items():
            output = pulumi.Output.from_input(value)
            run.outputs[name] = await output.future()
            if await output.is_secret():
                run.secret_outputs.add(name)

    def program() -> Any:
        with mock.patch.object(pulumi, "export", lambda name, value: exports.__setitem__(name, value)):
            runpy.run_path(str(main), run_name="__main__")
        return resolve_exports()

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as error:  # noqa: BLE001 handed to the caller
        if not expect_error:
            raise
        run.error = error
    if expect_error and run.error is None:
        raise AssertionError("the program was expected to fail but succeeded")
    return run



def assert_refused(run: ProgramRun, key: str, allowed: str) -> None:
    """The run stopped with one line naming the stack `key` and what is allowed
    (`config key '<key>': got ...; ...<allowed>...`), before any resource was registered."""
    from config import ConfigError

    assert isinstance(run.error, ConfigError), run.error
    assert run.error.key == key
    message = str(run.error)
    assert message.startswith(f"config key '{key}': got "), message
    assert allowed in message, message
    assert "\n" not in message
    assert run.resources == []
