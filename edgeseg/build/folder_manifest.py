"""manifest.json of a build folder: it describes the folder's primary artifact (the engine, else
the INT8 graph, else the FP32 graph) and lists every file with its role and hash."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.build.options import BuildOptions
from edgeseg.fileio import sha256
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.manifest import Manifest, library_versions
from edgeseg.precision import Precision


def folder_manifest(base: Manifest, out: Path, files: dict[str, Path], skipped: dict[str, str], opts: BuildOptions,
                    engine, form: UnpoolForm, plugin: str | None, host, size) -> Manifest:
    if engine is not None:
        fmt, primary = ArtifactFormat.TENSORRT, files["engine"]
        precision = Precision.INT8 if "int8-onnx" in files else Precision.FP16 if opts.fp16 else Precision.FP32
    elif "int8-onnx" in files:
        fmt, primary, precision = ArtifactFormat.ONNX, files["int8-onnx"], Precision.INT8
    else:
        fmt, primary, precision = ArtifactFormat.ONNX, files["onnx"], Precision.FP32
    onnx_meta = Manifest.load(files["onnx"])
    hashed = {primary.name: sha256(primary)}
    if engine is not None and engine.record.get("plugin_library"):
        lib = out / engine.record["plugin_library"]
        hashed[lib.name] = sha256(lib)
    listing = {p.name: {"role": role, "sha256": sha256(p)} for role, p in files.items()}
    cache = out / "timing.cache"
    if cache.is_file():
        listing[cache.name] = {"role": "timing-cache", "sha256": sha256(cache)}
    flags = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(opts).items() if k != "command"}
    extra = {
        **onnx_meta.extra,
        "build": {"command": opts.command or None, "flags": flags, "skipped": skipped, "unpool": form, "unpool_plugin": plugin},
        "files": listing,
        "precision_map": _precision_maps(files, engine),
        "gpu": {"name": host.gpu, "compute_capability": list(host.compute_capability) if host.compute_capability else None},
    }
    if engine is not None:
        extra["tensorrt"] = engine.record
        extra["io"] = engine.io
    versions = library_versions()
    if host.tensorrt:
        versions["tensorrt"] = host.tensorrt
    unpool = onnx_meta.unpool  # the ONNX graphs here: native or decomposed
    if engine is not None and unpool:
        unpool = form  # what the engine holds: the plugin or the decomposition
    # the figures measured on the artifact this folder runs, never the FP32 weights' for an INT8 graph;
    # an FP16 or INT8 engine has none until --data measures it
    metrics = Manifest.load(primary).metrics if fmt is ArtifactFormat.ONNX else onnx_meta.metrics if precision is Precision.FP32 else {}
    return dataclasses.replace(
        base, format=fmt, precision=precision, input_size=tuple(size), num_classes=onnx_meta.num_classes,
        dynamic=opts.dynamic is not None, opset=onnx_meta.opset, unpool=unpool, sha256=hashed, versions=versions, extra=extra,
        metrics=metrics,
    )


def _precision_maps(files: dict[str, Path], engine) -> dict:
    maps = {}
    if "int8-onnx" in files:
        maps["onnx-int8"] = Manifest.load(files["int8-onnx"]).extra.get("quantization", {}).get("precision_map", {})
    if engine is not None and engine.precision_map:
        maps["tensorrt"] = engine.precision_map
    return maps
