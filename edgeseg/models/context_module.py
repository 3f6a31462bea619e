"""Dilated convolutions: front end and context module (Yu & Koltun, "Multi-Scale Context
Aggregation by Dilated Convolutions", ICLR 2016, arXiv:1511.07122).

Front end (section 4): VGG-16 with the last two pooling layers removed, block 5 dilated by 2 and
fc6 (7x7, 4096) dilated by 4, fc7 1x1; a 1x1 layer to the class scores at output stride 8.

Context module (section 3, Table 1): on the C class-score maps, seven 3x3 convolutions with
dilations 1, 1, 2, 4, 8, 16, 1 and ReLU, then a 1x1 convolution to C channels (receptive field
67x67). Basic: C channels throughout (64 C^2 weights). Large: 2C, 2C, 4C, 8C, 16C, 32C, 32C.
Both start as the identity (the paper's initialisation: standard random initialisation did not
give a module that helped, it reports):
the centre tap passes channel a of c_i to channel b of c_{i+1} with weight C/c_{i+1} when
floor(aC/c_i) = floor(bC/c_{i+1}), all other weights are 0 (basic) or small noise (large).
Bilinear upsampling to the input size follows, as in the paper.

Deviation: 'same' zero padding; the paper used no padding and reflection-padded the input.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.models.backbones.vgg import FCHead, VGG16
from edgeseg.models._registry import register_model

PAPER = "Yu & Koltun 2016, arXiv:1511.07122"
DILATIONS = (1, 1, 2, 4, 8, 16, 1)
LARGE_MULTIPLIERS = (2, 2, 4, 8, 16, 32, 32)


def _identity_init(conv: nn.Conv2d, num_classes: int, noise: float) -> None:
    cout, cin, kh, kw = conv.weight.shape
    a = torch.arange(cin, device="cpu")  # built on the CPU so that meta-device models work too
    b = torch.arange(cout, device="cpu")
    match = torch.div(a[None, :] * num_classes, cin, rounding_mode="floor") == torch.div(b[:, None] * num_classes, cout, rounding_mode="floor")
    scale = num_classes / cout
    weight = torch.randn(cout, cin, kh, kw, device="cpu") * (noise * scale)
    weight[:, :, kh // 2, kw // 2] = torch.where(match, scale, weight[:, :, kh // 2, kw // 2])
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.zero_()


class ContextModule(nn.Module):
    def __init__(self, num_classes: int, large: bool = False, noise: float = 0.01) -> None:
        super().__init__()
        widths = [m * num_classes for m in LARGE_MULTIPLIERS] if large else [num_classes] * len(DILATIONS)
        layers: list[nn.Module] = []
        cin = num_classes
        for w, d in zip(widths, DILATIONS):
            conv = nn.Conv2d(cin, w, 3, padding=d, dilation=d)
            _identity_init(conv, num_classes, noise if large else 0.0)
            layers += [conv, nn.ReLU(inplace=True)]
            cin = w
        out = nn.Conv2d(cin, num_classes, 1)
        _identity_init(out, num_classes, noise if large else 0.0)
        layers.append(out)
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class DilatedNet(nn.Module):
    """Front end, optionally followed by a context module, then bilinear upsampling."""

    def __init__(self, num_classes: int = 11, context: str = "none", width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True) -> None:
        super().__init__()
        if context not in ("none", "basic", "large"):
            raise ValueError(f"context must be 'none', 'basic' or 'large', got {context!r}")
        self.backbone = VGG16(width, batch_norm, output_stride=8)
        self.fc = FCHead(self.backbone.channels[-1], fc_channels, 7, dilation=4, batch_norm=batch_norm)
        self.classifier = nn.Conv2d(fc_channels, num_classes, 1)
        self.context = nn.Identity() if context == "none" else ContextModule(num_classes, large=context == "large")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.context(self.classifier(self.fc(self.backbone(x)[-1])))
        return F.interpolate(y, size=[x.shape[2], x.shape[3]], mode="bilinear", align_corners=False)


_TEST = {"width": 0.125, "fc_channels": 64}


@register_model("dilation_frontend", paper=PAPER, test_kwargs=_TEST)
def dilation_frontend(num_classes: int = 11, width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True) -> DilatedNet:
    return DilatedNet(num_classes, "none", width, fc_channels, batch_norm)


@register_model("dilation_context_basic", paper=PAPER, test_kwargs=_TEST)
def dilation_context_basic(num_classes: int = 11, width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True) -> DilatedNet:
    return DilatedNet(num_classes, "basic", width, fc_channels, batch_norm)


@register_model("dilation_context_large", paper=PAPER, test_kwargs=_TEST)
def dilation_context_large(num_classes: int = 11, width: float = 1.0, fc_channels: int = 4096, batch_norm: bool = True) -> DilatedNet:
    return DilatedNet(num_classes, "large", width, fc_channels, batch_norm)
