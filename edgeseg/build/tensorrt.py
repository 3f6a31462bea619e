"""Engine building, written to the TensorRT 10 and 11 Python APIs, split as Polygraphy's loaders are:
`network_from_onnx` (the ONNX parser), `engine_bytes_from_network` (builder config, optimisation
profile, explicit quantization, timing cache, DLA), then `engine_record`, the one place the
manifest's `extra["tensorrt"]` is written. The runner (edgeseg.backends.tensorrt_backend) only runs.

TensorRT 11 builds strongly typed networks only: precision comes from the graph (an FP16 ONNX
graph, Q/DQ nodes for INT8), never from builder flags. TensorRT 10 (JetPack 6) builds weakly
typed networks here, with the FP16/INT8 flags.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from packaging.version import Version

from edgeseg._optional import require
from edgeseg.backends.tensorrt_host import HostInfo, format_cc, host_info, tensorrt_unavailable
from edgeseg.build.engine_info import inspect_engine
from edgeseg.errors import ArtifactError, InputError, MissingDependencyError
from edgeseg.layers.unpool import UnpoolForm, set_unpool_mode
from edgeseg.plugins import UnpoolPlugin
from edgeseg.plugins.loading import load_unpool_plugin
from edgeseg.textenum import TextEnum

Shapes = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]  # NCHW min, opt, max


class Frontend(TextEnum):
    ONNX = "onnx"  # TensorRT's ONNX parser
    TORCH_TENSORRT = "torch-tensorrt"  # torch.export through torch-tensorrt


@dataclass
class EngineSpec:
    onnx: Path
    fp16: bool = False
    int8: bool = False  # the graph carries Q/DQ nodes (explicit quantization)
    profile: Shapes | None = None
    workspace_gb: float = 2.0
    dla_core: int | None = None
    timing_cache: Path | None = None  # read if present, written back by the caller
    plugin: UnpoolPlugin | None = None
    plugin_library: Path | None = None


@dataclass
class BuiltEngine:
    plan: bytes
    timing_cache: bytes
    record: dict  # manifest.extra["tensorrt"], from engine_record
    precision_map: dict = field(default_factory=dict)
    io: dict = field(default_factory=dict)


def tensorrt_major() -> int:
    return Version(require("tensorrt", "building TensorRT engines").__version__).major


def engine_record(host: HostInfo, frontend: Frontend, strongly_typed: bool | None = None, dla_core: int | None = None,
                  plugin: UnpoolPlugin | None = None, plugin_library: str | None = None) -> dict:
    """What the manifest records about an engine: what `check_engine_manifest` reads back."""
    return {
        "version": host.tensorrt, "gpu": host.gpu, "compute_capability": format_cc(host.compute_capability),
        "hardware_compatibility": "none", "version_compatible": False, "strongly_typed": strongly_typed,
        "dla_core": dla_core, "frontend": frontend, "plugin": plugin, "plugin_library": plugin_library,
    }


def network_from_onnx(trt, builder, logger, path: Path, strongly_typed: bool):
    """(network, parser) from an ONNX file; the parser must outlive the network's use."""
    flags = 0
    if strongly_typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ArtifactError(f"TensorRT's ONNX parser rejected {path}: {errors}")
    return network, parser


def engine_bytes_from_network(trt, builder, network, spec: EngineSpec, strongly_typed: bool) -> tuple[bytes, bytes]:
    """(serialized engine, timing cache) for GPU 0 or a DLA core."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(spec.workspace_gb * (1 << 30)))
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # per-layer precisions for the manifest
    if not strongly_typed:
        if spec.fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        if spec.int8:
            config.set_flag(trt.BuilderFlag.INT8)  # with Q/DQ in the graph: explicit quantization
    if spec.dla_core is not None:
        _use_dla(trt, builder, config, spec)
    inp = network.get_input(0)
    if any(d < 0 for d in inp.shape):
        if spec.profile is None:
            raise InputError(f"{spec.onnx} has dynamic input shape {tuple(inp.shape)}: give `dynamic` MIN:OPT:MAX shapes")
        profile = builder.create_optimization_profile()
        profile.set_shape(inp.name, *spec.profile)
        config.add_optimization_profile(profile)
    cache_in = spec.timing_cache.read_bytes() if spec.timing_cache and spec.timing_cache.is_file() else b""
    config.set_timing_cache(config.create_timing_cache(cache_in), ignore_mismatch=False)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ArtifactError(f"TensorRT failed to build an engine from {spec.onnx} (see the log above)")
    return bytes(plan), bytes(config.get_timing_cache().serialize())


def build_engine(spec: EngineSpec) -> BuiltEngine:
    """Parse `spec.onnx` and build a serialized engine, with its record, precision map and I/O."""
    trt = require("tensorrt", "building TensorRT engines")
    host = host_info()
    why = tensorrt_unavailable(host)
    if why:
        raise MissingDependencyError(why)
    if spec.plugin:
        load_unpool_plugin(spec.plugin, spec.plugin_library, host.compute_capability)
    strongly_typed = Version(trt.__version__).major >= 11
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network, _parser = network_from_onnx(trt, builder, logger, spec.onnx, strongly_typed)
    plan, timing = engine_bytes_from_network(trt, builder, network, spec, strongly_typed)
    library = spec.plugin_library.name if spec.plugin is UnpoolPlugin.CPP and spec.plugin_library else None
    record = engine_record(host, Frontend.ONNX, strongly_typed, spec.dla_core, spec.plugin, library)
    precision_map, io = inspect_engine(trt, logger, plan)
    return BuiltEngine(plan, timing, record, precision_map, io)


def _use_dla(trt, builder, config, spec: EngineSpec) -> None:
    cores = getattr(builder, "num_DLA_cores", 0)
    if spec.dla_core < 0 or spec.dla_core >= cores:
        raise InputError(f"`dla_core`={spec.dla_core}: this device has {cores} DLA core(s)")
    if not (spec.fp16 or spec.int8):
        raise InputError("DLA runs FP16 or INT8 only: set `fp16` or `int8`")
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = spec.dla_core
    config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers DLA cannot run stay on the GPU


def build_with_torch_tensorrt(model, input_size: tuple[int, int], fp16: bool, profile: Shapes | None = None,
                              workspace_gb: float = 2.0) -> BuiltEngine:
    """An engine from an in-memory model through torch-tensorrt's torch.export front end.
    Max-unpool goes in as its standard-op decomposition."""
    tt = require("torch_tensorrt", "the torch-tensorrt front end")
    if not torch.cuda.is_available():
        raise MissingDependencyError("torch-tensorrt needs torch with CUDA and a GPU")
    model = set_unpool_mode(model, UnpoolForm.DECOMPOSED).eval().cuda()
    if profile is None:
        inputs = [tt.Input(shape=(1, 3, *input_size), dtype=torch.float32)]
    else:
        inputs = [tt.Input(min_shape=profile[0], opt_shape=profile[1], max_shape=profile[2], dtype=torch.float32)]
    precisions = {torch.float32, torch.float16} if fp16 else {torch.float32}
    plan = tt.convert_method_to_trt_engine(
        model, inputs=inputs, ir="dynamo", enabled_precisions=precisions, workspace_size=int(workspace_gb * (1 << 30))
    )
    return BuiltEngine(bytes(plan), b"", engine_record(host_info(), Frontend.TORCH_TENSORRT))
