"""DeepLab v1 (Chen, Papandreou, Kokkinos, Murphy, Yuille, "Semantic Image Segmentation with Deep
Convolutional Nets and Fully Connected CRFs", ICLR 2015, arXiv:1412.7062), DeepLab-LargeFOV.

Atrous VGG-16: pools 4 and 5 keep stride 1 (3x3 windows), block 5 is dilated by 2 and fc6 is a
3x3 convolution with dilation 12 and 1024 channels, fc7 a 1x1 with 1024 (20.5M parameters,
Table 2 of the paper); output stride 8, bilinear upsampling to the input size. The fully
connected CRF of the paper is `edgeseg.postprocess.crf.dense_crf`, applied after the network.

Deviations: pools 1-3 are 2x2 (the Caffe model uses 3x3/2 windows) and VGG has batch norm
(see backbones/vgg.py).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.models.backbones.vgg import FCHead, VGG16
from edgeseg.models._registry import register_model


class DeepLabV1(nn.Module):
    def __init__(self, num_classes: int = 11, width: float = 1.0, fc_channels: int = 1024, fc_kernel: int = 3, fc_dilation: int = 12, batch_norm: bool = True) -> None:
        super().__init__()
        self.backbone = VGG16(width, batch_norm, output_stride=8, stride1_pools=True)
        self.fc = FCHead(self.backbone.channels[-1], fc_channels, fc_kernel, fc_dilation, batch_norm)
        self.classifier = nn.Conv2d(fc_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.classifier(self.fc(self.backbone(x)[-1]))
        return F.interpolate(y, size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


@register_model("deeplabv1_vgg16", paper="Chen et al. 2015, arXiv:1412.7062", test_kwargs={"width": 0.125, "fc_channels": 64})
def deeplabv1_vgg16(num_classes: int = 11, width: float = 1.0, fc_channels: int = 1024, batch_norm: bool = True) -> DeepLabV1:
    return DeepLabV1(num_classes, width, fc_channels, batch_norm=batch_norm)
