"""Upsampling helpers shared by decoders.

Where a paper leaves the choice open, decoders take an upsampling `mode`:

- ``bilinear``: fixed bilinear interpolation (optionally after a 1x1 conv that changes channels);
- ``transposed``: a learned transposed convolution initialised to bilinear interpolation
  (Long et al., FCN, CVPR 2015, section 3.3), or to the PyTorch default when it changes channels;
- ``unpool``: max unpooling with the encoder's pooling indices (Badrinarayanan et al., SegNet).

All three share one forward signature, ``(x, out_h, out_w, indices=None)``, with the output size
explicit so that odd sizes (45 -> 22 -> 45) round-trip. `MaxPool2x2` is the encoder side: it
returns the indices only when an unpooling decoder will use them, so a bilinear decoder exports
a plain MaxPool.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.unpool import MaxPoolWithIndices, MaxUnpool

UPSAMPLE_MODES = ("bilinear", "transposed", "unpool")


def resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of `x` to the spatial size of `ref` (align_corners=False, TensorRT-friendly)."""
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


def bilinear_kernel(size: int) -> torch.Tensor:
    """2-D bilinear interpolation filter of `size` x `size` (FCN's `upsample_filt`)."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = torch.arange(size, dtype=torch.float64)
    filt = 1 - torch.abs(og - center) / factor
    return (filt[:, None] * filt[None, :]).float()


class BilinearUpsample(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        # A 1x1 conv commutes with bilinear interpolation, so run it on the smaller map.
        self.proj = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, out_h: int, out_w: int, indices: Optional[torch.Tensor] = None) -> torch.Tensor:
        return F.interpolate(self.proj(x), size=[out_h, out_w], mode="bilinear", align_corners=False)


class TransposedUpsample(nn.Module):
    """Transposed convolution with stride `scale`; kernel 2*scale (FCN) unless given.

    With cin == cout and an overlapping kernel it starts as exact bilinear interpolation (channel
    by channel) away from the border. `learnable=False` freezes it there, as FCN does for its
    final upsampling layer.
    """

    def __init__(self, cin: int, cout: int, scale: int = 2, kernel: Optional[int] = None, learnable: bool = True) -> None:
        super().__init__()
        kernel = 2 * scale if kernel is None else kernel
        self.scale = scale
        self.conv = nn.ConvTranspose2d(cin, cout, kernel, scale, (kernel - scale) // 2, bias=False)
        if cin == cout and kernel > scale:
            with torch.no_grad():
                self.conv.weight.zero_()
                filt = bilinear_kernel(kernel)
                for c in range(cin):
                    self.conv.weight[c, c] = filt
        self.conv.weight.requires_grad_(learnable)

    def forward(self, x: torch.Tensor, out_h: int, out_w: int, indices: Optional[torch.Tensor] = None) -> torch.Tensor:
        # A larger target (floor-mode pooling dropped rows) is reached with output_padding < stride;
        # a smaller one (ceil-mode strides, as in ResNet's stem) by cropping.
        h = max(out_h, x.shape[2] * self.scale)
        w = max(out_w, x.shape[3] * self.scale)
        return self.conv(x, output_size=[h, w])[:, :, :out_h, :out_w]


class UnpoolUpsample(nn.Module):
    """2x max unpooling with the indices of the matching `MaxPool2x2(keep_indices=True)`."""

    def __init__(self) -> None:
        super().__init__()
        self.unpool = MaxUnpool()

    def forward(self, x: torch.Tensor, out_h: int, out_w: int, indices: Optional[torch.Tensor] = None) -> torch.Tensor:
        assert indices is not None, "unpool upsampling needs the encoder's pooling indices"
        return self.unpool(x, indices, out_h, out_w)


def make_upsample(mode: str, cin: int, cout: Optional[int] = None, scale: int = 2, kernel: Optional[int] = None, learnable: bool = True) -> nn.Module:
    """Build the upsampling layer for `mode` (see the module docstring)."""
    cout = cin if cout is None else cout
    if mode == "bilinear":
        return BilinearUpsample(cin, cout)
    if mode == "transposed":
        return TransposedUpsample(cin, cout, scale, kernel, learnable)
    if mode == "unpool":
        if scale != 2 or cin != cout:
            raise ValueError("unpool upsampling is 2x and keeps the channel count")
        return UnpoolUpsample()
    raise ValueError(f"upsampling mode must be one of {UPSAMPLE_MODES}, got {mode!r}")


class MaxPool2x2(nn.Module):
    """2x2/stride-2 max pool returning (values, indices or None).

    Indices come from `MaxPoolWithIndices`, so `set_unpool_mode` switches their export form.
    """

    def __init__(self, keep_indices: bool = False) -> None:
        super().__init__()
        self.keep_indices = keep_indices
        self.pool = MaxPoolWithIndices()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if self.keep_indices:
            y, idx = self.pool(x)
            return y, idx
        return F.max_pool2d(x, [2, 2], [2, 2]), None
