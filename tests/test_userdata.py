"""nodeadm user data: a MIME multipart document whose NodeConfig registers labels and taints."""

from __future__ import annotations

import email

import pytest
import yaml

from components.node_template import GPU_TAINT, NodeTemplate, Taint
from components.userdata import (
    ClusterBootstrap,
    LocalStorage,
    feature_gates,
    node_config,
    render_user_data,
    snapshotter,
)

CLUSTER = ClusterBootstrap("ml", "https://ABC.gr7.us-east-1.eks.amazonaws.com", "Q0EtREFUQQ==", "172.20.0.0/16")


def parts_of(user_data: str, content_type: str) -> list[str]:
    """The payloads of the user data's MIME parts of `content_type`, in order."""
    message = email.message_from_string(user_data)
    assert message.is_multipart()
    assert message.get_content_type() == "multipart/mixed"
    parts = [part for part in message.walk() if not part.is_multipart()]
    assert {p.get_content_type() for p in parts} <= {"application/node.eks.aws", "text/x-shellscript"}
    payloads = [p.get_payload(decode=True) for p in parts if p.get_content_type() == content_type]
    assert all(isinstance(payload, bytes) for payload in payloads)
    return [payload.decode() for payload in payloads if isinstance(payload, bytes)]


def parse_node_configs(user_data: str) -> list[dict]:
    message = email.message_from_string(user_data)
    parts = [part for part in message.walk() if not part.is_multipart()]
    assert parts[0].get_content_type() == "application/node.eks.aws"
    payloads = [p.get_payload(decode=True) for p in parts if p.get_content_type() == "application/node.eks.aws"]
    assert all(isinstance(payload, bytes) for payload in payloads)
    return [yaml.safe_load(payload.decode()) for payload in payloads if isinstance(payload, bytes)]


def test_node_config_joins_the_cluster_without_calling_eks() -> None:
    (config,) = parse_node_configs(render_user_data(CLUSTER, []))
    assert config["apiVersion"] == "node.eks.aws/v1alpha1"
    assert config["kind"] == "NodeConfig"
    assert config["spec"]["cluster"] == {
        "name": "ml",
        "apiServerEndpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
        "certificateAuthority": "Q0EtREFUQQ==",
        "cidr": "172.20.0.0/16",
    }


def test_kubelet_flags_register_the_templates_labels_and_taints() -> None:
    template = NodeTemplate(
        labels={"node-pool": "gpu", "nvidia.com/gpu": "true"},
        taints=(GPU_TAINT, Taint("team", "research", "NoExecute")),
        capacity={},
    )
    (config,) = parse_node_configs(render_user_data(CLUSTER, template.kubelet_flags()))
    assert config["spec"]["kubelet"]["flags"] == [
        "--node-labels=node-pool=gpu,nvidia.com/gpu=true",
        "--register-with-taints=nvidia.com/gpu=true:NoSchedule,team=research:NoExecute",
    ]


def test_a_group_without_taints_registers_none() -> None:
    template = NodeTemplate(labels={"node-pool": "general"}, taints=(), capacity={})
    assert template.kubelet_flags() == ["--node-labels=node-pool=general"]


def test_gpu_nodes_pull_images_in_parallel() -> None:
    # nodeadm's field (api/v1alpha1/nodeconfig_types.go): spec.featureGates.FastImagePull.
    (config,) = parse_node_configs(render_user_data(CLUSTER, [], feature_gates(gpu=True)))
    assert config["spec"]["featureGates"] == {"FastImagePull": True}


def test_general_nodes_keep_todays_user_data() -> None:
    # No feature gate, and not one byte changed: an unchanged launch template on existing stacks.
    assert feature_gates(gpu=False) == {}
    (config,) = parse_node_configs(render_user_data(CLUSTER, ["--node-labels=node-pool=general"],
                                                    feature_gates(gpu=False)))
    assert "featureGates" not in config["spec"]
    assert list(config["spec"]) == ["cluster", "kubelet"]
    assert render_user_data(CLUSTER, ["--x"], {}) == render_user_data(CLUSTER, ["--x"])


def test_a_pools_max_pods_goes_to_nodeadm_as_max_pods_expression() -> None:
    # nodeadm api/v1alpha1/nodeconfig_types.go: spec.kubelet.maxPodsExpression, a CEL expression; a
    # constant is one. nodeadm then computes kubeReserved memory for the same pods.
    (config,) = parse_node_configs(render_user_data(CLUSTER, ["--node-labels=node-pool=gpu"], max_pods=110))
    assert config["spec"]["kubelet"] == {"flags": ["--node-labels=node-pool=gpu"], "maxPodsExpression": "110"}
    # Never kubelet's own maxPods, which would leave the reservation sized for the ENI value.
    assert "config" not in config["spec"]["kubelet"]


def test_without_max_pods_nodeadms_rule_stands() -> None:
    (config,) = parse_node_configs(render_user_data(CLUSTER, []))
    assert config["spec"]["kubelet"] == {"flags": []}


def test_the_documents_boundary_and_part_headers_are_fixed() -> None:
    # The user data is the launch template's: a byte that changes from one run to the next (a random
    # MIME boundary) or a relabelled part would roll every node. nodeadm picks its parts by content type.
    user_data = render_user_data(CLUSTER, ["--x"], scripts=["echo one\n"])
    lines = user_data.splitlines()
    assert lines[0] == 'Content-Type: multipart/mixed; boundary="//eks-gpu-spot//"'
    assert lines.count("--//eks-gpu-spot//") == 2 and lines[-1] == "--//eks-gpu-spot//--"
    assert 'Content-Type: application/node.eks.aws; charset="us-ascii"' in lines
    assert 'Content-Type: text/x-shellscript; charset="us-ascii"' in lines
    assert render_user_data(CLUSTER, ["--x"], scripts=["echo one\n"]) == user_data


def test_the_node_config_keeps_its_keys_in_nodeadms_order() -> None:
    # sort_keys=False: the YAML reads in the order NodeConfig documents it, and stays byte-stable.
    (text,) = parts_of(render_user_data(CLUSTER, ["--x"]), "application/node.eks.aws")
    assert text.splitlines()[:8] == [
        "apiVersion: node.eks.aws/v1alpha1",
        "kind: NodeConfig",
        "spec:",
        "  cluster:",
        "    name: ml",
        "    apiServerEndpoint: https://ABC.gr7.us-east-1.eks.amazonaws.com",
        "    certificateAuthority: Q0EtREFUQQ==",
        "    cidr: 172.20.0.0/16",
    ]


def test_scripts_follow_the_node_config_in_order() -> None:
    user_data = render_user_data(CLUSTER, ["--x"], scripts=["#!/bin/bash\necho one\n", "#!/bin/bash\necho two\n"])
    message = email.message_from_string(user_data)
    types = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
    assert types == ["application/node.eks.aws", "text/x-shellscript", "text/x-shellscript"]
    assert parts_of(user_data, "text/x-shellscript") == ["#!/bin/bash\necho one\n", "#!/bin/bash\necho two\n"]
    assert parts_of(render_user_data(CLUSTER, ["--x"]), "text/x-shellscript") == []


def test_local_storage_goes_to_the_instance_options() -> None:
    # nodeadm api/v1alpha1/nodeconfig_types.go: spec.instance.localStorage {strategy, disabledMounts}.
    raid = LocalStorage("RAID0", ("Containerd", "SOCI"))
    assert raid.to_json() == {"strategy": "RAID0", "disabledMounts": ["Containerd", "SOCI"]}
    assert LocalStorage("Mount").to_json() == {"strategy": "Mount"}
    (config,) = parse_node_configs(render_user_data(CLUSTER, ["--x"], local_storage=raid))
    assert config["spec"]["instance"] == {"localStorage": {"strategy": "RAID0", "disabledMounts": ["Containerd", "SOCI"]}}
    assert config["spec"]["kubelet"] == {"flags": ["--x"]}  # no maxPodsExpression for a storage setting
    assert "instance" not in parse_node_configs(render_user_data(CLUSTER, ["--x"]))[0]["spec"]


def test_every_setting_at_once_lands_in_its_own_place() -> None:
    (config,) = parse_node_configs(render_user_data(CLUSTER, ["--x"], feature_gates(gpu=True), max_pods=58,
                                                    local_storage=LocalStorage("RAID0")))
    assert config["spec"] == {
        "cluster": {"name": "ml", "apiServerEndpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
                    "certificateAuthority": "Q0EtREFUQQ==", "cidr": "172.20.0.0/16"},
        "kubelet": {"flags": ["--x"], "maxPodsExpression": "58"},
        "featureGates": {"FastImagePull": True},
        "instance": {"localStorage": {"strategy": "RAID0"}},
    }


def test_node_config_alone_defaults_to_nodeadms_rules() -> None:
    assert node_config(CLUSTER, ("--x",)) == {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"cluster": {"name": "ml", "apiServerEndpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
                             "certificateAuthority": "Q0EtREFUQQ==", "cidr": "172.20.0.0/16"},
                 "kubelet": {"flags": ["--x"]}},
    }


@pytest.mark.parametrize(("gates", "vcpus", "memory_mib", "expected"), [
    # nodeadm internal/containerd/config.go, UseSOCISnapshotter: the gate, >= 4 vCPUs and >= 7 GiB.
    pytest.param({"FastImagePull": True}, 4, 7 * 1024, "soci", id="both-limits"),
    pytest.param({"FastImagePull": True}, 3, 7 * 1024, "overlayfs", id="one-vcpu-short"),
    pytest.param({"FastImagePull": True}, 4, 7 * 1024 - 1, "overlayfs", id="one-mib-short"),
    pytest.param({"FastImagePull": True}, 3, 7 * 1024 - 1, "overlayfs", id="both-short"),
    pytest.param({"FastImagePull": False}, 192, 2048 * 1024, "overlayfs", id="gate-off"),
    pytest.param({}, 192, 2048 * 1024, "overlayfs", id="no-gate"),
])
def test_containerd_uses_soci_only_where_nodeadm_applies_fast_image_pull(
        gates: dict[str, bool], vcpus: int, memory_mib: int, expected: str) -> None:
    assert snapshotter(gates, vcpus, memory_mib) == expected
