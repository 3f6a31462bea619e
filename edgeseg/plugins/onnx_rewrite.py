"""Native ONNX graph -> the graph TensorRT builds with the max-unpool plugin.

Every ``MaxPool`` (with Indices) -> ``MaxUnpool`` pair becomes a plain ``MaxPool`` (which TensorRT
parses) and a ``MaxUnpoolFromSource(values, source)`` node in the ``edgeseg`` domain, named and
attributed so TensorRT's ONNX parser imports it from the plugin registry (op type = plugin name,
``plugin_namespace``, ``plugin_version``, and ``aot`` for the tensorrt.plugin ahead-of-time
kernel). Why that operator equals the pair: edgeseg.plugins.
"""
from __future__ import annotations

import onnx
from onnx import helper

from edgeseg.errors import ArtifactError
from edgeseg.plugins import PLUGIN_NAME, PLUGIN_NAMESPACE, PLUGIN_VERSION


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _window(pool: onnx.NodeProto, unpool: onnx.NodeProto) -> tuple[int, int]:
    """The pair's (kh, kw), or ArtifactError if the plugin cannot express the pair exactly."""
    p, u = _attrs(pool), _attrs(unpool)
    kernel = list(p.get("kernel_shape", []))
    where = f"MaxPool {pool.name!r} / MaxUnpool {unpool.name!r}"
    if len(kernel) != 2:
        raise ArtifactError(f"{where}: the max-unpool plugin handles 2-D pooling only, got kernel {kernel}")
    problems = []
    if list(p.get("strides", kernel)) != kernel or list(u.get("strides", kernel)) != kernel:
        problems.append("stride must equal the kernel (non-overlapping windows)")
    if any(p.get("pads", [0])) or any(u.get("pads", [0])) or p.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        problems.append("no padding")
    if any(d != 1 for d in p.get("dilations", [1, 1])) or p.get("ceil_mode", 0) or p.get("storage_order", 0):
        problems.append("no dilation, floor mode, row-major indices")
    if list(u.get("kernel_shape", [])) != kernel:
        problems.append("MaxUnpool's kernel must be MaxPool's")
    if problems:
        raise ArtifactError(f"{where} cannot become the max-unpool plugin ({'; '.join(problems)}); build with `unpool`=decomposed")
    return kernel[0], kernel[1]


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape, for the tensors whose shape is fully known."""
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    out = {}
    for v in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = v.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            out[v.name] = tuple(d.dim_value for d in dims)
    return out


def to_plugin_graph(model: onnx.ModelProto, aot: bool = True) -> tuple[onnx.ModelProto, int]:
    """A copy of a native-form `model` with each pool/unpool pair rewritten; returns it and the
    number of pairs. `aot` asks the parser for the tensorrt.plugin ahead-of-time kernel (the C++
    plugin ignores the attribute).

    The plugin's output takes the source's height and width. Where the graph's shapes are static
    this is checked against MaxUnpool's output_shape; in a dynamic graph it is what edgeseg's
    MaxUnpool layers do (they unpool to the pooled tensor's size).
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    shapes = _static_shapes(model)
    pools: dict[str, onnx.NodeProto] = {}  # indices name -> its MaxPool
    for i, node in enumerate(graph.node):
        if node.op_type != "MaxUnpool":
            continue
        pool = producer.get(node.input[1])
        if pool is None or pool.op_type != "MaxPool" or len(pool.output) < 2 or pool.output[1] != node.input[1]:
            raise ArtifactError(f"MaxUnpool {node.name!r} takes indices that are not a MaxPool's Indices output; build with `unpool`=decomposed")
        kh, kw = _window(pool, node)
        source, out = pool.input[0], node.output[0]
        if source in shapes and out in shapes and shapes[source][2:] != shapes[out][2:]:
            raise ArtifactError(f"MaxUnpool {node.name!r} unpools to {shapes[out][2:]}, not to the pooled tensor's {shapes[source][2:]}: the plugin cannot express that")
        attrs = dict(kernel_h=kh, kernel_w=kw, plugin_namespace=PLUGIN_NAMESPACE, plugin_version=PLUGIN_VERSION)
        if aot:
            attrs["aot"] = 1
        plugin = helper.make_node(PLUGIN_NAME, [node.input[0], source], [out], name=node.name or f"{PLUGIN_NAME}_{i}", domain=PLUGIN_NAMESPACE, **attrs)
        graph.node[i].CopyFrom(plugin)
        pools[pool.output[1]] = pool
    for indices, pool in pools.items():
        # Shape(indices) == Shape(values): dynamic exports size the unpooling from it
        for node in graph.node:
            for j, name in enumerate(node.input):
                if name == indices:
                    if node.op_type != "Shape":
                        raise ArtifactError(f"MaxPool indices {indices!r} feed {node.op_type}: the plugin graph cannot keep them")
                    node.input[j] = pool.output[0]
        del pool.output[1]
    _drop_dead_nodes(graph)
    produced = {o for n in graph.node for o in n.output}
    kept = [v for v in graph.value_info if v.name in produced]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    if pools and not any(o.domain == PLUGIN_NAMESPACE for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(PLUGIN_NAMESPACE, int(PLUGIN_VERSION)))
    onnx.checker.check_model(model)
    return model, len(pools)


def _drop_dead_nodes(graph: onnx.GraphProto) -> None:
    """Remove nodes none of whose outputs is read (the old output_shape arithmetic)."""
    while True:
        read = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o and o in read for o in n.output)]
        if not dead:
            return
        for node in dead:
            graph.node.remove(node)
