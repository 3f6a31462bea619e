"""TensorRT back end, written to the TensorRT 10 and 11 Python APIs: engine building (ONNX parser,
builder config, optimisation profiles, explicit quantization, timing cache, DLA), the engine
manifest check, and a runner that executes with tensor addresses (`execute_async_v3`) on a CUDA
stream, replayed as a CUDA graph when shapes are static.

TensorRT 11 builds strongly typed networks only: precision comes from the graph (an FP16 ONNX
graph, Q/DQ nodes for INT8), never from builder flags. TensorRT 10 (JetPack 6) builds weakly
typed networks here, with the FP16/INT8 flags.

Device buffers are torch CUDA tensors where torch has CUDA, otherwise cuda-python allocations.
Everything above the `tensorrt` import (host facts, manifest checks) is plain Python, so it is
tested without a GPU; the rest needs TensorRT and a GPU, and its tests skip without them.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from packaging.version import Version

from edgeseg._optional import INSTALL_HINTS, require
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import ArtifactError, InputError, MissingDependencyError
from edgeseg.manifest import Manifest

HARDWARE_COMPATIBILITY = ("none", "ampere_plus")  # TensorRT's HardwareCompatibilityLevel we build with


# ---------------------------------------------------------------- host facts and manifest checks


@dataclass(frozen=True)
class HostInfo:
    tensorrt: str | None  # installed TensorRT version
    gpu: str | None  # device 0's name
    compute_capability: tuple[int, int] | None


def host_info() -> HostInfo:
    """What this machine offers an engine: TensorRT version and GPU 0 (None where absent)."""
    try:
        import tensorrt

        trt_version = tensorrt.__version__
    except ImportError:
        trt_version = None
    gpu, cc = _gpu()
    return HostInfo(trt_version, gpu, cc)


def _gpu() -> tuple[str | None, tuple[int, int] | None]:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0), tuple(torch.cuda.get_device_capability(0))
    except ImportError:
        pass
    try:
        cudart = _cudart()
        if _cuda_ok(cudart.cudaGetDeviceCount()) < 1:
            return None, None
        props = _cuda_ok(cudart.cudaGetDeviceProperties(0))
        name = props.name.decode(errors="replace").rstrip("\0") if isinstance(props.name, bytes) else str(props.name)
        return name, (props.major, props.minor)
    except (ImportError, RuntimeError, OSError):
        return None, None


def tensorrt_unavailable(host: HostInfo | None = None) -> str | None:
    """Why no engine can be built or run here, in one line; None when TensorRT and a GPU are present."""
    host = host or host_info()
    if host.tensorrt is None:
        return f"TensorRT not installed: {INSTALL_HINTS['tensorrt']}"
    if host.compute_capability is None:
        return f"no CUDA GPU visible (TensorRT {host.tensorrt} is installed)"
    return None


def format_cc(cc: tuple[int, int]) -> str:
    return f"{cc[0]}.{cc[1]}"


def parse_cc(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def rebuild_command(manifest: Manifest, where: str | Path | None = None) -> str:
    """The `edgeseg build` command that made this engine (recorded at build time), to rerun here."""
    recorded = manifest.extra.get("build", {}).get("command")
    if recorded:
        return recorded
    return f"edgeseg build {manifest.model} --out {where or '<folder>'}"


def check_engine_manifest(manifest: Manifest, host: HostInfo, folder: str | Path | None = None) -> None:
    """Refuse an engine this host cannot run: TensorRT version, GPU compute capability, and (with
    `folder`) the sha256 of every file the manifest hashes. Each refusal names the rebuild command."""
    record = manifest.extra.get("tensorrt") or {}
    rebuild = rebuild_command(manifest, folder)
    if manifest.format != "tensorrt":
        raise ArtifactError(f"the manifest describes a {manifest.format} artifact, not a TensorRT engine")
    if host.tensorrt is None:
        raise MissingDependencyError(f"TensorRT is not installed (needed to run this engine): {INSTALL_HINTS['tensorrt']}")
    if host.compute_capability is None:
        raise InputError("a TensorRT engine needs a CUDA GPU and none is visible")
    if not record.get("version") or not record.get("compute_capability"):
        raise ArtifactError(f"the engine's manifest does not record the TensorRT version and GPU it was built for; rebuild it: {rebuild}")
    built, here = Version(record["version"]), Version(host.tensorrt)
    if record.get("version_compatible"):
        # a version-compatible engine runs on the same major version, this release or newer
        ok = here.major == built.major and here >= built
    else:
        ok = here.release[:3] == built.release[:3]
    if not ok:
        raise ArtifactError(f"the engine was built with TensorRT {built}, this machine has TensorRT {here}; rebuild it here: {rebuild}")
    built_cc, cc = parse_cc(record["compute_capability"]), tuple(host.compute_capability)
    level = record.get("hardware_compatibility", "none")
    if level not in HARDWARE_COMPATIBILITY:
        raise ArtifactError(f"the engine's manifest names an unknown hardware compatibility {level!r}; rebuild it: {rebuild}")
    if (level == "ampere_plus" and cc < (8, 0)) or (level == "none" and cc != built_cc):
        raise ArtifactError(
            f"the engine was built for compute capability {format_cc(built_cc)} ({record.get('gpu', 'unknown GPU')}), "
            f"this GPU ({host.gpu}) is {format_cc(cc)}; rebuild it here: {rebuild}"
        )
    if record.get("gpu") and host.gpu and record["gpu"] != host.gpu:
        warnings.warn(f"the engine was tuned on a {record['gpu']}, this is a {host.gpu}: it runs, but may be slower than one built here", stacklevel=2)
    if folder is not None:
        try:
            manifest.verify(folder)
        except ArtifactError as e:
            raise ArtifactError(f"{e}; rebuild it: {rebuild}") from None


# ---------------------------------------------------------------- device memory


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart  # cuda-python < 12.6 layout
    return cudart


def _cuda_ok(result):
    """cuda-python returns (error, *values): raise on an error, return the value(s)."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return values[0] if len(values) == 1 else tuple(values) or None


class _TorchCuda:
    """Buffers as torch CUDA tensors on a torch-owned stream."""

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self._stream = torch.cuda.Stream()
        self.stream = self._stream.cuda_stream

    def empty(self, shape: tuple[int, ...], dtype: np.dtype):
        t = self.torch.empty(shape, dtype=self.torch.from_numpy(np.empty(0, dtype)).dtype, device="cuda")
        return t, t.data_ptr()

    def upload(self, buf, array: np.ndarray) -> None:
        with self.torch.cuda.stream(self._stream):
            buf.copy_(self.torch.from_numpy(array), non_blocking=False)

    def download(self, buf) -> np.ndarray:
        with self.torch.cuda.stream(self._stream):
            return buf.cpu().numpy()

    def capture(self, launch: Callable[[], None]) -> Callable[[], None]:
        graph = self.torch.cuda.CUDAGraph()
        with self.torch.cuda.graph(graph, stream=self._stream):
            launch()
        return graph.replay

    def close(self) -> None:
        self.torch.cuda.empty_cache()


class _CudaPythonMemory:
    """Buffers through cuda-python, for hosts whose torch has no CUDA (e.g. a lean Jetson image)."""

    def __init__(self) -> None:
        self.rt = _cudart()
        self.stream = _cuda_ok(self.rt.cudaStreamCreate())
        self._allocs: list[int] = []
        self._graphs: list = []

    def empty(self, shape: tuple[int, ...], dtype: np.dtype):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr = _cuda_ok(self.rt.cudaMalloc(max(nbytes, 1)))
        self._allocs.append(ptr)
        return (int(ptr), tuple(shape), np.dtype(dtype)), int(ptr)

    def upload(self, buf, array: np.ndarray) -> None:
        ptr, _, _ = buf
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        _cuda_ok(self.rt.cudaMemcpyAsync(ptr, array.ctypes.data, array.nbytes, kind, self.stream))

    def download(self, buf) -> np.ndarray:
        ptr, shape, dtype = buf
        out = np.empty(shape, dtype)
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _cuda_ok(self.rt.cudaMemcpyAsync(out.ctypes.data, ptr, out.nbytes, kind, self.stream))
        _cuda_ok(self.rt.cudaStreamSynchronize(self.stream))
        return out

    def capture(self, launch: Callable[[], None]) -> Callable[[], None]:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        _cuda_ok(self.rt.cudaStreamBeginCapture(self.stream, mode))
        launch()
        graph = _cuda_ok(self.rt.cudaStreamEndCapture(self.stream))
        exe = _cuda_ok(self.rt.cudaGraphInstantiate(graph, 0))
        self._graphs.append((graph, exe))
        return lambda: _cuda_ok(self.rt.cudaGraphLaunch(exe, self.stream))

    def close(self) -> None:
        for graph, exe in self._graphs:
            self.rt.cudaGraphExecDestroy(exe)
            self.rt.cudaGraphDestroy(graph)
        for ptr in self._allocs:
            self.rt.cudaFree(ptr)
        self.rt.cudaStreamDestroy(self.stream)
        self._allocs, self._graphs = [], []


def _device_memory():
    try:
        import torch

        if torch.cuda.is_available():
            return _TorchCuda()
    except ImportError:
        pass
    require("cuda", "TensorRT device buffers when torch has no CUDA")
    return _CudaPythonMemory()


# ---------------------------------------------------------------- plugins


def load_unpool_plugin(impl: str, library: Path | None = None, compute_capability: tuple[int, int] | None = None) -> None:
    """Make the max-unpool plugin visible to TensorRT's registry before parsing or deserializing.

    impl: "qdp-aot" (tensorrt.plugin, kernel baked into the engine: nothing to load at run time
    except while building), "qdp-jit" (tensorrt.plugin, Triton kernel called from Python), or
    "cpp" (the IPluginV3 library built from edgeseg/plugins/cpp).
    """
    if impl == "cpp":
        trt = require("tensorrt", "loading the max-unpool plugin library")
        if library is None or not Path(library).is_file():
            raise ArtifactError(f"the max-unpool plugin library {library} is missing; build it: cmake -S edgeseg/plugins/cpp -B build && cmake --build build")
        if trt.get_plugin_registry().load_library(str(library)) is None:
            raise ArtifactError(f"TensorRT could not load the plugin library {library}")
        return
    from edgeseg.plugins.tensorrt_plugin import register

    register(compute_capability, aot=impl == "qdp-aot")


def find_cpp_plugin_library() -> Path | None:
    """The C++ plugin library: $EDGESEG_TRT_PLUGIN_LIB, else the CMake build folder in the package."""
    import os

    from edgeseg.plugins import CPP_LIBRARY

    candidates = [os.environ.get("EDGESEG_TRT_PLUGIN_LIB", "")]
    candidates.append(str(Path(__file__).resolve().parent.parent / "plugins" / "cpp" / "build" / CPP_LIBRARY))
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def unpool_plugin_options() -> list[str]:
    """Plugin implementations the installed TensorRT can use, best first (empty without TensorRT)."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return []
    options = []
    try:
        import tensorrt.plugin as trtp
    except ImportError:
        trtp = None
    if trtp is not None and hasattr(trtp, "aot_impl"):
        import shutil

        from edgeseg.plugins.ptx import _nvrtc_module

        if _nvrtc_module() is not None or shutil.which("nvcc"):
            options.append("qdp-aot")
    if find_cpp_plugin_library() is not None:
        options.append("cpp")
    if trtp is not None:
        from edgeseg.plugins.triton_kernel import AVAILABLE as triton_available

        if triton_available:
            options.append("qdp-jit")
    return options


# ---------------------------------------------------------------- building


@dataclass
class EngineSpec:
    onnx: Path
    fp16: bool = False
    int8: bool = False  # the graph carries Q/DQ nodes (explicit quantization)
    profile: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None  # NCHW min, opt, max
    workspace_gb: float = 2.0
    dla_core: int | None = None
    timing_cache: Path | None = None  # read if present, written back by the caller
    plugin: str | None = None  # qdp-aot | qdp-jit | cpp
    plugin_library: Path | None = None


@dataclass
class BuiltEngine:
    plan: bytes
    timing_cache: bytes
    record: dict  # manifest.extra["tensorrt"]
    precision_map: dict = field(default_factory=dict)
    io: dict = field(default_factory=dict)


def tensorrt_major() -> int:
    return Version(require("tensorrt", "building TensorRT engines").__version__).major


def build_engine(spec: EngineSpec) -> BuiltEngine:
    """Parse `spec.onnx` and build a serialized engine for GPU 0 (or a DLA core)."""
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
    flags = 0
    if strongly_typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(spec.onnx)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ArtifactError(f"TensorRT's ONNX parser rejected {spec.onnx}: {errors}")

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
            raise InputError(f"{spec.onnx} has dynamic input shape {tuple(inp.shape)}: give --dynamic MIN:OPT:MAX")
        profile = builder.create_optimization_profile()
        profile.set_shape(inp.name, *spec.profile)
        config.add_optimization_profile(profile)
    cache_in = spec.timing_cache.read_bytes() if spec.timing_cache and spec.timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_in)
    config.set_timing_cache(cache, ignore_mismatch=False)

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ArtifactError(f"TensorRT failed to build an engine from {spec.onnx} (see the log above)")
    plan = bytes(plan)
    timing = bytes(config.get_timing_cache().serialize())
    record = {
        "version": trt.__version__,
        "gpu": host.gpu,
        "compute_capability": format_cc(host.compute_capability),
        "hardware_compatibility": "none",
        "version_compatible": False,
        "strongly_typed": strongly_typed,
        "dla_core": spec.dla_core,
        "plugin": spec.plugin,
    }
    precision_map, io = _inspect(trt, logger, plan)
    return BuiltEngine(plan, timing, record, precision_map, io)


def _use_dla(trt, builder, config, spec: EngineSpec) -> None:
    cores = getattr(builder, "num_DLA_cores", 0)
    if spec.dla_core < 0 or spec.dla_core >= cores:
        raise InputError(f"--dla-core {spec.dla_core}: this device has {cores} DLA core(s)")
    if not (spec.fp16 or spec.int8):
        raise InputError("DLA runs FP16 or INT8 only: add --fp16 or --int8")
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = spec.dla_core
    config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers DLA cannot run stay on the GPU


def _inspect(trt, logger, plan: bytes) -> tuple[dict, dict]:
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


def build_with_torch_tensorrt(model, input_size: tuple[int, int], fp16: bool, profile=None, workspace_gb: float = 2.0) -> bytes:
    """A serialized TensorRT engine from an in-memory model through torch-tensorrt's torch.export
    front end. Max-unpool goes in as its standard-op decomposition."""
    import torch

    tt = require("torch_tensorrt", "--frontend torch-tensorrt")
    from edgeseg.layers.unpool import set_unpool_mode

    if not torch.cuda.is_available():
        raise MissingDependencyError("torch-tensorrt needs torch with CUDA and a GPU")
    model = set_unpool_mode(model, "decomposed").eval().cuda()
    if profile is None:
        inputs = [tt.Input(shape=(1, 3, *input_size), dtype=torch.float32)]
    else:
        inputs = [tt.Input(min_shape=profile[0], opt_shape=profile[1], max_shape=profile[2], dtype=torch.float32)]
    precisions = {torch.float32, torch.float16} if fp16 else {torch.float32}
    engine = tt.convert_method_to_trt_engine(
        model, inputs=inputs, ir="dynamo", enabled_precisions=precisions, workspace_size=int(workspace_gb * (1 << 30))
    )
    return bytes(engine)


# ---------------------------------------------------------------- running


def engine_manifest(engine_path: Path) -> Manifest:
    """`<engine>.json` beside the engine, else the folder's manifest.json."""
    beside = Manifest.path_for(engine_path)
    return Manifest.load(engine_path if beside.is_file() else engine_path.parent)


class TensorRTRunner(RunnerBase):
    """One engine, one execution context, one CUDA stream.

    Static-shape engines are captured once as a CUDA graph and replayed per frame; dynamic ones
    set the input shape per call (within the engine's optimisation profile).
    """

    name = "tensorrt"
    device = "cuda"

    def __init__(self, engine_path: str | Path, manifest: Manifest | None = None, cuda_graph: bool = True) -> None:
        path = Path(engine_path)
        if not path.is_file():
            raise ArtifactError(f"TensorRT engine {path} not found")
        manifest = manifest or engine_manifest(path)
        check_engine_manifest(manifest, host_info(), path.parent)
        trt = require("tensorrt", "running TensorRT engines")
        self.precision = manifest.precision
        record = manifest.extra["tensorrt"]
        if record.get("plugin") in ("cpp", "qdp-jit"):
            library = path.parent / record["plugin_library"] if record.get("plugin_library") else None
            load_unpool_plugin(record["plugin"], library)
        self.mem = _device_memory()
        self._logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self._logger)
        self.engine = self.runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise ArtifactError(f"TensorRT could not deserialize {path}; rebuild it: {rebuild_command(manifest, path.parent)}")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        if len(inputs) != 1 or len(outputs) != 1:
            raise ArtifactError(f"{path} has inputs {inputs} and outputs {outputs}; a segmentation engine has one of each")
        (self.input,), (self.output,) = inputs, outputs
        self._dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in names}
        self.static = all(d >= 0 for d in self.engine.get_tensor_shape(self.input))
        self.use_graph = cuda_graph and self.static
        self._shape: tuple[int, ...] | None = None
        self._launch: Callable[[], None] | None = None

    def _enqueue(self) -> None:
        if not self.context.execute_async_v3(self.mem.stream):
            raise ArtifactError("TensorRT failed to enqueue the engine (see the log above)")

    def _bind(self, shape: tuple[int, ...]) -> None:
        if self.static:
            want = tuple(self.engine.get_tensor_shape(self.input))
            if shape != want:
                raise InputError(f"this engine takes input of shape {want}, got {shape}; build with --dynamic for other sizes")
        elif not self.context.set_input_shape(self.input, shape):
            lo, _, hi = self.engine.get_tensor_profile_shape(self.input, 0)
            raise InputError(f"input shape {shape} is outside the engine's optimisation profile {tuple(lo)}..{tuple(hi)}")
        out_shape = tuple(self.context.get_tensor_shape(self.output))
        self._in, in_ptr = self.mem.empty(shape, self._dtypes[self.input])
        self._out, out_ptr = self.mem.empty(out_shape, self._dtypes[self.output])
        self.context.set_tensor_address(self.input, in_ptr)
        self.context.set_tensor_address(self.output, out_ptr)
        self._launch = self._enqueue
        if self.use_graph:
            self._enqueue()  # one plain run first: TensorRT finishes lazy setup outside the capture
            self._launch = self.mem.capture(self._enqueue)
        self._shape = shape

    def infer(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x)
        if x.shape != self._shape:
            self._bind(x.shape)
        self.mem.upload(self._in, np.ascontiguousarray(x, dtype=self._dtypes[self.input]))
        self._launch()
        return self.mem.download(self._out).astype(np.float32, copy=False)

    def close(self) -> None:
        if getattr(self, "mem", None) is not None:
            self.mem.close()
        self.context = self.engine = self.runtime = self.mem = None
        self._launch = None


__all__ = [
    "BuiltEngine", "EngineSpec", "HostInfo", "TensorRTRunner", "build_engine", "build_with_torch_tensorrt",
    "check_engine_manifest", "host_info", "rebuild_command", "tensorrt_unavailable", "unpool_plugin_options",
]
