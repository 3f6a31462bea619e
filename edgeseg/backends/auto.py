"""`backend='auto'`: the fastest back end on this machine for an artifact's format and precision.

On a GPU: TensorRT for an engine (or when it is installed), else fp16 CUDA graphs. On a CPU: the
first back end of `CPU_ORDER` that can run here, an order measured on the trio at 360x480, batch 1,
2 threads (bench/README.md, "OpenVINO before torch.compile"): for weights OpenVINO leads, 20-46 %
faster than torch.compile on LinkNet and DeepLabv3+ in fp32 and bf16, level with it on ENet (4 %
behind in bf16), with a faster stream and no 40-60 s inductor compile at each start.
Every choice comes with one line saying what was taken and why.

A weights artifact with no precision asked for computes in bf16 on a CPU that runs bf16 natively
when its manifest shows what that costs and the cost is within `BF16_MAX_DROP_POINTS`
(`default_cpu_precision`); elsewhere in fp32. (On a GPU, `auto` already computes in fp16.)
"""
from __future__ import annotations

from dataclasses import dataclass

from edgeseg._optional import available
from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backend_names import Backend
from edgeseg.errors import InputError
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.manifest import Manifest, precision_check
from edgeseg.precision import BF16_MAX_DROP_POINTS, Precision

B, F, P = Backend, ArtifactFormat, Precision
# (artifact format, precision) -> CPU back ends, fastest first as measured
# (bench/results/auto-order-xeon-amx, cpu-paths-xeon-amx-bf16-default.json, cpu-paths.json)
CPU_ORDER: dict[tuple[ArtifactFormat, Precision], tuple[Backend, ...]] = {
    (F.WEIGHTS, P.FP32): (B.OPENVINO, B.COMPILED, B.ONNXRUNTIME, B.TORCH),
    (F.WEIGHTS, P.BF16): (B.OPENVINO, B.COMPILED),
    (F.ONNX, P.BF16): (B.OPENVINO,),
    (F.PT2, P.FP32): (B.AOTI,),
    (F.TORCHSCRIPT, P.FP32): (B.TORCHSCRIPT,),
    (F.ONNX, P.FP32): (B.OPENVINO, B.ONNXRUNTIME),
    (F.ONNX, P.INT8): (B.OPENVINO, B.ONNXRUNTIME),
}
_CPU_FALLBACK = {F.WEIGHTS: B.TORCH, F.TORCHSCRIPT: B.TORCHSCRIPT, F.PT2: B.AOTI, F.ONNX: B.ONNXRUNTIME}


@dataclass(frozen=True)
class Choice:
    backend: Backend
    reason: str

    def line(self) -> str:
        return f"backend auto -> {self.backend}: {self.reason}"


def default_cpu_precision(manifest: Manifest) -> tuple[Precision, str]:
    """The precision a weights artifact computes in on this CPU when none is asked for, and why."""
    from edgeseg.hardware import bf16_unsupported_reason

    if why := bf16_unsupported_reason():
        return P.FP32, f"fp32: {why}"
    check = precision_check(manifest, P.BF16)
    if check is None:
        return P.FP32, "fp32: the manifest records no bf16 measurement (edgeseg.eval.precision_check)"
    cost = f"bf16 cost {check.drop_points:.2f} mIoU points on {check.validation}"
    if check.drop_points > BF16_MAX_DROP_POINTS:
        return P.FP32, f"fp32: {cost}, over the {BF16_MAX_DROP_POINTS} allowed"
    return P.BF16, f"bf16: this CPU computes it natively and {cost}; precision='fp32' for fp32"


def why_not_on_cpu(backend: Backend, unpool: UnpoolForm | None = None, uint8_activations: bool = False) -> str | None:
    """Why `backend` cannot run on this CPU (for a graph with that `unpool` form and activation
    type), or None when it can."""
    if backend == B.OPENVINO and unpool == UnpoolForm.NATIVE:
        return "OpenVINO reads no ONNX MaxUnpool (this graph has the native unpool form)"
    if backend == B.OPENVINO and uint8_activations:
        return "OpenVINO crashes on the CPU-only uint8 Q/DQ form (it runs model.int8.onnx)"
    if backend == B.COMPILED:
        from edgeseg.hardware import cxx_compiler

        return None if cxx_compiler() else "no C++ compiler for inductor"
    if backend in (B.OPENVINO, B.ONNXRUNTIME):
        return None if available(backend) else f"{backend} is not installed"
    return None


def choose_cpu(fmt: ArtifactFormat | str, precision: Precision | str, unpool: UnpoolForm | None = None, uint8_activations: bool = False) -> Choice:
    """The measured-fastest back end for a `fmt` artifact at `precision` that can run on this CPU."""
    fmt, precision = ArtifactFormat.of(fmt, "fmt"), Precision.of(precision, "precision")
    if precision is P.BF16:
        from edgeseg.hardware import bf16_unsupported_reason

        if why := bf16_unsupported_reason():
            raise InputError(f"precision='bf16': {why}")
    order = CPU_ORDER.get((fmt, precision), (_CPU_FALLBACK.get(fmt, B.TORCH),))
    skipped = []
    for backend in order:
        why = why_not_on_cpu(backend, unpool, uint8_activations)
        if why is None:
            first = "fastest measured" if not skipped else f"fastest available ({'; '.join(skipped)})"
            return Choice(backend, f"{first} on a CPU for a {precision} {fmt} artifact")
        skipped.append(f"{backend}: {why}")
    return Choice(order[-1], f"only candidate for a {precision} {fmt} artifact ({'; '.join(skipped)})")
