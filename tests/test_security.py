"""Security hardening (issue 14): network, Secrets key, control-plane logs, IAM, device plugin, endpoint warning."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from unittest import mock

import pulumi
import pytest
from parliament import iam_definition

from components.addons.cluster_autoscaler import DESCRIBE_ACTIONS
from components.logs import CLOUDWATCH_RETENTION_DAYS, check_retention_days
from config import ConfigError, config_strings, parse_settings
from tests.harness import ACCOUNT, REGION, ROOT, ProgramRun, Registered, run_program, stack_config
from tests.urn_snapshot import config_of, run_stack

DEV = stack_config(ROOT / "Pulumi.dev.yaml")
PROD = stack_config(ROOT / "Pulumi.prod.yaml")
PROD_REGION = PROD["aws:region"]
SECURITY_DOC = (ROOT / "docs" / "security.md").read_text()
_runs: dict[str, ProgramRun] = {}


def stack_run(stack: str) -> ProgramRun:
    if stack not in _runs:
        _runs[stack] = run_program(DEV if stack == "dev" else PROD, stack=stack)
    return _runs[stack]


def document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse(**config: Any) -> Any:
    return parse_settings(config_strings({f"eks-gpu-spot:{k}": v for k, v in config.items()}),
                          stack="dev", region=REGION)


EXISTING_SUBNETS = {"subnet-0a1b2c3d4e5f6a7b8": "us-east-1a", "subnet-0a1b2c3d4e5f6a7b9": "us-east-1b"}
EXISTING_VPC = {"existingVpcId": "vpc-0a1b2c3d4e5f67890", "existingPrivateSubnetIds": list(EXISTING_SUBNETS)}


# 1. New VPCs: the default security group without rules, and flow logs.

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_new_vpcs_default_security_group_is_adopted_without_rules(stack: str) -> None:
    run = stack_run(stack)
    vpc = run.one("aws:ec2/vpc:Vpc")
    group = run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs["vpcId"] == f"{vpc.name}-id"
    assert not group.inputs.get("ingress") and not group.inputs.get("egress")


def test_flow_logs_are_off_in_dev_and_by_default() -> None:
    run = stack_run("dev")
    assert run.of_type("aws:ec2/flowLog:FlowLog") == []
    assert [g.inputs["name"] for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")] == [
        "/aws/eks/eks-gpu-spot-dev/cluster"]
    assert parse().network.flow_logs is False


def flow_log_resources(run: ProgramRun) -> tuple[Registered, Registered, Registered, Registered]:
    flow_log = run.one("aws:ec2/flowLog:FlowLog")
    group = run.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    role = run.one("aws:iam/role:Role", "network-flow-logs")
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs")
    return flow_log, group, role, policy


def test_prod_sends_all_vpc_traffic_to_a_log_group_with_a_retention() -> None:
    run = stack_run("prod")
    flow_log, group, role, policy = flow_log_resources(run)
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert group.inputs["name"] == "/aws/vpc-flow-logs/eks-gpu-spot-prod"
    assert group.inputs["retentionInDays"] == 365
    group_arn = f"arn:aws:logs:{PROD_REGION}:{ACCOUNT}:log-group:/aws/vpc-flow-logs/eks-gpu-spot-prod"
    assert flow_log.inputs["vpcId"] == f"{vpc.name}-id"
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == group_arn
    assert flow_log.inputs["iamRoleArn"] == f"arn:aws:mock:{PROD_REGION}:{ACCOUNT}:role/{role.name}"
    assert policy.urn in flow_log.depends_on


def test_the_flow_log_role_is_for_this_accounts_flow_logs_and_writes_only_its_group() -> None:
    _, _, role, policy = flow_log_resources(stack_run("prod"))
    (trust,) = statements(document(role.inputs["assumeRolePolicy"]))
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{PROD_REGION}:{ACCOUNT}:vpc-flow-log/*"},
    }
    group_arn = f"arn:aws:logs:{PROD_REGION}:{ACCOUNT}:log-group:/aws/vpc-flow-logs/eks-gpu-spot-prod"
    write, find = statements(document(policy.inputs["policy"]))
    assert set(write["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    assert write["Resource"] == [group_arn, f"{group_arn}:log-stream:*"]
    assert (find["Action"], find["Resource"]) == ("logs:DescribeLogGroups", "*")


def test_the_flow_log_documents_pass_the_iam_linter() -> None:
    from tests.test_validators import lint_findings

    _, _, role, policy = flow_log_resources(stack_run("prod"))
    assert lint_findings(document(role.inputs["assumeRolePolicy"]), trust_policy=True) == []
    assert lint_findings(document(policy.inputs["policy"]), trust_policy=False) == []


def test_flow_logs_retention_is_configurable() -> None:
    run = run_program({**DEV, "eks-gpu-spot:vpcFlowLogs": {"enabled": True, "retentionDays": 30}}, stack="dev")
    _, group, _, _ = flow_log_resources(run)
    assert group.inputs["retentionInDays"] == 30


def test_nothing_is_created_for_an_existing_vpc() -> None:
    run = run_program(EXISTING_VPC, subnet_zones=EXISTING_SUBNETS)
    for resource_type in ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/flowLog:FlowLog"):
        assert run.of_type(resource_type) == []


def test_flow_logs_are_refused_for_an_existing_vpc_before_any_resource() -> None:
    run = run_program({**EXISTING_VPC, "vpcFlowLogs": {"enabled": True}}, subnet_zones=EXISTING_SUBNETS,
                      expect_error=True)
    assert isinstance(run.error, ConfigError) and run.error.key == "eks-gpu-spot:vpcFlowLogs"
    assert "existingVpcId" in str(run.error)
    assert run.resources == []


@pytest.mark.parametrize(("flow_logs", "key"), [
    ({"enabled": True, "retentionDays": 0}, "eks-gpu-spot:vpcFlowLogs.retentionDays"),
    ({"enabled": True, "retentionDays": 100}, "eks-gpu-spot:vpcFlowLogs.retentionDays"),
    ({"enabled": "yes"}, "eks-gpu-spot:vpcFlowLogs.enabled"),
    ({"enable": True}, "eks-gpu-spot:vpcFlowLogs.enable"),
])
def test_bad_flow_log_config_names_its_key(flow_logs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(vpcFlowLogs=flow_logs)
    assert raised.value.key == key


# 2. The Secrets key's policy.

def key_policy(run: ProgramRun) -> dict[str, Any]:
    return document(run.one("aws:kms/key:Key").inputs["policy"])


def known_actions() -> dict[str, dict[str, Any]]:
    return {f"{service['prefix']}:{p['privilege']}".lower(): p for service in iam_definition
            for p in service["privileges"]}


ACTIONS = known_actions()


def test_the_secrets_key_has_an_explicit_policy_for_this_account_only() -> None:
    policy = key_policy(stack_run("dev"))
    assert policy["Version"] == "2012-10-17"
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        assert statement["Resource"] == "*"  # in a key policy: this key
        for action in as_list(statement["Action"]):
            assert "*" not in action and action.lower() in ACTIONS, action


def test_administrators_manage_the_key_but_cannot_use_it_directly() -> None:
    admin, *_ = statements(key_policy(stack_run("dev")))
    assert admin["Sid"] == "AccountAdministersTheKey" and "Condition" not in admin
    actions = set(admin["Action"])
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation", "kms:DescribeKey"} <= actions
    assert not actions & {"kms:Encrypt", "kms:Decrypt", "kms:CreateGrant", "kms:ReEncryptFrom",
                          "kms:GenerateDataKey"}


def test_the_key_is_used_and_granted_only_through_eks_in_this_region() -> None:
    through_eks = {"kms:ViaService": f"eks.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    conditional = [s for s in statements(key_policy(stack_run("dev"))) if "Condition" in s]
    use, grants = conditional
    assert {"kms:Encrypt", "kms:Decrypt"} <= set(use["Action"])
    assert use["Condition"] == {"StringEquals": through_eks}
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"] == {"StringEquals": through_eks, "Bool": {"kms:GrantIsForAWSResource": "true"}}
    unconditional = {a for s in statements(key_policy(stack_run("dev"))) if "Condition" not in s
                     for a in as_list(s["Action"])}
    assert not unconditional & {"kms:Encrypt", "kms:Decrypt", "kms:CreateGrant"}


def test_the_cluster_role_may_use_the_secrets_key_and_nothing_else_gets_looser() -> None:
    run = stack_run("dev")
    key = run.one("aws:kms/key:Key")
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-secrets-key-use")]
    # pulumi-eks's own cluster role, read from the control plane's roleArn: no role of ours, so no
    # existing cluster is replaced for a new role ARN.
    assert policy.inputs["role"] == "eks-gpu-spot-dev-eksRole-role-7c1d2e3"
    assert any(d.endswith("::eks-gpu-spot-dev-eksCluster") for d in policy.depends_on)
    # terraform-aws-eks's four actions, on this key only.
    (statement,) = statements(document(policy.inputs["policy"]))
    assert statement == {"Sid": "SecretsKeyOfThisCluster", "Effect": "Allow",
                         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                         "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.name}-key-id"}
    # What the key policy makes of them: ListGrants and DescribeKey are the account's IAM policies'
    # to give; Encrypt and Decrypt still work only through EKS. The key policy is unchanged.
    admin, use, _grants = statements(key_policy(run))
    assert {"kms:ListGrants", "kms:DescribeKey"} <= set(admin["Action"]) and "Condition" not in admin
    assert {"kms:Encrypt", "kms:Decrypt"} <= set(use["Action"]) and use["Condition"]["StringEquals"]["kms:ViaService"]
    assert len(statements(key_policy(run))) == 3


def secrets_key_use(run: ProgramRun) -> Registered:
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-secrets-key-use")]
    return policy


@pytest.mark.parametrize("version", ["1.35", "1.36"])
def test_on_a_live_cluster_the_key_rights_come_before_the_control_plane_unchanged(version: str) -> None:
    first = run_stack("dev")
    assert first.one("eks:index:Cluster").inputs["version"] == "1.35"
    # Deployed, then the next `pulumi up`, with or without a version update in it.
    later = run_stack("dev", {**config_of("dev"), "eks-gpu-spot:kubernetesVersion": version},
                      aws=first.aws.deployed(first))
    assert ("aws:eks/getCluster:getCluster", {"name": "eks-gpu-spot-dev"}) in later.invokes
    before, after = secrets_key_use(first), secrets_key_use(later)
    # The same resource with the same inputs: no diff when a stack moves from one order to the other.
    assert (after.urn, after.inputs, after.parent) == (before.urn, before.inputs, before.parent)
    control_plane = later.one("eks:index:Cluster")
    assert after.urn in control_plane.depends_on
    assert not any("eksCluster" in d or d == control_plane.urn for d in after.depends_on)
    # A new cluster's role exists only with it: there the policy follows the control plane.
    assert before.urn not in first.one("eks:index:Cluster").depends_on
    # The live role as EKS reports it (get_cluster's roleArn), not a name the program guessed.
    other_role = "arn:aws:iam::123456789012:role/renamed-by-hand"
    renamed = run_stack("dev", aws=replace(first.aws.deployed(first),
                                           cluster_roles={"eks-gpu-spot-dev": other_role}))
    assert secrets_key_use(renamed).inputs["role"] == "renamed-by-hand"


# 3. Control-plane logs.

@pytest.mark.parametrize(("stack", "days"), [("dev", 90), ("prod", 365)])
def test_the_control_plane_log_group_exists_before_the_cluster_with_a_retention(stack: str, days: int) -> None:
    run = stack_run(stack)
    group = run.one("aws:cloudwatch/logGroup:LogGroup", f"eks-gpu-spot-{stack}-control-plane-logs")
    assert group.inputs["name"] == f"/aws/eks/eks-gpu-spot-{stack}/cluster"
    assert group.inputs["retentionInDays"] == days
    assert group.urn in run.one("eks:index:Cluster").depends_on


def test_the_control_plane_log_retention_is_configurable() -> None:
    assert parse(clusterLogRetentionDays=731).cluster.log_retention_days == 731
    assert parse().cluster.log_retention_days == 90


@pytest.mark.parametrize("days", [0, 2, 91, 4000, True, "ninety", 90.5])
def test_retentions_cloudwatch_refuses_are_refused(days: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(clusterLogRetentionDays=days)
    assert raised.value.key == "eks-gpu-spot:clusterLogRetentionDays"
    # Whole numbers CloudWatch refuses get the list; other types the type error.
    assert ("3653" in raised.value.allowed) == (type(days) is int)


def test_library_users_get_the_same_retention_check() -> None:
    assert check_retention_days("x", 90) == 90
    for days in (0, 91, True):
        with pytest.raises(ValueError, match="log_retention_days"):
            check_retention_days("log_retention_days", days)  # type: ignore[arg-type]
    assert 0 not in CLOUDWATCH_RETENTION_DAYS and len(CLOUDWATCH_RETENTION_DAYS) == 22


# 4. IAM: no action but List-level ones on "*".

# Non-List actions allowed on "*" only because IAM offers no resource-level permission for them
# (checked below against parliament's action database).
NO_RESOURCE_LEVEL_PERMISSIONS = {
    "autoscaling:DescribeTags": "Read-level; the autoscaler and the termination handler read ASG tags to find "
    "this cluster's groups and managed instances, and IAM cannot scope DescribeTags to a resource",
}
IDENTITY_POLICY_INPUTS = {"aws:iam/policy:Policy": "policy", "aws:iam/rolePolicy:RolePolicy": "policy"}


def identity_policies(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.name: document(r.inputs[name]) for r in run.resources
            for type_, name in IDENTITY_POLICY_INPUTS.items() if r.type == type_}


def test_the_rule_covers_every_policy_the_program_creates() -> None:
    assert sorted(identity_policies(stack_run("dev"))) == [
        "cluster-autoscaler-policy", "eks-gpu-spot-dev-secrets-key-use", "node-termination-handler-policy"]
    assert sorted(identity_policies(stack_run("prod"))) == [
        "cluster-autoscaler-policy", "eks-gpu-spot-prod-secrets-key-use", "network-flow-logs",
        "node-termination-handler-policy"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_action_on_any_resource_is_list_level_or_has_no_resource_level_permission(stack: str) -> None:
    for where, policy in identity_policies(stack_run(stack)).items():
        for statement in statements(policy):
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            if "*" not in as_list(statement["Resource"]):
                assert all("*" not in arn.split(":")[2] for arn in as_list(statement["Resource"])), where
                continue
            for action in as_list(statement["Action"]):
                privilege = ACTIONS[action.lower()]
                if privilege["access_level"] == "List":
                    continue
                assert action in NO_RESOURCE_LEVEL_PERMISSIONS, f"{where}: {action} ({privilege['access_level']}) on *"
                assert [r["resource_type"] for r in privilege["resource_types"]] == [""], (
                    f"{action} has resource-level permissions: scope it instead of listing it as an exception")


def test_the_rule_catches_a_write_action_on_any_resource() -> None:
    assert ACTIONS["autoscaling:setdesiredcapacity"]["access_level"] == "Write"
    assert "autoscaling:SetDesiredCapacity" not in NO_RESOURCE_LEVEL_PERMISSIONS
    assert [r["resource_type"] for r in ACTIONS["autoscaling:setdesiredcapacity"]["resource_types"]] != [""]


def test_the_autoscaler_needs_no_managed_node_group_read() -> None:
    assert "eks:DescribeNodegroup" not in DESCRIBE_ACTIONS
    policy = identity_policies(stack_run("dev"))["cluster-autoscaler-policy"]
    assert all(not a.startswith("eks:") for s in statements(policy) for a in as_list(s["Action"]))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_policy_or_trust_names_any_principal(stack: str) -> None:
    run = stack_run(stack)
    for registered in run.resources:
        for name in ("assumeRolePolicy", "policy"):
            if name in registered.inputs and isinstance(registered.inputs[name], str) and registered.type.startswith("aws:"):
                for statement in statements(document(registered.inputs[name])):
                    principal = statement.get("Principal")
                    assert principal not in ("*", {"AWS": "*"}), registered.name


# 5. The device plugin has no service-account token.

def test_the_device_plugin_pod_gets_no_service_account_token() -> None:
    daemonset = stack_run("dev").one("kubernetes:apps/v1:DaemonSet")
    pod = daemonset.inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}


# 6. A public endpoint open to the world is never silent.

def warnings_for(config: dict[str, Any]) -> list[str]:
    with mock.patch.object(pulumi.log, "warn") as warn:
        run_program(config, stack="dev")
    return [str(call.args[0]) for call in warn.call_args_list if "publicAccessCidrs" in str(call.args[0])]


def test_preview_warns_when_the_public_endpoint_is_open_to_the_world() -> None:
    (warning,) = warnings_for(DEV)
    assert "0.0.0.0/0" in warning and "eks-gpu-spot-dev" in warning
    assert "pulumi config set --path 'publicAccessCidrs[0]' 203.0.113.0/24" in warning


@pytest.mark.parametrize("config", [
    {**DEV, "eks-gpu-spot:publicAccessCidrs": ["203.0.113.0/24"]},
    {**DEV, "eks-gpu-spot:endpointPublicAccess": False},
    PROD,
])
def test_no_warning_when_the_endpoint_is_restricted_or_private(config: dict[str, Any]) -> None:
    assert warnings_for(config) == []


# 8. The documentation says what is hardened and what is by design.

def test_the_security_doc_shows_how_to_restrict_the_endpoint_and_lists_every_by_design_finding() -> None:
    from tests.test_checkov import BY_DESIGN

    assert "pulumi config set --path 'publicAccessCidrs[0]' 203.0.113.0/24" in SECURITY_DOC
    for check_id, _ in BY_DESIGN:
        assert check_id in SECURITY_DOC, check_id
    for key in ("vpcFlowLogs", "clusterLogRetentionDays", "kms:ViaService", "automountServiceAccountToken"):
        assert key in SECURITY_DOC, key
    assert re.search(r"^## What is hardened", SECURITY_DOC, re.MULTILINE)
    assert re.search(r"^## What is left by design", SECURITY_DOC, re.MULTILINE)
