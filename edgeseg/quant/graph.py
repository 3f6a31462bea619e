"""The FP32 graph every INT8 step works on, and small queries over it.

`prepare` runs ONNX Runtime's own quantization pre-processing (shape inference, then its
*basic* graph optimisations: constant folding, Conv+BatchNorm folding, Identity/Dropout removal).
Basic-level rewrites produce standard ONNX operators only, so the result still parses in
TensorRT; folding BatchNorm first matters because weights are quantized after the fold, the way
TensorRT folds them itself. Tensor and node names of this graph are the ones the scales, the
TensorRT calibration cache and the precision map refer to.
"""
from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from edgeseg._optional import require

FLOAT = TensorProto.FLOAT


def load(model: onnx.ModelProto | bytes | str | Path) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes):
        return onnx.load_from_string(model)
    return onnx.load(str(model))


def prepare(model: onnx.ModelProto | bytes | str | Path) -> onnx.ModelProto:
    """Shape-inferred, BatchNorm-folded FP32 graph with a unique name on every node."""
    require("onnxruntime", "INT8 calibration")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="edgeseg-quant-") as tmp:
        out = Path(tmp) / "prepared.onnx"
        # Symbolic shape inference is for dynamic transformer graphs; ours have static shapes.
        quant_pre_process(load(model), str(out), skip_symbolic_shape=True)
        prepared = onnx.load(str(out))
    # the optimiser imports every domain it knows; keep those the nodes use
    used = {n.domain for n in prepared.graph.node} | {""}
    keep = [o for o in prepared.opset_import if o.domain in used or (o.domain == "ai.onnx")]
    del prepared.opset_import[:]
    prepared.opset_import.extend(keep)
    seen: set[str] = set()
    for i, node in enumerate(prepared.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)
    return prepared


def initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in model.graph.initializer}


def constant_names(model: onnx.ModelProto) -> set[str]:
    """Initializers and outputs of Constant nodes: tensors that never need an activation scale."""
    names = set(initializers(model))
    names.update(o for n in model.graph.node if n.op_type == "Constant" for o in n.output)
    return names


def elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor shape inference typed (graph inputs, outputs, value_info)."""
    g = model.graph
    return {v.name: v.type.tensor_type.elem_type for v in [*g.input, *g.value_info, *g.output]}


def shapes(model: onnx.ModelProto) -> dict[str, tuple]:
    g = model.graph
    out = {}
    for v in [*g.input, *g.value_info, *g.output]:
        dims = v.type.tensor_type.shape.dim
        out[v.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    return out


def float_activations(model: onnx.ModelProto) -> list[str]:
    """Float32 tensors computed at run time (graph inputs and node outputs), in graph order."""
    types, consts = elem_types(model), constant_names(model)
    names = [i.name for i in model.graph.input if i.name not in consts]
    names += [o for n in model.graph.node for o in n.output if o]
    return [t for t in dict.fromkeys(names) if types.get(t) == FLOAT and t not in consts]


def producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {o: n for n in model.graph.node for o in n.output}


def consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for n in model.graph.node:
        for name in dict.fromkeys(n.input):
            if name:
                out[name].append(n)
    return out


def tensor_bytes(shape: tuple) -> int:
    """float32 size of a tensor of this shape; unknown dimensions count as 1."""
    return 4 * int(np.prod([d or 1 for d in shape]))
