"""Which operators of an ONNX graph TensorRT's ONNX parser cannot import.

The parser's support matrix is kept as data in trt_onnx_ops.json (copied from onnx-tensorrt's
docs/operators.md, with its TensorRT version). Besides the operator names, one restriction is
checked structurally because it is the one our models hit: a MaxPool that also outputs Indices.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator

import onnx

MAXPOOL_INDICES = "MaxPool(Indices)"
_DEFAULT_DOMAINS = ("", "ai.onnx")


@lru_cache(maxsize=1)
def trt_op_table() -> dict:
    """The parsed trt_onnx_ops.json: source, tensorrt_version, supported, unsupported, restrictions."""
    return json.loads(resources.files("edgeseg.export").joinpath("trt_onnx_ops.json").read_text())


def _nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node, including those in If/Loop/Scan subgraphs."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _nodes(g)


def unsupported_ops(model: onnx.ModelProto | str | Path) -> set[str]:
    """Operators TensorRT's ONNX parser rejects; other domains appear as 'domain::Op'."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model), load_external_data=False)
    supported = set(trt_op_table()["supported"])
    found: set[str] = set()
    for node in _nodes(model.graph):
        if node.domain not in _DEFAULT_DOMAINS:
            found.add(f"{node.domain}::{node.op_type}")
        elif node.op_type not in supported:
            found.add(node.op_type)
        elif node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
            found.add(MAXPOOL_INDICES)
    return found
