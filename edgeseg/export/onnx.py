"""ONNX export (opset >= 17) with max-unpool in one of two forms.

- ``native``: ONNX ``MaxPool`` with its Indices output feeding ``MaxUnpool``. ONNX Runtime runs it;
  TensorRT needs a plugin. PyTorch has no ``max_unpool2d`` symbolic, and its own
  ``max_pool2d_with_indices`` symbolic converts ONNX's indices (flattened over the whole NCHW
  tensor) to PyTorch's (per HxW plane) with a second pooling and a subtraction. Inside
  `native_unpool_symbolics` both are replaced: the pool emits a bare ``MaxPool`` and its indices,
  in ONNX's convention, go straight into ``MaxUnpool``. That is correct only if nothing else reads
  the indices, which `export_onnx` checks on the exported graph.
- ``decomposed``: the pool/unpool modules switch to ArgMax over each 2x2 window and a one-hot
  scatter (edgeseg.layers.unpool), all on TensorRT's ONNX-parser list.

The legacy TorchScript-based exporter (``dynamo=False``) is used: it takes seconds where the
``torch.export`` one takes much longer, and it is where a custom symbolic can be registered.
"""
from __future__ import annotations

import io
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

import onnx
import torch
import torch.nn as nn

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.errors import ArtifactError, InputError
from edgeseg.export import check_input_size, example_input, export_size, stamp_manifest
from edgeseg.export.opcheck import unsupported_ops
from edgeseg.export.rewrite import REWRITES
from edgeseg.fileio import write_bytes
from edgeseg.layers.unpool import MODULE_FORMS, UnpoolForm, unpool_mode, uses_unpool
from edgeseg.manifest import Manifest

MIN_OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def _pool_with_indices(g, x, kernel_size, stride, padding, dilation, ceil_mode):
    from torch.onnx import symbolic_helper as sh

    kernel = sh._get_const(kernel_size, "is", "kernel_size")
    stride = sh._get_const(stride, "is", "stride") or kernel
    padding = sh._get_const(padding, "is", "padding")
    dilation = sh._get_const(dilation, "is", "dilation")
    ceil = sh._get_const(ceil_mode, "i", "ceil_mode")
    return g.op(
        "MaxPool", x, outputs=2,
        kernel_shape_i=kernel, strides_i=stride, pads_i=list(padding) * 2, dilations_i=dilation, ceil_mode_i=ceil,
    )


def _max_unpool(g, x, indices, output_size):
    """MaxUnpool with an explicit (N, C, H, W) output_shape; kernel and strides come from the paired MaxPool."""
    from torch.onnx import symbolic_helper as sh

    pool = indices.node()
    if pool.kind() != "onnx::MaxPool":
        raise ArtifactError(
            f"max_unpool2d's indices come from {pool.kind()}, not straight from a max pool: "
            "the native ONNX form cannot export this model; use unpool='decomposed'"
        )
    if sh._is_packed_list(output_size):  # sizes traced from tensor shapes: stay dynamic
        hw = [g.op("Cast", sh._unsqueeze_helper(g, v, [0]), to_i=onnx.TensorProto.INT64) for v in sh._unpack_list(output_size)]
    else:
        hw = [g.op("Constant", value_t=torch.tensor(sh._get_const(output_size, "is", "output_size"), dtype=torch.int64))]
    nc = g.op("Slice", g.op("Shape", x), g.op("Constant", value_t=torch.tensor([0])), g.op("Constant", value_t=torch.tensor([2])))
    shape = g.op("Concat", nc, *hw, axis_i=0)
    ints = getattr(pool, "is")  # Node.is(name) reads an int-list attribute; `is` is a Python keyword
    return g.op("MaxUnpool", x, indices, shape, kernel_shape_i=ints("kernel_shape"), strides_i=ints("strides"))


_NATIVE_SYMBOLICS = {"aten::max_pool2d_with_indices": _pool_with_indices, "aten::max_unpool2d": _max_unpool}


@contextmanager
def native_unpool_symbolics(opset: int) -> Iterator[None]:
    """Register the native-form symbolics for one export; PyTorch's own come back afterwards."""
    registered = []
    try:
        for name, fn in _NATIVE_SYMBOLICS.items():
            torch.onnx.register_custom_op_symbolic(name, fn, opset)
            registered.append(name)
        yield
    finally:
        for name in registered:
            torch.onnx.unregister_custom_op_symbolic(name, opset)


def _check_indices_only_unpooled(graph: onnx.GraphProto) -> None:
    """In the native form MaxPool's indices follow ONNX's convention: only MaxUnpool may read their values."""
    indices = {n.output[1] for n in graph.node if n.op_type == "MaxPool" and len(n.output) > 1 and n.output[1]}
    for n in graph.node:
        for i, name in enumerate(n.input):
            if name in indices and n.op_type != "Shape" and not (n.op_type == "MaxUnpool" and i == 1):
                raise ArtifactError(f"MaxPool indices {name!r} feed {n.op_type}: the native unpool form cannot export this model")
    if indices & {o.name for o in graph.output}:
        raise ArtifactError("the model returns max-pool indices: the native unpool form cannot export it")


def onnx_bytes(
    model: nn.Module,
    input_size: tuple[int, int],
    unpool: UnpoolForm | str = UnpoolForm.NATIVE,
    dynamic: bool = False,
    opset: int = MIN_OPSET,
    batch: int = 1,
) -> bytes:
    """Export `model` (put in eval mode for the call) to a checked ONNX model, returned as bytes.

    A static export fixes the batch at `batch`; a dynamic one leaves batch, height and width free.
    """
    if opset < MIN_OPSET:
        raise InputError(f"opset must be >= {MIN_OPSET}, got {opset}")
    unpool = UnpoolForm.of(unpool, "unpool", MODULE_FORMS)
    input_size = check_input_size(model, input_size)
    axes = {0: "batch", 2: "height", 3: "width"}
    was_training = model.training
    buf = io.BytesIO()
    try:
        with unpool_mode(model.eval(), unpool), warnings.catch_warnings():
            # The legacy exporter announces its own deprecation on every call; that is a choice made above.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")  # reversed pad lists; harmless
            with native_unpool_symbolics(opset) if unpool is UnpoolForm.NATIVE else nullcontext():
                torch.onnx.export(
                    model, (example_input(input_size, batch),), buf,
                    dynamo=False, opset_version=opset, do_constant_folding=True,
                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes} if dynamic else None,
                )
    finally:
        model.train(was_training)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    if unpool is UnpoolForm.NATIVE:
        _check_indices_only_unpooled(proto.graph)
    return buf.getvalue()


def export_onnx(
    model: nn.Module,
    path: str | Path,
    input_size: tuple[int, int] | None = None,
    unpool: UnpoolForm | str = UnpoolForm.NATIVE,
    dynamic: bool = False,
    opset: int = MIN_OPSET,
    manifest: Manifest | None = None,
    optimize: bool = False,
) -> Path:
    """Write `model` as ONNX to `path` (atomically) and its manifest to `<path>.json`.

    `input_size` (H, W) defaults to the manifest's. With `dynamic`, batch, height and width are
    free in the graph; `input_size` is then the size it was traced at and the manifest's default.
    `optimize` applies edgeseg.export.rewrite (a deployable file, fast on any runtime); the INT8
    pipeline leaves it off, because its calibration tables name the tensors of the exporter's graph.
    """
    input_size = export_size(input_size, manifest, "export_onnx")
    unpool = UnpoolForm.of(unpool, "unpool", MODULE_FORMS)
    data = onnx_bytes(model, input_size, unpool, dynamic, opset)
    if optimize:
        from edgeseg.export.rewrite import optimize_onnx

        data = optimize_onnx(data)
    path = Path(path)
    write_bytes(path, data)
    proto = onnx.load_from_string(data)
    num_classes = proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value
    bad = sorted(unsupported_ops(proto))
    if bad and unpool is UnpoolForm.DECOMPOSED:
        warnings.warn(f"{path.name}: operators TensorRT's ONNX parser does not support: {', '.join(bad)}", stacklevel=2)
    fields = dict(dynamic=dynamic, opset=opset, unpool=unpool if uses_unpool(model) else None)
    extra = {"tensorrt_unsupported_ops": bad, "rewrites": list(REWRITES) if optimize else []}
    stamp_manifest(manifest, model, path, ArtifactFormat.ONNX, check_input_size(model, input_size), num_classes, extra, **fields)
    return path
