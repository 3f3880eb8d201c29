"""The longest chain of waits in a first `pulumi up` of the dev stack, from the recorded graph.

Every resource the program registers under mocks is recorded with its dependencies (the request's
`dependencies`: explicit `depends_on` plus every resource whose output feeds an input; a
`depends_on` on a local component is already expanded to that component's resources), its
`parent` and its provider. The engine creates a resource once all of those exist, so a resource
finishes at max(finish of its dependencies) + its own duration.

What mocks cannot show is modelled here, with the figures in the tables below:
- pulumi-eks's `eks:index:Cluster` is a remote component: its children are invisible and its
  outputs resolve only when all of them exist. Its duration is modelled from its inputs (what it
  creates: the control plane, access entries, the node security group, and the vpc-cni and
  kube-proxy add-ons unless told not to; source: pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts,
  v4.3.0). A dependency on its control-plane resource reference resolves with the component.
- Nodes: an ASG with a desired capacity > 0 waits for its instances to be in service (the AWS
  provider's `wait_for_capacity_timeout`); they join the cluster `NODE_JOIN` later. Whatever runs
  pods (CoreDNS, Deployments, which Pulumi awaits until ready) cannot finish before that, whatever
  its edges say.

Figures are typical first-`pulumi up` durations in minutes (EKS control plane creation 8-12
minutes; an EKS managed add-on about a minute; most other AWS API calls seconds). They are a model
for comparing graphs, not a promise about wall-clock time.

Dev and prod stacks, with these figures: 14.60 minutes while pulumi-eks still created vpc-cni and kube-proxy
(they held back its outputs by 1.05 minutes), 13.60 since; the floor is 13.55 (the control plane
starts at 0.20, once the VPC and its subnets exist). `pytest -s` prints the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from components.image_cache import fsr_optimization_minutes
from tests.harness import ROOT, ProgramRun, Registered, run_program, stack_config

EKS_COMPONENT = "eks:index:Cluster"
EKS_CONTROL_PLANE = 10.0  # aws.eks.Cluster create, with its IAM role and cluster security group
ACCESS_ENTRY = 0.05
NODE_SECURITY_GROUP = 0.05  # pulumi-eks tags it with the cluster's name: created after the control plane
MANAGED_ADDON = 1.0  # an EKS add-on that needs no node (vpc-cni, kube-proxy, pod identity agent)
ASG_CREATE = 0.3
ASG_CAPACITY_WAIT = 1.0  # instances launched and in service (desired capacity > 0)
NODE_JOIN = 1.0  # boot, nodeadm, kubelet registers, CNI ready
COREDNS_AFTER_NODES = 1.0  # the CoreDNS add-on turns ACTIVE once its pods run on a node
POD_READY_AFTER_NODES = 0.5  # a Deployment's pods pulled, started and ready on a joined node
LAUNCH_TEMPLATE = 0.05

# Minutes each resource type takes once everything it waits for exists.
DURATIONS: dict[str, float] = {
    "aws:ec2/vpc:Vpc": 0.1,
    "aws:ec2/subnet:Subnet": 0.1,
    "aws:ec2/internetGateway:InternetGateway": 0.1,
    "aws:ec2/eip:Eip": 0.05,
    "aws:ec2/natGateway:NatGateway": 2.0,
    "aws:ec2/routeTable:RouteTable": 0.05,
    "aws:ec2/route:Route": 0.05,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 0.05,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 0.05,
    "aws:ec2/flowLog:FlowLog": 0.05,
    "aws:iam/rolePolicy:RolePolicy": 0.05,
    "aws:iam/role:Role": 0.1,
    "aws:iam/policy:Policy": 0.1,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 0.05,
    "aws:iam/instanceProfile:InstanceProfile": 0.1,
    "aws:kms/key:Key": 0.1,
    "aws:kms/alias:Alias": 0.05,
    "aws:cloudwatch/logGroup:LogGroup": 0.05,
    "aws:eks/addon:Addon": MANAGED_ADDON,
    "aws:eks/accessEntry:AccessEntry": ACCESS_ENTRY,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 0.1,
    "aws:ec2/launchTemplate:LaunchTemplate": LAUNCH_TEMPLATE,
    "aws:autoscaling/group:Group": ASG_CREATE,
    "aws:autoscaling/lifecycleHook:LifecycleHook": 0.05,
    "aws:sqs/queue:Queue": 0.1,
    "aws:sqs/queuePolicy:QueuePolicy": 0.05,
    "aws:cloudwatch/eventRule:EventRule": 0.05,
    "aws:cloudwatch/eventTarget:EventTarget": 0.05,
    "pulumi:providers:kubernetes": 0.0,
    "kubernetes:core/v1:ServiceAccount": 0.02,
    "kubernetes:core/v1:ConfigMap": 0.02,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 0.02,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 0.02,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": 0.02,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 0.02,
    "kubernetes:policy/v1:PodDisruptionBudget": 0.02,
    # The device plugin runs on GPU nodes only, and GPU groups start at zero: nothing to wait for.
    "kubernetes:apps/v1:DaemonSet": 0.05,
    "kubernetes:apps/v1:Deployment": POD_READY_AFTER_NODES,
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": 0.02,
}
# An image cache's fast snapshot restore: the provider waits until EBS has optimised the snapshot,
# about 60 minutes per TiB (image_cache.fsr_optimization_minutes), from the start of the run.
FAST_SNAPSHOT_RESTORE = "aws:ebs/fastSnapshotRestore:FastSnapshotRestore"
# The shortest possible first `pulumi up` after the control plane's own inputs exist: the control
# plane, then one node layer (launch template, ASG with capacity, nodes join, CoreDNS).
FLOOR_AFTER_CONTROL_PLANE_INPUTS = (EKS_CONTROL_PLANE + LAUNCH_TEMPLATE + ASG_CREATE + ASG_CAPACITY_WAIT
                                    + NODE_JOIN + COREDNS_AFTER_NODES)
TOLERANCE = 0.2
NODES = "nodes joined"  # the moment the first node layer is Ready, in the chain of waits


def eks_component_minutes(inputs: dict[str, Any]) -> float:
    """How long pulumi-eks's component takes from its start until its outputs resolve.

    After the control plane (cluster.ts `createCore`): one access entry per `accessEntries` item,
    the node security group (unless `skipDefaultSecurityGroups`), the kube-proxy add-on (unless
    `kubeProxyAddonOptions.enabled` is false) and the vpc-cni add-on after the access entries
    (unless `useDefaultVpcCni`), all in parallel.
    """
    assert inputs.get("skipDefaultNodeGroup") is True, "a default node group is not modelled"
    assert not inputs.get("corednsAddonOptions", {}).get("enabled"), \
        "CoreDNS inside pulumi-eks would wait for nodes that wait for the component"
    access = ACCESS_ENTRY if inputs.get("accessEntries") else 0.0
    after = [access]
    if not inputs.get("skipDefaultSecurityGroups"):
        after.append(NODE_SECURITY_GROUP)
    if inputs.get("kubeProxyAddonOptions", {}).get("enabled", True):
        after.append(MANAGED_ADDON)
    if not inputs.get("useDefaultVpcCni"):
        after.append(access + MANAGED_ADDON)
    return EKS_CONTROL_PLANE + max(after)


def runs_pods(resource: Registered) -> bool:
    """True for what cannot finish before nodes have joined (a Deployment Pulumi does not await,
    such as the warm-node placeholders', is done once the API server has it)."""
    if resource.type == "kubernetes:apps/v1:Deployment":
        return resource.inputs["metadata"].get("annotations", {}).get("pulumi.com/skipAwait") != "true"
    return resource.type == "aws:eks/addon:Addon" and resource.inputs.get("addonName") == "coredns"


@dataclass
class Schedule:
    """Start and finish minute of every resource, and what each one waited for last."""

    run: ProgramRun
    snapshot_gib: int = 0  # of the image cache snapshot a FastSnapshotRestore optimises

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.run.resources}
        self.finish: dict[str, float] = {}
        self.waited_for: dict[str, str] = {}
        (self.eks,) = self.run.of_type(EKS_COMPONENT)
        self.nodes_ready = self._nodes_ready()

    def _nodes_ready(self) -> float:
        with_capacity = [r for r in self.run.of_type("aws:autoscaling/group:Group")
                         if (r.inputs.get("desiredCapacity") or 0) > 0]
        assert with_capacity, "no ASG starts with nodes: nothing would run CoreDNS"
        last = max(with_capacity, key=lambda r: self.finish_of(r.urn))
        self.waited_for[NODES] = last.urn
        self.finish[NODES] = self.finish_of(last.urn) + NODE_JOIN
        return self.finish[NODES]

    def _resolve(self, urn: str) -> str:
        if urn in self.by_urn:
            return urn
        # The control plane's resource reference (an output of the remote component, recorded by
        # the harness as a fake child) resolves when the component does.
        assert urn.split("::")[-2].endswith("aws:eks/cluster:Cluster"), f"unknown dependency {urn}"
        return self.eks.urn

    def waits_for(self, resource: Registered) -> list[str]:
        urns = [self._resolve(urn) for urn in resource.depends_on]
        provider_urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        if provider_urn in self.by_urn:
            urns.append(provider_urn)
        return urns

    def start_of(self, resource: Registered) -> float:
        waits = self.waits_for(resource)
        if not waits:
            return 0.0
        last = max(waits, key=self.finish_of)
        self.waited_for[resource.urn] = last
        return self.finish_of(last)

    def finish_of(self, urn: str) -> float:
        if urn in self.finish:
            return self.finish[urn]
        resource = self.by_urn[urn]
        if resource.type == EKS_COMPONENT:
            finish = self.start_of(resource) + eks_component_minutes(resource.inputs)
        elif not resource.custom:
            # Waiting for a local component means waiting for everything in it.
            children = self.run.children_of(resource)
            finish = max((self.finish_of(c.urn) for c in children), default=0.0)
        else:
            assert resource.type in DURATIONS or resource.type == FAST_SNAPSHOT_RESTORE, \
                f"no duration for {resource.type}: add it to the table"
            start = self.start_of(resource)
            own = (fsr_optimization_minutes(self.snapshot_gib) if resource.type == FAST_SNAPSHOT_RESTORE
                   else DURATIONS[resource.type])
            if resource.type == "aws:autoscaling/group:Group" and (resource.inputs.get("desiredCapacity") or 0) > 0:
                own += ASG_CAPACITY_WAIT
            if runs_pods(resource):
                own = COREDNS_AFTER_NODES if resource.type == "aws:eks/addon:Addon" else own
                if self.nodes_ready > start:
                    self.waited_for[urn] = NODES
                finish = max(start, self.nodes_ready) + own
            else:
                finish = start + own
        self.finish[urn] = finish
        return finish

    def critical_path(self) -> tuple[float, list[str]]:
        """The longest finish, and the chain of resources that leads to it."""
        last = max((r.urn for r in self.run.resources if r.custom or r.type == EKS_COMPONENT), key=self.finish_of)
        chain = [last]
        while chain[-1] in self.waited_for:
            chain.append(self.waited_for[chain[-1]])
        labels = [f"{self.by_urn[u].type.split(':')[-1]} {self.by_urn[u].name} @{self.finish[u]:.2f}"
                  if u in self.by_urn else f"{u} @{self.finish[u]:.2f}" for u in reversed(chain)]
        return self.finish[last], labels

    def floor(self) -> float:
        return self.start_of(self.eks) + FLOOR_AFTER_CONTROL_PLANE_INPUTS


@pytest.fixture(scope="module", params=["dev", "prod"])
def schedule(request: pytest.FixtureRequest) -> Schedule:
    stack = request.param
    return Schedule(run_program(stack_config(ROOT / f"Pulumi.{stack}.yaml"), stack=stack))


def test_first_up_is_within_a_fifth_of_a_minute_of_the_floor(schedule: Schedule) -> None:
    minutes, chain = schedule.critical_path()
    floor = schedule.floor()
    print(f"critical path {minutes:.2f} min, floor {floor:.2f} min:\n  " + "\n  ".join(chain))
    assert minutes <= floor + TOLERANCE, (
        f"the first pulumi up takes {minutes:.2f} minutes against a floor of {floor:.2f}:\n  " + "\n  ".join(chain))


def test_nothing_the_nodes_need_waits_for_managed_addons(schedule: Schedule) -> None:
    # The launch templates and the Kubernetes provider wait only for the control plane.
    eks_finish = schedule.finish_of(schedule.eks.urn)
    eks_start = schedule.start_of(schedule.eks)
    assert eks_finish - eks_start <= EKS_CONTROL_PLANE + max(ACCESS_ENTRY, NODE_SECURITY_GROUP)
    for template in schedule.run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert schedule.finish_of(template.urn) <= eks_finish + LAUNCH_TEMPLATE


def test_the_model_sees_a_component_that_still_holds_addons() -> None:
    # The model would notice add-ons moved back into pulumi-eks: a minute and more on the path.
    with_addons = {"skipDefaultNodeGroup": True, "accessEntries": {"a": {}}}
    without = {**with_addons, "useDefaultVpcCni": True, "kubeProxyAddonOptions": {"enabled": False}}
    assert eks_component_minutes(with_addons) - eks_component_minutes(without) >= MANAGED_ADDON


def test_what_only_needs_asg_names_waits_for_no_asg(schedule: Schedule) -> None:
    run = schedule.run
    asgs = {r.urn for r in run.of_type("aws:autoscaling/group:Group")}
    priorities = run.one("kubernetes:core/v1:ConfigMap", "cluster-autoscaler-priority-expander")
    rules = run.of_type("aws:cloudwatch/eventRule:EventRule")
    assert len(rules) == 4
    for resource in [priorities, *rules]:
        assert not asgs & set(resource.depends_on), resource.name
    # The names it uses are the ASGs' real names.
    text = priorities.inputs["data"]["priorities"]
    for asg in run.of_type("aws:autoscaling/group:Group"):
        assert f'"^{asg.inputs["name"]}$"' in text


def test_image_caches_and_warm_nodes_leave_the_first_up_unchanged() -> None:
    # The dev stack with every issue-20 lever: nothing waits for the restores (a 100 GiB snapshot is
    # optimised in 6 minutes, within the control plane's 10) nor for the placeholders' nodes.
    config = stack_config(ROOT / "Pulumi.dev.yaml")
    cache = {"snapshotId": "snap-0123456789abcdef0", "fastSnapshotRestore": True}
    pools = [{**pool, "imageCache": cache, "warmNodes": 1} for pool in config["eks-gpu-spot:gpuPools"]]
    levers = Schedule(run_program({**config, "eks-gpu-spot:gpuPools": pools}, stack="dev",
                                  snapshots={cache["snapshotId"]: 100}), snapshot_gib=100)
    plain = Schedule(run_program(config, stack="dev"))
    assert levers.run.of_type(FAST_SNAPSHOT_RESTORE) and levers.run.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
    assert levers.critical_path()[0] == pytest.approx(plain.critical_path()[0])
    assert levers.critical_path()[1][-1] == plain.critical_path()[1][-1]
    # What would change it: a snapshot whose optimisation outlasts the whole run (docs/performance.md).
    huge = Schedule(levers.run, snapshot_gib=400)
    assert huge.critical_path()[0] > plain.critical_path()[0]
