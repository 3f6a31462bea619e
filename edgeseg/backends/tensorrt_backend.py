"""TensorRT runner (TensorRT 10 and 11 Python APIs): it only runs engines, which edgeseg.build
makes. Execution uses tensor addresses (`execute_async_v3`) on a CUDA stream, replayed as a CUDA
graph when shapes are static (Polygraphy's `TrtRunner`, which likewise never builds).

Device buffers come from edgeseg.backends.cuda_memory; the host and manifest checks from
edgeseg.backends.tensorrt_host; plugin loading from edgeseg.plugins.loading.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from edgeseg._optional import require
from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.backends.cuda_memory import device_memory
from edgeseg.backends.tensorrt_host import check_engine_manifest, engine_manifest, host_info, rebuild_command
from edgeseg.errors import ArtifactError, InputError
from edgeseg.manifest import Manifest
from edgeseg.plugins import UnpoolPlugin
from edgeseg.plugins.loading import load_unpool_plugin


class TensorRTRunner(RunnerBase):
    """One engine, one execution context, one CUDA stream.

    Static-shape engines are captured once as a CUDA graph and replayed per frame; dynamic ones
    set the input shape per call (within the engine's optimisation profile).
    """

    name = Backend.TENSORRT
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
        plugin = _recorded_plugin(record, path)
        if plugin is not None and plugin.loads_at_run_time:
            library = path.parent / record["plugin_library"] if record.get("plugin_library") else None
            load_unpool_plugin(plugin, library)
        self.mem = device_memory()
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
                raise InputError(f"this engine takes input of shape {want}, got {shape}; build with `dynamic` shapes for other sizes")
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


def _recorded_plugin(record: dict, path: Path) -> UnpoolPlugin | None:
    """The max-unpool plugin form the engine's manifest records, None for an engine without one."""
    if not record.get("plugin"):
        return None
    try:
        return UnpoolPlugin.of(record["plugin"], "plugin")
    except InputError as e:
        raise ArtifactError(f"the manifest of {path} records an unknown max-unpool plugin: {e}") from None
