"""VGG-16 (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556), configuration D: 13 3x3 convolutions in five blocks
(64, 64 | 128, 128 | 256 x3 | 512 x3 | 512 x3), a 2x2 max pool after each block.

The encoder of FCN, SegNet, DeepLab v1, the dilated front end and G-FRNet. `batch_norm=True`
(the default here) adds BN after every convolution: the 2015 papers fine-tuned ImageNet VGG
without it, but there are no ImageNet weights in this project and BN is what lets these
networks train from scratch; the convolutions themselves are the paper's either way.
`output_stride=8` removes the striding of pools 4 and 5 and dilates block 5 by 2, as DeepLab v1
(Chen et al. 2015) and Yu & Koltun (2016) do; `width` scales every channel count (CI uses tiny
widths; the default is the paper's).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn

from edgeseg.layers.conv import ConvBNAct

VGG16_CHANNELS = (64, 128, 256, 512, 512)
VGG16_DEPTHS = (2, 2, 3, 3, 3)


def conv_relu(cin: int, cout: int, kernel: int = 3, dilation: int = 1, batch_norm: bool = True) -> nn.Module:
    """3x3 (or k x k) 'same' convolution + ReLU, with BN between them when `batch_norm`."""
    if batch_norm:
        return ConvBNAct(cin, cout, kernel, dilation=dilation)
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=pad, dilation=dilation), nn.ReLU(inplace=True))


def scaled(channels: int, width: float) -> int:
    return max(4, int(round(channels * width)))


class VGG16(nn.Module):
    """Returns the five pooled block outputs [pool1 (/2), ..., pool5 (/32 or /8)].

    `blocks` and `pools` are public so that decoders needing the pre-pool maps (SegNet's pooling
    indices, G-FRNet's gates) can walk the blocks with their own pooling.
    `stride1_pools=True` (with output_stride 8) keeps pools 4 and 5 as 3x3/1 max pools, as
    DeepLab v1 does, instead of removing them as Yu & Koltun do.
    """

    def __init__(self, width: float = 1.0, batch_norm: bool = True, output_stride: int = 32, stride1_pools: bool = False) -> None:
        super().__init__()
        if output_stride not in (8, 32):
            raise ValueError(f"VGG16 output_stride must be 8 or 32, got {output_stride}")
        self.channels = [scaled(c, width) for c in VGG16_CHANNELS]
        blocks: list[nn.Module] = []
        pools: list[nn.Module] = []
        cin = 3
        for i, (cout, depth) in enumerate(zip(self.channels, VGG16_DEPTHS)):
            dilation = 2 if output_stride == 8 and i == 4 else 1
            layers = []
            for _ in range(depth):
                layers.append(conv_relu(cin, cout, 3, dilation, batch_norm))
                cin = cout
            blocks.append(nn.Sequential(*layers))
            if output_stride == 8 and i >= 3:
                pools.append(nn.MaxPool2d(3, 1, 1) if stride1_pools else nn.Identity())
            else:
                pools.append(nn.MaxPool2d(2, 2))
        self.blocks = nn.ModuleList(blocks)
        self.pools = nn.ModuleList(pools)
        self.reductions = [2, 4, 8, 16 if output_stride == 32 else 8, output_stride]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        feats: List[torch.Tensor] = []
        for block, pool in zip(self.blocks, self.pools):
            x = pool(block(x))
            feats.append(x)
        return feats


class FCHead(nn.Module):
    """VGG's fc6/fc7 as convolutions (Long et al. 2015): fc6 k x k (dilated in DeepLab and the
    context network), fc7 1x1, each followed by ReLU and dropout 0.5."""

    def __init__(self, cin: int, channels: int = 4096, kernel: int = 7, dilation: int = 1, batch_norm: bool = True, dropout: float = 0.5) -> None:
        super().__init__()
        self.fc6 = conv_relu(cin, channels, kernel, dilation, batch_norm)
        self.drop6 = nn.Dropout(dropout)
        self.fc7 = conv_relu(channels, channels, 1, 1, batch_norm)
        self.drop7 = nn.Dropout(dropout)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop7(self.fc7(self.drop6(self.fc6(x))))
