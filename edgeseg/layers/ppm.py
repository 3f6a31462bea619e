"""Pyramid pooling module (Zhao, Shi, Qi, Wang, Jia, "Pyramid Scene Parsing Network", CVPR 2017,
arXiv:1612.01105), and the adaptive average pooling it is built on.

`adaptive_avg_pool2d` is written as two matrix products instead of calling
`F.adaptive_avg_pool2d`: the ONNX exporter only converts the latter when the input size is a
multiple of the bin count (45 x 60 maps at 360 x 480 are not, for bins 2, 3 and 6), whereas
MatMul exports everywhere and TensorRT parses it. The bins are PyTorch's exactly:
bin i covers [floor(i*H/b), ceil((i+1)*H/b)).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.conv import ConvBNAct


def _pool_matrix(size: int, bins: int, like: torch.Tensor) -> torch.Tensor:
    """(bins, size) matrix whose row i averages positions [floor(i*size/bins), ceil((i+1)*size/bins))."""
    i = torch.arange(bins, device=like.device)
    start = torch.div(i * size, bins, rounding_mode="floor")
    end = torch.div((i + 1) * size + bins - 1, bins, rounding_mode="floor")
    pos = torch.arange(size, device=like.device)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def adaptive_avg_pool2d(x: torch.Tensor, bins: int) -> torch.Tensor:
    """Same result as `F.adaptive_avg_pool2d(x, bins)`, exportable at any input size."""
    ph = _pool_matrix(x.shape[2], bins, x)
    pw = _pool_matrix(x.shape[3], bins, x)
    return torch.matmul(torch.matmul(ph, x), pw.t())


class _PoolBranch(nn.Module):
    def __init__(self, cin: int, cout: int, bins: int) -> None:
        super().__init__()
        self.bins = bins
        # BN on a 1x1 bin needs batch > 1 in training (the trainer drops the last short batch).
        self.conv = ConvBNAct(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(adaptive_avg_pool2d(x, self.bins))
        return F.interpolate(y, size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


class PyramidPooling(nn.Module):
    """Concatenate `x` with, per bin count, average pool -> 1x1 conv (cin/len(bins)) -> upsample."""

    def __init__(self, cin: int, bins: tuple[int, ...] = (1, 2, 3, 6), branch_channels: int | None = None) -> None:
        super().__init__()
        cout = branch_channels if branch_channels is not None else cin // len(bins)
        self.branches = nn.ModuleList([_PoolBranch(cin, cout, b) for b in bins])
        self.out_channels = cin + cout * len(bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: List[torch.Tensor] = [x]
        for branch in self.branches:
            outs.append(branch(x))
        return torch.cat(outs, dim=1)
