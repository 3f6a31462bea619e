"""Precisions, back-end names, artifact formats and unpool plugin forms travel as Enums: parsed once where text comes in, stored in
manifests and reports as their plain values, and refused with one message naming the parameter."""
from __future__ import annotations

import csv
import json

import pytest

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backend_names import BACKENDS, Backend
from edgeseg.backends import resolve_artifact
from edgeseg.backends.auto import choose_cpu
from edgeseg.backends.tensorrt_backend import _recorded_plugin
from edgeseg.errors import ArtifactError, InputError
from edgeseg.manifest import Manifest, measurement_key
from edgeseg.plugins import UnpoolPlugin
from edgeseg.precision import Precision
from edgeseg.report.table import BenchRow, Skipped, to_csv


def test_text_comes_in_as_a_member_and_goes_out_as_its_value():
    assert Precision.of("bf16", "precision") is Precision.BF16
    assert Backend.of(Backend.OPENVINO, "backend") is Backend.OPENVINO
    assert f"{Precision.INT8} on {Backend.COMPILED}" == "int8 on compiled"
    assert json.dumps({"p": Precision.FP16}) == '{"p": "fp16"}'
    assert measurement_key(Backend.ONNXRUNTIME, Precision.INT8) == "onnxruntime-int8"
    assert Backend.AUTO not in BACKENDS


@pytest.mark.parametrize("kind, value, parameter", [(Precision, "fp33", "precision"), (Backend, "tpu", "backends"), (ArtifactFormat, "tflite", "format")])
def test_an_unknown_value_names_the_parameter_and_the_choices(kind, value, parameter):
    with pytest.raises(InputError) as e:
        kind.of(value, parameter)
    assert str(e.value) == f"`{parameter}` must be one of {', '.join(m.value for m in kind)}, got {value!r}"


def test_a_value_outside_the_allowed_ones_is_refused():
    with pytest.raises(InputError, match="must be one of fp32, bf16, got 'int8'"):
        Precision.of("int8", "precision", (Precision.FP32, Precision.BF16))


def test_a_manifest_stores_the_value_and_loads_the_member(tmp_path):
    artifact = tmp_path / "model.onnx"
    Manifest(model="enet", num_classes=11, input_size=(360, 480), format="onnx", precision="int8").save(artifact)
    assert json.loads(Manifest.path_for(artifact).read_text())["precision"] == "int8"
    assert Manifest.load(artifact).precision is Precision.INT8


@pytest.mark.parametrize("field, foreign", [("precision", "fp8"), ("format", "tflite")])
def test_a_manifest_with_a_foreign_value_is_an_artifact_error(tmp_path, field, foreign):
    artifact = tmp_path / "model.onnx"
    Manifest(model="enet", num_classes=11, input_size=(360, 480), format="onnx").save(artifact)
    raw = json.loads(Manifest.path_for(artifact).read_text())
    Manifest.path_for(artifact).write_text(json.dumps({**raw, field: foreign}))
    with pytest.raises(ArtifactError, match=f"not a valid edgeseg manifest.*`{field}`.*'{foreign}'"):
        Manifest.load(artifact)


def test_a_format_is_known_by_its_suffixes(tmp_path):
    assert ArtifactFormat.of_path("model.plan") is ArtifactFormat.TENSORRT
    assert ArtifactFormat.of_path("enet.safetensors") is ArtifactFormat.WEIGHTS
    assert ArtifactFormat.of_path("model.tflite") is None
    artifact = tmp_path / "model.onnx"
    artifact.write_bytes(b"graph")
    Manifest(model="enet", num_classes=11, input_size=(360, 480), format="pt2", sha256={"model.onnx": "0"}).save(artifact)
    with pytest.raises(ArtifactError, match="has a pt2 manifest, but a pt2 artifact ends in .pt2"):
        resolve_artifact(artifact)


def test_the_cpu_choice_takes_a_format_member_or_its_value():
    assert choose_cpu("onnx", "fp32") == choose_cpu(ArtifactFormat.ONNX, Precision.FP32)
    with pytest.raises(InputError, match="`fmt` must be one of"):
        choose_cpu("tflite", "fp32")


def test_bench_reports_write_plain_values():
    row = BenchRow(model="enet", backend=Backend.OPENVINO, precision=Precision.BF16, device="cpu", input_size="360x480",
                   engine_p50_ms=1.0, engine_p99_ms=2.0, engine_fps=900.0, stream_fps=100.0, stream_p50_ms=3.0, miou=0.5, images=4)
    written = next(csv.DictReader(to_csv([row]).splitlines()))
    assert (written["backend"], written["precision"]) == ("openvino", "bf16")
    assert row.line().startswith("enet openvino bf16 cpu:")
    assert Skipped("enet", None, None, "why").line() == "skipped enet * *: why"


def test_an_engine_record_names_its_plugin_form_or_is_refused(tmp_path):
    engine = tmp_path / "model.engine"
    assert _recorded_plugin({"plugin": "cpp"}, engine) is UnpoolPlugin.CPP
    assert not _recorded_plugin({"plugin": "qdp-aot"}, engine).loads_at_run_time
    assert _recorded_plugin({"plugin": None}, engine) is None
    with pytest.raises(ArtifactError, match="unknown max-unpool plugin: `plugin` must be one of qdp-aot, qdp-jit, cpp, got 'cuda'"):
        _recorded_plugin({"plugin": "cuda"}, engine)
