"""Runner back ends: auto-selection, parity between back ends, corrupt artifacts, closing."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from artifact_factory import INPUT_SIZE, NUM_CLASSES, shared_artifacts, tiny_manifest, tiny_model, write_garbage
from edgeseg.backends import Runner, open_runner, resolve_artifact
from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
from edgeseg.backends.torch_backend import TorchRunner
from edgeseg.errors import ArtifactError, InputError, MissingDependencyError


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return shared_artifacts(tmp_path_factory)


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(1).standard_normal((1, 3, *INPUT_SIZE)).astype(np.float32)


@pytest.mark.parametrize("kind", ["torchscript", "onnx-native", "onnx-decomposed"])
def test_auto_picks_the_rules_back_end_for_the_artifact(artifacts, kind):
    """(weights: tests/backends/test_auto.py, which keeps the compile out of the quick suite)"""
    from edgeseg.backends.auto import choose_cpu

    manifest, _ = resolve_artifact(artifacts[kind])
    backend = choose_cpu(manifest.format, "fp32", manifest.unpool).backend
    with open_runner(artifacts[kind]) as runner:
        assert isinstance(runner, Runner)
        assert (runner.name, runner.precision, runner.device) == (backend, "fp32", "cpu")


def test_every_back_end_gives_the_same_logits_and_class_map(artifacts, batch):
    """Same weights, same frames: eager is the reference; TorchScript and ONNX Runtime (both unpool forms) match it."""
    with open_runner(artifacts["weights"], backend="torch") as ref:
        expected = ref.infer(batch)
    assert expected.shape == (1, NUM_CLASSES, *INPUT_SIZE) and expected.dtype == np.float32
    for kind in ("torchscript", "onnx-native", "onnx-decomposed"):
        with open_runner(artifacts[kind]) as runner:
            got = runner.infer(batch)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0, err_msg=kind)
        np.testing.assert_array_equal(got.argmax(1), expected.argmax(1), err_msg=kind)


@pytest.mark.parametrize("backend", ["torchscript", "onnxruntime"])
def test_weights_run_on_other_back_ends_after_in_memory_conversion(artifacts, batch, backend):
    with open_runner(artifacts["weights"], backend="torch") as ref, open_runner(artifacts["weights"], backend=backend) as runner:
        assert runner.name == backend
        np.testing.assert_allclose(runner.infer(batch), ref.infer(batch), atol=1e-4, rtol=0)


def test_an_in_memory_model_runs_eager_and_a_scripted_one_on_torchscript(artifacts, batch):
    model = tiny_model()
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    with open_runner(model) as eager, open_runner(torch.jit.load(str(artifacts["torchscript"]))) as scripted:
        assert (eager.name, scripted.name) == ("torch", "torchscript")
        np.testing.assert_array_equal(eager.infer(batch), expected)
        assert scripted.infer(batch).shape == expected.shape


def test_onnxruntime_for_an_in_memory_model_needs_its_manifest():
    with pytest.raises(InputError, match="manifest"):
        open_runner(tiny_model(), backend="onnxruntime")


def test_prelu_rewrite_for_onnxruntime_is_exact(artifacts, batch):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.export.rewrite import prelu_as_relu

    original = artifacts["onnx-native"].read_bytes()
    assert "PRelu" in {n.op_type for n in onnx.load_from_string(original).graph.node}
    assert "PRelu" not in {n.op_type for n in onnx.load_from_string(prelu_as_relu(original)).graph.node}
    with OnnxRuntimeRunner(original, rewrite_prelu=False) as kept, OnnxRuntimeRunner(original) as rewritten:
        np.testing.assert_array_equal(rewritten.infer(batch), kept.infer(batch))

    # edge values, per-channel slopes of both signs, against PRelu's definition: slopes <= 1 take
    # the Max(x, slope * x) form, a slope above 1 the Relu form
    x = np.array([[-3.0, -0.0, 0.0, 2.5, -np.inf, np.inf], [-1e-30, 7.0, -2.0, np.nan, -0.5, 1e30]], np.float32).reshape(1, 2, 1, 6)
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 1, 6]) for n in ("x", "y")]
    for slopes, form in (([0.25, -1.5], "Max"), ([1.5, -1.5], "Sub")):
        slope = np.array(slopes, np.float32).reshape(2, 1, 1)
        graph = helper.make_graph([helper.make_node("PRelu", ["x", "slope"], ["y"])], "prelu", io[:1], io[1:], [numpy_helper.from_array(slope, "slope")])
        tiny = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
        assert form in {n.op_type for n in onnx.load_from_string(prelu_as_relu(tiny)).graph.node}
        with OnnxRuntimeRunner(tiny) as runner:
            np.testing.assert_array_equal(runner.session.run(None, {"x": x})[0], np.where(x > 0, x, slope * x))


def test_close_releases_the_session(artifacts):
    runner = open_runner(artifacts["onnx-decomposed"], backend="onnxruntime")
    with runner:
        assert runner.session is not None
    assert runner.session is None


@pytest.mark.parametrize("kind", ["weights", "torchscript", "onnx-native"])
def test_runner_rejects_wrong_input_shape(artifacts, kind):
    backend = "torch" if kind == "weights" else "auto"  # auto would compile the weights first
    with open_runner(artifacts[kind], backend=backend) as runner, pytest.raises(InputError, match=r"\(N, 3, H, W\)"):
        runner.infer(np.zeros((1, 4, *INPUT_SIZE), np.float32))


def test_static_onnx_graph_names_its_input_shape(artifacts):
    with open_runner(artifacts["onnx-native"]) as runner, pytest.raises(InputError, match=r"\(1, 3, 64, 96\)"):
        runner.infer(np.zeros((1, 3, 32, 96), np.float32))


@pytest.mark.parametrize("name, fmt", [("bad.onnx", "onnx"), ("bad.pt", "torchscript"), ("bad.safetensors", "weights")])
def test_corrupt_artifact_is_an_artifact_error(tmp_path, name, fmt):
    """Garbage with a matching manifest hash gets past the hash check; the loader must still say ArtifactError."""
    path = write_garbage(tmp_path / name, fmt)
    with pytest.raises(ArtifactError, match=str(path.name)):
        open_runner(path)


def test_hash_mismatch_is_refused(artifacts, tmp_path):
    src = artifacts["onnx-decomposed"]
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes() + b"\0")
    (tmp_path / (src.name + ".json")).write_bytes((src.parent / (src.name + ".json")).read_bytes())
    with pytest.raises(ArtifactError, match="sha256"):
        open_runner(copy)


def test_missing_manifest_and_foreign_files_are_refused(tmp_path):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ArtifactError, match="no manifest"):
        open_runner(onnx)
    picture = tmp_path / "frame.jpg"
    picture.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ArtifactError, match="not an edgeseg artifact"):
        open_runner(picture)


def test_folder_artifact_resolves_to_the_hashed_file(artifacts, tmp_path):
    src = artifacts["onnx-decomposed"]
    folder = tmp_path / "build"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(src.read_bytes())
    manifest = tiny_manifest("onnx")
    manifest.record_hash(folder / "model.onnx")
    manifest.save(folder)
    got, file = resolve_artifact(folder)
    assert file == folder / "model.onnx" and got.format == "onnx"
    with open_runner(folder) as runner:
        from edgeseg.backends.auto import choose_cpu

        assert runner.name == choose_cpu("onnx", "fp32").backend


def test_artifact_and_back_end_must_fit(artifacts):
    with pytest.raises(InputError, match="onnx artifact cannot run on the torch"):
        open_runner(artifacts["onnx-native"], backend="torch")
    with pytest.raises(InputError, match="`backend` must be one of auto, torch"):
        open_runner(artifacts["weights"], backend="tflite")
    with pytest.raises(InputError, match="edgeseg build"):
        open_runner(artifacts["weights"], backend="tensorrt")


def test_engine_folder_without_tensorrt_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import fails as on a machine without TensorRT
    engine = tmp_path / "enet.engine"
    engine.write_bytes(b"engine")
    manifest = tiny_manifest("tensorrt")
    manifest.record_hash(engine)
    manifest.save(tmp_path)
    with pytest.raises(MissingDependencyError, match="pip install"):
        open_runner(tmp_path)
    with pytest.raises(InputError, match="CUDA GPU"):
        open_runner(tmp_path, device="cpu")


def test_unknown_device_is_an_input_error(artifacts):
    with pytest.raises(InputError, match="device"):
        TorchRunner(tiny_model(), device="tpu")
    with pytest.raises(InputError, match="device"):
        OnnxRuntimeRunner(artifacts["onnx-native"], device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_asked_for_without_a_gpu_says_so():
    with pytest.raises(InputError, match="no CUDA GPU"):
        TorchRunner(tiny_model(), device="cuda")


@pytest.mark.parametrize("kind", ["weights", "torchscript"])
def test_auto_takes_the_cuda_graph_path_on_a_gpu_without_tensorrt(artifacts, kind, monkeypatch):
    """Routing only (no GPU here): the runner itself is replaced by a recorder."""
    import edgeseg.backends as backends
    import edgeseg.backends.cuda_graph as cuda_graph
    import edgeseg.backends.tensorrt_host as trt

    made = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(trt, "tensorrt_unavailable", lambda host=None: "TensorRT not installed")
    monkeypatch.setattr(cuda_graph, "CudaGraphRunner", lambda source, precision: made.append((source, precision)) or "gpu-runner")
    assert backends.open_runner(artifacts[kind]) == "gpu-runner"
    assert made[0][1] == "fp16"
    with open_runner(artifacts[kind], "torch" if kind == "weights" else "auto", device="cpu") as r:  # an explicit CPU request is honoured
        assert r.device == "cpu"
