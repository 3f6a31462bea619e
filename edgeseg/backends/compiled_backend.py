"""In-process `torch.compile` back end: inductor with freezing, channels-last, and bf16 autocast
where the CPU runs bf16 natively (edgeseg.hardware).

Freezing folds the weights into the graph as constants (BatchNorm into convolutions, weight layouts
fixed once, activations fused into oneDNN's convolutions), which is what makes inductor fast for
inference: ENet 360x480 in bf16 went from 49 to 33-40 ms here. It is asked for through inductor's
config around each call, since `torch.compile(options={"freezing": True})` compiles unfrozen in
torch 2.13 (the profiler shows BatchNorms unfolded and convolutions unpacked). BatchNorms after a
transposed convolution are folded first (edgeseg.backends.transposed_bn): freezing folds those wrongly.

The model is compiled on its first call, for that call's shape and thread count (inductor builds
its kernels for one; another shape or count compiles again), so a stream compiles once, for its
own thread count (edgeseg.stream.pipeline). The cost is paid once per process and stated
(`compile_s`, `detail`). Inductor's on-disk caches ($TORCHINDUCTOR_CACHE_DIR) keep the C++ kernels
but not a frozen graph (oneDNN's prepacked weights cannot be pickled), so each process traces and
freezes again: ENet 40-55 s here, where an unfrozen graph came from the cache in 12 s and ran
20-30 % slower. To pay it once per machine, export an AOTInductor package (`edgeseg export --format pt2`).
"""
from __future__ import annotations

import contextlib
import copy
import time

import numpy as np
import torch
import torch._inductor.config as inductor_config
import torch.nn as nn

from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.backends.torch_backend import resolve_device
from edgeseg.backends.transposed_bn import prepare_for_freezing
from edgeseg.errors import InputError, MissingDependencyError
from edgeseg.precision import Precision

PRECISIONS = (Precision.FP32, Precision.BF16)


def inductor_cache_dir() -> str:
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    return cache_dir()


class CompiledRunner(RunnerBase):
    """`model` compiled by inductor on its first call (an input of another shape compiles again)."""

    name = Backend.COMPILED

    def __init__(self, model: nn.Module, device: str | None = None, precision: Precision | str = Precision.FP32, channels_last: bool = True) -> None:
        if isinstance(model, torch.jit.ScriptModule):
            raise InputError("the compiled back end compiles a model's weights, not TorchScript; pass the .safetensors artifact")
        precision = Precision.of(precision, "precision", PRECISIONS)
        self.device = resolve_device(device)
        if self.device == "cpu":
            from edgeseg.hardware import bf16_unsupported_reason, cxx_compiler

            if cxx_compiler() is None:
                raise MissingDependencyError("torch.compile builds C++ kernels on the CPU and no C++ compiler was found: install g++ (apt install g++)")
            if precision is Precision.BF16 and (why := bf16_unsupported_reason()):
                raise InputError(f"precision='bf16': {why}")
        self.precision = precision
        self.channels_last = channels_last
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model = copy.deepcopy(model).eval()  # folded below: the caller's model stays as it was
        self.not_frozen_because = prepare_for_freezing(model)  # None: frozen
        self.model = model.to(self.device, memory_format=self.memory_format)
        self._fn = torch.compile(self.model, backend="inductor", dynamic=False)
        self.compile_s: float | None = None  # the first call's time, almost all of it compiling; None before it

    @property
    def freezing(self) -> bool:
        return self.not_frozen_because is None

    @property
    def detail(self) -> str:
        layout = ", channels_last" if self.channels_last else ""
        frozen = "freezing" if self.freezing else f"not frozen ({self.not_frozen_because})"
        done = "compiles on its first call" if self.compile_s is None else f"compiled in {self.compile_s:.1f} s"
        return f"inductor, {frozen}{layout}, {self.precision}: {done} (kernels cached in {inductor_cache_dir()})"

    def _autocast(self):
        if self.precision is Precision.BF16:
            return torch.autocast(self.device, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(self, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(check_input(x)).to(self.device).contiguous(memory_format=self.memory_format)
        t0 = time.perf_counter()
        # every call: a new shape or thread count compiles again, and must freeze too
        with torch.inference_mode(), self._autocast(), inductor_config.patch(freezing=self.freezing):
            logits = self._fn(t)
        if self.compile_s is None:
            self.compile_s = time.perf_counter() - t0
        return logits.float().cpu().numpy()

    def close(self) -> None:
        self.model = self._fn = None
