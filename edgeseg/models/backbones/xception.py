"""Aligned Xception-65 (Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017, arXiv:1610.02357), as modified for DeepLabv3+ (Chen et al. 2018,
arXiv:1802.02611, section 3.2): a deeper middle flow (16 blocks), every max pooling replaced by
a strided separable convolution so the stride can become dilation, and batch norm + ReLU after
each depthwise convolution, MobileNet style.

Returns [/2 stem, /4, /8, /16, final] features. The /4 map is the input of entry block 2's last
(strided) unit, 256 channels, the low-level feature DeepLabv3+'s decoder uses.
`output_stride` 16 or 8 dilates the later blocks instead of striding.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn as nn

from edgeseg.layers.conv import ConvBNAct, SeparableConvBNAct


class XceptionBlock(nn.Module):
    """Three separable convs, the last carrying the block's stride, plus a skip: a strided 1x1
    conv ('conv'), the identity ('sum') or none ('none')."""

    def __init__(self, cin: int, channels: Tuple[int, int, int], stride: int, dilation: int, skip: str) -> None:
        super().__init__()
        ins = (cin, channels[0], channels[1])
        self.units = nn.ModuleList(
            SeparableConvBNAct(a, b, dilation, stride=stride if i == 2 else 1) for i, (a, b) in enumerate(zip(ins, channels))
        )
        self.has_skip = skip != "none"
        self.skip = ConvBNAct(cin, channels[2], 1, stride, act=None) if skip == "conv" else nn.Identity()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(output, input of the last unit)."""
        mid = self.units[1](self.units[0](x))
        y = self.units[2](mid)
        if self.has_skip:
            y = y + self.skip(x)
        return y, mid


# (channels, stride, skip) per block, from the DeepLabv3+ paper's Figure 4.
_ENTRY = [((128, 128, 128), 2, "conv"), ((256, 256, 256), 2, "conv"), ((728, 728, 728), 2, "conv")]
_MIDDLE = ((728, 728, 728), 1, "sum")
_EXIT = [((728, 1024, 1024), 2, "conv"), ((1536, 1536, 2048), 1, "none")]


class Xception65(nn.Module):
    def __init__(self, output_stride: int = 16, width: float = 1.0, middle_blocks: int = 16) -> None:
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        w = lambda c: max(8, int(c * width))  # noqa: E731  (narrow builds for fast tests)
        self.stem = nn.Sequential(ConvBNAct(3, w(32), 3, 2), ConvBNAct(w(32), w(64), 3))
        specs = _ENTRY + [_MIDDLE] * middle_blocks + _EXIT
        stride, dilation, cin = 2, 1, w(64)
        blocks: list[nn.Module] = []
        for channels, s, skip in specs:
            if stride * s > output_stride:
                block_stride, next_dilation = 1, dilation * s  # the block keeps the dilation it starts with
            else:
                block_stride, next_dilation = s, dilation
                stride *= s
            cs = (w(channels[0]), w(channels[1]), w(channels[2]))
            blocks.append(XceptionBlock(cin, cs, block_stride, dilation, skip))
            cin, dilation = cs[2], next_dilation
        self.blocks = nn.ModuleList(blocks)
        self.channels = [w(64), w(256), w(256), w(728), cin]
        self.reductions = [2, 4, min(8, output_stride), min(16, output_stride), stride]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.stem(x)
        feats: List[torch.Tensor] = [x]
        for i, block in enumerate(self.blocks):
            x, mid = block(x)
            if i == 1:
                feats += [mid, x]
            elif i == 2:
                feats.append(x)
        feats.append(x)
        return feats
