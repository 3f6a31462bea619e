"""The CPU-only INT8 form: unsigned activations, for ONNX Runtime's x86 integer kernels.

TensorRT needs signed, zero-point-0 activations (`qdq.insert_qdq`). ONNX Runtime on x86 fuses
DQ -> Conv -> Q into QLinearConv only for uint8 activations (its `session.qdqisint8allowed`
defaults to off outside ARM; forcing it on was 6x slower here), wants Q/DQ on every operator's
output, drops a Relu or Clip before a Q only when the zero point sits at the bottom of the range,
and needs an INT32 bias. That is ONNX Runtime's own QDQ quantizer's placement, so this form is
made by `onnxruntime.quantization.quantize_static`, fed with our ranges (a calibration cache, so
it never calibrates itself): a tensor that is never negative gets [0, amax] (uint8, zero point 0,
all 256 levels), any other [-amax, amax] (zero point 128, still symmetric). The scales come from
the same calibrator as the TensorRT form; the graph is NOT TensorRT-compatible.
"""
from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx

from edgeseg._optional import require
from edgeseg.quant import graph
from edgeseg.quant.stats import ActivationStats


def cpu_ranges(stats: ActivationStats, amax: dict[str, float]) -> dict[str, tuple[float, float]]:
    """(low, high) per tensor: [0, amax] for tensors never seen negative, else [-amax, amax]."""
    return {t: (0.0 if stats[t].minimum >= 0 else -a, a) for t, a in amax.items() if t in stats}


def cpu_qdq(model: onnx.ModelProto, stats: ActivationStats, amax: dict[str, float], exclude=frozenset()) -> onnx.ModelProto:
    """The unsigned-activation QDQ graph of a prepared FP32 `model` (ONNX Runtime CPU only)."""
    require("onnxruntime", "INT8 quantization")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    ranges = cpu_ranges(stats, amax)
    data = TensorsData(CalibrationMethod.MinMax, {
        t: TensorData(lowest=np.float32(lo), highest=np.float32(hi)) for t, (lo, hi) in ranges.items()
    })
    with tempfile.TemporaryDirectory(prefix="edgeseg-quant-") as tmp, _quiet_root_logger():
        cache, out = Path(tmp) / "ranges.json", Path(tmp) / "cpu.onnx"
        save_tensors_data(data, cache)
        quantize_static(
            graph.load(model), str(out), calibration_data_reader=None, calibration_cache_path=str(cache),
            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=sorted(exclude), calibrate_method=CalibrationMethod.MinMax,
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
        )
        return onnx.load(str(out))


@contextmanager
def _quiet_root_logger():
    """quantize_static logs advice through the root logger (per-channel axis of a BatchNorm's
    1-D scale, pre-processing hints) that says nothing about our graph."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
