"""Graph rewrites applied to an exported ONNX file so that any runtime, a plain
`onnxruntime.InferenceSession` included, runs it at full speed without edgeseg's runner.

- onnxslim (the optimiser the field uses, e.g. Ultralytics' exports): constant folding, dead-node
  removal, Conv+BatchNorm and Conv+Add/Mul folding. It emits standard operators only, so the graph
  still passes TensorRT's parser check (edgeseg.export.opcheck).
- `prelu_as_relu`: each PRelu becomes Relu(x) - slope * Relu(-x). ONNX Runtime's PRelu kernel
  (1.31, x86-64) is about 30x slower than those three kernels (11 ms against 0.33 ms on a
  1x64x90x120 tensor, one thread), which alone kept ENet, with 76 PReLUs, at eager PyTorch's speed.
"""
from __future__ import annotations

import onnx
from onnx import helper

from edgeseg._optional import require

REWRITES = ("onnxslim", "prelu_as_relu")  # in the order `optimize_onnx` applies them


def optimize_onnx(model: bytes) -> bytes:
    """Serialized ONNX model -> the same function with the rewrites above applied."""
    onnxslim = require("onnxslim", "optimising exported ONNX graphs")
    slim = onnxslim.slim(onnx.load_from_string(model))
    return prelu_as_relu(slim.SerializeToString())


def prelu_as_relu(model: bytes) -> bytes:
    """Serialized ONNX model with each top-level PRelu(x, slope) replaced by Max(x, slope * x) where
    the slope is a constant <= 1 (ENet's learned ones all are), else by Relu(x) - slope * Relu(-x).

    Both are exact in IEEE arithmetic. The second (up to the sign of a zero): for x > 0 it is
    x - slope * 0, for x < 0 it is 0 - slope * (-x), and NaN stays NaN.
    The model comes back unchanged (same bytes) when it has no PRelu.
    """
    proto = onnx.load_from_string(model)
    if not any(n.op_type == "PRelu" and n.domain in ("", "ai.onnx") for n in proto.graph.node):
        return model
    from onnx import numpy_helper

    slopes = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    nodes = []
    for n in proto.graph.node:
        if n.op_type != "PRelu" or n.domain not in ("", "ai.onnx"):
            nodes.append(n)
            continue
        (x, slope), y = n.input, n.output[0]
        t = f"{n.name or y}/prelu_as_relu"
        if slope in slopes and (slopes[slope] <= 1).all():
            # slope <= 1: PRelu(x) is the larger of x and slope * x (for x > 0 slope * x <= x, for
            # x < 0 slope * x >= x), the same product PRelu takes: 2 ops instead of 5
            nodes += [
                helper.make_node("Mul", [x, slope], [f"{t}/scaled"], name=f"{t}/mul"),
                helper.make_node("Max", [x, f"{t}/scaled"], [y], name=f"{t}/max"),
            ]
            continue
        nodes += [
            helper.make_node("Relu", [x], [f"{t}/pos"], name=f"{t}/relu_pos"),
            helper.make_node("Neg", [x], [f"{t}/neg_x"], name=f"{t}/neg"),
            helper.make_node("Relu", [f"{t}/neg_x"], [f"{t}/neg_part"], name=f"{t}/relu_neg"),
            helper.make_node("Mul", [f"{t}/neg_part", slope], [f"{t}/scaled"], name=f"{t}/mul"),
            helper.make_node("Sub", [f"{t}/pos", f"{t}/scaled"], [y], name=f"{t}/sub"),
        ]
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    return proto.SerializeToString()
