"""Semantic FPN (Kirillov, Girshick, He, Dollar, "Panoptic Feature Pyramid Networks", CVPR 2019,
arXiv:1901.02446), the semantic segmentation branch, Fig. 3.

FPN (Lin et al. 2017) on ResNet-50: 1x1 lateral convs to 256 channels on the stride 4-32 maps,
a top-down path of nearest-neighbour 2x upsampling and addition, a 3x3 output conv per level
(P2-P5). Semantic head: from each level, repeated (3x3 conv 128, GroupNorm, ReLU, 2x bilinear
upsampling) until stride 4 (P2 gets one conv and no upsampling); the four maps are summed; a 1x1
classifier and 4x bilinear upsampling to the input size.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models._registry import register_model


def _conv_gn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(32, cout), nn.ReLU(inplace=True))


class FPN(nn.Module):
    """Returns [P2, P3, P4, P5] for the backbone maps [C2, C3, C4, C5]."""

    def __init__(self, in_channels: List[int], channels: int = 256) -> None:
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, channels, 1) for c in in_channels])
        self.output = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in in_channels])

    def forward(self, feats: List[torch.Tensor]) -> List[torch.Tensor]:
        laterals: List[torch.Tensor] = []
        for i, lateral in enumerate(self.lateral):
            laterals.append(lateral(feats[i]))
        for i in range(len(laterals) - 1, 0, -1):
            below = laterals[i - 1]
            laterals[i - 1] = below + F.interpolate(laterals[i], size=[below.shape[2], below.shape[3]], mode="nearest")
        outs: List[torch.Tensor] = []
        for i, output in enumerate(self.output):
            outs.append(output(laterals[i]))
        return outs


class ScaleHead(nn.Module):
    """Level k (stride 4 * 2^k): max(1, k) conv stages, each but P2's followed by 2x upsampling."""

    def __init__(self, level: int, cin: int, channels: int) -> None:
        super().__init__()
        self.level = level
        self.stages = nn.ModuleList([_conv_gn_relu(cin if s == 0 else channels, channels) for s in range(max(1, level))])

    def forward(self, x: torch.Tensor, sizes: List[List[int]]) -> torch.Tensor:
        for s, stage in enumerate(self.stages):
            x = stage(x)
            if self.level > 0:
                # To the next finer level's exact size: odd sizes do not double exactly.
                x = F.interpolate(x, size=sizes[self.level - 1 - s], mode="bilinear", align_corners=False)
        return x


class SemanticFPN(nn.Module):
    def __init__(self, num_classes: int = 11, depth: int = 50, fpn_channels: int = 256, head_channels: int = 128) -> None:
        super().__init__()
        self.backbone = ResNet(depth)
        self.fpn = FPN(self.backbone.channels[1:], fpn_channels)
        self.heads = nn.ModuleList([ScaleHead(k, fpn_channels, head_channels) for k in range(4)])
        self.classifier = nn.Conv2d(head_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pyramid = self.fpn(self.backbone(x)[1:])
        sizes = [[p.shape[2], p.shape[3]] for p in pyramid]
        y = self.heads[0](pyramid[0], sizes)
        for k, head in enumerate(self.heads):
            if k > 0:  # TorchScript cannot iterate a sliced ModuleList
                y = y + head(pyramid[k], sizes)
        return F.interpolate(self.classifier(y), size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


@register_model("fpn_resnet50", paper="Kirillov et al. 2019, arXiv:1901.02446", test_kwargs={"depth": 18})
def fpn_resnet50(num_classes: int = 11, depth: int = 50) -> SemanticFPN:
    return SemanticFPN(num_classes, depth)
