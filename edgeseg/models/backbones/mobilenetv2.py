"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018, arXiv:1801.04381).

Returns [/2, /4, /8, /16, /32 or dilated] features; `output_stride=16` dilates the last two
stages instead of striding, as DeepLabv3+ does with this backbone.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn

from edgeseg.layers.conv import ConvBNAct


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1, act=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, dilation=dilation, groups=hidden, act=nn.ReLU6),
            ConvBNAct(hidden, cout, 1, act=None),  # linear bottleneck
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


# (expansion t, channels c, repeats n, stride s) from Table 2 of the paper.
_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, output_stride: int = 32, width: float = 1.0) -> None:
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        cin = int(32 * width)
        self.stem = ConvBNAct(3, cin, 3, 2, act=nn.ReLU6)
        blocks: list[nn.Module] = []
        stride, dilation = 2, 1
        taps: list[int] = []  # index of each block whose output is returned
        self.channels: list[int] = []
        self.reductions: list[int] = []
        for t, c, n, s in _SETTINGS:
            cout = int(c * width)
            if stride * s > output_stride:
                block_stride, dilation_next = 1, dilation * s
            else:
                block_stride, dilation_next = s, dilation
                stride *= s
            for i in range(n):
                # The first block of a dilated stage keeps the previous dilation (DeepLab's choice).
                blocks.append(InvertedResidual(cin, cout, block_stride if i == 0 else 1, t, dilation if i == 0 else dilation_next))
                cin = cout
            dilation = dilation_next
            if c in (16, 24, 32, 96, 320):
                taps.append(len(blocks) - 1)
                self.channels.append(cout)
                self.reductions.append(stride)
        self.blocks = nn.ModuleList(blocks)
        self._taps = taps
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.stem(x)
        feats: List[torch.Tensor] = []
        tap = 0
        for i, block in enumerate(self.blocks):
            x = block(x)
            if tap < len(self._taps) and i == self._taps[tap]:
                feats.append(x)
                tap += 1
        return feats
