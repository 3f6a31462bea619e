"""The graphs a build folder holds beside model.onnx: the plugin form, the INT8 Q/DQ graph and the
FP16 graph a strongly typed (TensorRT 11) build needs."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Callable

import onnx
import torch.nn as nn

from edgeseg.fileio import write_bytes
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.manifest import Manifest
from edgeseg.plugins import UnpoolPlugin
from edgeseg.precision import Precision

Log = Callable[[str], None]


def plugin_graph(native: Path, path: Path, plugin: UnpoolPlugin | None) -> Path:
    """`native` with each MaxPool/MaxUnpool pair rewritten as edgeseg's plugin node."""
    from edgeseg.plugins.onnx_rewrite import to_plugin_graph

    graph, _ = to_plugin_graph(onnx.load(str(native)), aot=plugin is UnpoolPlugin.QDP_AOT)
    write_bytes(path, graph.SerializeToString())
    return path


def int8_graph(fp32: Path, out: Path, recipe, calibration, max_images: int | None, log: Log) -> Path:
    """The Q/DQ graph of `fp32` (same unpool form), calibrated by edgeseg.quant on `calibration`
    (edgeseg.quant.workflow.CalibrationData of `recipe`) as `edgeseg calibrate` does."""
    from edgeseg.quant import workflow

    src = workflow.Source(recipe, Manifest.load(fp32), onnx=fp32)
    opts = workflow.Options(data=calibration.root, calib=calibration.calib_path, max_images=max_images, progress=False)
    outcome = workflow.calibrate(src, out / "calibration", opts, log=log)
    int8 = out / "model.int8.onnx"
    write_bytes(int8, outcome.files["int8"].read_bytes())
    Manifest.load(outcome.files["int8"]).save(int8)  # same bytes, so the same manifest and hash
    log(f"wrote {int8} (val mIoU FP32 {outcome.fp32_miou:.2f}, INT8 {outcome.int8_miou:.2f}, through ONNX Runtime)")
    return int8


def fp16_graph(model: nn.Module, path: Path, size, form: UnpoolForm, dynamic: bool, base: Manifest) -> Path:
    """FP16 weights and activations with FP32 input and output: what a strongly typed (TensorRT 11)
    FP16 build takes, since precision can no longer be asked of the builder."""
    from edgeseg.export.onnx import export_onnx

    half = _HalfPrecision(copy.deepcopy(model))
    return export_onnx(half, path, size, unpool=form, dynamic=dynamic, manifest=dataclasses.replace(base, precision=Precision.FP16))


class _HalfPrecision(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.half()
        self.size_divisor = getattr(model, "size_divisor", 1)

    def forward(self, x):
        return self.model(x.half()).float()
