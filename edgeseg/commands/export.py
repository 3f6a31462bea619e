"""Export a model to TorchScript, ONNX or a Triton Inference Server model repository, with a manifest (classes, input size, normalisation, versions, hashes)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def main(
    model: str = typer.Argument(..., help="Registered model name (see `edgeseg models`)."),
    fmt: str = typer.Option("onnx", "--format", "-f", help="torchscript, onnx, or triton (a model repository serving the ONNX graph; with --dynamic it batches up to 8)."),
    unpool: str = typer.Option("native", help="ONNX max-unpool form: native (MaxPool indices + MaxUnpool: ONNX Runtime, or TensorRT with the plugin) or decomposed (standard operators only)."),
    input_size: Optional[str] = typer.Option(None, help="HxW the network is fed (default: the weights' manifest, else 360x480)."),
    dynamic: bool = typer.Option(False, help="ONNX: free batch, height and width."),
    weights: Optional[Path] = typer.Option(None, help="A .safetensors file or a state-dict .pt; a <weights>.json manifest beside it supplies classes, input size and normalisation."),
    pretrained: Optional[str] = typer.Option(None, help="Weights shipped with edgeseg, by tag (e.g. camvid)."),
    num_classes: Optional[int] = typer.Option(None, help="Classes of the model (default: the weights' manifest, else 11)."),
    out: Optional[Path] = typer.Option(None, help="Output file (default ./<model>[-<tag>][-<unpool>].onnx or .ts); for triton the repository folder (default ./triton-models)."),
    opset: int = typer.Option(17, help="ONNX opset (>= 17)."),
    verify: bool = typer.Option(True, help="Run the artifact once and compare it with eager PyTorch (ONNX needs onnxruntime)."),
) -> None:
    from edgeseg.errors import InputError
    from edgeseg.export import parse_input_size
    from edgeseg.registry import UnknownModelError, model_info

    if fmt not in ("torchscript", "onnx", "triton"):
        raise InputError(f"--format must be torchscript, onnx or triton, got {fmt!r}")
    if unpool not in ("native", "decomposed"):
        raise InputError(f"--unpool must be native or decomposed, got {unpool!r}")
    if weights is not None and pretrained is not None:
        raise InputError("give --weights or --pretrained, not both")
    try:
        info = model_info(model)
    except UnknownModelError as e:
        raise InputError(str(e)) from None
    if fmt in ("onnx", "triton") and not info.onnx:
        raise InputError(f"{model} is flagged as not exportable to ONNX; export it with --format torchscript")
    size = parse_input_size(input_size) if input_size else None

    import torch

    from edgeseg.export import check_input_size
    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.torchscript import export_torchscript
    from edgeseg.manifest import Manifest

    with torch.no_grad():
        base, net = _load(model, weights, pretrained, num_classes)
        size = check_input_size(net, size or base.input_size)
        if fmt == "triton":
            _export_triton(net, base, size, unpool, dynamic, opset, out or Path("triton-models"))
            return
        if out is None:
            parts = [model] + ([pretrained] if pretrained else []) + ([unpool] if fmt == "onnx" and info.needs_unpool else [])
            out = Path(f"{'-'.join(parts)}.{'onnx' if fmt == 'onnx' else 'ts'}")
        if fmt == "onnx":
            path = export_onnx(net, out, size, unpool=unpool, dynamic=dynamic, opset=opset, manifest=base)
        else:
            path = export_torchscript(net, out, manifest=base, input_size=size)
        manifest = Manifest.load(path)
        typer.echo(f"wrote {path} and {Manifest.path_for(path).name} ({manifest.num_classes} classes, input {size[0]}x{size[1]})")
        if fmt == "onnx":
            bad = manifest.extra["tensorrt_unsupported_ops"]
            typer.echo(f"TensorRT ONNX parser: {'needs plugins for ' + ', '.join(bad) if bad else 'every operator supported'}")
        if verify:
            _verify(net, path, fmt, size)


def _export_triton(net, base, size, unpool: str, dynamic: bool, opset: int, repo: Path) -> None:
    import tempfile

    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.triton_repo import write_triton_repo
    from edgeseg.manifest import Manifest

    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(net, Path(tmp) / "model.onnx", size, unpool=unpool, dynamic=dynamic, opset=opset, manifest=base)
        folder = write_triton_repo(onnx_path, repo, Manifest.load(onnx_path), max_batch=8 if dynamic else 0)
    typer.echo(f"wrote Triton model {folder} (config.pbtxt + ONNX graph{', dynamic batch up to 8' if dynamic else ', fixed batch 1'})")


def _load(name: str, weights: Path | None, tag: str | None, num_classes: int | None):
    """(base manifest, model in eval mode) from --weights, --pretrained or neither (random init)."""
    from edgeseg.errors import InputError
    from edgeseg.fileio import sha256
    from edgeseg.manifest import Manifest
    from edgeseg.registry import create_model

    if tag is not None:
        from edgeseg.weights import pretrained_path

        weights = pretrained_path(name, tag)
    meta = Manifest.load(weights) if weights is not None and Manifest.path_for(weights).is_file() else None
    if meta is not None:
        if meta.model != name:
            raise InputError(f"{weights} holds {meta.model!r} weights, not {name!r}")
        if num_classes is not None and num_classes != meta.num_classes:
            raise InputError(f"--num-classes {num_classes} contradicts {Manifest.path_for(weights).name} ({meta.num_classes})")
        meta.verify(weights.parent)
    n = num_classes or (meta.num_classes if meta else 11)
    net = create_model(name, num_classes=n).eval()
    if weights is not None:
        from edgeseg.train.checkpoint import load_weights

        load_weights(weights, net)
    if meta is None:
        meta = Manifest(model=name, num_classes=n, input_size=(360, 480), format="weights")
    meta.sha256 = {weights.name: sha256(weights)} if weights is not None else {}
    meta.extra = {**meta.extra, "weights": weights.name if weights is not None else "random initialisation"}
    return meta, net


def _verify(net, path: Path, fmt: str, size: tuple[int, int]) -> None:
    """Max |artifact - eager| on one fixed input; an ArtifactError above 1e-3."""
    import numpy as np

    from edgeseg._optional import available
    from edgeseg.errors import ArtifactError
    from edgeseg.export import example_input

    x = example_input(size)
    ref = net(x).numpy()
    if fmt == "onnx":
        if not available("onnxruntime"):
            typer.echo("not verified: onnxruntime is not installed (pip install onnxruntime)")
            return
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    else:
        import torch

        got = torch.jit.load(str(path)).eval()(x).numpy()
    diff = float(np.abs(got - ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    if diff > 1e-3:
        raise ArtifactError(f"{path} does not match eager PyTorch: max |diff| {diff:.2e} > 1e-3")
    typer.echo(f"verified against eager PyTorch: max |diff| {diff:.1e}, argmax agreement {100 * agree:.2f}%")
