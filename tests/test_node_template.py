"""Pure tests of node templates: autoscaler tags derive from labels, taints and capacity."""

from __future__ import annotations

from components.node_template import GPU_TAINT, InstanceShape, NodeTemplate, Taint
from components.pool_spec import NodePoolSpec, accelerator_label_value, build_node_template

T4 = InstanceShape("g4dn.xlarge", 4, 16384, 1, "T4", "NVIDIA", 29)
A10G = InstanceShape("g5.xlarge", 4, 16384, 1, "A10G", "NVIDIA", 58)


def test_taint_tags_always_carry_the_effect() -> None:
    template = NodeTemplate(labels={}, taints=(GPU_TAINT, Taint("spot", "", "PreferNoSchedule")), capacity={})
    tags = template.autoscaler_tags("ml")
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/spot"] == ":PreferNoSchedule"


def test_every_capacity_entry_becomes_a_resource_tag_cpu_memory_and_pods_included() -> None:
    # CA's AWS provider overrides the instance type's vCPU, memory and its 110 pods with these tags.
    template = NodeTemplate(labels={}, taints=(), capacity={"cpu": "3920m", "memory": "14481Mi", "pods": "29",
                                                           "nvidia.com/gpu": "1", "ephemeral-storage": "90928Mi"})
    resource_tags = {k: v for k, v in template.autoscaler_tags("ml").items() if "/resources/" in k}
    prefix = "k8s.io/cluster-autoscaler/node-template/resources/"
    assert resource_tags == {f"{prefix}cpu": "3920m", f"{prefix}memory": "14481Mi", f"{prefix}pods": "29",
                             f"{prefix}nvidia.com/gpu": "1", f"{prefix}ephemeral-storage": "90928Mi"}


def test_gpu_pool_template_is_the_least_of_its_types_with_the_gpu_taint() -> None:
    pool = NodePoolSpec(name="gpu", instance_types=("g5.xlarge", "g4dn.xlarge"), gpu=True, root_volume_gib=80,
                        taints=(Taint("team", "a", "NoSchedule"),), scale_down_unneeded_time="10m")
    template = build_node_template(pool, [A10G, T4])
    assert template.taints == (GPU_TAINT, Taint("team", "a", "NoSchedule"))
    # Memory of g5.xlarge (58 pods: 16384 - 1229 (7.5%) - 893 (11 x 58 + 255) - 100 MiB), pods of
    # g4dn.xlarge (29): each the least of the two types. 4000m - 80m; 80 GiB = 81920 MiB - 210
    # overhead = 81710, - 1024 reserved - 8171 (10%) = 72515 MiB.
    assert template.capacity == {"cpu": "3920m", "memory": "14162Mi", "pods": "29",
                                 "ephemeral-storage": "72515Mi", "nvidia.com/gpu": "1"}
    assert template.labels["k8s.amazonaws.com/accelerator"] == "nvidia-a10g-t4"
    assert template.autoscaler_tags("ml")[
        "k8s.io/cluster-autoscaler/node-template/autoscaling-options/scaledownunneededtime"] == "10m"


def test_general_pool_template_has_no_gpu_facts() -> None:
    shape = InstanceShape("m5.xlarge", 4, 16384, max_pods=58)
    template = build_node_template(NodePoolSpec(name="general", instance_types=("m5.xlarge",)), [shape])
    assert template.labels == {"node-pool": "general", "lifecycle": "Ec2Spot"}
    assert template.taints == ()
    assert "nvidia.com/gpu" not in template.capacity
    assert not any("autoscaling-options" in k for k in template.autoscaler_tags("ml"))


def test_accelerator_label_is_a_valid_label_value() -> None:
    assert accelerator_label_value([T4]) == "nvidia-tesla-t4"  # the autoscaler's own name
    odd = InstanceShape("x.large", 4, 16384, 1, "H100 SXM/80GB", "NVIDIA")
    assert accelerator_label_value([odd]) == "nvidia-h100-sxm-80gb"
