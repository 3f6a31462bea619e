"""GPU path without TensorRT: an eager or TorchScript model on CUDA in FP16, channels-last, with
each input shape captured once as a CUDA graph and replayed per frame (one launch instead of one
per layer: what makes small networks such as ENet fast at batch 1).

`--backend auto` uses it on a CUDA machine where TensorRT is absent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import InputError
from edgeseg.precision import Precision

PRECISIONS = {Precision.FP32: torch.float32, Precision.FP16: torch.float16}


class CudaGraphRunner(RunnerBase):
    """`source`: an nn.Module (eager or scripted) or a TorchScript file."""

    device = "cuda"

    def __init__(self, source: nn.Module | str | Path, precision: Precision | str = Precision.FP16, channels_last: bool = True,
                 cuda_graph: bool = True, warmup: int = 3) -> None:
        if not torch.cuda.is_available():
            raise InputError("the CUDA-graph back end needs a CUDA GPU and torch sees none; use the torch or onnxruntime back end")
        precision = Precision.of(precision, "precision", tuple(PRECISIONS))
        if isinstance(source, (str, Path)):
            from edgeseg.backends.torchscript_backend import load_torchscript

            source = load_torchscript(source, "cuda")
        self.name = Backend.TORCHSCRIPT if isinstance(source, torch.jit.ScriptModule) else Backend.TORCH
        self.precision, self.dtype = precision, PRECISIONS[precision]
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = source.eval().to("cuda", dtype=self.dtype).to(memory_format=self.memory_format)
        self.use_graph, self.warmup = cuda_graph, warmup
        self._shape: tuple[int, ...] | None = None
        self._graph: torch.cuda.CUDAGraph | None = None

    @torch.no_grad()
    def _capture(self, shape: tuple[int, ...]) -> None:
        self._input = torch.zeros(shape, dtype=self.dtype, device="cuda").to(memory_format=self.memory_format)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the default stream, as graph capture requires
            for _ in range(self.warmup):
                self._output = self.model(self._input)
        torch.cuda.current_stream().wait_stream(side)
        self._graph = None
        if self.use_graph:
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                self._output = self.model(self._input)
        self._shape = shape

    @torch.no_grad()
    def infer(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x)
        if x.shape != self._shape:
            self._capture(x.shape)
        self._input.copy_(torch.from_numpy(x))  # to the GPU, cast and laid out channels-last in one copy
        if self._graph is not None:
            self._graph.replay()
        else:
            self._output = self.model(self._input)
        return self._output.float().cpu().numpy()

    def close(self) -> None:
        self.model = self._graph = self._input = self._output = None
        torch.cuda.empty_cache()
