"""LinkNet (Chaurasia & Culurciello, "LinkNet: Exploiting Encoder Representations for Efficient
Semantic Segmentation", VCIP 2017, arXiv:1707.03718).

ResNet-18 encoder; each decoder block is 1x1 (m -> m/4) -> 3x3 transposed conv (stride 2) ->
1x1 (m/4 -> n), and its output is added to the matching encoder output before the next block
(Fig. 1 of the paper). Final block: 3x3 transposed conv /2, 3x3 conv, 2x2 transposed conv /2.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from edgeseg.layers.conv import ConvBNAct
from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models._registry import register_model


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        mid = cin // 4
        self.reduce = ConvBNAct(cin, mid, 1)
        self.up = nn.ConvTranspose2d(mid, mid, 3, stride, 1, output_padding=stride - 1, bias=False)
        self.up_bn = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.expand = ConvBNAct(mid, cout, 1)

    def forward(self, x: torch.Tensor, size: list[int]) -> torch.Tensor:
        # output_size resolves the odd sizes (e.g. 45 -> 23 -> 45) that plain stride-2 cannot.
        return self.expand(self.up_bn(self.up(self.reduce(x), output_size=size)))


class LinkNet(nn.Module):
    def __init__(self, num_classes: int = 11, encoder_depth: int = 18) -> None:
        super().__init__()
        self.encoder = ResNet(encoder_depth)
        c = self.encoder.channels  # [stem, l1, l2, l3, l4]
        self.dec4 = DecoderBlock(c[4], c[3], 2)
        self.dec3 = DecoderBlock(c[3], c[2], 2)
        self.dec2 = DecoderBlock(c[2], c[1], 2)
        self.dec1 = DecoderBlock(c[1], 64, 1)
        self.final_up = nn.Sequential(nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.final_conv = ConvBNAct(32, 32, 3)
        self.classifier = nn.ConvTranspose2d(32, num_classes, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, e1, e2, e3, e4 = self.encoder(x)
        d = self.dec4(e4, [e3.shape[2], e3.shape[3]]) + e3
        d = self.dec3(d, [e2.shape[2], e2.shape[3]]) + e2
        d = self.dec2(d, [e1.shape[2], e1.shape[3]]) + e1
        d = self.dec1(d, [e1.shape[2], e1.shape[3]])
        # The stem's two stride-2 steps round up odd sizes; crop back to the input exactly.
        y = self.classifier(self.final_conv(self.final_up(d)))
        return y[:, :, : x.shape[2], : x.shape[3]]


@register_model("linknet", paper="Chaurasia & Culurciello 2017, arXiv:1707.03718", pretrained=("camvid",))
def linknet(num_classes: int = 11, encoder_depth: int = 18) -> LinkNet:
    return LinkNet(num_classes, encoder_depth)
