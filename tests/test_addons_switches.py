"""Each add-on can be switched off, and then none of its resources exist; add-on IAM never reaches node roles."""

from __future__ import annotations

import pytest

from tests.addon_helpers import COMPONENTS, dev_run
from tests.harness import ProgramRun

SWITCHES = {
    "device plugin": "nvidiaDevicePlugin",
    "cluster autoscaler": "clusterAutoscaler",
    "termination handler": "nodeTerminationHandler",
}
NODE_POLICIES = {f"arn:aws:iam::aws:policy/{p}" for p in (
    "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore")}


def keys(run: ProgramRun) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in run.resources}


def test_all_three_are_on_by_default() -> None:
    run = dev_run()
    for component_type in COMPONENTS.values():
        assert len(run.of_type(component_type)) == 1


@pytest.mark.parametrize("addon", list(SWITCHES))
def test_switching_an_addon_off_removes_exactly_its_resources(addon: str) -> None:
    full = dev_run()
    off = dev_run(**{SWITCHES[addon]: {"enabled": False}})
    component = full.one(COMPONENTS[addon])
    owned = {(component.type, component.name)} | {(r.type, r.name) for r in full.descendants_of(component)}
    assert len(owned) > 1
    assert off.of_type(COMPONENTS[addon]) == []
    assert keys(full) - keys(off) == owned
    assert keys(off) - keys(full) == set()
    for other, component_type in COMPONENTS.items():
        if other != addon:
            assert len(off.of_type(component_type)) == 1


def test_termination_handler_off_also_drops_the_managed_instance_tag() -> None:
    off = dev_run(nodeTerminationHandler={"enabled": False})
    for group in off.of_type("aws:autoscaling/group:Group"):
        assert "aws-node-termination-handler/managed" not in {t["key"] for t in group.inputs["tags"]}
    assert off.of_type("aws:autoscaling/lifecycleHook:LifecycleHook") == []
    assert off.of_type("aws:sqs/queue:Queue") == []


def test_no_addon_iam_is_attached_to_a_node_role() -> None:
    run = dev_run()
    node_roles = {r.urn for r in run.of_type("eks-gpu-spot:nodegroup:NodeRole")}
    node_role_names = {f"{r.name}-generated" for r in run.of_type("aws:iam/role:Role") if r.parent in node_roles}
    assert len(node_role_names) == 2
    attachments = run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    on_nodes = [a for a in attachments if a.inputs["role"] in node_role_names]
    assert len(on_nodes) == 4 * len(node_role_names)
    assert {a.inputs["policyArn"] for a in on_nodes} == NODE_POLICIES
    # The one inline policy is the cluster role's, for the Secrets key (test_security.py).
    assert [p.inputs["role"] for p in run.of_type("aws:iam/rolePolicy:RolePolicy")] == [
        "eks-gpu-spot-dev-eksRole-role-7c1d2e3"]
    addon_components = {r.urn for t in COMPONENTS.values() for r in run.of_type(t)}
    addon_attachments = [a for a in attachments if a.parent in addon_components]
    assert len(addon_attachments) == 2
    assert not any(a.inputs["role"] in node_role_names for a in addon_attachments)
    for role in run.of_type("aws:iam/role:Role"):
        if role.parent in addon_components:
            assert "pods.eks.amazonaws.com" in role.inputs["assumeRolePolicy"]
