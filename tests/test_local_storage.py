"""NVMe instance store by default (issue 20): nodeadm's localStorage RAID0 in the NodeConfig, the
template's ephemeral-storage following the array, the preflight agreeing, and the refusals."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.allocatable import node_allocatable, raid0_filesystem_mib
from components.instance_catalog import KNOWN_SHAPES, nvme_instance_store_gb
from components.local_storage import resolve_local_storage
from components.offline import instance_type_result
from components.preflight.templates import groups_from_stack_output
from components.userdata import LocalStorage
from tests.harness import ProgramRun, assert_refused, run_program
from tests.test_nodegroup import launch_template_of
from tests.test_userdata import CLUSTER, parse_node_configs, render_user_data

SCHEMA = json.loads((Path(__file__).parent / "nodeconfig_schema.json").read_text())
GPU = {"name": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"]}
ASG = "aws:autoscaling/group:Group"


def shape(instance_type: str):  # noqa: ANN201
    return KNOWN_SHAPES[instance_type].instance_shape(instance_type)


def node_config_of(run: ProgramRun, pool: str) -> dict[str, Any]:
    group = next(g for g in run.of_type(ASG) if g.name.startswith(pool))
    (config,) = parse_node_configs(base64.b64decode(launch_template_of(run, group).inputs["userData"]).decode())
    return config


def validate(config: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(config)


def test_the_schema_refuses_what_nodeadm_does_not_know() -> None:
    (good,) = parse_node_configs(render_user_data(CLUSTER, [], local_storage=LocalStorage("RAID0")))
    validate(good)
    for path, value in ((("instance", "localStorage", "strategy"), "RAID5"),
                        (("instance", "localStorage", "disabledMounts"), ["Kubelet"]),
                        (("instance", "localStorage", "strategie"), "RAID0"),
                        (("featureGates",), {"FastPull": True})):
        broken = json.loads(json.dumps(good))
        node = broken["spec"]
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_gpu_nodes_get_raid0_and_their_user_data_passes_the_nodeconfig_schema() -> None:
    run = run_program({"gpuPools": [GPU]})
    config = node_config_of(run, "gpu")
    assert config["spec"]["instance"] == {"localStorage": {"strategy": "RAID0"}}
    validate(config)
    # The general pool's m-family types have no instance store: its NodeConfig is unchanged.
    general = node_config_of(run, "general")
    assert "instance" not in general["spec"]
    validate(general)


def test_the_template_follows_the_array_not_the_root_volume() -> None:
    run = run_program({"gpuPools": [{**GPU, "rootVolumeGiB": 40}]})
    capacity = run.outputs["nodeGroups"]["gpu"]["template"]["capacity"]
    array = raid0_filesystem_mib(250)  # g5.xlarge and g6.xlarge: 1 x 250 GB NVMe
    assert capacity["ephemeral-storage"] == f"{array - 1024 - -(-array // 10)}Mi"
    # A root volume of 40 GiB would offer a sixth of it.
    assert node_allocatable(shape("g5.xlarge"), 40).ephemeral_storage_mib < array // 5
    # The preflight reads the same template from the stack output (and computes it with the same code
    # from a stack file: pool_spec.build_node_template).
    (group,) = [g for g in groups_from_stack_output(run.outputs["nodeGroups"]) if g.name == "gpu"]
    assert group.capacity["ephemeral-storage"] == (array - 1024 - -(-array // 10)) * 2**20


def test_the_array_is_what_ec2_sells_less_mdadm_and_xfs() -> None:
    # 250 GB = 238418 MiB; mdadm 0.5% = 1193 MiB; XFS allowance 128 MiB + 0.1% of 231 GiB = 365 MiB.
    assert raid0_filesystem_mib(250) == 238418 - 1193 - 365
    # p5.48xlarge: 8 x 3800 GB.
    assert 27_000_000 < raid0_filesystem_mib(30400) < 28_991_000
    with pytest.raises(ValueError, match="no NVMe instance store"):
        node_allocatable(shape("m6i.xlarge"), 100, local_storage="RAID0")


def test_only_nvme_instance_store_counts() -> None:
    assert nvme_instance_store_gb("g5.xlarge", "nitro", True, 250) == 250
    assert nvme_instance_store_gb("m5d.metal", "", True, 3600) == 3600  # bare metal: no hypervisor
    assert nvme_instance_store_gb("x1.16xlarge", "xen", True, 1920) == 0  # an old Xen type's SATA SSD
    assert nvme_instance_store_gb("i3.large", "xen", True, 475) == 475  # the Xen family with NVMe
    assert nvme_instance_store_gb("c5.large", "nitro", False, None) == 0
    # The offline invoke answers what aws_facts reads.
    result = instance_type_result("g6.12xlarge")
    assert (result["instanceStorageSupported"], result["totalInstanceStorage"]) == (True, 3760)
    assert instance_type_result("m6i.xlarge")["instanceStorageSupported"] is False


def test_a_pool_mixing_types_with_and_without_instance_store_keeps_the_root_volume_with_a_note() -> None:
    run = run_program({"generalPool": {"instanceTypes": ["m6id.xlarge", "m6i.xlarge"]}})
    assert "instance" not in node_config_of(run, "general")["spec"]
    notes = [m for severity, m in run.logs if severity == "info" and "pool 'general'" in m]
    assert notes and "m6i.xlarge has no NVMe instance store" in notes[0]
    # Every type with instance store: RAID0, no note.
    run = run_program({"generalPool": {"instanceTypes": ["m6id.xlarge", "m5d.xlarge"]}})
    assert node_config_of(run, "general")["spec"]["instance"]["localStorage"]["strategy"] == "RAID0"
    assert not [m for _, m in run.logs if "NVMe instance store" in m]


def test_none_opts_out_and_mount_leaves_kubelet_on_the_root_volume() -> None:
    run = run_program({"gpuPools": [{**GPU, "localStorage": "none"}]})
    assert "instance" not in node_config_of(run, "gpu")["spec"]
    root = node_allocatable(shape("g5.xlarge"), 100).ephemeral_storage_mib
    assert run.outputs["nodeGroups"]["gpu"]["template"]["capacity"]["ephemeral-storage"] == f"{root}Mi"
    run = run_program({"gpuPools": [{**GPU, "localStorage": "Mount"}]})
    config = node_config_of(run, "gpu")
    assert config["spec"]["instance"] == {"localStorage": {"strategy": "Mount"}}
    validate(config)
    assert run.outputs["nodeGroups"]["gpu"]["template"]["capacity"]["ephemeral-storage"] == f"{root}Mi"


def test_resolution_rules() -> None:
    nvme, plain = [shape("m6id.xlarge")], [shape("m6i.xlarge")]
    assert resolve_local_storage("", nvme) == "RAID0"
    assert resolve_local_storage("", [*nvme, *plain]) == ""
    assert resolve_local_storage("none", nvme) == ""
    assert resolve_local_storage("Mount", nvme) == "Mount"


REFUSED = [
    pytest.param({"gpuPools": [{**GPU, "localStorage": "RAID5"}]}, "eks-gpu-spot:gpuPools[0].localStorage",
                 "must be one of: RAID0, Mount, none", id="unknown-to-nodeadm"),
    pytest.param({"gpuPools": [{**GPU, "localStorage": "raid0"}]}, "eks-gpu-spot:gpuPools[0].localStorage",
                 "must be one of: RAID0, Mount, none", id="wrong-case"),
    pytest.param({"gpuPools": [{**GPU, "localStorage": "RAID10"}]}, "eks-gpu-spot:gpuPools[0].localStorage",
                 "half the space for no durability", id="raid10"),
    pytest.param({"generalPool": {"localStorage": "RAID0"}}, "eks-gpu-spot:generalPool.localStorage",
                 "m6i.xlarge has none", id="raid0-without-instance-store"),
    pytest.param({"generalPool": {"instanceTypes": ["m6id.xlarge", "m6i.xlarge"], "localStorage": "Mount"}},
                 "eks-gpu-spot:generalPool.localStorage", "m6i.xlarge has none", id="mount-on-a-mixed-pool"),
]


@pytest.mark.parametrize(("config", "key", "allowed"), REFUSED)
def test_refused_by_key_before_any_resource(config: dict[str, Any], key: str, allowed: str) -> None:
    assert_refused(run_program(config, expect_error=True), key, allowed)


@pytest.mark.parametrize("config", [
    pytest.param({"gpuPools": [{**GPU, "localStorage": "RAID0"}]}, id="raid0-on-nvme-types"),
    pytest.param({"generalPool": {"localStorage": "none"}}, id="none-anywhere"),
    pytest.param({"generalPool": {"instanceTypes": ["m6id.xlarge"], "localStorage": "Mount"}}, id="mount-on-nvme"),
])
def test_the_nearest_good_value_deploys(config: dict[str, Any]) -> None:
    assert run_program(config).of_type(ASG)
