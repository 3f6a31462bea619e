"""DeepLab v2 (Chen, Papandreou, Kokkinos, Murphy, Yuille, "DeepLab: Semantic Image Segmentation
with Deep Convolutional Nets, Atrous Convolution, and Fully Connected CRFs", TPAMI 2018,
arXiv:1606.00915), the ResNet-101 model with ASPP-L.

ResNet at output stride 8 (layer3 and layer4 dilated by 2 and 4); ASPP-L: four parallel 3x3
convolutions with rates 6, 12, 18 and 24, each straight from the 2048 backbone channels to the
class scores, summed (Fig. 4 and section 4 of the paper); bilinear upsampling to the input size.
The fully connected CRF is `edgeseg.postprocess.crf.dense_crf`. Multi-scale input fusion (MSC)
and COCO pre-training of the paper are training-time choices and are not part of the model.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.models.backbones.resnet import ResNet
from edgeseg.models._registry import register_model


class ASPPSum(nn.Module):
    """DeepLab v2's ASPP: one dilated 3x3 conv to the class scores per rate, outputs summed."""

    def __init__(self, cin: int, num_classes: int, rates: tuple[int, ...] = (6, 12, 18, 24)) -> None:
        super().__init__()
        self.branches = nn.ModuleList([nn.Conv2d(cin, num_classes, 3, padding=r, dilation=r) for r in rates])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.branches[0](x)
        for i, branch in enumerate(self.branches):
            if i > 0:  # TorchScript cannot iterate a sliced ModuleList
                y = y + branch(x)
        return y


class DeepLabV2(nn.Module):
    def __init__(self, num_classes: int = 11, depth: int = 101, rates: tuple[int, ...] = (6, 12, 18, 24)) -> None:
        super().__init__()
        self.backbone = ResNet(depth, output_stride=8)
        self.aspp = ASPPSum(self.backbone.channels[-1], num_classes, rates)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.aspp(self.backbone(x)[-1])
        return F.interpolate(y, size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


@register_model("deeplabv2_resnet101", paper="Chen et al. 2018, arXiv:1606.00915", test_kwargs={"depth": 18})
def deeplabv2_resnet101(num_classes: int = 11, depth: int = 101) -> DeepLabV2:
    return DeepLabV2(num_classes, depth)
