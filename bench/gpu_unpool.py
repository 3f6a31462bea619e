"""Max-unpool on a CUDA GPU: every implementation against the reference, then timed.

    python bench/gpu_unpool.py [--json out.json] [--iters 200]

Implementations: PyTorch's max_unpool2d (indices from max_pool2d: the native form), the
standard-op decomposition (what a plugin-free engine runs), the CUDA C kernel of the TensorRT
plugin (max_unpool.cu, compiled to PTX by NVRTC or nvcc and launched through cuda-python), and
the Triton kernel. Shapes are ENet's two unpoolings at 360x480, batch 1 and 4, FP32 and FP16.
Inputs hold many ties (values from {0, 1, 2}) so the first-maximum rule is exercised.
Needs a CUDA GPU; cuda-python and Triton are optional (their rows say why they are missing).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics

import numpy as np
import torch
import torch.nn.functional as F

from edgeseg.layers.unpool import pool_2x2_decomposed, unpool_2x2_decomposed
from edgeseg.plugins import KERNEL_NAMES
from edgeseg.plugins.reference import max_unpool_from_source
from edgeseg.plugins.triton_kernel import AVAILABLE as HAVE_TRITON, max_unpool_triton

# (N, C, H, W) of the tensor ENet pools: stage-1 and stage-2 downsampling at 360x480
SHAPES = [(1, 16, 180, 240), (1, 64, 90, 120), (4, 16, 180, 240), (4, 64, 90, 120)]


class CudaCKernel:
    """max_unpool.cu's entry points, launched with the CUDA driver API on torch's current stream."""

    BLOCK = 256

    def __init__(self) -> None:
        from cuda.bindings import driver

        from edgeseg.plugins.ptx import compile_ptx

        self.cu = driver
        ptx = compile_ptx(torch.cuda.get_device_capability(0))
        self.compiler = ptx.compiler
        # The driver API needs a current context, and torch's runtime creates its primary context
        # only at its first allocation: retain that same context and make it current (without
        # this, loading the module failed with CUDA_ERROR_INVALID_CONTEXT on an H200).
        device = self._ok(driver.cuDeviceGet(torch.cuda.current_device()))
        self._ok(driver.cuCtxSetCurrent(self._ok(driver.cuDevicePrimaryCtxRetain(device))))
        self.module = self._ok(driver.cuModuleLoadData(ptx.code + b"\0"))
        self.functions = {k: self._ok(driver.cuModuleGetFunction(self.module, name.encode())) for k, name in KERNEL_NAMES.items()}

    def _ok(self, result):
        err, *rest = result
        if int(err) != 0:
            raise RuntimeError(f"CUDA driver error {err}")
        return rest[0] if rest else None

    def __call__(self, values: torch.Tensor, source: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        import ctypes

        n, c, h, w = values.shape
        big_h, big_w = source.shape[2:]
        total = out.numel()
        args = [ctypes.c_void_p(values.data_ptr()), ctypes.c_void_p(source.data_ptr()), ctypes.c_int(total),
                ctypes.c_int(big_h), ctypes.c_int(big_w), ctypes.c_int(h), ctypes.c_int(w), ctypes.c_int(2), ctypes.c_int(2),
                ctypes.c_void_p(out.data_ptr())]
        pointers = (ctypes.c_void_p * len(args))(*[ctypes.addressof(a) for a in args])
        fn = self.functions["fp16" if values.dtype == torch.float16 else "fp32"]
        grid = (total + self.BLOCK - 1) // self.BLOCK
        stream = torch.cuda.current_stream().cuda_stream
        self._ok(self.cu.cuLaunchKernel(fn, grid, 1, 1, self.BLOCK, 1, 1, 0, stream, ctypes.addressof(pointers), 0))
        return out


def time_ms(fn, iters: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU: torch sees none")
    try:
        cuda_c = CudaCKernel()
        cuda_c_missing = None
    except Exception as e:  # cuda-python absent, or no compiler: report the row as missing
        cuda_c, cuda_c_missing = None, f"{type(e).__name__}: {e}"
    rows = []
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        for dtype in (torch.float32, torch.float16):
            src_np = rng.integers(0, 3, size=shape).astype(np.float32)
            vals_np = rng.normal(size=(shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(np.float32)
            want = max_unpool_from_source(vals_np.astype(np.float16 if dtype == torch.float16 else np.float32),
                                          src_np.astype(np.float16 if dtype == torch.float16 else np.float32))
            source = torch.from_numpy(src_np).to("cuda", dtype)
            values = torch.from_numpy(vals_np).to("cuda", dtype)
            out = torch.empty(shape, device="cuda", dtype=dtype)
            _, idx = F.max_pool2d(source, 2, 2, return_indices=True)
            _, code = pool_2x2_decomposed(source)
            impls = {
                "torch max_unpool2d": lambda: F.max_unpool2d(values, idx, 2, 2, output_size=shape[2:]),
                "decomposition": lambda: unpool_2x2_decomposed(values, code, shape[2], shape[3]),
            }
            if cuda_c is not None:
                impls["CUDA C (plugin kernel)"] = lambda: cuda_c(values, source, out)
            if HAVE_TRITON:
                impls["Triton"] = lambda: max_unpool_triton(values, source, (2, 2), out=out)
            for name, fn in impls.items():
                got = fn().float().cpu().numpy()
                exact = bool(np.array_equal(got, want.astype(np.float32)))
                rows.append({"impl": name, "shape": list(shape), "dtype": str(dtype).split(".")[-1], "exact": exact,
                             "ms": time_ms(fn, args.iters)})
    missing = {"CUDA C (plugin kernel)": cuda_c_missing, "Triton": None if HAVE_TRITON else "Triton is not installed"}
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, median of {args.iters} runs (CUDA events)")
    print(f"{'implementation':<24} {'shape':<20} {'dtype':<8} {'exact':<6} {'ms':>8}")
    for r in rows:
        print(f"{r['impl']:<24} {'x'.join(map(str, r['shape'])):<20} {r['dtype']:<8} {str(r['exact']):<6} {r['ms']:>8.4f}")
    for name, why in missing.items():
        if why:
            print(f"{name}: not run ({why})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "python": platform.python_version(),
                       "iters": args.iters, "rows": rows, "missing": {k: v for k, v in missing.items() if v}}, f, indent=2)
    if not all(r["exact"] for r in rows):
        raise SystemExit("some implementation differs from the reference: see the 'exact' column")


if __name__ == "__main__":
    main()
