"""Measure fps against accuracy for each model x back end x precision: engine-only latency (p50/p99),
end-to-end stream fps and mIoU on the same frames; print a table, write CSV/JSON and a Pareto plot (PNG).

A combination that cannot run here (fp16 without a GPU, TensorRT not installed, INT8 without a
calibrated artifact) is skipped with one line saying why; no figure is ever made up for it.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def main(
    models: Optional[List[str]] = typer.Argument(None, help="Registered model names (run from their bundled CamVid weights) or artifact paths (.onnx, TorchScript .pt, engine folder, or .safetensors weights, measured at each precision like a name). Default: every model with bundled weights."),
    backends: str = typer.Option("torch,torchscript,onnxruntime,compiled,openvino,tensorrt", help="Comma-separated back ends to try."),
    precisions: str = typer.Option("fp32,bf16,fp16,int8", help="Comma-separated precisions to try (bf16: compiled and openvino, on CPUs with native bf16)."),
    data: Path = typer.Option(..., help="Dataset folder: CamVid layout (<split>.txt) or images/ + masks/ + classes.json."),
    split: List[str] = typer.Option(["val"], help="Listing(s) to measure on (CamVid layout: train, val); repeat to join several."),
    sequence: List[str] = typer.Option([], help="Measure only the frames of this sequence (from the file names, e.g. 0006R0): a drive the weights never saw; repeatable."),
    input_size: Optional[str] = typer.Option(None, help="HxW fed to the network, e.g. 360x480 (default: the manifest's). Applies to models given by name."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Use only the first N images."),
    warmup: int = typer.Option(10, min=0, help="Engine-only calls before timing."),
    iters: int = typer.Option(50, min=1, help="Timed engine-only calls."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when the back end sees one)."),
    out_dir: Path = typer.Option(Path("runs/bench"), help="Folder for bench.csv, bench.json and pareto.png."),
) -> None:
    import platform
    import sys

    import torch
    from rich.console import Console

    from edgeseg.commands import echo_for
    from edgeseg.data.splits import Split
    from edgeseg.export import parse_input_size
    from edgeseg.manifest import library_versions
    from edgeseg.outputs import check_folder
    from edgeseg.report.bench import benchmark
    from edgeseg.report.pareto import plot_pareto
    from edgeseg.report.table import render, write_reports

    check_folder(out_dir, "--out-dir")
    frames = Split(tuple(split), sequences=tuple(sequence))
    console = Console(width=None if sys.stdout.isatty() else 160)  # a piped table stays whole
    result = benchmark(
        models, data, backends=[b.strip() for b in backends.split(",") if b.strip()],
        precisions=[p.strip() for p in precisions.split(",") if p.strip()], split=frames,
        input_size=parse_input_size(input_size) if input_size else None, max_images=max_images, warmup=warmup, iters=iters,
        device=device, log=echo_for(main), status=console.status,
    )
    cuda = torch.cuda.is_available()
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, " + (torch.cuda.get_device_name() if cuda else "no GPU")
    title = f"{result.dataset}, {result.images} images - {machine}"
    console.print(render(result.rows, title))
    for item, overlap in result.trained_on.items():  # said again under the table: its mIoU column is read there
        console.print(f"{item}: {overlap.line()}")
    meta = {"data": str(data), "split": frames.describe(), "images": result.images, "warmup": warmup, "iters": iters, "machine": machine, "versions": library_versions(),
            "trained_frames": {item: overlap.trained for item, overlap in result.trained_on.items()}}
    paths = write_reports(result.rows, result.skipped, out_dir, meta)
    paths["png"] = plot_pareto(result.rows, out_dir / "pareto.png", f"fps against mIoU - {title}")
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))
