"""Measuring one model x back end x precision: engine-only latency, end-to-end stream fps and mIoU,
all through one `Segmenter` on the same frames, so back ends differ only in the network itself.

- Engine only: `runner.infer` on one preprocessed frame, `warmup` calls, then `iters` timed calls.
- Stream: every frame through the threaded pipeline (edgeseg.stream) from memory, overlay
  rendered, nothing written: what a camera application gets, minus the camera. The frames are
  decoded before timing starts, so the figure is the pipeline's, not the PNG decoder's.
- mIoU: from the same stream pass, one confusion matrix over all its frames (void ignored).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import numpy as np

from edgeseg._optional import available
from edgeseg.report.table import BenchRow
from edgeseg.stream import Pipeline
from edgeseg.stream.sinks import Sink
from edgeseg.stream.sources import ArraySource
from edgeseg.stream.stats import LatencyHistogram

FROM_WEIGHTS = ("torch", "torchscript", "onnxruntime")  # back ends a model in memory runs on


def engine_latency(runner, x: np.ndarray, warmup: int, iters: int) -> LatencyHistogram:
    for _ in range(warmup):
        runner.infer(x)
    hist = LatencyHistogram()
    for _ in range(iters):
        t0 = time.perf_counter()
        runner.infer(x)
        hist.add(time.perf_counter() - t0)
    return hist


def measure(seg, frames: Sequence[np.ndarray], labels: Sequence[np.ndarray] | None, *, ignore_index: int | None, warmup: int = 10, iters: int = 50, name: str = "data", label: str | None = None) -> BenchRow:
    """Engine-only latency, then one stream pass over `frames` (BGR) scored against `labels`."""
    runner = seg.runner
    hist = engine_latency(runner, seg.preprocess(frames[0]), warmup, iters)
    report = Pipeline(seg, ArraySource(frames, labels, ignore_index=ignore_index, name=name), Sink()).run()
    report.raise_for_error()
    s = report.summary
    h, w = seg.input_size
    return BenchRow(
        model=label or seg.manifest.model, backend=runner.name, precision=runner.precision, device=runner.device, input_size=f"{h}x{w}",
        engine_p50_ms=hist.percentile(50) * 1e3, engine_p99_ms=hist.percentile(99) * 1e3, engine_fps=hist.count / hist.total,
        stream_fps=s["fps"], stream_p50_ms=s["latency_ms"]["end_to_end"]["p50"], miou=s["stream_miou"], images=s["frames"]["processed"],
        manifest_miou=seg.manifest.metrics.get("val_miou"),
    )


def why_not_from_weights(backend: str, precision: str, cuda: bool) -> str | None:
    """Why a model held as weights cannot be measured on `backend` at `precision` here; None if it can."""
    if backend == "tensorrt":
        if not available("tensorrt"):
            return "TensorRT is not installed here (on a Jetson it comes with JetPack)"
        return "TensorRT runs built engines: make one with `edgeseg build MODEL` and pass its folder to bench"
    if precision == "fp16":
        gpu = "" if cuda else "; this machine has no CUDA GPU either"
        return f"fp16 is a TensorRT engine precision, the {backend} back end runs a model's weights in fp32{gpu}"
    if precision == "int8":
        if backend == "onnxruntime":
            return "INT8 runs a calibrated Q/DQ graph: make one with `edgeseg build MODEL --int8` and pass build/MODEL/model.int8.onnx to bench"
        return f"the {backend} back end runs a model's weights in fp32; INT8 runs as Q/DQ ONNX (onnxruntime) or TensorRT"
    return None


def with_input_size(manifest, input_size: tuple[int, int] | None):
    return manifest if input_size is None else dataclasses.replace(manifest, input_size=tuple(input_size))
