"""Export a model to TorchScript, ONNX (graph rewrites applied, fast on any runtime), an AOTInductor .pt2 package or a Triton Inference Server model repository, with a manifest (classes, input size, normalisation, versions, hashes). Like build, run and eval it uses the bundled weights unless told otherwise (--weights FILE, or --pretrained none for random initialisation)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def main(
    model: str = typer.Argument(..., help="Registered model name (see `edgeseg models`) or recipe."),
    fmt: str = typer.Option("onnx", "--format", "-f", help="torchscript, onnx, pt2 (an AOTInductor package: native code for this CPU, runnable from C++; compiling takes about a minute), or triton (a model repository serving the ONNX graph; with --dynamic it batches up to 8)."),
    unpool: str = typer.Option("native", help="ONNX max-unpool form: native (MaxPool indices + MaxUnpool: ONNX Runtime, or TensorRT with the plugin) or decomposed (standard operators only)."),
    input_size: Optional[str] = typer.Option(None, help="HxW the network is fed (default: the weights' manifest, else 360x480)."),
    dynamic: bool = typer.Option(False, help="ONNX: free batch, height and width."),
    weights: Optional[Path] = typer.Option(None, help="A .safetensors file or a state-dict .pt; a <weights>.json manifest beside it supplies classes, input size and normalisation."),
    pretrained: str = typer.Option("camvid", help="Weights shipped with edgeseg, by tag (default camvid, as build, run and eval use); none: random initialisation."),
    num_classes: Optional[int] = typer.Option(None, help="Classes of the model (default: the weights' manifest, else 11)."),
    out: Optional[Path] = typer.Option(None, help="Output file (default ./<model>[-<tag>][-<unpool>].onnx, .pt2 or .ts); for triton the repository folder (default ./triton-models)."),
    opset: int = typer.Option(17, help="ONNX opset (>= 17)."),
    verify: bool = typer.Option(True, help="Run the artifact once and compare it with eager PyTorch (ONNX needs onnxruntime)."),
) -> None:
    from edgeseg.errors import InputError
    from edgeseg.export import parse_input_size
    from edgeseg.export.formats import ExportFormat
    from edgeseg.layers.unpool import MODULE_FORMS, UnpoolForm
    from edgeseg.outputs import check_distinct, check_file, check_folder
    from edgeseg.registry import model_info
    from edgeseg.resolve import resolve_model

    fmt = ExportFormat.of(fmt, "fmt")
    form = UnpoolForm.of(unpool, "unpool", MODULE_FORMS)
    tag = None if pretrained == "none" else pretrained
    if weights is not None and pretrained != "camvid":
        raise InputError("give --weights or --pretrained, not both")
    src = resolve_model(model, weights, pretrained=tag, num_classes=num_classes)
    info = model_info(src.name)
    if fmt.needs_onnx and not info.onnx:
        raise InputError(f"{src.name} is flagged as not exportable to ONNX; export it with --format torchscript")
    size = parse_input_size(input_size) if input_size else None
    if fmt is ExportFormat.TRITON:
        out = check_folder(out or Path("triton-models"), "--out")
    else:
        used = tag if src.weights is not None and weights is None else None
        parts = [src.name] + ([used] if used else []) + ([form.value] if fmt is ExportFormat.ONNX and info.needs_unpool else [])
        out = check_file(out or Path("-".join(parts) + fmt.suffix), "--out")
        check_distinct({"--out": out}, {"--weights": weights})

    import torch

    from edgeseg.export import check_input_size
    from edgeseg.export.formats import export

    with torch.no_grad():
        net = src.model()
        size = check_input_size(net, size or src.manifest.input_size)
        for line in export(net, src.manifest, fmt, out, size, form, dynamic, opset, verify):
            typer.echo(line)
