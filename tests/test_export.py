"""export_onnx / export_torchscript artifacts and manifests, the TensorRT operator check, and
`edgeseg export` end to end (including its one-line errors)."""
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from onnx import helper
from typer.testing import CliRunner

from edgeseg.cli import app
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


# --- edgeseg export --------------------------------------------------------------------------

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, ["export", *args])


@pytest.fixture(scope="module")
def enet_weights(tmp_path_factory):
    """ENet weights as safetensors with a weights manifest, and the same as a state-dict .pt."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(3)
    net = create_model("enet", num_classes=5).eval()
    st = folder / "enet-toy.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(st))
    Manifest("enet", 5, (48, 64), "weights", classes=list("abcde"), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), sha256={st.name: sha256(st)}).save(st)
    pt = folder / "enet-toy.pt"
    torch.save(net.state_dict(), pt)
    return net, st, pt


def test_cli_exports_onnx_with_the_weights_manifest(enet_weights, tmp_path):
    net, st, _ = enet_weights
    out = tmp_path / "e.onnx"
    result = cli("enet", "--weights", str(st), "--unpool", "decomposed", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "verified against eager PyTorch" in result.output and "every operator supported" in result.output
    m = Manifest.load(out)
    assert (m.model, m.num_classes, m.classes, m.input_size, m.mean, m.std) == ("enet", 5, list("abcde"), (48, 64), (0.5,) * 3, (0.25,) * 3)
    assert m.extra["weights_sha256"] == {st.name: sha256(st)} and m.sha256 == {"e.onnx": sha256(out)}
    x = example_input((48, 64))
    with torch.no_grad():
        np.testing.assert_allclose(ort_run(out, x), net(x).numpy(), rtol=0, atol=1e-4)


def test_cli_exports_torchscript_from_a_state_dict(enet_weights, tmp_path):
    net, _, pt = enet_weights
    out = tmp_path / "e.ts"
    result = cli("enet", "-f", "torchscript", "--weights", str(pt), "--num-classes", "5", "--input-size", "32x40", "--out", str(out))
    assert result.exit_code == 0, result.output
    m = Manifest.load(out)
    assert (m.format, m.num_classes, m.input_size, m.extra["weights"]) == ("torchscript", 5, (32, 40), "enet-toy.pt")
    x = torch.randn(1, 3, 32, 40)
    with torch.no_grad():
        assert torch.equal(torch.jit.load(str(out))(x), net(x))


def test_cli_dynamic_onnx_default_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("linknet", "--input-size", "32x32", "--dynamic")
    assert result.exit_code == 0, result.output
    assert Manifest.load(tmp_path / "linknet.onnx").dynamic


@pytest.mark.parametrize(
    "args, match",
    [
        (["enett"], "unknown model 'enett'. Did you mean: enet"),
        (["enet", "--input-size", "abc"], "input size must be HxW"),
        (["enet", "--input-size", "60x96"], "multiples of 8"),
        (["enet", "--format", "tflite"], "--format must be"),
        (["enet", "--opset", "13", "--input-size", "64x96"], "opset must be >= 17"),
        (["enet", "--weights", "missing.safetensors"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert match in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.onnx"))


def test_cli_corrupt_weights_through_main_entry_point(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00not a safetensors file")
    code = "import sys; from edgeseg.cli import main; sys.argv = sys.argv[1:]; main()"
    proc = subprocess.run([sys.executable, "-c", code, "edgeseg", "export", "enet", "--weights", str(bad), "--out", str(tmp_path / "x.onnx")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "corrupt" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.onnx").exists()


def test_parse_input_size():
    assert parse_input_size("360x480") == (360, 480) and parse_input_size("64X96") == (64, 96)
    for bad in ("abc", "360", "0x10", "-8x8", "8x8x8", "8.5x8"):
        with pytest.raises(InputError):
            parse_input_size(bad)



def test_cli_exports_a_triton_repository(tmp_path):
    repo = tmp_path / "models"
    result = runner.invoke(app, ["export", "linknet", "--format", "triton", "--dynamic", "--input-size", "64x96", "--no-verify", "--out", str(repo)])
    assert result.exit_code == 0, result.output
    folder = repo / "linknet-fp32"
    config = (folder / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "max_batch_size: 8" in config
    graph = onnx.load(str(folder / "1" / "model.onnx"))
    onnx.checker.check_model(graph)
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # batch left free
