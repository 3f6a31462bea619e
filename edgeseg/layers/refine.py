"""RefineNet building blocks (Lin, Milan, Shen, Reid, "RefineNet: Multi-Path Refinement Networks
for High-Resolution Semantic Segmentation", CVPR 2017, arXiv:1611.06612), Fig. 2 (b)-(d).

No batch norm, as in the paper: every unit is residual, so each starts close to identity.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F


def _conv3x3(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=bias)


class ResidualConvUnit(nn.Module):
    """RCU: x + conv3x3(relu(conv3x3(relu(x))))."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(ch, ch)
        self.conv2 = _conv3x3(ch, ch, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class ChainedResidualPooling(nn.Module):
    """relu, then a chain of (5x5/1 max pool -> 3x3 conv) blocks, each output added to the input."""

    def __init__(self, ch: int, blocks: int = 2) -> None:
        super().__init__()
        self.convs = nn.ModuleList([_conv3x3(ch, ch, bias=False) for _ in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        path = x
        for conv in self.convs:
            path = conv(F.max_pool2d(path, 5, 1, 2))
            x = x + path
        return x


class RefineBlock(nn.Module):
    """One RefineNet block: per input 2 RCUs; multi-resolution fusion (3x3 conv to the output
    width, upsample to the largest input, sum); chained residual pooling; one output RCU.

    Inputs are ordered largest resolution first; a single-input block (RefineNet-4) skips fusion.
    """

    def __init__(self, in_channels: List[int], out_channels: int, crp_blocks: int = 2) -> None:
        super().__init__()
        self.adapt = nn.ModuleList([nn.Sequential(ResidualConvUnit(c), ResidualConvUnit(c)) for c in in_channels])
        if len(in_channels) == 1:
            if in_channels[0] != out_channels:
                raise ValueError("a single-input RefineBlock keeps its width (no fusion conv)")
            self.fuse = nn.ModuleList([nn.Identity()])
        else:
            self.fuse = nn.ModuleList([_conv3x3(c, out_channels) for c in in_channels])
        self.crp = ChainedResidualPooling(out_channels, crp_blocks)
        self.out = ResidualConvUnit(out_channels)

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        h, w = xs[0].shape[2], xs[0].shape[3]
        y = self.fuse[0](self.adapt[0](xs[0]))
        for i, (adapt, fuse) in enumerate(zip(self.adapt, self.fuse)):
            if i > 0:  # TorchScript cannot iterate a sliced ModuleList
                z = fuse(adapt(xs[i]))
                y = y + F.interpolate(z, size=[h, w], mode="bilinear", align_corners=False)
        return self.out(self.crp(y))
