"""ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385).

Torchvision-compatible layout (same parameter names) so that counts can be checked against the
paper. `output_stride` 8 or 16 replaces the stride of the last stages with dilation, as DeepLab
and PSPNet do (Chen et al. 2017; Zhao et al. 2017).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample if downsample is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.downsample(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample if downsample is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + self.downsample(x))


_DEPTHS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
}


class ResNet(nn.Module):
    """ResNet feature extractor: returns [stem (/2), layer1 (/4), layer2 (/8), layer3, layer4].

    `multi_grid` scales the dilation of the blocks of layer4 (DeepLabv3's multi-grid, e.g. (1, 2, 4)).
    """

    def __init__(self, depth: int = 18, output_stride: int = 32, multi_grid: tuple[int, ...] = (1,)) -> None:
        super().__init__()
        if depth not in _DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(_DEPTHS)}, got {depth}")
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        block, counts = _DEPTHS[depth]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self._cin = 64
        # Stages whose stride is traded for dilation: layer4 at OS16, layer3+layer4 at OS8.
        dil3 = 2 if output_stride == 8 else 1
        dil4 = {8: 4, 16: 2, 32: 1}[output_stride]
        self.layer1 = self._stage(block, 64, counts[0], 1, 1)
        self.layer2 = self._stage(block, 128, counts[1], 2, 1)
        self.layer3 = self._stage(block, 256, counts[2], 1 if dil3 > 1 else 2, dil3)
        self.layer4 = self._stage(block, 512, counts[3], 1 if dil4 > 1 else 2, dil4, multi_grid)
        e = block.expansion
        self.channels = [64, 64 * e, 128 * e, 256 * e, 512 * e]
        self.reductions = [2, 4, 8, 8 * (2 if dil3 == 1 else 1), output_stride]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero-init the last BN of each residual branch: each block starts as identity, which
        # trains faster from scratch (Goyal et al. 2017) — there are no ImageNet weights here.
        for m in self.modules():
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def _stage(self, block, planes: int, count: int, stride: int, dilation: int, multi_grid: tuple[int, ...] = (1,)) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._cin != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self._cin, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        # First block of a dilated stage uses half the dilation (as torchvision/DeepLab) to avoid gridding.
        layers = [block(self._cin, planes, stride, max(1, dilation // 2) if len(multi_grid) == 1 else dilation * multi_grid[0], downsample)]
        self._cin = planes * block.expansion
        for i in range(1, count):
            grid = multi_grid[i % len(multi_grid)] if len(multi_grid) > 1 else 1
            layers.append(block(self._cin, planes, 1, dilation * grid))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x0 = self.relu(self.bn1(self.conv1(x)))
        x1 = self.layer1(self.maxpool(x0))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return [x0, x1, x2, x3, x4]
