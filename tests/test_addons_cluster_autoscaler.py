"""The Cluster Autoscaler: arguments, image minor, priority expander, RBAC, Deployment, IAM."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from components.addons.cluster_autoscaler import (
    cluster_role_manifest,
    expander_priorities,
    render_priorities,
)
from tests.addon_helpers import (
    CLUSTER,
    DEV_ASGS,
    child,
    cluster_provider_ref,
    component,
    dev_run,
    document,
    k8s_child,
    pod_spec,
)

DESCRIBE = {
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
}
SCALING = {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}


def deployment(**overrides: object):
    return k8s_child(dev_run(**overrides), "cluster autoscaler", "Deployment")


def container(**overrides: object) -> dict:
    return pod_spec(deployment(**overrides))["containers"][0]


def test_full_argument_list() -> None:
    assert container()["args"] == [
        "--cloud-provider=aws",
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{CLUSTER}",
        "--balance-similar-node-groups=false",
        "--expander=priority,least-waste",
        "--skip-nodes-with-local-storage=false",
        "--scale-down-unneeded-time=10m",
        # 5m: never holds an idle GPU node longer than the GPU pools' 5m unneeded time, and only
        # after a scale-up of that node's own group (docs/autoscaling.md, section 5).
        "--scale-down-delay-after-add=5m",
        "--scale-down-delay-type-local=true",
        "--scale-down-utilization-threshold=0.5",
        "--max-node-provision-time=15m",
        "--stderrthreshold=info",
        "--v=4",
    ]
    assert container()["command"] == ["./cluster-autoscaler"]


def test_arguments_follow_config() -> None:
    args = container(clusterAutoscaler={
        "expander": "least-waste", "scaleDownUnneededTime": "5m", "scaleDownDelayAfterAdd": "2m",
        "scaleDownUtilizationThreshold": "0.3", "maxNodeProvisionTime": "20m"})["args"]
    assert {"--expander=least-waste", "--scale-down-unneeded-time=5m", "--scale-down-delay-after-add=2m",
            "--scale-down-utilization-threshold=0.3", "--max-node-provision-time=20m"} <= set(args)


@pytest.mark.parametrize(("version", "tag"), [("1.33", "v1.33.6"), ("1.35", "v1.35.2")])
def test_image_minor_matches_the_cluster(version: str, tag: str) -> None:
    assert container(kubernetesVersion=version)["image"] == f"registry.k8s.io/autoscaling/cluster-autoscaler:{tag}"


def test_image_tag_table_is_overridable() -> None:
    image = container(kubernetesVersion="1.33", clusterAutoscaler={"imageTags": {"1.33": "v1.33.9"}})["image"]
    assert image == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.9"


def test_deployment_placement_security_probes_and_resources() -> None:
    run = dev_run()
    found = k8s_child(run, "cluster autoscaler", "Deployment")
    assert found.inputs["metadata"]["namespace"] == "kube-system"
    assert found.inputs["metadata"]["labels"]["app.kubernetes.io/part-of"] == "eks-gpu-spot"
    assert found.inputs["spec"]["replicas"] == 1
    pod = pod_spec(found)
    assert pod["nodeSelector"] == {"node-pool": "general"}
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["serviceAccountName"] == "cluster-autoscaler"
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                      "fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}}
    (main,) = pod["containers"]
    assert main["env"] == [{"name": "AWS_REGION", "value": "us-east-1"}]
    assert main["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                       "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    assert main["livenessProbe"]["httpGet"] == {"path": "/health-check", "port": 8085}
    assert main["resources"] == {"requests": {"cpu": "100m", "memory": "600Mi"}, "limits": {"memory": "600Mi"}}
    assert "tolerations" not in pod
    assert found.provider == cluster_provider_ref(run)
    # It starts only once its AWS identity and RBAC exist.
    association = child(run, "cluster autoscaler", "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.urn in found.depends_on


def test_deployment_tolerates_the_general_pools_own_taints() -> None:
    pod = pod_spec(deployment(generalPool={
        "instanceTypes": ["m6i.2xlarge", "m6a.2xlarge"], "taints": ["system=true:PreferNoSchedule"]}))
    assert pod["tolerations"] == [{"key": "system", "operator": "Equal", "value": "true", "effect": "PreferNoSchedule"}]


def test_pod_disruption_budget_lets_it_move() -> None:
    pdb = k8s_child(dev_run(), "cluster autoscaler", "PodDisruptionBudget")
    assert pdb.type == "kubernetes:policy/v1:PodDisruptionBudget"
    assert pdb.inputs["spec"] == {"maxUnavailable": 1,
                                  "selector": {"matchLabels": {"app.kubernetes.io/name": "cluster-autoscaler"}}}


def test_priority_expander_prefers_gpu_pools_in_configured_order() -> None:
    run = dev_run(gpuPools=[
        {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"]},
        {"name": "gpu-quad", "instanceTypes": ["g4dn.12xlarge"]},
    ])
    configmap = k8s_child(run, "cluster autoscaler", "ConfigMap")
    assert configmap.inputs["metadata"]["name"] == "cluster-autoscaler-priority-expander"
    assert configmap.inputs["metadata"]["namespace"] == "kube-system"
    priorities = yaml.safe_load(configmap.inputs["data"]["priorities"])
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    assert priorities == {
        30: [f"^{CLUSTER}-gpu-{z}$" for z in zones],
        20: [f"^{CLUSTER}-gpu-quad-{z}$" for z in zones],
        10: [f"^{CLUSTER}-general$"],
    }
    # Exact names: pool `gpu`'s patterns must not match pool `gpu-quad`'s groups.
    import re
    assert not any(re.search(p, f"{CLUSTER}-gpu-quad-us-east-1a") for p in priorities[30])


def test_on_demand_fallback_groups_rank_below_every_spot_group_of_every_gpu_pool() -> None:
    run = dev_run(gpuPools=[
        {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"], "onDemandFallback": True},
        {"name": "gpu-quad", "instanceTypes": ["g4dn.12xlarge"]},
        {"name": "gpu-l40s", "instanceTypes": ["g6e.xlarge"], "onDemandFallback": True},
    ])
    priorities = yaml.safe_load(k8s_child(run, "cluster autoscaler", "ConfigMap").inputs["data"]["priorities"])
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    assert priorities == {
        60: [f"^{CLUSTER}-gpu-{z}$" for z in zones],
        50: [f"^{CLUSTER}-gpu-quad-{z}$" for z in zones],
        40: [f"^{CLUSTER}-gpu-l40s-{z}$" for z in zones],
        30: [f"^{CLUSTER}-gpu-{z}-on-demand$" for z in zones],
        20: [f"^{CLUSTER}-gpu-l40s-{z}-on-demand$" for z in zones],
        10: [f"^{CLUSTER}-general$"],
    }
    spot = {p: r for p, r in priorities.items() if p >= 40}
    on_demand = {p: r for p, r in priorities.items() if 10 < p < 40}
    assert all(not r.endswith("-on-demand$") for regexes in spot.values() for r in regexes)
    assert all(r.endswith("-on-demand$") for regexes in on_demand.values() for r in regexes)
    # The pattern of a Spot group matches no On-Demand group's name, and the reverse.
    import re
    names = [f"{CLUSTER}-gpu-{z}{suffix}" for z in zones for suffix in ("", "-on-demand")]
    for priority, regexes in priorities.items():
        matched = [n for n in names if any(re.search(r, n) for r in regexes)]
        assert all(n.endswith("-on-demand") == (priority in on_demand) for n in matched)
    # Every group the program built is ranked exactly once.
    asgs = {g.inputs["name"] for g in run.of_type("aws:autoscaling/group:Group")}
    ranked = [r for regexes in priorities.values() for r in regexes]
    assert len(ranked) == len(asgs) == 1 + 3 * 3 + 2 * 3
    assert all(sum(bool(re.fullmatch(r.strip("^$").replace("\\", ""), n)) for r in ranked) == 1 for n in asgs)


def test_expander_ranks_spot_over_on_demand_whatever_the_pool_order() -> None:
    from components.addons.cluster_autoscaler import AutoscaledPool
    priorities = expander_priorities([
        AutoscaledPool("general", False, ["c-general"]),
        AutoscaledPool("a", True, ["c-a-1"], ["c-a-1-on-demand"]),
        AutoscaledPool("b", True, ["c-b-1"], ["c-b-1-on-demand"]),
    ])
    rank = {regex: priority for priority, regexes in priorities.items() for regex in regexes}
    spot = [rank["^c-a-1$"], rank["^c-b-1$"]]
    on_demand = [rank["^c-a-1-on-demand$"], rank["^c-b-1-on-demand$"]]
    assert min(spot) > max(on_demand) > rank["^c-general$"]
    assert rank["^c-a-1$"] > rank["^c-b-1$"] and rank["^c-a-1-on-demand$"] > rank["^c-b-1-on-demand$"]


def test_priority_rendering_is_yaml_with_highest_first() -> None:
    text = render_priorities(expander_priorities([("general", False, ["c-general"]), ("gpu", True, ["c-gpu-a.b"])]))
    assert text.splitlines()[0] == "20:"
    assert yaml.safe_load(text) == {20: [r"^c-gpu-a\.b$"], 10: ["^c-general$"]}


def test_least_waste_has_no_priority_configmap() -> None:
    run = dev_run(clusterAutoscaler={"expander": "least-waste"})
    assert run.of_type("kubernetes:core/v1:ConfigMap") == []
    assert "--expander=least-waste" in pod_spec(k8s_child(run, "cluster autoscaler", "Deployment"))["containers"][0]["args"]


def _triples(rules: list[dict]) -> set[tuple[str, str, str, str]]:
    return {(group, resource, verb, ",".join(r.get("resourceNames", [])))
            for r in rules for group in r["apiGroups"] for resource in r["resources"] for verb in r["verbs"]}


def test_cluster_role_covers_the_upstream_example() -> None:
    # kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/examples/cluster-autoscaler-autodiscover.yaml,
    # without the long-gone `extensions` group.
    read = ("watch", "list", "get")
    upstream = [
        ("", ["events", "endpoints"], ["create", "patch"], ""),
        ("", ["pods/eviction"], ["create"], ""),
        ("", ["pods/status"], ["update"], ""),
        ("", ["endpoints"], ["get", "update"], "cluster-autoscaler"),
        ("", ["nodes"], ["watch", "list", "get", "update"], ""),
        ("", ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims",
              "persistentvolumes"], read, ""),
        ("policy", ["poddisruptionbudgets"], ["watch", "list"], ""),
        ("apps", ["statefulsets", "replicasets", "daemonsets"], read, ""),
        ("resource.k8s.io", ["deviceclasses", "resourceslices", "resourceclaims"], read, ""),
        ("storage.k8s.io", ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities",
                            "volumeattachments"], read, ""),
        ("batch", ["jobs"], ["get", "list", "watch", "patch"], ""),
        ("coordination.k8s.io", ["leases"], ["create"], ""),
        ("coordination.k8s.io", ["leases"], ["get", "update"], "cluster-autoscaler"),
    ]
    expected = {(g, r, v, n) for g, resources, verbs, n in upstream for r in resources for v in verbs}
    registered = k8s_child(dev_run(), "cluster autoscaler", "ClusterRole")
    assert registered.inputs["metadata"]["name"] == "cluster-autoscaler"
    assert _triples(registered.inputs["rules"]) == expected
    assert registered.inputs["rules"] == cluster_role_manifest()["rules"]


def test_role_and_bindings() -> None:
    run = dev_run()
    role = k8s_child(run, "cluster autoscaler", "Role")
    assert _triples(role.inputs["rules"]) == {
        ("", "configmaps", v, "") for v in ("create", "list", "watch")} | {
        ("", "configmaps", v, "cluster-autoscaler-status,cluster-autoscaler-priority-expander")
        for v in ("delete", "get", "update", "watch")}
    subject = [{"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}]
    for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        binding = k8s_child(run, "cluster autoscaler", kind)
        assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                             "name": "cluster-autoscaler"}
        assert binding.inputs["subjects"] == subject
    service_account = k8s_child(run, "cluster autoscaler", "ServiceAccount")
    assert service_account.inputs["metadata"]["name"] == "cluster-autoscaler"
    assert "annotations" not in service_account.inputs["metadata"]  # Pod Identity, not IRSA


@pytest.mark.parametrize("version", ["1.32", "1.35"])
def test_every_object_is_valid_kubernetes(version: str) -> None:
    run = dev_run(kubernetesVersion=version)
    objects = [r for r in run.descendants_of(component(run, "cluster autoscaler")) if r.type.startswith("kubernetes:")]
    assert len(objects) == 8
    for registered in objects:
        assert registered.provider == cluster_provider_ref(run)
        kubernetes_validate.validate(registered.inputs, version, strict=True)


def test_iam_policy_reads_anywhere_and_resizes_only_this_clusters_groups() -> None:
    run = dev_run()
    policy = document(child(run, "cluster autoscaler", "aws:iam/policy:Policy").inputs["policy"])
    assert policy["Version"] == "2012-10-17"
    describe, scale = policy["Statement"]
    assert (describe["Effect"], set(describe["Action"]), describe["Resource"]) == ("Allow", DESCRIBE, "*")
    assert len(describe["Action"]) == len(DESCRIBE) and "Condition" not in describe
    assert (scale["Effect"], set(scale["Action"])) == ("Allow", SCALING)
    # A name prefix, not a list: the document does not grow with the groups.
    assert scale["Resource"] == f"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/{CLUSTER}-*"
    assert all(name.startswith(f"{CLUSTER}-") for name in DEV_ASGS)
    assert scale["Condition"] == {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}": "owned"}}


def test_iam_role_is_for_pod_identity_and_associated_with_the_service_account() -> None:
    run = dev_run()
    role = child(run, "cluster autoscaler", "aws:iam/role:Role")
    trust = document(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(statement["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    attachment = child(run, "cluster autoscaler", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["role"] == role.inputs.get("name", "cluster-autoscaler-role-generated")
    association = child(run, "cluster autoscaler", "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert {k: association.inputs[k] for k in ("clusterName", "namespace", "serviceAccount")} == {
        "clusterName": CLUSTER, "namespace": "kube-system", "serviceAccount": "cluster-autoscaler"}
    assert association.inputs["roleArn"].endswith("/cluster-autoscaler-role")
    agent = run.one("aws:eks/addon:Addon", f"{CLUSTER}-pod-identity-agent")
    assert agent.urn in association.depends_on
    assert attachment.urn in association.depends_on


def test_asgs_carry_the_discovery_tags_the_arguments_name() -> None:
    for group in dev_run().of_type("aws:autoscaling/group:Group"):
        assert group.inputs["name"] in DEV_ASGS
        tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
        assert tags["k8s.io/cluster-autoscaler/enabled"] == "true"
        assert tags[f"k8s.io/cluster-autoscaler/{CLUSTER}"] == "owned"
