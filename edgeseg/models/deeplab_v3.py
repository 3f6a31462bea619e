"""DeepLab v3 (Chen, Papandreou, Schroff, Adam, "Rethinking Atrous Convolution for Semantic Image
Segmentation", arXiv:1706.05587, 2017), the ASPP model of section 3.3.

ResNet-101 at output stride 16 with multi-grid (1, 2, 4) in block 4 (rates 2, 4, 8); ASPP with a
1x1 branch, three 3x3 branches at rates 6, 12 and 18 and image-level pooling, each 256 channels
with batch norm, concatenated and projected by a 1x1 conv (256, batch norm); a 1x1 classifier;
bilinear upsampling to the input size.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.aspp import ASPP
from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models._registry import register_model


class DeepLabV3(nn.Module):
    def __init__(self, num_classes: int = 11, depth: int = 101, output_stride: int = 16, multi_grid: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"DeepLab v3 output_stride must be 8 or 16, got {output_stride}")
        self.backbone = ResNet(depth, output_stride, multi_grid)
        # At output stride 8 the paper doubles the rates.
        rates = (6, 12, 18) if output_stride == 16 else (12, 24, 36)
        self.aspp = ASPP(self.backbone.channels[-1], 256, rates, image_pool=True)
        self.classifier = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.classifier(self.aspp(self.backbone(x)[-1]))
        return F.interpolate(y, size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


@register_model("deeplabv3_resnet101", paper="Chen et al. 2017, arXiv:1706.05587", test_kwargs={"depth": 18})
def deeplabv3_resnet101(num_classes: int = 11, depth: int = 101, output_stride: int = 16) -> DeepLabV3:
    return DeepLabV3(num_classes, depth, output_stride)
