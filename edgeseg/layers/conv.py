"""Convolution + batch norm + activation, the unit nearly every model is built from."""
from __future__ import annotations

import torch.nn as nn


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias: BN follows) -> BatchNorm2d -> activation (None for linear)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int | tuple[int, int] = 3,
        stride: int = 1,
        padding: int | tuple[int, int] | None = None,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        act: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        if padding is None:
            k = (kernel, kernel) if isinstance(kernel, int) else kernel
            d = (dilation, dilation) if isinstance(dilation, int) else dilation
            padding = (d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2)
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation, groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act is not None:
            layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6) else act())
        super().__init__(*layers)


class SeparableConvBNAct(nn.Sequential):
    """Depthwise 3x3 (BN, act) then pointwise 1x1 (BN, act), as in Xception and DeepLabv3+."""

    def __init__(self, cin: int, cout: int, dilation: int = 1, act: type[nn.Module] = nn.ReLU, stride: int = 1) -> None:
        super().__init__(
            ConvBNAct(cin, cin, 3, stride, dilation=dilation, groups=cin, act=act),
            ConvBNAct(cin, cout, 1, act=act),
        )
