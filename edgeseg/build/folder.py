"""`build`: resolve the model, check what can be made here, then write the folder in one pass."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from edgeseg.backends.tensorrt_host import host_info, tensorrt_unavailable
from edgeseg.build import graphs
from edgeseg.build.folder_manifest import folder_manifest
from edgeseg.build.options import ENGINE_FORMS, BuildOptions, Frontend, resolve_unpool
from edgeseg.errors import ArtifactError, InputError
from edgeseg.fileio import write_bytes
from edgeseg.layers.unpool import UnpoolForm, uses_unpool
from edgeseg.manifest import Manifest
from edgeseg.plugins import UnpoolPlugin
from edgeseg.resolve import resolve_model

Log = Callable[[str], None]


@dataclass
class BuildResult:
    out: Path
    manifest: Manifest
    files: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # what -> why


def build(source: str, out: Path, opts: BuildOptions, log: Log = print) -> BuildResult:
    """Write the build folder `out` for `source` (a registered model, a recipe or a weights file)."""
    from edgeseg.export import check_input_size
    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.torchscript import export_torchscript
    from edgeseg.plugins.loading import unpool_plugin_options

    frontend = Frontend.of(opts.frontend, "frontend")
    if frontend is Frontend.TORCH_TENSORRT and opts.int8:
        raise InputError("`int8` needs the ONNX front end (the Q/DQ graph): drop `frontend`=torch-tensorrt")
    if not 0 < opts.workspace_gb < float("inf"):  # NaN fails too
        raise InputError(f"`workspace` must be a positive number of GB, got {opts.workspace_gb}")
    if opts.dla_core is not None and opts.dla_core < 0:
        raise InputError(f"`dla_core` must be 0 or more, got {opts.dla_core}")
    src = resolve_model(source, opts.weights, pretrained=None if opts.random_init else "camvid")
    model, base = src.model(), src.manifest
    size = check_input_size(model, opts.input_size or base.input_size)
    for shape in opts.dynamic or ():
        check_input_size(model, shape[2:])
    host = host_info()
    no_engine = tensorrt_unavailable(host)
    requested = None if opts.unpool is None else UnpoolForm.of(opts.unpool, "unpool", ENGINE_FORMS)
    form, plugin = resolve_unpool(requested, [] if no_engine else unpool_plugin_options())
    if requested is UnpoolForm.PLUGIN and not no_engine and plugin is None:
        raise InputError("`unpool`=plugin: this TensorRT can use no max-unpool plugin (no tensorrt.plugin AOT, no C++ plugin library); use `unpool`=decomposed")
    if not uses_unpool(model):
        form, plugin = UnpoolForm.DECOMPOSED, None  # nothing to unpool: the forms coincide
    result = BuildResult(out, base)
    calibration = _calibration(src, opts, result.skipped) if opts.int8 else None  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    files = result.files

    with torch.no_grad():
        files["torchscript"] = export_torchscript(model, out / "model.ts", manifest=base, input_size=size)
        log(f"wrote {out / 'model.ts'}")
        fp32 = files["onnx"] = export_onnx(model, out / "model.onnx", size, unpool=form.module_form, dynamic=opts.dynamic is not None, manifest=base)
        log(f"wrote {fp32} (max-unpool {form.module_form})" if uses_unpool(model) else f"wrote {fp32}")
        engine_graph = fp32
        if form is UnpoolForm.PLUGIN:
            engine_graph = files["plugin-onnx"] = graphs.plugin_graph(fp32, out / "model.plugin.onnx", plugin)
            log(f"wrote {engine_graph} (max-unpool as the {plugin or 'C++ or tensorrt.plugin'} plugin)")
        int8_graph = None
        if calibration is not None:
            int8_graph = files["int8-onnx"] = graphs.int8_graph(fp32, out, *calibration, opts.max_images, log)
            if form is UnpoolForm.PLUGIN:
                int8_graph = files["int8-plugin-onnx"] = graphs.plugin_graph(int8_graph, out / "model.int8.plugin.onnx", plugin)
        elif opts.int8:
            log(f"INT8 skipped: {result.skipped['int8']}")
        fp16_graph = None
        if opts.fp16 and not no_engine and frontend is Frontend.ONNX and _strongly_typed():
            if int8_graph is not None:
                result.skipped["fp16"] = "TensorRT 11 builds the Q/DQ graph as typed: FP32 outside the quantized layers"
                log(f"FP16 skipped: {result.skipped['fp16']}")
            else:
                fp16_graph = files["fp16-onnx"] = graphs.fp16_graph(model, out / "model.fp16.onnx", size, form.module_form, opts.dynamic is not None, base)
                if form is UnpoolForm.PLUGIN:
                    fp16_graph = files["fp16-plugin-onnx"] = graphs.plugin_graph(fp16_graph, out / "model.fp16.plugin.onnx", plugin)

    engine = None
    if no_engine:
        result.skipped["engine"] = no_engine
        log(f"engine skipped: {no_engine}")
    else:
        engine = _engine(model, size, opts, frontend, out, fp16_graph or int8_graph or engine_graph, int8_graph is not None, plugin, log)
        files["engine"] = out / "model.engine"

    result.manifest = folder_manifest(base, out, files, result.skipped, opts, engine, form, plugin, host, size)
    if opts.data is not None:
        from edgeseg.build.measure import measure

        result.manifest.metrics = {**result.manifest.metrics, **measure(files, result.manifest, opts.data, opts.split, opts.max_images, log)}
    result.manifest.save(out)
    log(f"wrote {Manifest.path_for(out)}")
    return result


def _calibration(src, opts: BuildOptions, skipped: dict[str, str]):
    """(recipe, its calibration data) for INT8; without `data` given, a reason in `skipped` when it
    is not on this machine (the FP32 artifacts are still written). A `data` given must work."""
    from edgeseg.quant.workflow import calibration_data, recipe_for

    try:
        recipe = src.recipe or recipe_for(src.name)
        return recipe, calibration_data(recipe, opts.data)
    except (InputError, ArtifactError) as e:
        if opts.data is not None:
            raise
        skipped["int8"] = f"no calibration data here ({e}); set `data` to the dataset folder to calibrate on"
        return None


def _strongly_typed() -> bool:
    from edgeseg.build.tensorrt import tensorrt_major

    return tensorrt_major() >= 11


def _engine(model, size, opts: BuildOptions, frontend: Frontend, out: Path, graph: Path, int8: bool, plugin: UnpoolPlugin | None, log: Log):
    from edgeseg.build import tensorrt as trt_build
    from edgeseg.plugins.loading import find_cpp_plugin_library

    t0 = time.perf_counter()
    if frontend is Frontend.TORCH_TENSORRT:
        built = trt_build.build_with_torch_tensorrt(model, size, opts.fp16, opts.dynamic, opts.workspace_gb)
        write_bytes(out / "model.engine", built.plan)
        log(f"wrote {out / 'model.engine'} with torch-tensorrt ({time.perf_counter() - t0:.0f} s)")
        return built
    cache = out / "timing.cache"
    spec = trt_build.EngineSpec(graph, fp16=opts.fp16, int8=int8, profile=opts.dynamic, workspace_gb=opts.workspace_gb,
                                dla_core=opts.dla_core, timing_cache=cache, plugin=plugin,
                                plugin_library=find_cpp_plugin_library() if plugin is UnpoolPlugin.CPP else None)
    built = trt_build.build_engine(spec)
    write_bytes(out / "model.engine", built.plan)
    write_bytes(cache, built.timing_cache)
    if plugin is UnpoolPlugin.CPP:
        write_bytes(out / spec.plugin_library.name, spec.plugin_library.read_bytes())
    log(f"wrote {out / 'model.engine'} and {cache.name} ({built.record['gpu']}, {time.perf_counter() - t0:.0f} s)")
    return built
