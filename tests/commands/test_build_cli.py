"""`edgeseg build` end to end on a tiny ENet. Here (no TensorRT) it must write TorchScript, ONNX and a
manifest, and say in exactly one line that the engine was skipped and why; with TensorRT and a GPU
the engine test runs instead."""
import json

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

import edgeseg
from artifact_factory import INPUT_SIZE, tiny_model, write_image_folder, write_weights
from edgeseg.backends.tensorrt_host import tensorrt_unavailable
from edgeseg.build import parse_dynamic, resolve_unpool
from edgeseg.cli import app
from edgeseg.errors import InputError
from edgeseg.fileio import sha256
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.manifest import Manifest
from edgeseg.plugins import PLUGIN_NAME, UnpoolPlugin

NO_ENGINE = tensorrt_unavailable()
SIZE = f"{INPUT_SIZE[0]}x{INPUT_SIZE[1]}"


def run(*args):
    result = CliRunner().invoke(app, ["build", *map(str, args)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_weights(tmp_path_factory.mktemp("weights"), tiny_model())


@pytest.fixture(scope="module")
def built(weights, tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "enet"
    code, output = run("enet", "--weights", weights, "--input-size", SIZE, "--out", out)
    assert code == 0, output
    return out, output


@pytest.mark.skipif(NO_ENGINE is None, reason="TensorRT and a GPU are present: the engine is built, not skipped")
def test_without_tensorrt_writes_everything_else_and_one_skip_line(built):
    out, output = built
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.onnx", "model.onnx.json", "model.ts", "model.ts.json"]
    skip_lines = [line for line in output.splitlines() if "skipped" in line]
    assert skip_lines == [f"engine skipped: {NO_ENGINE}"]
    assert "TensorRT not installed: pip install 'edgeseg[tensorrt]'" in skip_lines[0]
    m = Manifest.load(out)
    assert m.format == "onnx" and m.precision == "fp32" and m.unpool == "decomposed"
    assert m.sha256 == {"model.onnx": sha256(out / "model.onnx")}
    assert m.extra["build"]["skipped"] == {"engine": NO_ENGINE}
    assert m.extra["files"]["model.ts"]["sha256"] == sha256(out / "model.ts")
    assert m.extra["build"]["command"].startswith("edgeseg build enet --input-size 64x96 --weights ")
    assert "tensorrt" not in m.extra and m.metrics == {}  # nothing measured, nothing invented
    assert {"torch", "onnx"} <= set(m.versions)


def test_folder_loads_and_its_artifacts_agree(built):
    out, _ = built
    frame = np.random.default_rng(0).integers(0, 256, (48, 72, 3), dtype=np.uint8)
    from edgeseg.backends.auto import choose_cpu

    m = Manifest.load(out)
    with edgeseg.load(out) as seg, edgeseg.load(out / "model.ts") as ts:
        assert seg.runner.name == choose_cpu(m.format, m.precision, m.unpool).backend and ts.runner.name == "torchscript"
        x = seg.preprocess(frame)
        np.testing.assert_allclose(seg.infer(x), ts.infer(x), rtol=1e-4, atol=1e-4)


def test_plugin_form_without_tensorrt_writes_the_plugin_graph(weights, tmp_path):
    code, output = run("enet", "--weights", weights, "--input-size", SIZE, "--unpool", "plugin", "--out", tmp_path)
    assert code == 0, output
    plugin = onnx.load(str(tmp_path / "model.plugin.onnx"))
    assert sum(n.op_type == PLUGIN_NAME for n in plugin.graph.node) == 2  # ENet unpools twice
    assert not any(n.op_type == "MaxUnpool" for n in plugin.graph.node)
    native = onnx.load(str(tmp_path / "model.onnx"))
    assert sum(n.op_type == "MaxUnpool" for n in native.graph.node) == 2
    m = Manifest.load(tmp_path)
    assert m.unpool == "native" and m.extra["files"]["model.plugin.onnx"]["role"] == "plugin-onnx"
    with edgeseg.load(tmp_path) as seg:  # the native graph runs on ONNX Runtime
        assert seg.predict(np.zeros((64, 96, 3), np.uint8)).shape == (64, 96)


def test_dynamic_shapes_and_measured_metrics(weights, tmp_path):
    data = write_image_folder(tmp_path / "data", n=3)
    out = tmp_path / "out"
    code, output = run("enet", "--weights", weights, "--input-size", SIZE, "--dynamic", "32x48:64x96:128x192",
                       "--data", data, "--max-images", 2, "--out", out)
    assert code == 0, output
    m = Manifest.load(out)
    assert m.dynamic and [d.dim_param for d in onnx.load(str(out / "model.onnx")).graph.input[0].type.tensor_type.shape.dim] == ["batch", "", "height", "width"]
    assert m.metrics["measured_on"]["images"] == 2 and set(m.metrics["fps"]) == {"onnxruntime-fp32"}
    from edgeseg.data import open_dataset
    from edgeseg.eval.evaluate import evaluate

    with edgeseg.load(out) as seg:  # the recorded mIoU is what evaluating the folder gives
        assert m.metrics["miou"]["onnxruntime-fp32"] == pytest.approx(evaluate(seg, open_dataset(data), max_images=2, progress=False).summary()["miou"])
    assert m.metrics["fps"]["onnxruntime-fp32"] > 0


def test_int8_without_calibration_data_writes_fp32_and_says_so_in_one_line(weights, tmp_path, monkeypatch):
    """The README tour's `edgeseg build enet --int8` on a machine without the recipe's dataset: the
    FP32 artifacts are written, and one line says INT8 was skipped, why, and which flag enables it."""
    # the recipe's data.path (../shared/data/camvid) resolves to a folder that is not on this machine
    monkeypatch.setattr("edgeseg.quant.workflow.recipe_path", lambda recipe, relative: tmp_path / "no-camvid-here")
    code, output = run("enet", "--weights", weights, "--input-size", SIZE, "--int8", "--out", tmp_path / "out")
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.startswith("INT8 skipped")]
    assert len(lines) == 1 and "does not exist" in lines[0] and "--data" in lines[0], output
    m = Manifest.load(tmp_path / "out")
    assert m.precision == "fp32" and "--data" not in m.extra["build"]["skipped"]["int8"]  # the library names the parameter
    assert "`data`" in m.extra["build"]["skipped"]["int8"] and not (tmp_path / "out" / "model.int8.onnx").exists()
    assert (tmp_path / "out" / "model.onnx").is_file()


def test_int8_with_a_bad_data_folder_fails_before_writing(weights, tmp_path):
    code, output = run("enet", "--weights", weights, "--input-size", SIZE, "--int8", "--data", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert code == 2 and "does not exist" in output and "Traceback" not in output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,message", [
    (["--dynamic", "64x96:32x48"], "MIN:OPT:MAX"),
    (["--dynamic", "64x96:32x48:128x192"], "MIN <= OPT <= MAX"),
    (["--unpool", "sometimes"], "--unpool must be one of"),
    (["--input-size", "63x96"], "multiples of 8"),
    (["--frontend", "tvm"], "--frontend must be one of"),
])
def test_bad_flags_are_one_line_errors(weights, tmp_path, args, message):
    code, output = run("enet", "--weights", weights, *args, "--out", tmp_path)
    assert code == 2 and message in output and "Traceback" not in output


def test_unknown_source_and_missing_weights(tmp_path):
    code, output = run("no-such-model", "--out", tmp_path)
    assert code == 2 and "neither a registered model" in output
    code, output = run("segnet_basic", "--out", tmp_path)  # registered, but no weights are shipped
    assert code == 2 and "no 'camvid' weights are shipped for 'segnet_basic'" in output


def test_resolve_unpool_picks_what_tensorrt_supports():
    assert resolve_unpool(None, []) == ("decomposed", None)  # None: auto
    assert resolve_unpool(None, [UnpoolPlugin.QDP_AOT, UnpoolPlugin.CPP]) == (UnpoolForm.PLUGIN, UnpoolPlugin.QDP_AOT)
    assert resolve_unpool(None, [UnpoolPlugin.CPP]) == (UnpoolForm.PLUGIN, UnpoolPlugin.CPP)
    assert resolve_unpool("decomposed", [UnpoolPlugin.QDP_AOT]) == (UnpoolForm.DECOMPOSED, None)
    assert resolve_unpool("plugin", []) == ("plugin", None)  # the graph is written for a TensorRT elsewhere
    with pytest.raises(InputError):
        resolve_unpool("both", [])


def test_parse_dynamic():
    assert parse_dynamic("256x320:360x480:4x720x960") == ((1, 3, 256, 320), (1, 3, 360, 480), (4, 3, 720, 960))


@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.skipif(NO_ENGINE is not None, reason=f"no engine can be built here: {NO_ENGINE}")
@pytest.mark.parametrize("flags", [[], ["--fp16"], ["--unpool", "decomposed"]])
def test_engine_build_matches_onnxruntime_and_reloads(weights, tmp_path, flags):
    from edgeseg.backends.tensorrt_backend import TensorRTRunner

    code, output = run("enet", "--weights", weights, "--input-size", SIZE, *flags, "--out", tmp_path)
    assert code == 0, output
    m = Manifest.load(tmp_path)
    assert m.format == "tensorrt" and (tmp_path / "model.engine").is_file() and (tmp_path / "timing.cache").is_file()
    assert m.extra["tensorrt"]["compute_capability"] and m.extra["precision_map"]["tensorrt"]["counts"]
    x = np.random.default_rng(0).normal(size=(1, 3, *INPUT_SIZE)).astype(np.float32)
    with TensorRTRunner(tmp_path / "model.engine", m) as trt_runner, edgeseg.load(tmp_path / "model.onnx") as ref:
        got, want = trt_runner.infer(x), ref.infer(x)
        assert trt_runner.infer(x).tobytes() == got.tobytes()  # the CUDA-graph replay gives the same
    tol = 5e-2 if "--fp16" in flags else 1e-3
    assert np.abs(got - want).max() < tol * max(1.0, np.abs(want).max())
    assert (got.argmax(1) == want.argmax(1)).mean() > 0.99
    json.loads((tmp_path / "manifest.json").read_text())
