"""Fully Convolutional Networks (Long, Shelhamer, Darrell, "Fully Convolutional Networks for
Semantic Segmentation", CVPR 2015, arXiv:1411.4038).

VGG-16 with fc6/fc7 recast as 7x7 and 1x1 convolutions (4096 channels, dropout 0.5), a 1x1
score layer, and:
- FCN-32s: one 32x upsampling of the scores;
- FCN-16s: 2x upsampling, plus a 1x1 score layer on pool4 (zero-initialised), fused by addition,
  then 16x upsampling;
- FCN-8s: the same again with pool3, then 8x upsampling.
The 2x upsamplings are transposed convolutions initialised to bilinear interpolation and learned;
the final one is fixed bilinear (section 4.2 and 4.3 of the paper). `upsample="bilinear"` swaps
every one of them for fixed interpolation.

The ResNet-50 variants score layer2/layer3/layer4 (strides 8/16/32) the same way, with no fc
layers (layer4 already has 2048 channels).

Deviations: 'same' padding everywhere (conv1_1 padding 100 and the crop layers of the Caffe
model are replaced by explicit output sizes), and batch norm in VGG (see backbones/vgg.py).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from edgeseg.layers.upsample import make_upsample
from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models.backbones.vgg import FCHead, VGG16
from edgeseg.models._registry import register_model

PAPER = "Long, Shelhamer, Darrell 2015, arXiv:1411.4038"


class FCN(nn.Module):
    """`encoder` returns feature maps whose last three are at strides 8, 16 and 32."""

    def __init__(self, encoder: nn.Module, head: nn.Module, head_channels: int, num_classes: int, stride: int = 8, upsample: str = "transposed") -> None:
        super().__init__()
        if stride not in (8, 16, 32):
            raise ValueError(f"FCN stride must be 8, 16 or 32, got {stride}")
        self.encoder = encoder
        self.head = head
        self.score = nn.Conv2d(head_channels, num_classes, 1)
        skips = {32: 0, 16: 1, 8: 2}[stride]
        c = encoder.channels
        # Skip scores for pool4 then pool3; zero-initialised so that training starts from the coarser net.
        self.skip_scores = nn.ModuleList([nn.Conv2d(c[-2 - i], num_classes, 1) for i in range(skips)])
        for conv in self.skip_scores:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.skip_ups = nn.ModuleList([make_upsample(upsample, num_classes, scale=2) for _ in range(skips)])
        self.final_up = make_upsample(upsample, num_classes, scale=stride, learnable=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)
        y = self.score(self.head(feats[-1]))
        for i, (score, up) in enumerate(zip(self.skip_scores, self.skip_ups)):
            skip = feats[-2 - i]
            y = up(y, skip.shape[2], skip.shape[3]) + score(skip)
        return self.final_up(y, x.shape[2], x.shape[3])


def _fcn_vgg16(stride: int, num_classes: int, width: float, fc_channels: int, batch_norm: bool, upsample: str) -> FCN:
    encoder = VGG16(width, batch_norm)
    head = FCHead(encoder.channels[-1], fc_channels, 7, batch_norm=batch_norm)
    return FCN(encoder, head, fc_channels, num_classes, stride, upsample)


def _fcn_resnet(stride: int, num_classes: int, depth: int, upsample: str) -> FCN:
    encoder = ResNet(depth)
    return FCN(encoder, nn.Identity(), encoder.channels[-1], num_classes, stride, upsample)


_VGG_TEST = {"width": 0.125, "fc_channels": 64}
_RESNET_TEST = {"depth": 18}


@register_model("fcn32s_vgg16", paper=PAPER, test_kwargs=_VGG_TEST)
def fcn32s_vgg16(num_classes: int = 11, width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True, upsample: str = "transposed") -> FCN:
    return _fcn_vgg16(32, num_classes, width, fc_channels, batch_norm, upsample)


@register_model("fcn16s_vgg16", paper=PAPER, test_kwargs=_VGG_TEST)
def fcn16s_vgg16(num_classes: int = 11, width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True, upsample: str = "transposed") -> FCN:
    return _fcn_vgg16(16, num_classes, width, fc_channels, batch_norm, upsample)


@register_model("fcn8s_vgg16", paper=PAPER, test_kwargs=_VGG_TEST)
def fcn8s_vgg16(num_classes: int = 11, width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True, upsample: str = "transposed") -> FCN:
    return _fcn_vgg16(8, num_classes, width, fc_channels, batch_norm, upsample)


@register_model("fcn32s_resnet50", paper=PAPER, test_kwargs=_RESNET_TEST)
def fcn32s_resnet50(num_classes: int = 11, depth: int = 50, upsample: str = "transposed") -> FCN:
    return _fcn_resnet(32, num_classes, depth, upsample)


@register_model("fcn16s_resnet50", paper=PAPER, test_kwargs=_RESNET_TEST)
def fcn16s_resnet50(num_classes: int = 11, depth: int = 50, upsample: str = "transposed") -> FCN:
    return _fcn_resnet(16, num_classes, depth, upsample)


@register_model("fcn8s_resnet50", paper=PAPER, test_kwargs=_RESNET_TEST)
def fcn8s_resnet50(num_classes: int = 11, depth: int = 50, upsample: str = "transposed") -> FCN:
    return _fcn_resnet(8, num_classes, depth, upsample)
