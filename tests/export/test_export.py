"""export_onnx / export_torchscript artifacts and manifests, and the TensorRT operator check."""
import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from onnx import helper

from edgeseg.errors import InputError
from edgeseg.export import example_input, parse_input_size
from edgeseg.export.onnx import export_onnx
from edgeseg.export.opcheck import MAXPOOL_INDICES, trt_op_table, unsupported_ops
from edgeseg.export.torchscript import export_torchscript, to_torchscript
from edgeseg.fileio import sha256
from edgeseg.manifest import Manifest
from edgeseg.registry import create_model

ort = pytest.importorskip("onnxruntime")
SIZE = (64, 96)


@pytest.fixture(scope="module")
def enet():
    torch.manual_seed(0)
    return create_model("enet").eval()


def ort_run(path, x: torch.Tensor) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]


# --- export_onnx -----------------------------------------------------------------------------

def test_export_onnx_writes_checked_model_and_manifest(enet, tmp_path):
    weights_manifest = Manifest("enet", 11, SIZE, "weights", classes=[f"c{i}" for i in range(11)], sha256={"w.safetensors": "ab" * 32})
    path = export_onnx(enet, tmp_path / "enet.onnx", unpool="decomposed", manifest=weights_manifest)
    onnx.checker.check_model(str(path), full_check=True)
    m = Manifest.load(path)
    assert (m.format, m.opset, m.unpool, m.dynamic, m.input_size) == ("onnx", 17, "decomposed", False, SIZE)
    assert m.classes == weights_manifest.classes and m.num_classes == 11
    assert m.sha256 == {"enet.onnx": sha256(path)}
    assert m.extra["weights_sha256"] == {"w.safetensors": "ab" * 32}  # the source's hash, not a file beside the artifact
    assert m.extra["tensorrt_unsupported_ops"] == []
    assert m.versions["torch"] == torch.__version__ and "onnx" in m.versions
    m.verify(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enet.onnx", "enet.onnx.json"]  # no temporary left behind


def test_native_manifest_names_the_ops_tensorrt_lacks(enet, tmp_path):
    path = export_onnx(enet, tmp_path / "enet.onnx", SIZE, unpool="native")
    assert Manifest.load(path).extra["tensorrt_unsupported_ops"] == sorted([MAXPOOL_INDICES, "MaxUnpool"])


def test_dynamic_decomposed_enet_runs_at_two_sizes(enet, tmp_path):
    path = export_onnx(enet, tmp_path / "enet.onnx", SIZE, unpool="decomposed", dynamic=True)
    assert Manifest.load(path).dynamic
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 64, 96), (2, 3, 40, 120)]:
        x = torch.randn(shape)
        got = session.run(None, {"input": x.numpy()})[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, enet(x).numpy(), rtol=0, atol=1e-4)


def test_model_without_unpool_records_no_unpool_form(tmp_path):
    net = create_model("linknet").eval()
    path = export_onnx(net, tmp_path / "linknet.onnx", (32, 32), opset=18)
    m = Manifest.load(path)
    assert m.unpool is None and m.opset == 18
    assert onnx.load(str(path)).opset_import[0].version == 18


@pytest.mark.parametrize(
    "kwargs, match",
    [({"opset": 16}, "opset"), ({"input_size": (60, 96)}, "multiples of 8"), ({"unpool": "plugin"}, "unpool"), ({"input_size": None}, "input_size")],
)
def test_export_onnx_rejects_bad_arguments(enet, tmp_path, kwargs, match):
    args = {"input_size": SIZE, **kwargs}
    with pytest.raises(InputError, match=match):
        export_onnx(enet, tmp_path / "x.onnx", **args)
    assert not list(tmp_path.iterdir())


def test_export_leaves_model_mode_and_unpool_form_alone(enet, tmp_path):
    enet.train()
    try:
        export_onnx(enet, tmp_path / "e.onnx", SIZE, unpool="decomposed")
        assert enet.training
        assert not enet.down1.pool.decomposed and not enet.up5.unpool.decomposed
    finally:
        enet.eval()


# --- export_torchscript ----------------------------------------------------------------------

def test_export_torchscript_scripts_and_matches(enet, tmp_path):
    path = export_torchscript(enet, tmp_path / "enet.ts", input_size=SIZE)
    m = Manifest.load(path)
    assert (m.format, m.extra["torchscript"], m.unpool, m.num_classes) == ("torchscript", "script", "native", 11)
    m.verify(tmp_path)
    loaded = torch.jit.load(str(path))
    x = torch.randn(1, 3, 32, 48)  # scripted, so any valid size runs
    with torch.no_grad():
        assert torch.equal(loaded(x), enet(x))


class Unscriptable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x, **unused):  # TorchScript cannot compile **kwargs
        return self.conv(x)


def test_torchscript_traces_only_what_cannot_be_scripted_and_says_why(tmp_path):
    net = Unscriptable().eval()
    with pytest.warns(UserWarning, match="traced"):
        path = export_torchscript(net, tmp_path / "u.ts", input_size=(8, 8))
    m = Manifest.load(path)
    assert m.extra["torchscript"] == "trace" and m.extra["trace_reason"] and not m.dynamic
    x = example_input((8, 8))
    assert torch.equal(torch.jit.load(str(path))(x), net(x))
    with pytest.raises(InputError, match="cannot be scripted and no input size"):
        to_torchscript(net)


# --- operator check --------------------------------------------------------------------------

def test_trt_op_table_is_sourced_data():
    table = trt_op_table()
    assert "onnx-tensorrt" in table["source"] and table["tensorrt_version"]
    assert {"Conv", "MaxPool", "ArgMax", "GatherElements", "Resize", "PRelu"} <= set(table["supported"])
    assert "MaxUnpool" in table["unsupported"] and not set(table["supported"]) & set(table["unsupported"])


def test_unsupported_ops_reads_nodes_domains_and_maxpool_indices(tmp_path):
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, 4, 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("MaxUnpool", ["p", "i"], ["u"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("MaxPool", ["u"], ["q"], kernel_shape=[2, 2]),  # one output: fine
        helper.make_node("Relu", ["q"], ["r"]),
        helper.make_node("Fancy", ["r"], ["y"], domain="com.example"),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]))
    assert unsupported_ops(model) == {MAXPOOL_INDICES, "MaxUnpool", "com.example::Fancy"}
    onnx.save(model, str(tmp_path / "m.onnx"))
    assert unsupported_ops(tmp_path / "m.onnx") == {MAXPOOL_INDICES, "MaxUnpool", "com.example::Fancy"}


def test_parse_input_size():
    assert parse_input_size("360x480") == (360, 480) and parse_input_size("64X96") == (64, 96)
    for bad in ("abc", "360", "0x10", "-8x8", "8x8x8", "8.5x8"):
        with pytest.raises(InputError):
            parse_input_size(bad)
