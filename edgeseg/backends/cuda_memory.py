"""Device buffers for the TensorRT runner: torch CUDA tensors where torch has CUDA, otherwise
cuda-python allocations (a lean Jetson image whose torch has no CUDA)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from edgeseg._optional import optional, require


def cudart(purpose: str = "TensorRT device buffers when torch has no CUDA"):
    """cuda-python's runtime module (its 12.6+ layout, else the older `cuda.cudart`)."""
    return require("cuda.bindings.runtime", purpose, "cuda.cudart")


def optional_cudart():
    return optional("cuda.bindings.runtime", "cuda.cudart")


def cuda_ok(result):
    """cuda-python returns (error, *values): raise on an error, return the value(s)."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return values[0] if len(values) == 1 else tuple(values) or None


class TorchCuda:
    """Buffers as torch CUDA tensors on a torch-owned stream."""

    def __init__(self) -> None:
        self._stream = torch.cuda.Stream()
        self.stream = self._stream.cuda_stream

    def empty(self, shape: tuple[int, ...], dtype: np.dtype):
        t = torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, device="cuda")
        return t, t.data_ptr()

    def upload(self, buf, array: np.ndarray) -> None:
        with torch.cuda.stream(self._stream):
            buf.copy_(torch.from_numpy(array), non_blocking=False)

    def download(self, buf) -> np.ndarray:
        with torch.cuda.stream(self._stream):
            return buf.cpu().numpy()

    def capture(self, launch: Callable[[], None]) -> Callable[[], None]:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self._stream):
            launch()
        return graph.replay

    def close(self) -> None:
        torch.cuda.empty_cache()


class CudaPythonMemory:
    """Buffers through cuda-python, for hosts whose torch has no CUDA."""

    def __init__(self) -> None:
        self.rt = cudart()
        self.stream = cuda_ok(self.rt.cudaStreamCreate())
        self._allocs: list[int] = []
        self._graphs: list = []

    def empty(self, shape: tuple[int, ...], dtype: np.dtype):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr = cuda_ok(self.rt.cudaMalloc(max(nbytes, 1)))
        self._allocs.append(ptr)
        return (int(ptr), tuple(shape), np.dtype(dtype)), int(ptr)

    def upload(self, buf, array: np.ndarray) -> None:
        ptr, _, _ = buf
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        cuda_ok(self.rt.cudaMemcpyAsync(ptr, array.ctypes.data, array.nbytes, kind, self.stream))

    def download(self, buf) -> np.ndarray:
        ptr, shape, dtype = buf
        out = np.empty(shape, dtype)
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        cuda_ok(self.rt.cudaMemcpyAsync(out.ctypes.data, ptr, out.nbytes, kind, self.stream))
        cuda_ok(self.rt.cudaStreamSynchronize(self.stream))
        return out

    def capture(self, launch: Callable[[], None]) -> Callable[[], None]:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        cuda_ok(self.rt.cudaStreamBeginCapture(self.stream, mode))
        launch()
        graph = cuda_ok(self.rt.cudaStreamEndCapture(self.stream))
        exe = cuda_ok(self.rt.cudaGraphInstantiate(graph, 0))
        self._graphs.append((graph, exe))
        return lambda: cuda_ok(self.rt.cudaGraphLaunch(exe, self.stream))

    def close(self) -> None:
        for graph, exe in self._graphs:
            self.rt.cudaGraphExecDestroy(exe)
            self.rt.cudaGraphDestroy(graph)
        for ptr in self._allocs:
            self.rt.cudaFree(ptr)
        self.rt.cudaStreamDestroy(self.stream)
        self._allocs, self._graphs = [], []


def device_memory() -> TorchCuda | CudaPythonMemory:
    return TorchCuda() if torch.cuda.is_available() else CudaPythonMemory()
