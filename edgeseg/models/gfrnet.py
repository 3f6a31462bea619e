"""G-FRNet (Islam, Rochan, Bruce, Wang, "Gated Feedback Refinement Network for Dense Image
Labeling", CVPR 2017), Fig. 2.

Encoder: the 13 convolutions of VGG-16 (batch norm here, see backbones/vgg.py); its block
outputs f1..f5 (strides 1-16), and after pool5 one 3x3 conv (f6, stride 32) from which a 3x3
conv makes the coarse label map (that single conv stands in for the paper's layers between
pool5 and the coarse map, which are not reproduced exactly). Decoder: five gate units G(f5, f6), G(f4, f5), ..., G(f1, f2)
(layers/gate.py), each feeding a gated refinement unit that doubles the label map's resolution,
the last one at the input size. Every label map is supervised (deep supervision; the paper weighs
the stages equally, i.e. a recipe `aux_weight` of 1.0): `forward()` returns the final map,
`forward_train()` all six, upsampled to the input size (the paper downsamples the ground truth
instead).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.layers.conv import ConvBNAct
from edgeseg.layers.gate import GatedRefinementUnit, GateUnit
from edgeseg.models.backbones.vgg import VGG16
from edgeseg.models._registry import register_model


class GFRNet(nn.Module):
    def __init__(self, num_classes: int = 11, width: float = 1.0) -> None:
        super().__init__()
        vgg = VGG16(width, batch_norm=True)
        c = vgg.channels
        self.blocks = vgg.blocks
        self.f6 = ConvBNAct(c[4], c[4], 3)
        self.coarse = nn.Conv2d(c[4], num_classes, 3, padding=1)
        deep = [c[4]] + c[4:0:-1]  # deeper input of each gate: f6, f5, f4, f3, f2
        shallow = c[::-1]  # f5, f4, f3, f2, f1
        self.gates = nn.ModuleList([GateUnit(s, d, s) for s, d in zip(shallow, deep)])
        self.refines = nn.ModuleList([GatedRefinementUnit(s, num_classes) for s in shallow])

    def _label_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Label maps from finest (the output) to coarsest."""
        feats: List[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            if i > 0:
                x = F.max_pool2d(x, [2, 2], [2, 2])
            x = block(x)
            feats.append(x)
        deep = self.f6(F.max_pool2d(x, [2, 2], [2, 2]))
        label = self.coarse(deep)
        maps: List[torch.Tensor] = [label]
        for i, (gate, refine) in enumerate(zip(self.gates, self.refines)):
            shallow = feats[4 - i]
            label = refine(label, gate(shallow, deep))
            deep = shallow
            maps.append(label)
        maps.reverse()
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._label_maps(x)[0]

    @torch.jit.export
    def forward_train(self, x: torch.Tensor) -> List[torch.Tensor]:
        """[final map, then the coarser stage maps], all at the input size."""
        size = [x.shape[2], x.shape[3]]
        return [F.interpolate(m, size=size, mode="bilinear", align_corners=False) for m in self._label_maps(x)]


@register_model("gfrnet_vgg16", paper="Islam, Rochan, Bruce, Wang, CVPR 2017", test_kwargs={"width": 0.125})
def gfrnet_vgg16(num_classes: int = 11, width: float = 1.0) -> GFRNet:
    return GFRNet(num_classes, width)
