"""ENet (Paszke, Chaurasia, Kim, Culurciello, "ENet: A Deep Neural Network Architecture for
Real-Time Semantic Segmentation", arXiv:1606.02147, 2016).

Table 1 of the paper, stage by stage: initial block; stage 1 (downsample + 4 bottlenecks);
stages 2 and 3 (regular, dilated 2, asymmetric 5, dilated 4, regular, dilated 8, asymmetric 5,
dilated 16); stages 4 and 5 upsample with the max-pool indices of stages 2 and 1; a final
transposed convolution. PReLU throughout the encoder, ReLU in the decoder, spatial dropout
0.01 in stage 1 and 0.1 after. Input height and width must be multiples of 8.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.conv import ConvBNAct
from edgeseg.layers.unpool import MaxPoolWithIndices, MaxUnpool
from edgeseg.models._registry import register_model


class InitialBlock(nn.Module):
    """13-channel 3x3/2 conv concatenated with a 2x2 max pool of the image -> 16 channels."""

    def __init__(self, cout: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, cout - 3, 3, 2, 1, bias=False)
        self.pool = nn.MaxPool2d(2, 2)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(torch.cat([self.conv(x), self.pool(x)], dim=1)))


def _middle(kind: str, ch: int, dilation: int, act: type[nn.Module]) -> nn.Module:
    if kind == "asymmetric":  # 5x1 then 1x5 (section 3, "asymmetric convolutions")
        return nn.Sequential(
            nn.Conv2d(ch, ch, (5, 1), padding=(2, 0), bias=False),
            ConvBNAct(ch, ch, (1, 5), act=act),
        )
    return ConvBNAct(ch, ch, 3, dilation=dilation, act=act)


class Bottleneck(nn.Module):
    """Regular, dilated or asymmetric bottleneck: 1x1 reduce -> conv -> 1x1 expand -> dropout, + identity."""

    def __init__(self, ch: int, kind: str = "regular", dilation: int = 1, dropout: float = 0.1, ratio: int = 4) -> None:
        super().__init__()
        mid = ch // ratio
        self.branch = nn.Sequential(
            ConvBNAct(ch, mid, 1, act=nn.PReLU),
            _middle(kind, mid, dilation, nn.PReLU),
            ConvBNAct(mid, ch, 1, act=None),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.branch(x))


class DownsamplingBottleneck(nn.Module):
    """Main path: max pool (indices kept) + zero channel padding; branch: 2x2/2 projection conv."""

    def __init__(self, cin: int, cout: int, dropout: float, ratio: int = 4) -> None:
        super().__init__()
        mid = cin // ratio
        self.pad_channels = cout - cin
        self.pool = MaxPoolWithIndices()
        self.branch = nn.Sequential(
            ConvBNAct(cin, mid, 2, stride=2, padding=0, act=nn.PReLU),
            ConvBNAct(mid, mid, 3, act=nn.PReLU),
            ConvBNAct(mid, cout, 1, act=None),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        main, indices = self.pool(x)
        main = F.pad(main, [0, 0, 0, 0, 0, self.pad_channels])
        return self.act(main + self.branch(x)), indices


class UpsamplingBottleneck(nn.Module):
    """Main path: 1x1 conv + max unpool with the encoder's indices; branch: 3x3/2 transposed conv."""

    def __init__(self, cin: int, cout: int, dropout: float, ratio: int = 4) -> None:
        super().__init__()
        mid = cin // ratio
        self.main_conv = ConvBNAct(cin, cout, 1, act=None)
        self.unpool = MaxUnpool()
        self.reduce = ConvBNAct(cin, mid, 1)
        self.up = nn.ConvTranspose2d(mid, mid, 3, 2, 1, output_padding=1, bias=False)
        self.up_bn = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.expand = nn.Sequential(ConvBNAct(mid, cout, 1, act=None), nn.Dropout2d(dropout))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        h, w = indices.shape[2] * 2, indices.shape[3] * 2
        main = self.unpool(self.main_conv(x), indices, h, w)
        branch = self.expand(self.up_bn(self.up(self.reduce(x))))
        return self.act(main + branch)


# Stages 2 and 3 after the (optional) downsampling bottleneck: (kind, dilation).
_STAGE23 = [("regular", 1), ("dilated", 2), ("asymmetric", 1), ("dilated", 4),
            ("regular", 1), ("dilated", 8), ("asymmetric", 1), ("dilated", 16)]


class ENet(nn.Module):
    size_divisor = 8

    def __init__(self, num_classes: int = 11) -> None:
        super().__init__()
        self.initial = InitialBlock(16)
        self.down1 = DownsamplingBottleneck(16, 64, dropout=0.01)
        self.stage1 = nn.Sequential(*[Bottleneck(64, dropout=0.01) for _ in range(4)])
        self.down2 = DownsamplingBottleneck(64, 128, dropout=0.1)
        self.stage2 = nn.Sequential(*[Bottleneck(128, k, d) for k, d in _STAGE23])
        self.stage3 = nn.Sequential(*[Bottleneck(128, k, d) for k, d in _STAGE23])
        self.up4 = UpsamplingBottleneck(128, 64, dropout=0.1)
        self.stage4 = nn.Sequential(Bottleneck(64), Bottleneck(64))
        self.up5 = UpsamplingBottleneck(64, 16, dropout=0.1)
        self.stage5 = Bottleneck(16)
        self.fullconv = nn.ConvTranspose2d(16, num_classes, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.initial(x)
        x, idx1 = self.down1(x)
        x = self.stage1(x)
        x, idx2 = self.down2(x)
        x = self.stage3(self.stage2(x))
        x = self.stage4(self.up4(x, idx2))
        x = self.stage5(self.up5(x, idx1))
        return self.fullconv(x)


@register_model("enet", paper="Paszke et al. 2016, arXiv:1606.02147", needs_unpool=True, pretrained=("camvid",))
def enet(num_classes: int = 11) -> ENet:
    return ENet(num_classes)
