"""Upsampling helpers shared by decoders."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of `x` to the spatial size of `ref` (align_corners=False, TensorRT-friendly)."""
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)
