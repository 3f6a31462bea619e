"""A Triton Inference Server model repository from an edgeseg engine or ONNX graph, so one server
can serve many cameras (dynamic batching gathers their frames into batches).

    <out_dir>/<name>/config.pbtxt
    <out_dir>/<name>/1/model.plan | model.onnx
    <out_dir>/<name>/edgeseg.json     the artifact's manifest (classes, normalisation, hashes)

Triton runs the network only: clients do edgeseg's pre- and post-processing (the manifest says
how). A TensorRT plan is tied to the TensorRT version and GPU it was built for; the manifest's
check applies to the server as it does to `edgeseg.load`.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.errors import ArtifactError, InputError
from edgeseg.fileio import write_bytes, write_json, write_text
from edgeseg.manifest import Manifest

PLATFORMS = {ArtifactFormat.TENSORRT: ("tensorrt_plan", "model.plan"), ArtifactFormat.ONNX: ("onnxruntime_onnx", "model.onnx")}
TRITON_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "int8": "TYPE_INT8", "int32": "TYPE_INT32", "int64": "TYPE_INT64"}


def _onnx_io(path: Path) -> dict:
    """{"inputs"|"outputs": {name: {"shape": [...], "dtype": ...}}} of an ONNX graph; -1 for free dims."""
    import onnx
    from onnx import helper

    # inference fills output dims the exporter left symbolic where the input's are fixed
    graph = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False), data_prop=True).graph
    initializers = {i.name for i in graph.initializer}

    def describe(values):
        out = {}
        for v in values:
            if v.name in initializers:
                continue
            t = v.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
            out[v.name] = {"shape": dims, "dtype": str(helper.tensor_dtype_to_np_dtype(t.elem_type))}
        return out

    return {"inputs": describe(graph.input), "outputs": describe(graph.output)}


def _tensor_block(kind: str, name: str, spec: dict, batched: bool) -> str:
    dtype = TRITON_TYPES.get(spec["dtype"])
    if dtype is None:
        raise ArtifactError(f"{kind} {name!r} has type {spec['dtype']}, which this repository writer does not map to Triton")
    dims = spec["shape"][1:] if batched else spec["shape"]
    return f'  {{\n    name: "{name}"\n    data_type: {dtype}\n    dims: [ {", ".join(str(d) for d in dims)} ]\n  }}'


def config_pbtxt(name: str, platform: str, io: dict, max_batch: int, gpu: bool) -> str:
    """Triton's model configuration (protobuf text format)."""
    batched = max_batch > 0
    lines = [f'name: "{name}"', f'platform: "{platform}"', f"max_batch_size: {max_batch}"]
    lines.append("input [\n" + ",\n".join(_tensor_block("input", n, s, batched) for n, s in io["inputs"].items()) + "\n]")
    lines.append("output [\n" + ",\n".join(_tensor_block("output", n, s, batched) for n, s in io["outputs"].items()) + "\n]")
    if batched:
        lines.append("dynamic_batching {\n  max_queue_delay_microseconds: 2000\n}")
    lines.append(f"instance_group [\n  {{\n    count: 1\n    kind: {'KIND_GPU' if gpu else 'KIND_CPU'}\n  }}\n]")
    return "\n".join(lines) + "\n"


def write_triton_repo(onnx_or_engine_path: str | Path, out_dir: str | Path, manifest: Manifest, max_batch: int = 8,
                      name: str | None = None, version: int = 1, gpu: bool = True) -> Path:
    """Write the repository entry for one artifact; returns the model folder (<out_dir>/<name>).

    `max_batch` > 0 needs a graph or engine whose batch dimension is free (built with --dynamic /
    exported dynamic); 0 serves the fixed shape as it is. `gpu=False` serves an ONNX graph on
    the server's CPUs (an engine always runs on a GPU).
    """
    path = Path(onnx_or_engine_path)
    if not path.is_file():
        raise ArtifactError(f"{path} not found")
    fmt = ArtifactFormat.of_path(path.name)
    if fmt not in PLATFORMS:
        raise InputError(f"{path.name}: a Triton repository takes a TensorRT engine (.engine/.plan) or an ONNX graph (.onnx)")
    if fmt is ArtifactFormat.TENSORRT:
        if not gpu:
            raise InputError("a TensorRT engine runs on a GPU only: serve the ONNX graph for CPU instances")
        io = manifest.extra.get("io")
        if not io:
            raise ArtifactError(f"the manifest of {path.name} does not record the engine's inputs and outputs; rebuild it with `edgeseg build`")
    else:
        io = _onnx_io(path)
    if len(io["inputs"]) != 1 or len(io["outputs"]) != 1:
        raise ArtifactError(f"{path.name} has inputs {list(io['inputs'])} and outputs {list(io['outputs'])}; a segmentation model has one of each")
    if max_batch < 0:
        raise InputError(f"max_batch must be >= 0, got {max_batch}")
    batch_dim = next(iter(io["inputs"].values()))["shape"][0]
    if max_batch > 0 and batch_dim != -1:
        raise InputError(f"{path.name} has a fixed batch of {batch_dim}: export or build it with dynamic shapes, or use max_batch=0")
    if fmt is ArtifactFormat.TENSORRT and max_batch > 0:
        hi = manifest.extra.get("build", {}).get("flags", {}).get("dynamic")
        if hi and hi[2][0] < max_batch:
            raise InputError(f"the engine's optimisation profile allows batches up to {hi[2][0]}, not {max_batch}: rebuild with `dynamic` shapes up to that batch (MIN:OPT:NxHxW)")
    name = name or f"{manifest.model}-{manifest.precision}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise InputError(f"Triton model name {name!r} must be letters, digits, '_', '.' or '-'")
    platform, filename = PLATFORMS[fmt]
    model_dir = Path(out_dir) / name
    write_bytes(model_dir / str(version) / filename, path.read_bytes())
    write_text(model_dir / "config.pbtxt", config_pbtxt(name, platform, io, max_batch, gpu))
    write_json(model_dir / "edgeseg.json", dataclasses.asdict(manifest))
    return model_dir
