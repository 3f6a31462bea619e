"""What a built engine holds, read back through TensorRT's engine inspector: per-layer output
precisions and the I/O tensors, for the manifest."""
from __future__ import annotations

import json

import numpy as np


def inspect_engine(trt, logger, plan: bytes) -> tuple[dict, dict]:
    """(precision map, I/O description) of a serialized engine, from its inspector's JSON."""
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    io = {"inputs": {}, "outputs": {}}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        kind = "inputs" if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else "outputs"
        io[kind][name] = {"shape": list(engine.get_tensor_shape(name)), "dtype": np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name}
    info = json.loads(engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON))
    return precision_map_from_inspector(info), io


def precision_map_from_inspector(info: dict) -> dict:
    """{"layers": {name: output precision}, "counts": {precision: n}} from IEngineInspector JSON.

    TensorRT 10 writes an output's type as "Format/Datatype" ("Row major linear FP16 format");
    TensorRT 11 splits it into "Format" and "DataType".
    """
    layers = {}
    for layer in info.get("Layers", []):
        if not isinstance(layer, dict) or not layer.get("Outputs"):
            continue
        out = layer["Outputs"][0]
        dtype = out.get("DataType") or _dtype_word(out.get("Format/Datatype", ""))
        layers[layer.get("Name", f"layer{len(layers)}")] = dtype or "unknown"
    counts: dict[str, int] = {}
    for dtype in layers.values():
        counts[dtype] = counts.get(dtype, 0) + 1
    return {"layers": layers, "counts": counts}


def _dtype_word(text: str) -> str:
    for word in ("FP32", "FP16", "BF16", "Int8", "INT8", "FP8", "Int32", "INT32", "Int64", "INT64", "Bool", "BOOL"):
        if word in text:
            return word.upper()
    return ""
