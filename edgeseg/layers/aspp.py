"""Atrous Spatial Pyramid Pooling (Chen et al., DeepLabv3, arXiv:1706.05587)."""
from __future__ import annotations

import torch
import torch.nn as nn

from edgeseg.layers.conv import ConvBNAct, SeparableConvBNAct


class _ImagePool(nn.Module):
    """Image-level features: global average pool -> 1x1 conv -> broadcast back."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        # BN on a 1x1 map needs batch > 1 in training: the trainer drops the last short batch.
        self.conv = ConvBNAct(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.pool(x))
        return y.expand(-1, -1, x.shape[2], x.shape[3])


class ASPP(nn.Module):
    """1x1 branch, one 3x3 atrous branch per rate, optional image pooling; concat -> 1x1 projection."""

    def __init__(
        self,
        cin: int,
        cout: int = 256,
        rates: tuple[int, ...] = (6, 12, 18),
        image_pool: bool = True,
        separable: bool = False,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        branches: list[nn.Module] = [ConvBNAct(cin, cout, 1)]
        for r in rates:
            branches.append(SeparableConvBNAct(cin, cout, dilation=r) if separable else ConvBNAct(cin, cout, 3, dilation=r))
        if image_pool:
            branches.append(_ImagePool(cin, cout))
        self.branches = nn.ModuleList(branches)
        self.project = nn.Sequential(ConvBNAct(cout * len(branches), cout, 1), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([b(x) for b in self.branches], dim=1))
