"""A conv net small enough that inductor and AOTInductor compile it in seconds, with the layers
the real models' fast paths depend on: conv, BatchNorm (folded by freezing), PReLU, 2x2 max pool
and an upsample back to the input size."""
from __future__ import annotations

import torch.nn as nn

CLASSES, SIZE = 4, (16, 24)


def tiny_convnet() -> nn.Module:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.PReLU(8), nn.MaxPool2d(2),
        nn.Conv2d(8, CLASSES, 1), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
    )
    bn = net[1]
    bn.running_mean.uniform_(-0.5, 0.5)  # non-trivial statistics, so folding them is checked
    bn.running_var.uniform_(0.5, 2.0)
    return net.eval()
