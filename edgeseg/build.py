"""`edgeseg build`: one folder with everything needed to deploy a model, and a manifest proving it.

    model.ts              TorchScript (scripted), for the no-TensorRT GPU path and C++ (libtorch)
    model.onnx            FP32 ONNX; max-unpool native (for the plugin) or decomposed
    model.plugin.onnx     with --unpool plugin: the graph TensorRT parses, unpooling as the plugin node
    model.fp16.onnx       TensorRT 11 with --fp16: the FP16 graph a strongly typed build needs
    model.int8.onnx       with --int8: the Q/DQ graph from edgeseg.quant (signed INT8, TensorRT placement)
    calibration/          with --int8: what `edgeseg calibrate` writes (scales, TensorRT 10 cache, report)
    model.engine          when TensorRT and a GPU are present
    timing.cache          TensorRT's timing cache, reused by the next build of this folder
    manifest.json         hashes, versions, GPU, flags, precision map, measured mIoU and fps

The folder's manifest describes its primary artifact (the engine, else the INT8 graph, else the
FP32 graph), so `edgeseg.load(folder)` runs the best thing this machine built. What was skipped
is said in one line each, with the reason.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch.nn as nn

from edgeseg.errors import InputError
from edgeseg.fileio import sha256, write_bytes
from edgeseg.manifest import Manifest, library_versions

UNPOOL_CHOICES = ("auto", "plugin", "decomposed")
FRONTENDS = ("onnx", "torch-tensorrt")
Log = Callable[[str], None]


@dataclass
class BuildOptions:
    fp16: bool = False
    int8: bool = False
    input_size: tuple[int, int] | None = None
    dynamic: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None  # NCHW min, opt, max
    unpool: str = "auto"
    workspace_gb: float = 2.0
    dla_core: int | None = None
    frontend: str = "onnx"
    weights: Path | None = None
    random_init: bool = False
    data: Path | None = None
    split: str = "val"
    max_images: int | None = None
    command: str = ""  # the command line, recorded as the rebuild command


@dataclass
class BuildResult:
    out: Path
    manifest: Manifest
    files: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # what -> why


def parse_dynamic(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """'MIN:OPT:MAX', each HxW or NxHxW (e.g. 256x320:360x480:720x960) -> three NCHW shapes."""
    parts = text.lower().split(":")
    if len(parts) != 3:
        raise InputError(f"--dynamic takes MIN:OPT:MAX shapes (HxW or NxHxW each), got {text!r}")
    shapes = []
    for p in parts:
        dims = p.split("x")
        if len(dims) not in (2, 3) or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise InputError(f"--dynamic: {p!r} is not HxW or NxHxW with positive integers")
        n, h, w = [1, *map(int, dims)] if len(dims) == 2 else map(int, dims)
        shapes.append((n, 3, h, w))
    lo, opt, hi = shapes
    if not all(a <= b <= c for a, b, c in zip(lo, opt, hi)):
        raise InputError(f"--dynamic needs MIN <= OPT <= MAX in every dimension, got {text!r}")
    return lo, opt, hi


def resolve_unpool(requested: str, options: list[str]) -> tuple[str, str | None]:
    """(ONNX form for the TensorRT graph: "plugin" or "decomposed", plugin implementation or None).

    `options`: plugin implementations the installed TensorRT can use, best first
    (edgeseg.backends.tensorrt_backend.unpool_plugin_options).
    """
    if requested not in UNPOOL_CHOICES:
        raise InputError(f"--unpool must be one of {', '.join(UNPOOL_CHOICES)}, got {requested!r}")
    if requested == "decomposed" or (requested == "auto" and not options):
        return "decomposed", None
    if options:
        return "plugin", options[0]
    # plugin asked for where no engine is built: still write the plugin graph, for trtexec elsewhere
    return "plugin", None


def resolve_model(source: str, opts: BuildOptions) -> tuple[nn.Module, Manifest]:
    """SOURCE (a registered model or a recipe) -> model in eval mode with its weights, and a base manifest."""
    from edgeseg.recipe import RecipeError, load_recipe
    from edgeseg.registry import UnknownModelError, create_model, model_info

    recipe = None
    try:
        model_info(source)
        name = source
    except UnknownModelError:
        try:
            recipe = load_recipe(source)
        except RecipeError as e:
            raise InputError(f"{source!r} is neither a registered model (`edgeseg models`) nor a recipe ({e})") from None
        name = recipe.model.name
    weights = opts.weights
    if weights is None and not opts.random_init:
        from edgeseg.weights import pretrained_path

        weights = pretrained_path(name)  # ArtifactError naming what is shipped if none is
    if weights is not None:
        from edgeseg.backends.torch_backend import model_from_weights

        weights = Path(weights)
        if not Manifest.path_for(weights).is_file():
            raise InputError(f"{weights} has no manifest beside it ({Manifest.path_for(weights).name}); train or export it with edgeseg")
        base = Manifest.load(weights)
        base.verify(weights.parent)
        if base.model != name:
            raise InputError(f"{weights} holds {base.model!r} weights, not {name!r}")
        model = model_from_weights(weights, base)
        base.extra = {**base.extra, "weights": weights.name}
    else:
        kwargs = dict(recipe.model.kwargs) if recipe else {}
        num_classes = recipe.model.num_classes if recipe else 11
        model = create_model(name, num_classes=num_classes, **kwargs)
        base = Manifest(model=name, num_classes=num_classes, input_size=(360, 480), format="weights",
                        extra={"weights": "random initialisation (speed only)", "model_kwargs": kwargs})
    if recipe is not None:
        base.extra["recipe"] = recipe.name
        if not base.classes:
            base.classes, base.mean, base.std = list(recipe.data.classes), tuple(recipe.data.mean), tuple(recipe.data.std)
            base.ignore_index, base.input_size = recipe.data.ignore_index, tuple(recipe.data.input_size)
    return model.eval(), base


def build(source: str, out: Path, opts: BuildOptions, log: Log = print) -> BuildResult:
    import torch

    from edgeseg.backends import tensorrt_backend as trt_be
    from edgeseg.export import check_input_size
    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.torchscript import export_torchscript
    from edgeseg.layers.unpool import uses_unpool

    if opts.frontend not in FRONTENDS:
        raise InputError(f"--frontend must be one of {', '.join(FRONTENDS)}, got {opts.frontend!r}")
    if opts.frontend == "torch-tensorrt" and opts.int8:
        raise InputError("--int8 needs the ONNX front end (the Q/DQ graph): drop --frontend torch-tensorrt")
    model, base = resolve_model(source, opts)
    size = check_input_size(model, opts.input_size or base.input_size)
    if opts.dynamic is not None:
        for shape in opts.dynamic:
            check_input_size(model, shape[2:])
    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out, base)
    host = trt_be.host_info()
    no_engine = trt_be.tensorrt_unavailable(host)
    unpools = uses_unpool(model)
    form, plugin = resolve_unpool(opts.unpool, [] if no_engine else trt_be.unpool_plugin_options())
    if opts.unpool == "plugin" and not no_engine and plugin is None:
        raise InputError("--unpool plugin: this TensorRT can use no max-unpool plugin (no tensorrt.plugin AOT, no C++ plugin library); use --unpool decomposed")
    if not unpools:
        form, plugin = "decomposed", None  # nothing to unpool: the forms coincide
    onnx_form = "native" if form == "plugin" else "decomposed"

    with torch.no_grad():
        result.files["torchscript"] = export_torchscript(model, out / "model.ts", manifest=base, input_size=size)
        log(f"wrote {out / 'model.ts'}")
        fp32 = export_onnx(model, out / "model.onnx", size, unpool=onnx_form, dynamic=opts.dynamic is not None, manifest=base)
        result.files["onnx"] = fp32
        log(f"wrote {fp32} (max-unpool {onnx_form})" if unpools else f"wrote {fp32}")
        engine_graph = fp32
        if form == "plugin":
            engine_graph = result.files["plugin-onnx"] = _plugin_graph(fp32, out / "model.plugin.onnx", plugin)
            log(f"wrote {engine_graph} (max-unpool as the {plugin or 'C++ or tensorrt.plugin'} plugin)")
        int8_graph = None
        if opts.int8:
            int8_graph = _int8_graph(fp32, out, opts, log)
            if int8_graph is None:
                result.skipped["int8"] = "edgeseg.quant is not available"
                log("INT8 skipped: edgeseg.quant is not available")
            else:
                result.files["int8-onnx"] = int8_graph
                if form == "plugin":
                    int8_graph = result.files["int8-plugin-onnx"] = _plugin_graph(int8_graph, out / "model.int8.plugin.onnx", plugin)
        strongly_typed = not no_engine and opts.frontend == "onnx" and trt_be.tensorrt_major() >= 11
        fp16_graph = None
        if opts.fp16 and strongly_typed and int8_graph is not None:
            result.skipped["fp16"] = "TensorRT 11 builds the Q/DQ graph as typed: FP32 outside the quantized layers"
            log(f"FP16 skipped: {result.skipped['fp16']}")
        elif opts.fp16 and strongly_typed:
            fp16_graph = result.files["fp16-onnx"] = _fp16_graph(model, out / "model.fp16.onnx", size, onnx_form, opts, base)
            if form == "plugin":
                fp16_graph = result.files["fp16-plugin-onnx"] = _plugin_graph(fp16_graph, out / "model.fp16.plugin.onnx", plugin)

    engine = None
    if no_engine:
        result.skipped["engine"] = no_engine
        log(f"engine skipped: {no_engine}")
    else:
        engine = _build_engine(model, size, opts, out, fp16_graph or int8_graph or engine_graph, int8_graph is not None, plugin, log)
        result.files["engine"] = out / "model.engine"

    result.manifest = _folder_manifest(base, out, result, opts, engine, form, plugin, host, size)
    if opts.data is not None:
        _measure(result, opts, log)
    result.manifest.save(out)
    log(f"wrote {Manifest.path_for(out)}")
    return result


def _plugin_graph(native: Path, path: Path, plugin: str | None) -> Path:
    import onnx

    from edgeseg.plugins.onnx_rewrite import to_plugin_graph

    graph, _ = to_plugin_graph(onnx.load(str(native)), aot=plugin == "qdp-aot")
    write_bytes(path, graph.SerializeToString())
    return path


def _int8_graph(fp32: Path, out: Path, opts: BuildOptions, log: Log) -> Path | None:
    """The Q/DQ graph of `fp32` (same unpool form), calibrated by edgeseg.quant on the recipe's
    calibration set, as `edgeseg calibrate` does; None when edgeseg.quant is absent."""
    try:
        from edgeseg.quant import workflow
    except ImportError:
        return None
    src = workflow.resolve_source(str(fp32))
    outcome = workflow.calibrate(src, out / "calibration", workflow.Options(data=opts.data, max_images=opts.max_images, progress=False), log=log)
    int8 = out / "model.int8.onnx"
    write_bytes(int8, outcome.files["int8"].read_bytes())
    Manifest.load(outcome.files["int8"]).save(int8)  # same bytes, so the same manifest and hash
    log(f"wrote {int8} (val mIoU FP32 {outcome.fp32_miou:.2f}, INT8 {outcome.int8_miou:.2f}, through ONNX Runtime)")
    return int8


def _fp16_graph(model, path: Path, size, onnx_form: str, opts: BuildOptions, base: Manifest) -> Path:
    """FP16 weights and activations with FP32 input and output: what a strongly typed (TensorRT 11)
    FP16 build takes, since precision can no longer be asked of the builder."""
    import copy

    from edgeseg.export.onnx import export_onnx

    half = _HalfPrecision(copy.deepcopy(model))
    return export_onnx(half, path, size, unpool=onnx_form, dynamic=opts.dynamic is not None, manifest=dataclasses.replace(base, precision="fp16"))


class _HalfPrecision(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.half()
        self.size_divisor = getattr(model, "size_divisor", 1)

    def forward(self, x):
        return self.model(x.half()).float()


def _build_engine(model, size, opts: BuildOptions, out: Path, graph: Path, int8: bool, plugin: str | None, log: Log):
    from edgeseg.backends import tensorrt_backend as trt_be

    cache = out / "timing.cache"
    if opts.frontend == "torch-tensorrt":
        t0 = time.perf_counter()
        plan = trt_be.build_with_torch_tensorrt(model, size, opts.fp16, opts.dynamic, opts.workspace_gb)
        write_bytes(out / "model.engine", plan)
        log(f"wrote {out / 'model.engine'} with torch-tensorrt ({time.perf_counter() - t0:.0f} s)")
        host = trt_be.host_info()
        record = {"version": host.tensorrt, "gpu": host.gpu, "compute_capability": trt_be.format_cc(host.compute_capability),
                  "hardware_compatibility": "none", "version_compatible": False, "frontend": "torch-tensorrt", "plugin": None}
        return trt_be.BuiltEngine(plan, b"", record)
    spec = trt_be.EngineSpec(graph, fp16=opts.fp16, int8=int8, profile=opts.dynamic, workspace_gb=opts.workspace_gb,
                             dla_core=opts.dla_core, timing_cache=cache, plugin=plugin,
                             plugin_library=trt_be.find_cpp_plugin_library() if plugin == "cpp" else None)
    t0 = time.perf_counter()
    built = trt_be.build_engine(spec)
    write_bytes(out / "model.engine", built.plan)
    write_bytes(cache, built.timing_cache)
    if plugin == "cpp":
        write_bytes(out / spec.plugin_library.name, spec.plugin_library.read_bytes())
        built.record["plugin_library"] = spec.plugin_library.name
    built.record["frontend"] = "onnx"
    log(f"wrote {out / 'model.engine'} and {cache.name} ({trt_be.host_info().gpu}, {time.perf_counter() - t0:.0f} s)")
    return built


def _folder_manifest(base: Manifest, out: Path, result: BuildResult, opts: BuildOptions, engine, form: str,
                     plugin: str | None, host, size) -> Manifest:
    files = {name: Path(p) for name, p in result.files.items()}
    if engine is not None:
        fmt, primary = "tensorrt", files["engine"]
        precision = "int8" if "int8-onnx" in files else "fp16" if opts.fp16 else "fp32"
    elif "int8-onnx" in files:
        fmt, primary, precision = "onnx", files["int8-onnx"], "int8"
    else:
        fmt, primary, precision = "onnx", files["onnx"], "fp32"
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
        "build": {"command": opts.command or None, "flags": flags, "skipped": result.skipped, "unpool": form, "unpool_plugin": plugin},
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
        unpool = "plugin" if form == "plugin" else "decomposed"
    return dataclasses.replace(
        base, format=fmt, precision=precision, input_size=tuple(size), num_classes=onnx_meta.num_classes,
        dynamic=opts.dynamic is not None, opset=onnx_meta.opset, unpool=unpool, sha256=hashed, versions=versions, extra=extra,
    )


def _precision_maps(files: dict[str, Path], engine) -> dict:
    maps = {}
    if "int8-onnx" in files:
        int8_meta = Manifest.path_for(files["int8-onnx"])
        if int8_meta.is_file():
            maps["onnx-int8"] = Manifest.load(files["int8-onnx"]).extra.get("quantization", {}).get("precision_map", {})
    if engine is not None and engine.precision_map:
        maps["tensorrt"] = engine.precision_map
    return maps


def _measure(result: BuildResult, opts: BuildOptions, log: Log) -> None:
    """mIoU on --data and batch-1 inference fps of each artifact this machine can run, through
    `Segmenter` (so pre- and post-processing are the deployed ones)."""
    from edgeseg.backends import open_runner
    from edgeseg.data.camvid import DatasetError, open_dataset
    from edgeseg.eval.evaluate import evaluate
    from edgeseg.segmenter import Segmenter

    try:
        dataset = open_dataset(opts.data, opts.split)
    except DatasetError as e:
        raise InputError(str(e)) from None
    runs = [("onnxruntime-fp32", result.files["onnx"])]
    if "int8-onnx" in result.files:
        runs.append(("onnxruntime-int8", result.files["int8-onnx"]))
    if "engine" in result.files:
        runs.append((f"tensorrt-{result.manifest.precision}", result.files["engine"]))
    miou, fps = {}, {}
    for label, artifact in runs:
        if label.startswith("tensorrt"):
            from edgeseg.backends.tensorrt_backend import TensorRTRunner

            manifest, runner = result.manifest, TensorRTRunner(artifact, result.manifest)
        else:
            manifest, runner = Manifest.load(artifact), open_runner(artifact, "onnxruntime")
        with Segmenter(runner, manifest) as seg:
            summary = evaluate(seg, dataset, max_images=opts.max_images, progress=False).summary(seg.classes)
            miou[label] = summary["miou"]
            fps[label] = _fps(seg, dataset[0][0][:, :, ::-1])
        log(f"{label}: mIoU {100 * miou[label]:.2f} on {opts.data} ({opts.split}), {fps[label]:.1f} fps (batch 1, inference only)")
    n = len(dataset) if opts.max_images is None else min(opts.max_images, len(dataset))
    result.manifest.metrics = {**result.manifest.metrics, "miou": miou, "fps": fps,
                               "measured_on": {"data": str(opts.data), "split": opts.split, "images": n, "gpu": result.manifest.extra["gpu"]["name"]}}


def _fps(seg, frame_bgr, warmup: int = 2, runs: int = 10) -> float:
    x = seg.preprocess(frame_bgr)
    for _ in range(warmup):
        seg.infer(x)
    t0 = time.perf_counter()
    for _ in range(runs):
        seg.infer(x)
    return runs / (time.perf_counter() - t0)
