"""U-Net (Ronneberger, Fischer, Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015, arXiv:1505.04597), Fig. 1.

Contracting path: four (two 3x3 convs, 2x2 max pool) steps doubling the width from `base`
(64 in the paper: 64-128-256-512-1024); expanding path: 2x2 up-convolution halving the width,
concatenation with the encoder map of the same level (the skip), two 3x3 convs; a 1x1 classifier.

Deviations: 'same' padding with batch norm instead of the paper's unpadded convolutions and
cropping, so the output has the input's size; `upsample="bilinear"` (bilinear + 1x1 conv
halving the width) replaces the learned 2x2 up-convolution. With base 64 and 2 classes the
model has 31.04M parameters (computed from Fig. 1; the paper states no count).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.conv import ConvBNAct
from edgeseg.layers.upsample import make_upsample
from edgeseg.models._registry import register_model

PAPER = "Ronneberger, Fischer, Brox 2015, arXiv:1505.04597"


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(ConvBNAct(cin, cout, 3), ConvBNAct(cout, cout, 3))


class UNet(nn.Module):
    def __init__(self, num_classes: int = 11, base: int = 64, upsample: str = "transposed") -> None:
        super().__init__()
        ch = [base * 2**i for i in range(5)]
        self.downs = nn.ModuleList([double_conv(3 if i == 0 else ch[i - 1], ch[i]) for i in range(5)])
        self.ups = nn.ModuleList([make_upsample(upsample, ch[i + 1], ch[i], kernel=2) for i in reversed(range(4))])
        self.decs = nn.ModuleList([double_conv(2 * ch[i], ch[i]) for i in reversed(range(4))])
        self.classifier = nn.Conv2d(ch[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: List[torch.Tensor] = []
        for i, down in enumerate(self.downs):
            if i > 0:
                x = F.max_pool2d(x, [2, 2], [2, 2])
            x = down(x)
            skips.append(x)
        for i, (up, dec) in enumerate(zip(self.ups, self.decs)):
            skip = skips[-2 - i]
            x = dec(torch.cat([skip, up(x, skip.shape[2], skip.shape[3])], dim=1))
        return self.classifier(x)


@register_model("unet", paper=PAPER, test_kwargs={"base": 8})
def unet(num_classes: int = 11, base: int = 64, upsample: str = "transposed") -> UNet:
    return UNet(num_classes, base, upsample)


@register_model("unet_base16", paper=PAPER)
def unet_base16(num_classes: int = 11, upsample: str = "transposed") -> UNet:
    """U-Net at a quarter of the paper's width (16-256 channels), 1/16 of its parameters."""
    return UNet(num_classes, 16, upsample)
