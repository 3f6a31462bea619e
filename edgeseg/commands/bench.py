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
    models: Optional[List[str]] = typer.Argument(None, help="Registered model names (run from their bundled CamVid weights) or artifact paths (.onnx, TorchScript .pt, engine folder). Default: every model with bundled weights."),
    backends: str = typer.Option("torch,torchscript,onnxruntime,tensorrt", help="Comma-separated back ends to try."),
    precisions: str = typer.Option("fp32,fp16,int8", help="Comma-separated precisions to try."),
    data: Path = typer.Option(..., help="Dataset folder: CamVid layout (<split>.txt) or images/ + masks/ + classes.json."),
    split: str = typer.Option("val", help="Split to measure on (CamVid layout)."),
    input_size: Optional[str] = typer.Option(None, help="HxW fed to the network, e.g. 360x480 (default: the manifest's). Applies to models given by name."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Use only the first N images."),
    warmup: int = typer.Option(10, min=0, help="Engine-only calls before timing."),
    iters: int = typer.Option(50, min=1, help="Timed engine-only calls."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when the back end sees one)."),
    out_dir: Path = typer.Option(Path("runs/bench"), help="Folder for bench.csv, bench.json and pareto.png."),
) -> None:
    import copy
    import platform
    import sys

    import numpy as np
    import torch
    from rich.console import Console

    import edgeseg
    from edgeseg.backends import BACKENDS
    from edgeseg.data.camvid import DatasetError, open_dataset
    from edgeseg.errors import ArtifactError, EdgesegError, InputError
    from edgeseg.export import parse_input_size
    from edgeseg.manifest import Manifest, library_versions
    from edgeseg.registry import create_model, list_models
    from edgeseg.report.bench import measure, why_not_from_weights, with_input_size
    from edgeseg.report.pareto import plot_pareto
    from edgeseg.report.table import Skipped, render, write_reports
    from edgeseg.segmenter import Segmenter
    from edgeseg.weights import WEIGHTS_DIR, pretrained_path

    console = Console(width=None if sys.stdout.isatty() else 160)  # a piped table stays whole
    wanted_backends = _split(backends, BACKENDS, "back end")
    wanted_precisions = _split(precisions, ("fp32", "fp16", "int8"), "precision")
    size = parse_input_size(input_size) if input_size else None
    if not models:
        models = sorted(p.name.removesuffix("-camvid.safetensors") for p in WEIGHTS_DIR.glob("*-camvid.safetensors"))
        if not models:
            raise InputError(f"no model has bundled weights in {WEIGHTS_DIR} yet: name artifacts to measure")
    try:
        dataset = open_dataset(data, split)
        n = min(len(dataset), max_images or len(dataset))
        frames, labels = [], []
        for i in range(n):  # decoded once, before any timing
            rgb, label = dataset[i]
            frames.append(np.ascontiguousarray(rgb[:, :, ::-1]))
            labels.append(label)
    except DatasetError as e:
        raise InputError(str(e)) from None

    cuda = torch.cuda.is_available()
    rows, skips = [], []

    def run(seg, label: str | None = None) -> None:
        if seg.num_classes != dataset.num_classes:
            raise InputError(f"{seg.manifest.model} predicts {seg.num_classes} classes, {dataset.name} has {dataset.num_classes}")
        r = seg.runner
        with console.status(f"{seg.manifest.model} {r.name} {r.precision} {r.device}: engine, then {n} frames through the stream"):
            row = measure(seg, frames, labels, ignore_index=dataset.ignore_index, warmup=warmup, iters=iters, name=dataset.name, label=label)
        rows.append(row)
        miou = "-" if row.miou is None else f"{100 * row.miou:.2f}"
        typer.echo(f"{row.label} {row.device}: engine p50 {row.engine_p50_ms:.1f} ms ({row.engine_fps:.1f} fps), stream {row.stream_fps:.1f} fps, mIoU {miou}")

    def skip(model: str, backend: str, precision: str, reason: str) -> None:
        skips.append(Skipped(model, backend, precision, reason))
        typer.echo(skips[-1].line())

    names = set(list_models())
    for item in models:
        if item not in names:  # an artifact path
            for backend in wanted_backends:
                try:
                    seg = edgeseg.load(item, backend=backend, device=device)
                except EdgesegError as e:  # this artifact cannot run on that back end here
                    skip(item, backend, "-", str(e))
                    continue
                with seg:
                    if seg.runner.precision not in wanted_precisions:
                        skip(item, backend, seg.runner.precision, f"not among --precisions {precisions}")
                    else:  # the file name tells apart two graphs of one model (e.g. INT8 TensorRT and CPU forms)
                        run(seg, f"{seg.manifest.model} [{Path(item).name}]")
            continue
        try:
            manifest = with_input_size(Manifest.load(pretrained_path(item)), size)
            model = create_model(item, num_classes=manifest.num_classes, pretrained="camvid")
        except ArtifactError as e:
            skip(item, "*", "*", str(e))
            continue
        for backend in wanted_backends:
            for precision in wanted_precisions:
                reason = why_not_from_weights(backend, precision, cuda)
                if reason:
                    skip(item, backend, precision, reason)
                    continue
                # a copy each: the torch back end may move its model to the GPU, an export needs it where it was
                with Segmenter.from_model(copy.deepcopy(model), manifest, backend=backend, device=device) as seg:
                    run(seg)

    if not rows:
        raise InputError("nothing could be measured here (every combination was skipped; see the lines above)")
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, " + (torch.cuda.get_device_name() if cuda else "no GPU")
    title = f"{dataset.name}, {n} images - {machine}"
    console.print(render(rows, title))
    meta = {"data": str(data), "split": split, "images": n, "warmup": warmup, "iters": iters, "machine": machine, "versions": library_versions()}
    paths = write_reports(rows, skips, out_dir, meta)
    paths["png"] = plot_pareto(rows, out_dir / "pareto.png", f"fps against mIoU - {title}")
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))


def _split(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    from edgeseg.errors import InputError

    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise InputError(f"unknown {what} {', '.join(bad) or '(none given)'}; choose from {', '.join(allowed)}")
    return items
