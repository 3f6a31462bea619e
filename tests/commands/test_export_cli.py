"""`edgeseg export` end to end (including its one-line errors)."""
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.export import example_input
from edgeseg.fileio import sha256
from edgeseg.manifest import Manifest
from edgeseg.registry import create_model

ort = pytest.importorskip("onnxruntime")


def ort_run(path, x: torch.Tensor) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]


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
    result = cli("linknet", "--input-size", "32x32", "--dynamic", "--pretrained", "none")
    assert result.exit_code == 0, result.output
    assert Manifest.load(tmp_path / "linknet.onnx").dynamic


def test_cli_defaults_to_the_bundled_weights_like_build_and_run(tmp_path, monkeypatch):
    """Issue 13 item 5: one rule for default weights. The name says which weights it holds."""
    from edgeseg.weights import pretrained_path

    monkeypatch.chdir(tmp_path)
    result = cli("linknet", "--input-size", "64x96", "--no-verify")
    assert result.exit_code == 0, result.output
    m = Manifest.load(tmp_path / "linknet-camvid.onnx")
    bundled = pretrained_path("linknet")
    assert m.extra["weights"] == bundled.name and m.extra["weights_sha256"][bundled.name] == sha256(bundled)
    assert m.classes == Manifest.load(bundled).classes


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
