"""SegNet (Badrinarayanan, Kendall, Cipolla, "SegNet: A Deep Convolutional Encoder-Decoder
Architecture for Image Segmentation", TPAMI 2017, arXiv:1511.00561).

SegNet: the 13 convolutions of VGG-16 with batch norm as the encoder; a mirrored decoder whose
every stage first upsamples with the max-pooling indices of the matching encoder stage, then
applies the mirrored convolutions; the last one outputs the class scores (14.7M encoder
parameters, 29.5M in all, Table 6 of the paper).

SegNet-Basic (section 4): four encoders and four decoders, 64 channels, 7x7 kernels; ReLU only
in the encoder (the decoder has none, as in the paper); a 1x1 classifier. The paper's local
contrast normalisation of the input is not reproduced: inputs are mean/std normalised like
every other model's.

`upsample` may be "bilinear" or "transposed" instead of "unpool": the decoder variants the paper
compares SegNet with (Table 1); the encoder then uses plain max pooling.
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn

from edgeseg.layers.conv import ConvBNAct
from edgeseg.layers.upsample import MaxPool2x2, make_upsample
from edgeseg.models.backbones.vgg import VGG16, VGG16_DEPTHS
from edgeseg.models._registry import register_model

PAPER = "Badrinarayanan, Kendall, Cipolla 2017, arXiv:1511.00561"


class EncoderDecoder(nn.Module):
    """Encoder blocks each followed by a 2x2 pool; decoder blocks each preceded by a 2x upsampling
    to the size of the matching pre-pool encoder map (which is what makes odd sizes round-trip)."""

    def __init__(self, enc_blocks: List[nn.Module], dec_blocks: List[nn.Module], up_channels: List[int], head: nn.Module, upsample: str) -> None:
        super().__init__()
        self.enc_blocks = nn.ModuleList(enc_blocks)
        self.pools = nn.ModuleList([MaxPool2x2(keep_indices=upsample == "unpool") for _ in enc_blocks])
        self.ups = nn.ModuleList([make_upsample(upsample, c) for c in up_channels])
        self.dec_blocks = nn.ModuleList(dec_blocks)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes: List[List[int]] = []
        indices: List[Optional[torch.Tensor]] = []
        for block, pool in zip(self.enc_blocks, self.pools):
            x = block(x)
            sizes.append([x.shape[2], x.shape[3]])
            x, idx = pool(x)
            indices.append(idx)
        n = len(sizes)
        for i, (up, block) in enumerate(zip(self.ups, self.dec_blocks)):
            j = n - 1 - i
            x = block(up(x, sizes[j][0], sizes[j][1], indices[j]))
        return self.head(x)


class SegNet(EncoderDecoder):
    def __init__(self, num_classes: int = 11, width: float = 1.0, upsample: str = "unpool") -> None:
        vgg = VGG16(width, batch_norm=True)
        c = vgg.channels
        dec_blocks: List[nn.Module] = []
        for i in reversed(range(5)):
            # Mirror of encoder block i: depth-1 convs at its width, then one down to block i-1's width.
            layers = [ConvBNAct(c[i], c[i], 3) for _ in range(VGG16_DEPTHS[i] - 1)]
            if i > 0:
                layers.append(ConvBNAct(c[i], c[i - 1], 3))
            dec_blocks.append(nn.Sequential(*layers))
        head = nn.Conv2d(c[0], num_classes, 3, padding=1)
        super().__init__(list(vgg.blocks), dec_blocks, list(reversed(c)), head, upsample)


class SegNetBasic(EncoderDecoder):
    def __init__(self, num_classes: int = 11, channels: int = 64, kernel: int = 7, upsample: str = "unpool") -> None:
        enc = [ConvBNAct(3 if i == 0 else channels, channels, kernel) for i in range(4)]
        dec = [ConvBNAct(channels, channels, kernel, act=None) for _ in range(4)]
        super().__init__(enc, dec, [channels] * 4, nn.Conv2d(channels, num_classes, 1), upsample)


@register_model("segnet", paper=PAPER, needs_unpool=True, test_kwargs={"width": 0.125})
def segnet(num_classes: int = 11, width: float = 1.0, upsample: str = "unpool") -> SegNet:
    return SegNet(num_classes, width, upsample)


@register_model("segnet_basic", paper=PAPER, needs_unpool=True, test_kwargs={"channels": 16})
def segnet_basic(num_classes: int = 11, channels: int = 64, upsample: str = "unpool") -> SegNetBasic:
    return SegNetBasic(num_classes, channels, upsample=upsample)
