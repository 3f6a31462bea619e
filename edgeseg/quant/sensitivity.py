"""Which layers INT8 hurts most: quantize one layer at a time and score how far its predictions
move from the FP32 model's.

The score is 100 - fidelity, where fidelity is the mIoU of the INT8 class maps measured against
the FP32 class maps (no labels needed, so it runs on calibration images and never tunes on val).
Class-averaged, a layer that only damages a thin class (pole, sign) still ranks high, as it would
in mIoU.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import onnx

from edgeseg.eval.metrics import ConfusionMatrix
from edgeseg.precision import Precision
from edgeseg.quant import qdq


def _runner(model: onnx.ModelProto, precision: Precision, threads: int | None = None):
    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner

    return OnnxRuntimeRunner(model.SerializeToString(), threads=threads, precision=precision)


def class_maps(model: onnx.ModelProto, inputs: Sequence[np.ndarray], precision: Precision = Precision.FP32) -> list[np.ndarray]:
    with _runner(model, precision) as r:
        return [r.infer(x).argmax(1).astype(np.uint8) for x in inputs]


def fidelity(reference: Sequence[np.ndarray], maps: Sequence[np.ndarray], num_classes: int) -> float:
    """mIoU (%) of `maps` against `reference` taken as ground truth."""
    cm = ConfusionMatrix(num_classes)
    for ref, got in zip(reference, maps):
        cm.update(got, ref)
    return 100.0 * cm.miou()


def layer_sensitivity(
    model: onnx.ModelProto,
    amax: dict[str, float],
    inputs: Sequence[np.ndarray],
    num_classes: int,
    layers: Sequence[str] | None = None,
    on_layer: Callable[[int, int], None] | None = None,
) -> list[tuple[str, float]]:
    """(layer, score) for each weighted layer quantized alone, worst first."""
    all_layers = [n.name for n in qdq.weighted_layers(model)]
    layers = list(layers) if layers is not None else all_layers
    reference = class_maps(model, inputs)
    scores = []
    for i, name in enumerate(layers):
        alone = qdq.insert_qdq(model, amax, exclude=frozenset(all_layers) - {name})
        scores.append((name, 100.0 - fidelity(reference, class_maps(alone, inputs, Precision.INT8), num_classes)))
        if on_layer:
            on_layer(i + 1, len(layers))
    return sorted(scores, key=lambda s: -s[1])
