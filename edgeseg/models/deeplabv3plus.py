"""DeepLabv3+ (Chen, Zhu, Papandreou, Schroff, Adam, "Encoder-Decoder with Atrous Separable
Convolution for Semantic Image Segmentation", ECCV 2018, arXiv:1802.02611).

Encoder: backbone (the paper's aligned Xception-65, or MobileNetV2, ResNet-50) at output stride
16 + ASPP (rates 6/12/18 and image pooling). Decoder: the stride-4 low-level features reduced to
48 channels by a 1x1 conv, concatenated with the 4x upsampled ASPP output, two 3x3 convs (256),
classifier, 4x bilinear upsampling.
`separable=True` uses depthwise-separable convs in ASPP and decoder, as in the paper.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.aspp import ASPP
from edgeseg.layers.conv import ConvBNAct, SeparableConvBNAct
from edgeseg.layers.upsample import resize_to
from edgeseg.models.backbones.mobilenetv2 import MobileNetV2
from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models.backbones.xception import Xception65
from edgeseg.models._registry import register_model


class DeepLabV3Plus(nn.Module):
    def __init__(self, backbone: nn.Module, num_classes: int = 11, separable: bool = True, aspp_rates: tuple[int, ...] = (6, 12, 18)) -> None:
        super().__init__()
        self.backbone = backbone
        high, low = backbone.channels[-1], backbone.channels[1]  # channels[1] is the /4 map
        self.aspp = ASPP(high, 256, aspp_rates, image_pool=True, separable=separable)
        self.low_proj = ConvBNAct(low, 48, 1)
        conv = SeparableConvBNAct if separable else (lambda a, b: ConvBNAct(a, b, 3))
        self.fuse = nn.Sequential(conv(256 + 48, 256), conv(256, 256))
        self.classifier = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        low = self.low_proj(feats[1])
        high = resize_to(self.aspp(feats[-1]), low)
        y = self.classifier(self.fuse(torch.cat([high, low], dim=1)))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


@register_model("deeplabv3plus_mobilenetv2", paper="Chen et al. 2018, arXiv:1802.02611", pretrained=("camvid",))
def deeplabv3plus_mobilenetv2(num_classes: int = 11, separable: bool = True) -> DeepLabV3Plus:
    return DeepLabV3Plus(MobileNetV2(output_stride=16), num_classes, separable)


@register_model("deeplabv3plus_resnet50", paper="Chen et al. 2018, arXiv:1802.02611")
def deeplabv3plus_resnet50(num_classes: int = 11, separable: bool = True) -> DeepLabV3Plus:
    return DeepLabV3Plus(ResNet(50, output_stride=16), num_classes, separable)


@register_model("deeplabv3plus_xception65", paper="Chen et al. 2018, arXiv:1802.02611", test_kwargs={"width": 0.125, "middle_blocks": 2})
def deeplabv3plus_xception65(num_classes: int = 11, separable: bool = True, output_stride: int = 16, width: float = 1.0, middle_blocks: int = 16) -> DeepLabV3Plus:
    return DeepLabV3Plus(Xception65(output_stride, width, middle_blocks), num_classes, separable)
