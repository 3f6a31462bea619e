"""The max-unpool kernel in Triton: TensorRT's JIT plugin path (tensorrt.plugin `impl`) and the
GPU benchmark's second implementation. Same math as max_unpool.cu and plugins/reference.py.

Import-guarded: Triton has no CPU back end and is often absent; importing this module never
fails, and `max_unpool_triton` says what to install.
"""
from __future__ import annotations

from edgeseg._optional import optional
from edgeseg.errors import MissingDependencyError

triton, tl = optional("triton"), optional("triton.language")

AVAILABLE = triton is not None
BLOCK = 256

if AVAILABLE:

    @triton.jit
    def _max_unpool_kernel(values_ptr, source_ptr, out_ptr, total, out_h, out_w, in_h, in_w,
                           KH: tl.constexpr, KW: tl.constexpr, BLOCK_SIZE: tl.constexpr):
        i = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
        valid = i < total
        x = i % out_w
        y = (i // out_w) % out_h
        plane = i // (out_w * out_h)
        wy = y // KH
        wx = x // KW
        inside = valid & (wy < in_h) & (wx < in_w)
        window = (plane * out_h + wy * KH) * out_w + wx * KW
        best = tl.load(source_ptr + window, mask=inside, other=0.0).to(tl.float32)
        best_at = tl.zeros([BLOCK_SIZE], dtype=tl.int32)
        for dy in tl.static_range(KH):
            for dx in tl.static_range(KW):
                v = tl.load(source_ptr + window + dy * out_w + dx, mask=inside, other=0.0).to(tl.float32)
                better = v > best  # strict: the first maximum wins ties
                best = tl.where(better, v, best)
                best_at = tl.where(better, dy * KW + dx, best_at)
        mine = (y - wy * KH) * KW + (x - wx * KW)
        value = tl.load(values_ptr + (plane * in_h + wy) * in_w + wx, mask=inside & (best_at == mine), other=0.0)
        tl.store(out_ptr + i, value, mask=valid)


def max_unpool_triton(values, source, kernel: tuple[int, int] = (2, 2), out=None):
    """torch CUDA tensors: `values` (N, C, h, w), `source` (N, C, H, W) -> (N, C, H, W), into `out` if given."""
    if not AVAILABLE:
        raise MissingDependencyError("Triton is not installed (needed for the Triton max-unpool kernel): pip install triton")
    import torch

    n, c, h, w = values.shape
    big_h, big_w = source.shape[2:]
    if (big_h // kernel[0], big_w // kernel[1]) != (h, w) or tuple(source.shape[:2]) != (n, c):
        raise ValueError(f"values {tuple(values.shape)} are not a {kernel[0]}x{kernel[1]} pooling of source {tuple(source.shape)}")
    if out is None:
        out = torch.empty((n, c, big_h, big_w), dtype=values.dtype, device=values.device)
    total = out.numel()
    grid = (triton.cdiv(total, BLOCK),)
    _max_unpool_kernel[grid](values.contiguous(), source.contiguous(), out, total, big_h, big_w, h, w,
                             KH=kernel[0], KW=kernel[1], BLOCK_SIZE=BLOCK)
    return out
