"""Build a deployment folder: TorchScript, ONNX (and the INT8 Q/DQ graph), the TensorRT engine when TensorRT and a GPU are present, a timing cache and manifest.json. Without TensorRT it writes everything else and says in one line what it skipped and why; --int8 without calibration data on this machine likewise (give --data)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def main(
    source: str = typer.Argument(..., help="Registered model name (`edgeseg models`) or recipe (recipes/<name>.toml, or a path)."),
    fp16: bool = typer.Option(False, "--fp16", help="FP16 engine (TensorRT 11: an FP16 graph is exported for the strongly typed build)."),
    int8: bool = typer.Option(False, "--int8", help="INT8 by explicit quantization: Q/DQ graph calibrated by edgeseg.quant on the recipe's calibration set (under --data, default the recipe's data.path)."),
    input_size: Optional[str] = typer.Option(None, help="HxW the network is fed (default: the weights' manifest or recipe)."),
    dynamic: Optional[str] = typer.Option(None, help="Dynamic shapes MIN:OPT:MAX, each HxW or NxHxW, e.g. 256x320:360x480:720x960."),
    unpool: str = typer.Option("auto", help="Max-unpool in the engine: plugin, decomposed (standard ops only), or auto (the plugin where the installed TensorRT supports one, else decomposed)."),
    workspace: float = typer.Option(2.0, help="TensorRT builder workspace, GB."),
    dla_core: Optional[int] = typer.Option(None, help="Build for this DLA core (Jetson), GPU fallback for layers DLA cannot run."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default ./build/<source>)."),
    frontend: str = typer.Option("onnx", help="onnx (TensorRT's ONNX parser) or torch-tensorrt (torch.export, where installed)."),
    weights: Optional[Path] = typer.Option(None, help="A .safetensors file with its .json manifest (default: the weights shipped with edgeseg)."),
    random_init: bool = typer.Option(False, "--random-init", help="No weights: random initialisation, for speed measurements only."),
    data: Optional[Path] = typer.Option(None, help="Dataset to calibrate INT8 on and to measure mIoU and fps of every artifact built (CamVid layout or images/ + masks/)."),
    split: str = typer.Option("val", help="Split of --data to measure on."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Measure on the first N images only."),
) -> None:
    from edgeseg.build import BuildOptions, build, parse_dynamic
    from edgeseg.commands import command_line, echo_for, quoted
    from edgeseg.export import parse_input_size
    from edgeseg.outputs import check_folder

    out = check_folder(out or Path("build") / Path(source).stem, "--out")
    # the rebuild command: what shapes the engine (--data only through INT8 calibration), then --out
    given = dict(locals())
    rebuild = command_line(main, given, skip=("out", "split", "max_images") + (() if int8 else ("data",))) + ["--out", str(out)]
    opts = BuildOptions(
        fp16=fp16, int8=int8, input_size=parse_input_size(input_size) if input_size else None,
        dynamic=parse_dynamic(dynamic) if dynamic else None, unpool=None if unpool == "auto" else unpool,
        workspace_gb=workspace, dla_core=dla_core, frontend=frontend, weights=weights, random_init=random_init,
        data=data, split=split, max_images=max_images, command=quoted(rebuild),
    )
    build(source, out, opts, log=echo_for(main))
