"""The max-unpool plugin defined with TensorRT's Python plugin API (`tensorrt.plugin`, "QDP").

`register()` declares edgeseg::MaxUnpoolFromSource to TensorRT's plugin registry: output shape
and types, the FP32/FP16 combinations to autotune, and its implementation:

- ahead of time (`aot_impl`): max_unpool.cu compiled to PTX for this GPU and launched by
  TensorRT itself; the kernel is serialized into the engine, which then runs without Python
  (C++ runtime, trtexec). TensorRT passes inputs, the int32 extra arguments, then outputs, in
  the order of the kernel's parameters.
- just in time (`impl`): the Triton kernel, called from Python at run time; for TensorRT
  releases whose tensorrt.plugin has no aot_impl.

No `from __future__ import annotations` here: tensorrt.plugin reads the annotations as types.
"""
from typing import List, Optional, Tuple

from edgeseg._optional import require
from edgeseg.errors import MissingDependencyError
from edgeseg.plugins import KERNEL_NAMES, PLUGIN_ID, UnpoolPlugin
from edgeseg.precision import Precision

BLOCK = 256  # threads per block of the AOT launch
_registered: Optional[UnpoolPlugin] = None


def register(compute_capability: Optional[Tuple[int, int]] = None, aot: bool = True) -> UnpoolPlugin:
    """Register the plugin once per process; returns the form registered (QDP_AOT or QDP_JIT).

    `compute_capability` picks the PTX target for the AOT kernel (GPU 0's when None).
    """
    global _registered
    if _registered is not None:
        return _registered
    trt = require("tensorrt", "the max-unpool plugin")
    trtp = require("tensorrt.plugin", "the max-unpool plugin (TensorRT >= 10.6 has tensorrt.plugin)")
    if aot and not hasattr(trtp, "aot_impl"):
        raise MissingDependencyError(f"TensorRT {trt.__version__} has no ahead-of-time Python plugins; use the C++ plugin or `unpool`=decomposed")

    @trtp.register(PLUGIN_ID)
    def describe(values: trtp.TensorDesc, source: trtp.TensorDesc, kernel_h: int, kernel_w: int) -> trtp.TensorDesc:
        v, s = values.shape_expr, source.shape_expr
        return trtp.from_shape_expr((v[0], v[1], s[2], s[3]), dtype=values.dtype)

    @trtp.autotune(PLUGIN_ID)
    def combinations(values, source, kernel_h, kernel_w, outputs) -> List[trtp.AutoTuneCombination]:
        # all three tensors FP32, or all three FP16; linear (NCHW) layout
        return [trtp.AutoTuneCombination("FP32|FP16, FP32|FP16, FP32|FP16", "LINEAR")]

    if aot:
        ptx_cache = {}

        @trtp.aot_impl(PLUGIN_ID)
        def ahead_of_time(values, source, kernel_h, kernel_w, outputs, tactic):
            from edgeseg.backends.tensorrt_host import host_info
            from edgeseg.plugins.ptx import compile_ptx

            cc = compute_capability or host_info().compute_capability
            if cc not in ptx_cache:
                ptx_cache[cc] = compile_ptx(cc).code
            out, val = outputs[0].shape_expr, values.shape_expr
            total = out.numel()
            launch = trtp.KernelLaunchParams()
            launch.grid_x = trtp.cdiv(total, BLOCK)
            launch.block_x = BLOCK
            launch.shared_mem = 0
            # the kernel's int parameters, in order: total, out_h, out_w, in_h, in_w, kh, kw
            extra = trtp.SymIntExprs.from_tuple([trtp.SymInt32(e) for e in (total, out[2], out[3], val[2], val[3], kernel_h, kernel_w)])
            name = KERNEL_NAMES[Precision.FP16 if values.dtype == trt.float16 else Precision.FP32]
            return name.encode(), ptx_cache[cc], launch, extra

    @trtp.impl(PLUGIN_ID)
    def just_in_time(values, source, kernel_h, kernel_w, outputs, stream) -> None:
        import torch

        from edgeseg.plugins.triton_kernel import max_unpool_triton

        with torch.cuda.stream(torch.cuda.ExternalStream(stream)):
            v = torch.as_tensor(values, device="cuda")
            s = torch.as_tensor(source, device="cuda")
            max_unpool_triton(v, s, (kernel_h, kernel_w), out=torch.as_tensor(outputs[0], device="cuda"))

    _registered = UnpoolPlugin.QDP_AOT if aot else UnpoolPlugin.QDP_JIT
    return _registered
