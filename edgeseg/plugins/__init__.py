"""Max-unpool for TensorRT: one operator, its reference, one kernel, three ways into an engine.

The index convention, in one place
----------------------------------
PyTorch's ``max_pool2d(return_indices=True)`` numbers each maximum within its own (H, W) plane
(``i = y * W + x``); ONNX's ``MaxPool`` Indices output and ``MaxUnpool`` number it over the whole
flattened NCHW tensor (``i = ((n * C + c) * H + y) * W + x``). The ``native`` ONNX export
(edgeseg.export.onnx) feeds ONNX-convention indices from ``MaxPool`` straight into ``MaxUnpool``
and checks that nothing else reads them. Both numberings name the same element, so both forms
agree with eager PyTorch (tests/test_unpool.py).

TensorRT's ONNX parser supports neither ``MaxUnpool`` nor ``MaxPool``'s Indices output, so no
index tensor can cross into an engine. The plugin therefore takes no indices at all:
``MaxUnpoolFromSource(values, source)`` recomputes each window's argmax from ``source`` (the
tensor the paired ``MaxPool`` pooled) and scatters ``values`` there, zeros elsewhere, into a
tensor of ``source``'s height and width. Because the export guarantees that the indices come
straight from a ``MaxPool`` of ``source`` and are read by nothing else, this equals
``MaxUnpool(values, MaxPool(source).Indices, shape(source))`` exactly, provided the argmax keeps
the first maximum in row-major window order, as PyTorch's CPU and CUDA kernels and ONNX Runtime
do (ties included; NaN is not handled). It also costs less than carrying indices: TensorRT's own
pooling stays, and no int64 tensor travels between layers. edgeseg.plugins.onnx_rewrite turns a
native graph into this form; edgeseg.plugins.reference holds the math every kernel is tested
against.

Non-overlapping windows only (stride == kernel, no padding, floor mode): what every edgeseg
model uses (2x2/2). Odd sizes work: rows and columns no window covers unpool to zeros.

Implementations: ``max_unpool.cu`` (the kernel, written once, CUDA C) is compiled to PTX and
baked into the engine by the ``tensorrt.plugin`` registration (AOT), or built into the C++
IPluginV3 library under cpp/ for C++ pipelines and trtexec; ``triton_kernel.py`` serves
TensorRT's JIT path and the GPU benchmark.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from edgeseg.precision import Precision
from edgeseg.textenum import TextEnum

PLUGIN_NAMESPACE = "edgeseg"
PLUGIN_NAME = "MaxUnpoolFromSource"
PLUGIN_VERSION = "1"
PLUGIN_ID = f"{PLUGIN_NAMESPACE}::{PLUGIN_NAME}"  # tensorrt.plugin's "namespace::name"
KERNEL_NAMES = {Precision.FP32: "edgeseg_max_unpool_f32", Precision.FP16: "edgeseg_max_unpool_f16"}
CPP_LIBRARY = "libedgeseg_trt_plugins.so"


class UnpoolPlugin(TextEnum):
    """How the max-unpool plugin reaches TensorRT (recorded in an engine's manifest)."""

    QDP_AOT = "qdp-aot"  # tensorrt.plugin, kernel baked into the engine: nothing to load at run time
    QDP_JIT = "qdp-jit"  # tensorrt.plugin, Triton kernel called from Python
    CPP = "cpp"  # the IPluginV3 library built from edgeseg/plugins/cpp

    @property
    def loads_at_run_time(self) -> bool:
        """An engine holding this form needs it registered before it deserializes."""
        return self is not UnpoolPlugin.QDP_AOT


def kernel_source_path() -> Path:
    """max_unpool.cu, shipped inside the package."""
    return Path(str(resources.files("edgeseg.plugins").joinpath("max_unpool.cu")))
