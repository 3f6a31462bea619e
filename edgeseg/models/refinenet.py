"""RefineNet (Lin, Milan, Shen, Reid, "RefineNet: Multi-Path Refinement Networks for
High-Resolution Semantic Segmentation", CVPR 2017, arXiv:1611.06612), 4-cascaded, Fig. 2-3.

ResNet-101 outputs at strides 32, 16, 8, 4 are reduced by a 3x3 conv to 512 (stride 32) and 256
channels; RefineNet-4 refines the stride-32 map alone, RefineNet-3..1 each fuse one backbone
map with the previous block's output (residual conv units, multi-resolution fusion, chained
residual pooling: layers/refine.py). Two more RCUs, dropout and a 1x1 classifier give the
scores at stride 4, bilinearly upsampled to the input size.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.refine import RefineBlock, ResidualConvUnit
from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models._registry import register_model


class RefineNet(nn.Module):
    def __init__(self, num_classes: int = 11, depth: int = 101, features: int = 256, crp_blocks: int = 2) -> None:
        super().__init__()
        self.backbone = ResNet(depth)
        c = self.backbone.channels  # [stem, layer1 (/4), layer2, layer3, layer4 (/32)]
        widths = [features, features, features, 2 * features]
        self.reduce = nn.ModuleList([nn.Conv2d(c[i + 1], widths[i], 3, padding=1, bias=False) for i in range(4)])
        self.refine4 = RefineBlock([widths[3]], widths[3], crp_blocks)
        self.refine3 = RefineBlock([widths[2], widths[3]], features, crp_blocks)
        self.refine2 = RefineBlock([widths[1], features], features, crp_blocks)
        self.refine1 = RefineBlock([widths[0], features], features, crp_blocks)
        self.head = nn.Sequential(
            ResidualConvUnit(features), ResidualConvUnit(features), nn.Dropout(0.5), nn.Conv2d(features, num_classes, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        r: List[torch.Tensor] = []
        for i, reduce in enumerate(self.reduce):
            r.append(reduce(feats[i + 1]))
        y = self.refine4([r[3]])
        y = self.refine3([r[2], y])
        y = self.refine2([r[1], y])
        y = self.refine1([r[0], y])
        return F.interpolate(self.head(y), size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


@register_model("refinenet_resnet101", paper="Lin et al. 2017, arXiv:1611.06612", test_kwargs={"depth": 18, "features": 32})
def refinenet_resnet101(num_classes: int = 11, depth: int = 101, features: int = 256) -> RefineNet:
    return RefineNet(num_classes, depth, features)
