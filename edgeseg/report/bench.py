"""`benchmark()`: fps against accuracy for each model x back end x precision, as rows (Ultralytics'
`utils/benchmarks.py`: a library function; the `bench` command only prints and writes them).

Each combination is measured through one `Segmenter` on the same frames, so back ends differ only
in the network itself:
- Engine only: `runner.infer` on one preprocessed frame, `warmup` calls, then `iters` timed calls.
- Stream: every frame through the threaded pipeline (edgeseg.stream) from memory, headless (no
  overlay rendered, nothing written; before session 11 the overlay was rendered): what a
  headless camera application gets, minus the camera. The frames are
  decoded before timing starts, so the figure is the pipeline's, not the PNG decoder's.
- mIoU: from the same stream pass, one confusion matrix over all its frames (void ignored).

A combination that cannot run here (fp16 without a GPU, TensorRT not installed, INT8 without a
calibrated artifact) is skipped with one line saying why; no figure is ever made up for it.
"""
from __future__ import annotations

import copy
import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Sequence

import numpy as np

from edgeseg._optional import available
from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backend_names import BACKENDS, BF16_BACKENDS, Backend
from edgeseg.data.splits import Split, open_split
from edgeseg.data.trained_on import TrainingOverlap, training_overlap
from edgeseg.errors import ArtifactError, EdgesegError, InputError
from edgeseg.eval.timing import time_interleaved
from edgeseg.manifest import recorded_miou
from edgeseg.precision import Precision
from edgeseg.report.table import BenchRow, Skipped
from edgeseg.stream import Pipeline
from edgeseg.stream.sinks import Sink
from edgeseg.stream.sources import ArraySource
from edgeseg.stream.stats import LatencyHistogram

B, P = Backend, Precision
FROM_WEIGHTS = (B.TORCH, B.TORCHSCRIPT, B.ONNXRUNTIME, B.COMPILED, B.OPENVINO)  # back ends a model in memory runs on
PRECISIONS = (P.FP32, P.BF16, P.FP16, P.INT8)  # what a runner computes in


@dataclass
class Benchmark:
    rows: list[BenchRow] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    dataset: str = ""
    images: int = 0
    trained_on: dict[str, TrainingOverlap] = field(default_factory=dict)  # per model given, where its training is recorded


def engine_latency(runner, x: np.ndarray, warmup: int, iters: int) -> LatencyHistogram:
    hist = LatencyHistogram()
    for seconds in time_interleaved({"engine": lambda: runner.infer(x)}, warmup, iters)["engine"]:
        hist.add(float(seconds))
    return hist


def measure(seg, frames: Sequence[np.ndarray], labels: Sequence[np.ndarray] | None, *, ignore_index: int | None, warmup: int = 10,
            iters: int = 50, name: str = "data", artifact: str | None = None) -> BenchRow:
    """Engine-only latency, then one stream pass over `frames` (BGR) scored against `labels`."""
    runner = seg.runner
    hist = engine_latency(runner, seg.preprocess(frames[0]), warmup, iters)
    report = Pipeline(seg, ArraySource(frames, labels, ignore_index=ignore_index, name=name), Sink()).run()
    report.raise_for_error()
    s = report.summary
    h, w = seg.input_size
    return BenchRow(
        model=seg.manifest.model, backend=runner.name, precision=runner.precision, device=runner.device, input_size=f"{h}x{w}",
        engine_p50_ms=hist.percentile(50) * 1e3, engine_p99_ms=hist.percentile(99) * 1e3, engine_fps=hist.count / hist.total,
        stream_fps=s["fps"], stream_p50_ms=s["latency_ms"]["end_to_end"]["p50"], miou=s["stream_miou"], images=s["frames"]["processed"],
        manifest_miou=getattr(recorded_miou(seg.manifest, runner.precision), "value", None), artifact=artifact,
    )


def why_not_from_weights(backend: Backend, precision: Precision, cuda: bool) -> str | None:
    """Why a model held as weights cannot be measured on `backend` at `precision` here; None if it can."""
    if backend is B.TENSORRT:
        if not available("tensorrt"):
            return "TensorRT is not installed here (on a Jetson it comes with JetPack)"
        return "TensorRT runs built engines: make one with `edgeseg build MODEL` and pass its folder to bench"
    if backend not in FROM_WEIGHTS:
        return f"the {backend} back end runs an exported artifact: export one (`edgeseg export MODEL --format pt2`) and pass it to bench"
    if backend is B.OPENVINO and not available("openvino"):
        return "openvino is not installed (pip install 'edgeseg[openvino]')"
    if precision is P.BF16:
        from edgeseg.hardware import bf16_unsupported_reason

        if backend not in BF16_BACKENDS:
            return f"the {backend} back end runs a model's weights in fp32; bf16 runs on {' or '.join(BF16_BACKENDS)}"
        return bf16_unsupported_reason()
    if precision is P.FP16:
        gpu = "" if cuda else "; this machine has no CUDA GPU either"
        return f"fp16 is a TensorRT engine precision, the {backend} back end runs a model's weights in fp32{gpu}"
    if precision is P.INT8:
        if backend in (B.ONNXRUNTIME, B.OPENVINO):
            return "INT8 runs a calibrated Q/DQ graph: make one with `edgeseg build MODEL --int8` and pass build/MODEL/model.int8.onnx to bench"
        return f"the {backend} back end runs a model's weights in fp32; INT8 runs as Q/DQ ONNX (onnxruntime, openvino) or TensorRT"
    return None


def with_input_size(manifest, input_size: tuple[int, int] | None):
    return manifest if input_size is None else dataclasses.replace(manifest, input_size=tuple(input_size))


def _choose(kind: type[Backend] | type[Precision], given: Sequence, allowed: tuple, parameter: str) -> list:
    if not given:
        raise InputError(f"`{parameter}` names none; it takes {', '.join(allowed)}")
    return [kind.of(g, parameter, allowed) for g in given]


def _is_weights_file(item: str) -> bool:
    """A weights artifact (.safetensors with its manifest): benchmarked like a registered model."""
    from edgeseg.manifest import Manifest

    try:
        return Manifest.load(item).format is ArtifactFormat.WEIGHTS
    except EdgesegError:
        return False  # the per-back-end load below says what is wrong with it


def benchmark(models: Sequence[str] | None, data: str | Path,
              backends: Sequence[Backend | str] = (B.TORCH, B.TORCHSCRIPT, B.ONNXRUNTIME, B.COMPILED, B.OPENVINO, B.TENSORRT),
              precisions: Sequence[Precision | str] = PRECISIONS, split: Split | None = None, input_size: tuple[int, int] | None = None,
              max_images: int | None = None, warmup: int = 10, iters: int = 50, device: str | None = None,
              log: Callable[[str], None] = print, status: Callable[[str], ContextManager] = lambda _: nullcontext()) -> Benchmark:
    """Measure `models` (registered names, run from their bundled weights, or artifact paths: a
    weights file at each precision like a name, an exported artifact as exported; default: every
    model with bundled weights) on `data` for each back end and precision, on the
    frames of `split` (default: the val listing)."""
    import torch

    import edgeseg
    from edgeseg.backends import resolve_artifact
    from edgeseg.backends.torch_backend import model_from_weights
    from edgeseg.registry import list_models, list_pretrained
    from edgeseg.resolve import resolve_model
    from edgeseg.segmenter import Segmenter

    backends, precisions = _choose(Backend, backends, BACKENDS, "backends"), _choose(Precision, precisions, PRECISIONS, "precisions")
    models = list(models or [name for name, tag in list_pretrained() if tag == "camvid"])
    dataset = open_split(data, split or Split(("val",)))
    n = min(len(dataset), max_images or len(dataset))
    frames, labels = [], []
    for i in range(n):  # decoded once, before any timing
        rgb, label = dataset[i]
        frames.append(np.ascontiguousarray(rgb[:, :, ::-1]))
        labels.append(label)
    result, cuda = Benchmark(dataset=dataset.name, images=n), torch.cuda.is_available()

    def run(seg, artifact: str | None = None) -> None:
        if seg.num_classes != dataset.num_classes:
            raise InputError(f"{seg.manifest.model} predicts {seg.num_classes} classes, {dataset.name} has {dataset.num_classes}")
        r = seg.runner
        with status(f"{seg.manifest.model} {r.name} {r.precision} {r.device}: engine, then {n} frames through the stream"):
            row = measure(seg, frames, labels, ignore_index=dataset.ignore_index, warmup=warmup, iters=iters, name=dataset.name, artifact=artifact)
        result.rows.append(row)
        log(row.line())

    def skip(model: str, backend: Backend | None, precision: Precision | None, reason: str) -> None:
        result.skipped.append(Skipped(model, backend, precision, reason))
        log(result.skipped[-1].line())

    def note_training(item: str, weights: Path) -> None:
        if (overlap := training_overlap(data, dataset, weights, n)) is not None:
            result.trained_on[item] = overlap
            log(f"{item}: {overlap.line()}")

    names = set(list_models())
    for item in models:
        artifact = None if item in names else Path(item).name
        if artifact is not None and not _is_weights_file(item):  # an exported artifact runs as it was exported
            note_training(item, Path(item))
            for backend in backends:
                try:
                    seg = edgeseg.load(item, backend=backend, device=device)
                except EdgesegError as e:  # this artifact cannot run on that back end here
                    skip(item, backend, None, str(e))
                    continue
                with seg:
                    if seg.runner.precision not in precisions:
                        skip(item, backend, seg.runner.precision, f"not among `precisions` {','.join(precisions)}")
                    else:
                        run(seg, artifact)
            continue
        try:  # a registered name (its bundled weights) or a weights file: measured at every precision, like a model
            if artifact is None:
                src = resolve_model(item)
                manifest, model, file = src.manifest, src.model(), src.weights
            else:
                manifest, file = resolve_artifact(item)
                model = model_from_weights(file, manifest)
            if file is not None:
                note_training(item, file)
            manifest = with_input_size(manifest, input_size)
        except ArtifactError as e:
            skip(item, None, None, str(e))
            continue
        for backend in backends:
            for precision in precisions:
                reason = why_not_from_weights(backend, precision, cuda)
                if reason:
                    skip(item, backend, precision, reason)
                    continue
                # a copy each: the torch back end may move its model to the GPU, an export needs it where it was
                with Segmenter.from_model(copy.deepcopy(model), manifest, backend=backend, device=device, precision=precision) as seg:
                    run(seg, artifact)
    if not result.rows:
        raise InputError("nothing could be measured here (every combination was skipped; see the lines above)")
    return result
