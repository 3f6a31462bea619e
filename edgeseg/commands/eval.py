"""Measure per-class IoU, mIoU and pixel accuracy of a model or artifact on a dataset, through any back end."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def main(
    model: str = typer.Argument(..., help="Registered model name (its bundled weights) or an artifact: .onnx, TorchScript .pt/.ts, .safetensors, or a folder with manifest.json."),
    data: Path = typer.Option(..., help="Dataset folder: CamVid layout (<split>.txt) or images/ + masks/ + classes.json."),
    split: str = typer.Option("val", help="Split to score (CamVid layout)."),
    backend: str = typer.Option("auto", help="auto, torch, torchscript, onnxruntime or tensorrt."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when the back end sees one)."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Score only the first N images."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the results to this JSON file."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    crf: bool = typer.Option(False, "--crf", help="Refine each class map with a dense CRF (DeepLab v1/v2 post-processing) and score that."),
) -> None:
    import time

    from rich.console import Console
    from rich.table import Table

    import edgeseg
    from edgeseg.data.camvid import DatasetError, open_dataset
    from edgeseg.errors import InputError
    from edgeseg.eval.evaluate import evaluate
    from edgeseg.fileio import write_json

    try:
        dataset = open_dataset(data, split)
    except DatasetError as e:
        raise InputError(str(e)) from None
    with edgeseg.load(model, backend=backend, device=device) as seg:
        seg.crf = crf
        start = time.perf_counter()
        cm = evaluate(seg, dataset, max_images=max_images, progress=progress)
        seconds = time.perf_counter() - start
        runner = seg.runner
    n = min(len(dataset), max_images or len(dataset))
    summary = cm.summary(seg.classes)

    table = Table(title=f"{seg.manifest.model} on {dataset.name}")
    table.add_column("class")
    table.add_column("IoU %", justify="right")
    for name, iou in summary["per_class_iou"].items():
        table.add_row(name, "-" if iou is None else f"{100 * iou:.2f}")
    table.add_section()
    table.add_row("mIoU", f"{100 * summary['miou']:.2f}", style="bold")
    table.add_row("pixel accuracy", f"{100 * summary['pixel_accuracy']:.2f}")
    console = Console()
    console.print(table)
    recorded = seg.manifest.metrics.get("val_miou")
    if recorded is not None:
        console.print(f"the manifest records val mIoU {100 * recorded:.2f}")
    console.print(f"{n} images through {runner.name} {runner.precision} on {runner.device} in {seconds:.1f} s ({n / seconds:.1f} img/s, pre- and post-processing included)")

    if json_out is not None:
        write_json(json_out, {
            "model": seg.manifest.model, "source": model, "backend": runner.name, "precision": runner.precision,
            "device": runner.device, "crf": crf, "dataset": dataset.name, "data": str(data), "split": split, "images": n,
            **summary, "seconds": seconds,
        })
        console.print(f"wrote {json_out}")
