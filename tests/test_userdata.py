"""nodeadm user data: a MIME multipart document whose NodeConfig registers labels and taints."""

from __future__ import annotations

import email

import yaml

from components.node_template import GPU_TAINT, NodeTemplate, Taint
from components.userdata import ClusterBootstrap, feature_gates, render_user_data

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
