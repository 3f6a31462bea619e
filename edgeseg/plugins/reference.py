"""The plugin's math in its reference form (NumPy): what every kernel is tested against.

See edgeseg.plugins for why the operator takes the pooled-from tensor instead of indices.
"""
from __future__ import annotations

import numpy as np


def max_unpool_from_source(values: np.ndarray, source: np.ndarray, kernel: tuple[int, int] = (2, 2)) -> np.ndarray:
    """Scatter `values` (N, C, h, w) to where each kernel window of `source` (N, C, H, W) has
    its first maximum (row-major in the window), zeros elsewhere; output (N, C, H, W).

    Windows are non-overlapping (stride == kernel, floor mode): h == H // kh, w == W // kw, and
    rows/columns past the last full window stay zero.
    """
    kh, kw = kernel
    n, c, h, w = values.shape
    big_h, big_w = source.shape[2:]
    if source.shape[:2] != (n, c) or (big_h // kh, big_w // kw) != (h, w):
        raise ValueError(f"values {values.shape} are not a {kh}x{kw} pooling of source {source.shape}")
    windows = source[:, :, : h * kh, : w * kw].reshape(n, c, h, kh, w, kw).transpose(0, 1, 2, 4, 3, 5)
    first_max = windows.reshape(n, c, h, w, kh * kw).argmax(-1)  # NumPy's argmax keeps the first
    hit = first_max[..., None] == np.arange(kh * kw)
    out = np.where(hit, values[..., None], np.zeros((), values.dtype))
    out = out.reshape(n, c, h, w, kh, kw).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h * kh, w * kw)
    return np.pad(out, [(0, 0), (0, 0), (0, big_h - h * kh), (0, big_w - w * kw)])
