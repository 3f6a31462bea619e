"""Calibrate INT8 (explicit Q/DQ, TensorRT placement): FP32 vs INT8 mIoU on val through the same
ONNX Runtime runner; when the drop exceeds the bound, rank layers by sensitivity and keep the worst
in float until it holds. Writes the Q/DQ ONNX, a TensorRT calibration cache and the precision map."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def main(
    source: str = typer.Argument(..., help="Recipe (enet-camvid), registered model name (its bundled weights), or a .safetensors / .onnx artifact with its manifest."),
    method: Optional[str] = typer.Option(None, help="entropy, percentile, mse, max, or best (try all six and keep the best on val); default: the recipe's calibration.method."),
    percentile: float = typer.Option(99.99, help="With --method percentile: 99.9, 99.99 or 99.999 (any value in (0, 100])."),
    max_miou_drop: Optional[float] = typer.Option(None, help="Largest acceptable mIoU drop in points (default: the recipe's targets.max_int8_miou_drop)."),
    weights: Optional[Path] = typer.Option(None, help="Weights for a recipe or model name (default: the bundled ones), e.g. runs/enet-camvid/best.safetensors."),
    recipe: Optional[str] = typer.Option(None, help="Recipe for an artifact or model name that several recipes use."),
    data: Optional[Path] = typer.Option(None, help="Dataset folder (default: the recipe's data.path)."),
    calib: Optional[Path] = typer.Option(None, help="Calibration manifest (default: the recipe's calibration.manifest)."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default build/<recipe>-int8)."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Score only the first N val images."),
    sensitivity_images: int = typer.Option(8, min=1, help="Calibration images the per-layer sensitivity runs on."),
    rank: bool = typer.Option(False, "--rank", help="Rank layers by sensitivity (and print the table) even when the bound holds."),
    cpu_unsigned: bool = typer.Option(False, "--cpu-unsigned", help="Also write model.int8-cpu.onnx: uint8 activations for ONNX Runtime's x86 kernels. CPU ONLY: TensorRT rejects it."),
    tensorrt_version: str = typer.Option("10.3.0", help="TensorRT that will read calibration.cache (JetPack 6: 10.3.0)."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    from rich.console import Console
    from rich.table import Table

    from edgeseg.outputs import check_folder
    from edgeseg.quant.method import methods_for
    from edgeseg.quant.workflow import Options, calibrate, resolve_source

    console = Console()
    src = resolve_source(source, weights, recipe)
    out = check_folder(out or Path("build") / f"{src.recipe.name}-int8", "--out")
    opt = Options(methods=tuple(methods_for(method, percentile)) if method else (), max_miou_drop=max_miou_drop, data=data, calib=calib, max_images=max_images,
                  sensitivity_images=sensitivity_images, rank_always=rank, cpu_unsigned=cpu_unsigned, tensorrt_version=tensorrt_version, progress=progress)
    result = calibrate(src, out, opt, log=console.print)

    methods = Table(title=f"{src.recipe.name}: INT8 calibration methods (val mIoU %)")
    for col in ("method", "INT8 mIoU", "drop vs FP32"):
        methods.add_column(col, justify="left" if col == "method" else "right")
    for m, v in result.methods.items():
        methods.add_row(str(m), f"{v:.2f}", f"{result.fp32_miou - v:+.2f}", style="bold" if m == result.method else None)
    console.print(methods)
    if result.sensitivity:
        layers = Table(title="per-layer sensitivity (that layer alone in INT8; 100 - fidelity mIoU vs FP32)")
        for col in ("rank", "layer", "score", "precision"):
            layers.add_column(col, justify="right" if col in ("rank", "score") else "left")
        kept = set(result.excluded)
        for i, (name, s) in enumerate(result.sensitivity, 1):
            layers.add_row(str(i), name, f"{s:.3f}", "float" if name in kept else "int8")
        console.print(layers)
    drop = result.fp32_miou - result.int8_miou
    console.print(f"FP32 {result.fp32_miou:.2f}  INT8 {result.int8_miou:.2f}  drop {drop:+.2f} with {result.method}"
                  f"{f', {len(result.excluded)} layers kept in float' if result.excluded else ''}")
    if result.cpu_miou is not None:
        console.print(f"CPU-only unsigned form: INT8 {result.cpu_miou:.2f}  drop {result.fp32_miou - result.cpu_miou:+.2f}")
    for f in result.files.values():
        console.print(f"wrote {f}")
