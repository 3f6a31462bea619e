"""PSPNet (Zhao, Shi, Qi, Wang, Jia, "Pyramid Scene Parsing Network", CVPR 2017, arXiv:1612.01105).

Dilated ResNet-50 (output stride 8); pyramid pooling at 1x1, 2x2, 3x3 and 6x6 bins, each
reduced to 1/4 of the channels and concatenated with the input (Fig. 3); a 3x3 conv (512) +
dropout 0.1 + 1x1 classifier; bilinear upsampling to the input size. An auxiliary head on
stage 3 (res4b22 in the paper, `layer3` here) adds a loss of weight 0.4 in training only
(section 3.3 / 4.1; the recipe's `aux_weight`, 0.4 by default): `forward()` returns the main
logits alone, `forward_train()` both.

Deviation: the paper's ResNet replaces the 7x7 stem by three 3x3 convolutions; the standard
stem is used here so that the backbone is the same as everywhere else in the zoo.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.conv import ConvBNAct
from edgeseg.layers.ppm import PyramidPooling
from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models._registry import register_model


def _classifier(cin: int, mid: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(ConvBNAct(cin, mid, 3), nn.Dropout2d(0.1), nn.Conv2d(mid, num_classes, 1))


class PSPNet(nn.Module):
    def __init__(self, num_classes: int = 11, depth: int = 50, bins: tuple[int, ...] = (1, 2, 3, 6)) -> None:
        super().__init__()
        self.backbone = ResNet(depth, output_stride=8)
        c = self.backbone.channels
        self.ppm = PyramidPooling(c[-1], bins)
        self.head = _classifier(self.ppm.out_channels, 512, num_classes)
        self.aux_head = _classifier(c[-2], 256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.ppm(self.backbone(x)[-1]))
        return F.interpolate(y, size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)

    @torch.jit.export
    def forward_train(self, x: torch.Tensor) -> List[torch.Tensor]:
        """[main logits, auxiliary logits], both at the input size."""
        feats = self.backbone(x)
        size = [x.shape[2], x.shape[3]]
        main = F.interpolate(self.head(self.ppm(feats[-1])), size=size, mode="bilinear", align_corners=False)
        aux = F.interpolate(self.aux_head(feats[-2]), size=size, mode="bilinear", align_corners=False)
        return [main, aux]


@register_model("pspnet_resnet50", paper="Zhao et al. 2017, arXiv:1612.01105", test_kwargs={"depth": 18})
def pspnet_resnet50(num_classes: int = 11, depth: int = 50) -> PSPNet:
    return PSPNet(num_classes, depth)
