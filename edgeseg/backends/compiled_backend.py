"""In-process `torch.compile` back end: inductor with freezing, channels-last, and bf16 autocast
where the CPU runs bf16 natively (edgeseg.hardware).

Freezing folds the weights into the graph as constants (BatchNorm into convolutions, weight
layouts fixed once), which is what makes inductor fast for inference. A graph is compiled on its
first call, for that call's shape and thread count (inductor builds its kernels for one): its cost
is paid once and stated (`compile_s`, `detail`), and is spent only on the graph a caller uses.
A later process with the same model, shapes and torch finds the kernels in inductor's on-disk
caches ($TORCHINDUCTOR_CACHE_DIR) and compiles in a fraction of the time.

Two graphs: `infer` (normalised float input -> logits, the Runner interface) and `segment`, the
stream's and `predict`'s fast path: normalisation, the network and the argmax as one graph from BGR
uint8 frames to uint8 class maps (edgeseg.preprocess.frames_to_input), so the float input and the
logits never leave it.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
import torch.nn as nn

from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.backends.torch_backend import resolve_device
from edgeseg.errors import InputError, MissingDependencyError
from edgeseg.preprocess import frames_to_input

PRECISIONS = ("fp32", "bf16")


def inductor_cache_dir() -> str:
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    return cache_dir()


class CompiledRunner(RunnerBase):
    """`model` compiled by inductor, each graph on its first call (an input of another shape compiles again)."""

    name = "compiled"
    fuses_frames = True

    def __init__(self, model: nn.Module, device: str | None = None, precision: str = "fp32", channels_last: bool = True) -> None:
        if isinstance(model, torch.jit.ScriptModule):
            raise InputError("the compiled back end compiles a model's weights, not TorchScript; pass the .safetensors artifact")
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)} on the compiled back end, got {precision!r}")
        self.device = resolve_device(device)
        if self.device == "cpu":
            from edgeseg.hardware import bf16_unsupported_reason, cxx_compiler

            if cxx_compiler() is None:
                raise MissingDependencyError("torch.compile builds C++ kernels on the CPU and no C++ compiler was found: install g++ (apt install g++)")
            if precision == "bf16" and (why := bf16_unsupported_reason()):
                raise InputError(f"precision='bf16': {why}")
        self.precision = precision
        self.channels_last = channels_last
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device, memory_format=self.memory_format)
        self._fn = _compile(self.model)
        self._segment = None  # ((frame size, normalisation), compiled frames -> classes), made on the first `segment`
        self._called: set = set()  # the graphs that have run (compiled) once
        self.compile_s = 0.0  # their compile time, summed

    @property
    def detail(self) -> str:
        layout = ", channels_last" if self.channels_last else ""
        done = f"compiled in {self.compile_s:.1f} s" if self._called else "compiles on its first call"
        return f"inductor, freezing{layout}, {self.precision}: {done} (cached in {inductor_cache_dir()})"

    def _call(self, key, fn, t: torch.Tensor) -> torch.Tensor:
        t0 = time.perf_counter()
        with torch.inference_mode(), self._autocast():
            out = fn(t)
        if key not in self._called:
            self._called.add(key)
            self.compile_s += time.perf_counter() - t0
        return out

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(self, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(check_input(x)).to(self.device).contiguous(memory_format=self.memory_format)
        return self._call("logits", self._fn, t).float().cpu().numpy()

    def segment(self, frames_bgr: np.ndarray, mean, std) -> np.ndarray:
        """BGR uint8 (N, h, w, 3) frames at the input size -> uint8 (N, h, w) class maps, the same
        as `infer` then argmax, with `mean` / `std` normalisation and the argmax inside the graph."""
        key = (tuple(frames_bgr.shape[1:3]), tuple(mean), tuple(std))
        if self._segment is None or self._segment[0] != key:
            self._segment = key, _compile(_FramesToClasses(self.model, key[0], mean, std))
        # flat, then viewed: standard strides even on a size-1 axis (a frame[None] has stride 0
        # there, and the compiled graph's guards would take it for a new input and recompile)
        t = torch.from_numpy(np.ascontiguousarray(frames_bgr).reshape(-1)).view(frames_bgr.shape).to(self.device)
        return self._call(key, self._segment[1], t).cpu().numpy()

    def close(self) -> None:
        self.model = self._fn = self._segment = None


def _compile(module: nn.Module):
    return torch.compile(module, backend="inductor", dynamic=False, options={"freezing": True})


class _FramesToClasses(nn.Module):
    def __init__(self, model: nn.Module, input_size: tuple[int, int], mean, std) -> None:
        super().__init__()
        self.model, self.input_size, self.mean, self.std = model, input_size, tuple(mean), tuple(std)

    def forward(self, frames_bgr: torch.Tensor) -> torch.Tensor:
        # frames_to_input's output is channels-last already: the layout the model was moved to
        x = frames_to_input(frames_bgr, self.input_size, self.mean, self.std)
        return self.model(x).argmax(1).to(torch.uint8)
