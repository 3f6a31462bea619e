"""Triton model repositories from ONNX graphs (checked here) and engines (from the manifest's I/O record)."""
import json
import re

import pytest

from artifact_factory import tiny_manifest, tiny_model
from edgeseg.errors import InputError
from edgeseg.export.onnx import export_onnx
from edgeseg.export.triton_repo import write_triton_repo
from edgeseg.manifest import Manifest


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("graphs")
    model, manifest = tiny_model(), tiny_manifest()
    static = export_onnx(model, folder / "static.onnx", (64, 96), unpool="decomposed", manifest=manifest)
    dynamic = export_onnx(model, folder / "dynamic.onnx", (64, 96), unpool="decomposed", dynamic=True, manifest=manifest)
    return static, dynamic


def test_static_graph_served_as_is(graphs, tmp_path):
    static, _ = graphs
    manifest = Manifest.load(static)
    folder = write_triton_repo(static, tmp_path, manifest, max_batch=0, gpu=False)
    assert folder == tmp_path / "enet-fp32"
    assert (folder / "1" / "model.onnx").read_bytes() == static.read_bytes()
    config = (folder / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "max_batch_size: 0" in config and "kind: KIND_CPU" in config
    assert 'name: "input"\n    data_type: TYPE_FP32\n    dims: [ 1, 3, 64, 96 ]' in config
    assert re.search(r'name: "logits"\n    data_type: TYPE_FP32\n    dims: \[ (1|-1), 4, 64, 96 \]', config)
    assert "dynamic_batching" not in config
    assert config.count("{") == config.count("}") and config.count("[") == config.count("]")
    assert json.loads((folder / "edgeseg.json").read_text())["sha256"] == manifest.sha256
    with pytest.raises(InputError, match="fixed batch of 1"):
        write_triton_repo(static, tmp_path, manifest, max_batch=8)


def test_dynamic_graph_batches_cameras(graphs, tmp_path):
    _, dynamic = graphs
    folder = write_triton_repo(dynamic, tmp_path, Manifest.load(dynamic), max_batch=4, name="enet_cams")
    config = (folder / "config.pbtxt").read_text()
    assert 'name: "enet_cams"' in config and "max_batch_size: 4" in config and "kind: KIND_GPU" in config
    assert "dims: [ 3, -1, -1 ]" in config and "dims: [ 4, -1, -1 ]" in config  # batch left to Triton
    assert "dynamic_batching {" in config


def test_engine_uses_the_recorded_io_and_profile(tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"plan bytes")
    manifest = Manifest(model="enet", num_classes=4, input_size=(64, 96), format="tensorrt", precision="fp16")
    manifest.extra = {
        "io": {"inputs": {"input": {"shape": [-1, 3, -1, -1], "dtype": "float32"}},
               "outputs": {"logits": {"shape": [-1, 4, -1, -1], "dtype": "float32"}}},
        "build": {"flags": {"dynamic": [[1, 3, 32, 48], [2, 3, 64, 96], [4, 3, 128, 192]]}},
    }
    folder = write_triton_repo(engine, tmp_path / "repo", manifest, max_batch=4)
    config = (folder / "config.pbtxt").read_text()
    assert 'platform: "tensorrt_plan"' in config and (folder / "1" / "model.plan").read_bytes() == b"plan bytes"
    with pytest.raises(InputError, match="batches up to 4, not 8"):
        write_triton_repo(engine, tmp_path / "repo", manifest, max_batch=8)
    with pytest.raises(InputError, match="GPU only"):
        write_triton_repo(engine, tmp_path / "repo", manifest, max_batch=4, gpu=False)
