"""Measure per-class IoU, mIoU and pixel accuracy of a model or artifact on a dataset, through any back end."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

SCARCE = 0.001  # a class under this share of the labelled pixels gets a line after the table


def main(
    model: str = typer.Argument(..., help="Registered model name (its bundled weights) or an artifact: .onnx, TorchScript .pt/.ts, .safetensors, or a folder with manifest.json."),
    data: Path = typer.Option(..., help="Dataset folder: CamVid layout (<split>.txt) or images/ + masks/ + classes.json."),
    split: List[str] = typer.Option(["val"], help="Listing(s) to score (CamVid layout: train, val); repeat to join several."),
    sequence: List[str] = typer.Option([], help="Score only the frames of this sequence (from the file names, e.g. 0006R0); repeatable."),
    backend: str = typer.Option("auto", help="auto, torch, torchscript, onnxruntime or tensorrt."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when the back end sees one)."),
    precision: Optional[str] = typer.Option(None, help="fp32 or bf16 for weights (bf16: compiled or openvino, CPUs with native bf16). Default: what `auto` runs them in."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Score only the first N images."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the results to this JSON file."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    crf: bool = typer.Option(False, "--crf", help="Refine each class map with a dense CRF (DeepLab v1/v2 post-processing) and score that."),
) -> None:
    import time
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    import edgeseg
    from edgeseg.data.splits import Split, open_split, sequence_of
    from edgeseg.data.trained_on import training_overlap
    from edgeseg.eval.evaluate import evaluate
    from edgeseg.eval.metrics import percent
    from edgeseg.fileio import write_json
    from edgeseg.manifest import recorded_miou
    from edgeseg.outputs import check_distinct, check_file

    if json_out is not None:
        check_file(json_out, "--json")
        check_distinct({"--json": json_out}, {"MODEL": model if Path(model).exists() else None, "--data": data})
    dataset = open_split(data, Split(tuple(split), sequences=tuple(sequence)))
    with edgeseg.load(model, backend=backend, device=device, precision=precision) as seg:
        seg.crf = crf
        start = time.perf_counter()
        per_sequence: dict = {}
        cm = evaluate(seg, dataset, max_images=max_images, progress=progress, per_sequence=per_sequence)
        seconds = time.perf_counter() - start
        runner = seg.runner
    n = min(len(dataset), max_images or len(dataset))
    summary = cm.summary(seg.classes)

    table = Table(title=f"{seg.manifest.model} on {dataset.name}")
    table.add_column("class")
    table.add_column("IoU %", justify="right")
    table.add_column("pixels %", justify="right")
    for name, iou in summary["per_class_iou"].items():
        table.add_row(name, "-" if iou is None else f"{100 * iou:.2f}", f"{100 * summary['label_share'][name]:.2f}")
    table.add_section()
    table.add_row("mIoU", f"{100 * summary['miou']:.2f}", style="bold")
    table.add_row("pixel accuracy", f"{100 * summary['pixel_accuracy']:.2f}")
    console = Console()
    console.print(table)
    scarce = [name for name, share in summary["label_share"].items() if share < SCARCE]
    if scarce:
        console.print(f"{', '.join(scarce)}: under {100 * SCARCE:.1f}% of the labelled pixels here, so their IoU rests on few pixels and moves the mIoU by up to {100 / len(summary['label_share']):.0f} points each")
    if per_sequence:
        seq_table = Table(title="per sequence (from the file names)")
        for col in ("sequence", "images", "mIoU %"):
            seq_table.add_column(col, justify="left" if col == "sequence" else "right")
        counts = Counter(sequence_of(img) for img, _ in dataset.pairs[:n])
        for name, seq_cm in sorted(per_sequence.items()):
            seq_table.add_row(name, str(counts[name]), f"{100 * seq_cm.miou():.2f}")
        console.print(seq_table)
    overlap = training_overlap(data, dataset, seg.artifact_file, n)
    console.print(overlap.line() if overlap else "no record beside this artifact says which frames of this data trained it: whether these frames are unseen is not known here")
    recorded = recorded_miou(seg.manifest, runner.precision)
    console.print(f"the manifest records mIoU {percent(recorded.value)}, measured on {recorded.validation}" if recorded else "the manifest records no mIoU for this artifact")
    console.print(f"{n} images through {runner.name} {runner.precision} on {runner.device} in {seconds:.1f} s ({n / seconds:.1f} img/s, pre- and post-processing included)")
    if runner.selection:
        console.print(runner.selection)

    if json_out is not None:
        write_json(json_out, {
            "model": seg.manifest.model, "source": model, "backend": runner.name, "precision": runner.precision,
            "device": runner.device, "crf": crf, "dataset": dataset.name, "data": str(data), "split": list(split), "sequences": list(sequence), "images": n,
            **summary, "seconds": seconds, "trained_frames": None if overlap is None else overlap.trained,
            "per_sequence": {name: seq_cm.summary(seg.classes) for name, seq_cm in sorted(per_sequence.items())},
        })
        console.print(f"wrote {json_out}")
