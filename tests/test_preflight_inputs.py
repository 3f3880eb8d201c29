"""Manifests and input files: workloads out of documents, notes for the rest, encodings, unreadable files."""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import preflight
from components.node_template import GPU_TAINT
from components.preflight import (
    PreflightError,
    pod_requests,
    workloads_from_documents,
)
from tests.preflight_helpers import (
    CONFIG_ARGS,
    EXAMPLES,
    GPU_CAPACITY,
    GPU_LABELS,
    PROG,
    container,
    run_cli,
)

# --- manifests -------------------------------------------------------------------------------------

def test_pod_templates_come_from_every_workload_kind_and_lists() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container({"cpu": "1"})]}}
    documents = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": template}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": {"template": template}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
         "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ignored"}, "spec": {}},
        None,
        {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": template["spec"]}]},
    ]
    found = workloads_from_documents(documents, "all.yaml")
    assert [w.title for w in found] == ["Deployment/d", "StatefulSet/s", "ReplicaSet/r", "Job/j", "CronJob/c", "Pod/p"]


def test_a_workload_without_a_pod_template_is_bad_input() -> None:
    with pytest.raises(PreflightError, match="Deployment/d: missing spec.template.spec"):
        workloads_from_documents([{"kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}], "x.yaml")
    with pytest.raises(PreflightError, match="spec.containers\\[0\\].resources.limits\\[cpu\\]: 'lots'"):
        workloads_from_documents([{"kind": "Pod", "metadata": {"name": "p"},
                                   "spec": {"containers": [container(limits={"cpu": "lots"})]}}], "x.yaml")


# --- documents that are not workloads are named -------------------------------------------------------

MIXED = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: foo}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: busybox:1.37, resources: {requests: {cpu: 100m}}}]}
---
metadata: {name: kindless}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Service, metadata: {name: s}}
  - {metadata: {name: also-kindless}}
---
"""


def test_other_kinds_and_kindless_documents_are_named_and_ignored() -> None:
    ignored: list[str] = []
    found = workloads_from_documents(yaml.safe_load_all(MIXED), "x.yaml", ignored)
    assert [w.title for w in found] == ["Pod/p"]
    assert ignored == ["x.yaml: ConfigMap/foo: not a workload, ignored",
                       "x.yaml: document 3 has no kind, ignored",
                       "x.yaml: Service/s: not a workload, ignored",
                       "x.yaml: document 4 item 2 has no kind, ignored"]


def test_the_command_prints_what_it_ignored(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(MIXED)
    code, out, err = run_cli(*CONFIG_ARGS, str(tmp_path / "x.yaml"))
    assert (code, err) == (0, "")
    assert f"\n{tmp_path / 'x.yaml'}: ConfigMap/foo: not a workload, ignored\n" in out
    assert f"\n{tmp_path / 'x.yaml'}: document 3 has no kind, ignored\n" in out
    assert f"{tmp_path / 'x.yaml'}: Pod/p: would scale up general" in out


def test_a_document_that_is_not_a_mapping_is_bad_input() -> None:
    with pytest.raises(PreflightError, match=r"x.yaml: document 2 is not a Kubernetes object .* list"):
        workloads_from_documents([None, ["kind", "Pod"]], "x.yaml")


@pytest.mark.parametrize(("spec", "message"), [
    ({"containers": "main"}, "spec.containers must be a list, not str 'main'"),
    ({"containers": []}, "spec.containers: Required value: the pod spec has no containers"),
    ({"containers": ["main"]}, "spec.containers[0] must be a mapping, not str 'main'"),
    ({"containers": [{"name": "c", "resources": ["cpu"]}]},
     "spec.containers[0].resources must be a mapping with requests and limits"),
    ({"containers": [{"name": "c", "resources": {"limits": 1}}]},
     "spec.containers[0].resources.limits must be a mapping of resource names to quantities"),
    ({"containers": [container()], "tolerations": {"key": "a"}}, "spec.tolerations must be a list"),
    ({"containers": [container()], "tolerations": [{"key": 1}]}, "spec.tolerations[0].key must be a string"),
    ({"containers": [container()], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "In", "values": "b"}]}]}}}},
     "matchExpressions[0].values must be a list of strings"),
    ({"containers": [container()], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"operator": "In", "values": ["n"]}]}]}}}},
     "nodeSelectorTerms[0].matchFields[0].key: Required value"),
])
def test_a_malformed_pod_spec_is_bad_input_naming_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(PreflightError) as raised:
        workloads_from_documents([{"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}], "x.yaml")
    assert str(raised.value).startswith("x.yaml: Pod/p: ")
    assert message in str(raised.value)


# --- encodings and unreadable files ------------------------------------------------------------------

GPU_POD = """\
# a GPU pod, with a non-ASCII comment: café, 日本
apiVersion: v1
kind: Pod
metadata: {name: gpu}
spec:
  containers: [{name: c, image: cuda:12, resources: {limits: {nvidia.com/gpu: 1}}}]
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-32"])
def test_text_with_a_byte_order_mark_is_decoded(tmp_path: Path, encoding: str) -> None:
    if encoding.endswith("-bom"):
        codec = encoding.removesuffix("-bom")
        data = (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + GPU_POD.encode(codec)
    else:
        data = GPU_POD.encode(encoding)
    path = tmp_path / "pod.yaml"
    path.write_bytes(data)
    [found] = preflight.load_manifests([str(path)])
    assert (found.title, pod_requests(found.pod_spec)) == ("Pod/gpu", {"nvidia.com/gpu": 1})
    code, out, err = run_cli(*CONFIG_ARGS, str(path))
    assert (code, err) == (0, "")
    assert f"{path}: Pod/gpu: would scale up gpu-small" in out


@pytest.mark.parametrize(("data", "message"), [
    (b"kind: Pod\nmetadata: {name: caf\xe9}\n", "not UTF-8 text (byte 0xe9 at offset 30: invalid continuation byte); save it as UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text (byte 0x89 at offset 0: invalid start byte)"),
    (b"kind: Pod\x00\x00\x01", "it holds NUL characters, so it is a binary file"),
    (GPU_POD.encode("utf-16-le"), "NUL bytes suggest UTF-16 without a byte-order mark, or a binary file"),
    (GPU_POD.encode("ascii", "ignore").decode().encode("utf-16-le"), "binary file (or UTF-16 without a byte-order mark)"),
    (codecs.BOM_UTF16_LE + b"k\x00i", "not UTF-16 text (byte 0x69 at offset 4: truncated data)"),
    (b"\xef\xbb\xbfkind: Pod\n\xff", "not UTF-8 text (byte 0xff at offset 13: invalid start byte)"),
    (b"kind: Pod\nmetadata: {name: p, creationTimestamp: 2026-13-01}\n", "not valid YAML: month must be in 1..12"),
    (b"kind: Pod\nspec: [unclosed\n", "not valid YAML"),
    (b"kind: Pod\n\x07bell\n", "not valid YAML"),
])
def test_unreadable_input_is_exit_2_with_a_message_never_a_traceback(tmp_path: Path, data: bytes,
                                                                      message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    code, out, err = run_cli(*CONFIG_ARGS, str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"{PROG}: error: {path}: ")
    assert message in err
    assert "Traceback" not in err


def test_a_directory_or_a_missing_file_is_exit_2(tmp_path: Path) -> None:
    for path, message in ((tmp_path, "cannot read: Is a directory"), (tmp_path / "nope.yaml", "cannot read: No such")):
        code, out, err = run_cli(*CONFIG_ARGS, str(path))
        assert (code, out) == (2, "")
        assert f"{path}: {message}" in err


def test_a_stack_output_in_utf16_is_decoded_and_one_with_bad_bytes_is_exit_2(tmp_path: Path) -> None:
    output = {"gpu-a": {"instanceTypes": ["g5.xlarge"], "template": {
        "labels": GPU_LABELS, "taints": [GPU_TAINT.to_json()], "capacity": GPU_CAPACITY}}}
    path = tmp_path / "nodegroups.json"
    path.write_bytes(json.dumps(output).encode("utf-16"))
    code, out, _ = run_cli("--stack-output", str(path), "--no-device-plugin", str(EXAMPLES / "cuda-vector-add.yaml"))
    assert code == 0 and "Deployment/cuda-vector-add: would scale up gpu-a" in out
    path.write_bytes(json.dumps(output).encode() + b"\xff")
    code, out, err = run_cli("--stack-output", str(path), str(EXAMPLES / "cuda-vector-add.yaml"))
    assert (code, out) == (2, "")
    assert "nodegroups.json: cannot read: not UTF-8 text" in err and "Traceback" not in err


def test_standard_input_is_read_as_bytes_and_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    output = {"gpu-a": {"template": {"labels": GPU_LABELS, "taints": [], "capacity": GPU_CAPACITY}}}
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(codecs.BOM_UTF8 + json.dumps(output).encode())))
    code, out, _ = run_cli("--stack-output", "-", "--no-device-plugin", str(EXAMPLES / "cuda-vector-add.yaml"))
    assert code == 0 and "would scale up gpu-a" in out
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"{\xff}")))
    code, _, err = run_cli("--stack-output", "-", str(EXAMPLES / "cuda-vector-add.yaml"))
    assert code == 2 and "standard input: cannot read: not UTF-8 text (byte 0xff at offset 1" in err
