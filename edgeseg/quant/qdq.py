"""Q/DQ insertion in TensorRT's explicit-quantization placement.

What gets QuantizeLinear/DequantizeLinear (TensorRT developer guide, "Q/DQ layer-placement
recommendations"):
- the activation input and the weights of every weighted layer (Conv, ConvTranspose, Gemm,
  MatMul with constant weights): weights per output channel, symmetric INT8 in an int8
  initializer feeding a DequantizeLinear; bias stays float (TensorRT does not dequantize INT32);
- the residual input of an Add: when one input of an Add is the sole output of a quantized
  weighted layer, that input is left float so TensorRT fuses the layer, the add and the activation
  into one INT8 kernel; the other inputs are quantized (TensorRT guide figures 6-7);
- the inputs of a Concat whose output is quantized, with the output's scale;
- tensors that meet at an Add or a Concat share one scale (the largest amax of the group), so the
  add or concat runs on INT8 without requantizing;
- nothing on a graph output: logits stay float.
Activations are signed INT8, zero point 0, scale = amax / 127: the only form TensorRT accepts.

Layers named in `exclude` keep float inputs and weights (TensorRT runs them in FP16/FP32).

ONNX Runtime's own QDQ quantizer places Q/DQ on the outputs of every quantized operator and
around Relu/Clip, which is what its CPU kernels need but not what TensorRT fuses best; ModelOpt
reaches TensorRT's placement by patching that quantizer and editing its output. Writing the
insertion here keeps the rules above explicit. The CPU-only form (`cpu.py`) does use ONNX
Runtime's quantizer, fed with the same scales.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeseg.errors import InputError
from edgeseg.quant import graph

QMAX = 127
WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def weight_axis(node: onnx.NodeProto) -> int:
    """Axis of the weight tensor that indexes output channels."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1  # (Cin, Cout/groups, kh, kw)
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return 1  # MatMul (K, N)


def weighted_layers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Weighted nodes whose weights are initializers: the layers INT8 can quantize."""
    inits = graph.initializers(model)
    return [n for n in model.graph.node if n.op_type in WEIGHTED_OPS and len(n.input) > 1 and n.input[1] in inits]


def tensorrt_int8_unsupported(model: onnx.ModelProto) -> set[str]:
    """Convolutions TensorRT has no INT8 kernel for, which stay float.

    The rule NVIDIA's ModelOpt applies before quantizing for TensorRT: a Conv with fewer than 16
    input or output channels is kept in INT8 only when it is ungrouped, has a square kernel, one of
    its channel counts is a multiple of 8 and it either reads the graph input or has 16+ channels
    on the other side; a grouped one only with output channels a multiple of 8 and kernels >= 3.
    (ENet's 3->13 initial conv and the 4-channel 3x3s of its last bottleneck are such layers.)
    """
    inits, graph_inputs = graph.initializers(model), {i.name for i in model.graph.input}
    out = set()
    for n in weighted_layers(model):
        if n.op_type != "Conv":
            continue
        cout, cin = inits[n.input[1]].dims[:2]
        if cout >= 16 and cin >= 16:
            continue
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        kernel = list(inits[n.input[1]].dims[2:])
        if group == 1:
            ok = (cout % 8 == 0 or cin % 8 == 0) and (n.input[0] in graph_inputs or cout >= 16 or cin >= 16) and len(set(kernel)) == 1
        else:
            ok = cout % 8 == 0 and all(k >= 3 for k in kernel)
        if not ok:
            out.add(n.name)
    return out


@dataclass
class Plan:
    """Where Q/DQ go: (node, input slot) edges per activation tensor, weights per layer, scale groups."""

    layers: list[str] = field(default_factory=list)  # quantized weighted nodes
    edges: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # tensor -> consumer slots
    group_of: dict[str, int] = field(default_factory=dict)  # tensor -> scale group id

    @property
    def tensors(self) -> list[str]:
        return list(self.edges)

    def groups(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for t, g in self.group_of.items():
            out.setdefault(g, []).append(t)
        return out


class _Groups:
    """Union-find over tensor names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, t: str) -> str:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def plan(model: onnx.ModelProto, exclude: set[str] | frozenset[str] = frozenset()) -> Plan:
    """Decide the placement for a prepared FP32 graph; `exclude` names layers kept in float."""
    layers = [n for n in weighted_layers(model) if n.name not in exclude]
    unknown = set(exclude) - {n.name for n in weighted_layers(model)}
    if unknown:
        raise InputError(f"cannot keep unknown layers in float: {', '.join(sorted(unknown))}")
    consts, prod, cons = graph.constant_names(model), graph.producers(model), graph.consumers(model)
    outputs = {o.name for o in model.graph.output}
    p = Plan(layers=[n.name for n in layers])
    groups = _Groups()

    def quantize(tensor: str, node: onnx.NodeProto, slot: int) -> None:
        p.edges.setdefault(tensor, []).append((node.name, slot))
        groups.find(tensor)

    for n in layers:
        quantize(n.input[0], n, 0)
    quantized_layers = {n.name for n in layers}

    all_layers = {n.name for n in weighted_layers(model)}

    def fusible(tensor: str) -> bool:
        src = prod.get(tensor)
        return src is not None and src.name in all_layers and len(cons[tensor]) == 1 and tensor not in outputs

    for n in model.graph.node:
        if n.op_type != "Add":
            continue
        live = [(i, t) for i, t in enumerate(n.input) if t and t not in consts]
        if len(live) < 2:
            continue
        fused = next((i for i, t in live if fusible(t)), None)
        rest = [(i, t) for i, t in live if i != fused]
        if fused is not None and prod[n.input[fused]].name not in quantized_layers:
            continue  # the add fuses into a float layer: its residual gains nothing from INT8
        if fused is None and not any(t in p.edges for _, t in live) and not _feeds_quantized(n, cons, p):
            continue  # an add between float tensors whose result nobody quantizes: leave it float
        for i, t in rest:
            quantize(t, n, i)
        for (_, a), (_, b) in zip(rest, rest[1:]):
            groups.union(a, b)

    for n in model.graph.node:
        if n.op_type == "Concat" and n.output[0] in p.edges:
            for i, t in enumerate(n.input):
                if t not in consts:
                    quantize(t, n, i)
                    groups.union(t, n.output[0])

    roots: dict[str, int] = {}
    for t in p.edges:
        p.group_of[t] = roots.setdefault(groups.find(t), len(roots))
    return p


def _feeds_quantized(node: onnx.NodeProto, cons: dict, p: Plan) -> bool:
    """Whether the node's output goes (through at most one activation) into a quantized input."""
    out = node.output[0]
    if out in p.edges:
        return True
    return any(c.op_type in ("Relu", "PRelu", "Clip", "LeakyRelu") and c.output[0] in p.edges for c in cons.get(out, []))


def group_amax(p: Plan, amax: dict[str, float]) -> dict[str, float]:
    """amax per quantized tensor after taking the largest over each shared-scale group."""
    missing = [t for t in p.tensors if t not in amax]
    if missing:
        raise InputError(f"no calibration range for {len(missing)} tensors, e.g. {missing[:3]}; recollect the statistics")
    best = {g: max(amax[t] for t in ts) for g, ts in p.groups().items()}
    return {t: best[p.group_of[t]] for t in p.tensors}


def quantize_weights(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel symmetric INT8: (int8 weights, float32 scale per channel along `axis`)."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    amax = np.abs(moved).max(1)
    scale = np.where(amax > 0, amax / QMAX, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -QMAX, QMAX).astype(np.int8)
    return q, scale


def insert_qdq(model: onnx.ModelProto, amax: dict[str, float], exclude: set[str] | frozenset[str] = frozenset()) -> onnx.ModelProto:
    """The TensorRT-form INT8 graph of a prepared FP32 `model` with activation ranges `amax`."""
    p = plan(model, exclude)
    ranges = group_amax(p, amax)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    inits = graph.initializers(out)
    by_name = {n.name: n for n in g.node}
    new_inits: list[TensorProto] = []
    pending: dict[str, list[onnx.NodeProto]] = {}  # consumer node name -> Q/DQ nodes to emit before it

    for t, slots in p.edges.items():
        scale, zero = f"{t}_scale", f"{t}_zero_point"
        new_inits += [numpy_helper.from_array(np.array(ranges[t] / QMAX, np.float32), scale),
                      numpy_helper.from_array(np.array(0, np.int8), zero)]
        q = helper.make_node("QuantizeLinear", [t, scale, zero], [f"{t}_quantized"], name=f"{t}_QuantizeLinear")
        dq = helper.make_node("DequantizeLinear", [f"{t}_quantized", scale, zero], [f"{t}_dequantized"], name=f"{t}_DequantizeLinear")
        first = min((name for name, _ in slots), key=[n.name for n in g.node].index)
        pending.setdefault(first, []).extend([q, dq])
        for name, slot in slots:
            by_name[name].input[slot] = dq.output[0]

    done_weights: dict[str, str] = {}
    for name in p.layers:
        node = by_name[name]
        w = node.input[1]
        if w not in done_weights:
            qw, scale = quantize_weights(numpy_helper.to_array(inits[w]), weight_axis(node))
            new_inits += [numpy_helper.from_array(qw, f"{w}_quantized"), numpy_helper.from_array(scale, f"{w}_scale"),
                          numpy_helper.from_array(np.zeros_like(scale, np.int8), f"{w}_zero_point")]
            dq = helper.make_node("DequantizeLinear", [f"{w}_quantized", f"{w}_scale", f"{w}_zero_point"], [f"{w}_dequantized"],
                                  name=f"{w}_DequantizeLinear", axis=weight_axis(node))
            pending.setdefault(name, []).append(dq)
            done_weights[w] = dq.output[0]
        node.input[1] = done_weights[w]

    nodes = []
    for n in g.node:
        nodes += pending.get(n.name, [])
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    onnx.checker.check_model(out)
    return out


def precision_map(model: onnx.ModelProto, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """Every weighted layer of the prepared graph -> "int8" or "float"."""
    return {n.name: ("float" if n.name in exclude else "int8") for n in weighted_layers(model)}
