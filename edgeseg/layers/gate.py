"""G-FRNet's gate unit and gated refinement unit (Islam, Rochan, Bruce, Wang, "Gated Feedback
Refinement Network for Dense Image Labeling", CVPR 2017), section 3.

Gate unit: the shallower map f_i and the deeper map f_{i+1} each pass a 3x3 conv + BN + ReLU to
the same width; the deeper one is upsampled to f_i's size and the two are multiplied, so the
deeper, more discriminative features decide what of the shallow detail passes (M_f).
Refinement unit: M_f -> 3x3 conv + BN to the class count (m_f), concatenated with the previous,
upsampled label map R_f, then a 3x3 conv gives the refined label map at the new resolution.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.conv import ConvBNAct


class GateUnit(nn.Module):
    def __init__(self, c_shallow: int, c_deep: int, channels: int) -> None:
        super().__init__()
        self.shallow = ConvBNAct(c_shallow, channels, 3)
        self.deep = ConvBNAct(c_deep, channels, 3)

    def forward(self, shallow: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        d = F.interpolate(self.deep(deep), size=[shallow.shape[2], shallow.shape[3]], mode="bilinear", align_corners=False)
        return self.shallow(shallow) * d


class GatedRefinementUnit(nn.Module):
    def __init__(self, gate_channels: int, num_classes: int) -> None:
        super().__init__()
        self.reduce = ConvBNAct(gate_channels, num_classes, 3, act=None)
        self.refine = nn.Conv2d(2 * num_classes, num_classes, 3, padding=1)

    def forward(self, label_map: torch.Tensor, gated: torch.Tensor) -> torch.Tensor:
        r = F.interpolate(label_map, size=[gated.shape[2], gated.shape[3]], mode="bilinear", align_corners=False)
        return self.refine(torch.cat([r, self.reduce(gated)], dim=1))
