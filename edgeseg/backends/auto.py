"""`backend='auto'`: the fastest back end on this machine for an artifact's format and precision.

On a GPU: TensorRT for an engine (or when it is installed), else fp16 CUDA graphs. On a CPU: the
first back end of `CPU_ORDER` that can run here, an order measured with bench/cpu_paths.py (ENet,
LinkNet, DeepLabv3+ at 360x480, batch 1, 2 threads; figures in bench/results/cpu-paths.json).
Every choice comes with one line saying what was taken and why.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgeseg._optional import available
from edgeseg.errors import InputError

# (artifact format, precision) -> CPU back ends, fastest first as measured (bench/results/cpu-paths.json)
CPU_ORDER: dict[tuple[str, str], tuple[str, ...]] = {
    ("weights", "fp32"): ("compiled", "onnxruntime", "openvino", "torch"),
    ("weights", "bf16"): ("compiled", "openvino"),
    ("onnx", "bf16"): ("openvino",),
    ("pt2", "fp32"): ("aoti",),
    ("torchscript", "fp32"): ("torchscript",),
    ("onnx", "fp32"): ("openvino", "onnxruntime"),
    ("onnx", "int8"): ("openvino", "onnxruntime"),
}
_CPU_FALLBACK = {"weights": "torch", "torchscript": "torchscript", "pt2": "aoti", "onnx": "onnxruntime"}


@dataclass(frozen=True)
class Choice:
    backend: str
    reason: str

    def line(self) -> str:
        return f"backend auto -> {self.backend}: {self.reason}"


def why_not_on_cpu(backend: str, unpool: str | None = None, uint8_activations: bool = False) -> str | None:
    """Why `backend` cannot run on this CPU (for a graph with that `unpool` form and activation
    type), or None when it can."""
    if backend == "openvino" and unpool == "native":
        return "OpenVINO reads no ONNX MaxUnpool (this graph has the native unpool form)"
    if backend == "openvino" and uint8_activations:
        return "OpenVINO crashes on the CPU-only uint8 Q/DQ form (it runs model.int8.onnx)"
    if backend == "compiled":
        from edgeseg.hardware import cxx_compiler

        return None if cxx_compiler() else "no C++ compiler for inductor"
    if backend in ("openvino", "onnxruntime"):
        return None if available(backend) else f"{backend} is not installed"
    return None


def choose_cpu(fmt: str, precision: str, unpool: str | None = None, uint8_activations: bool = False) -> Choice:
    """The measured-fastest back end for a `fmt` artifact at `precision` that can run on this CPU."""
    if precision == "bf16":
        from edgeseg.hardware import bf16_unsupported_reason

        if why := bf16_unsupported_reason():
            raise InputError(f"precision='bf16': {why}")
    order = CPU_ORDER.get((fmt, precision), (_CPU_FALLBACK.get(fmt, "torch"),))
    skipped = []
    for backend in order:
        why = why_not_on_cpu(backend, unpool, uint8_activations)
        if why is None:
            first = "fastest measured" if not skipped else f"fastest available ({'; '.join(skipped)})"
            return Choice(backend, f"{first} on a CPU for a {precision} {fmt} artifact")
        skipped.append(f"{backend}: {why}")
    return Choice(order[-1], f"only candidate for a {precision} {fmt} artifact ({'; '.join(skipped)})")
