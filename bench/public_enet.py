"""ENet written the way the public PyTorch ports write it (davidtvs/PyTorch-ENet, ntkhoa95/ENet_PyTorch):
`nn.MaxPool2d(return_indices=True)` + `nn.MaxUnpool2d`, channel padding with a zeros tensor and
`torch.cat`, ReLU in the upsampling bottlenecks, PReLU elsewhere (as edgeseg's ENet, whose decoder
bottlenecks keep PReLU where some ports use ReLU). The side-by-side reference for edgeseg's
eager ENet in bench/cpu_paths.py; layer for layer the same network (Paszke et al. 2016, Table 1),
so `copy_weights` can give it edgeseg's trained weights (speed can depend on their values).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _cbr(cin, cout, k, stride=1, padding=0, dilation=1, act=True, relu=False):
    layers = [nn.Conv2d(cin, cout, k, stride, padding, dilation=dilation, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU() if relu else nn.PReLU())
    return nn.Sequential(*layers)


class InitialBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Conv2d(3, 13, 3, 2, 1, bias=False)
        self.ext = nn.MaxPool2d(2, 2)
        self.bn = nn.BatchNorm2d(16)
        self.out = nn.PReLU(16)

    def forward(self, x):
        return self.out(self.bn(torch.cat((self.main(x), self.ext(x)), 1)))


class RegularBottleneck(nn.Module):
    def __init__(self, ch, kind="regular", dilation=1, p=0.1, relu=False):
        super().__init__()
        mid = ch // 4
        self.ext1 = _cbr(ch, mid, 1, relu=relu)
        if kind == "asymmetric":
            self.ext2 = nn.Sequential(nn.Conv2d(mid, mid, (5, 1), padding=(2, 0), bias=False), _cbr(mid, mid, (1, 5), padding=(0, 2), relu=relu))
        else:
            self.ext2 = _cbr(mid, mid, 3, padding=dilation, dilation=dilation, relu=relu)
        self.ext3 = _cbr(mid, ch, 1, act=False)
        self.drop = nn.Dropout2d(p)
        self.out = nn.ReLU() if relu else nn.PReLU(ch)

    def forward(self, x):
        return self.out(x + self.drop(self.ext3(self.ext2(self.ext1(x)))))


class DownsamplingBottleneck(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        mid = cin // 4
        self.main = nn.MaxPool2d(2, 2, return_indices=True)
        self.ext1 = _cbr(cin, mid, 2, stride=2)
        self.ext2 = _cbr(mid, mid, 3, padding=1)
        self.ext3 = _cbr(mid, cout, 1, act=False)
        self.drop = nn.Dropout2d(p)
        self.out = nn.PReLU(cout)

    def forward(self, x):
        main, indices = self.main(x)
        ext = self.drop(self.ext3(self.ext2(self.ext1(x))))
        n, c, h, w = ext.shape
        padding = torch.zeros(n, c - main.shape[1], h, w, dtype=main.dtype)
        return self.out(torch.cat((main, padding), 1) + ext), indices


class UpsamplingBottleneck(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        mid = cin // 4
        self.main1 = _cbr(cin, cout, 1, act=False)
        self.unpool = nn.MaxUnpool2d(2)
        self.ext1 = _cbr(cin, mid, 1, relu=True)
        self.ext2 = nn.ConvTranspose2d(mid, mid, 3, 2, 1, output_padding=1, bias=False)
        self.ext2_bnact = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU())
        self.ext3 = _cbr(mid, cout, 1, act=False)
        self.drop = nn.Dropout2d(p)
        self.out = nn.ReLU()

    def forward(self, x, indices, output_size):
        main = self.unpool(self.main1(x), indices, output_size=output_size)
        ext = self.drop(self.ext3(self.ext2_bnact(self.ext2(self.ext1(x)))))
        return self.out(main + ext)


_STAGE23 = [("regular", 1), ("dilated", 2), ("asymmetric", 1), ("dilated", 4), ("regular", 1), ("dilated", 8), ("asymmetric", 1), ("dilated", 16)]


class PublicENet(nn.Module):
    def __init__(self, num_classes=11):
        super().__init__()
        self.initial = InitialBlock()
        self.down1 = DownsamplingBottleneck(16, 64, 0.01)
        self.stage1 = nn.Sequential(*[RegularBottleneck(64, p=0.01) for _ in range(4)])
        self.down2 = DownsamplingBottleneck(64, 128, 0.1)
        self.stage2 = nn.Sequential(*[RegularBottleneck(128, k, d) for k, d in _STAGE23])
        self.stage3 = nn.Sequential(*[RegularBottleneck(128, k, d) for k, d in _STAGE23])
        self.up4 = UpsamplingBottleneck(128, 64, 0.1)
        self.stage4 = nn.Sequential(RegularBottleneck(64), RegularBottleneck(64))
        self.up5 = UpsamplingBottleneck(64, 16, 0.1)
        self.stage5 = RegularBottleneck(16)
        self.fullconv = nn.ConvTranspose2d(16, num_classes, 2, 2)

    def forward(self, x):
        s0 = x.size()
        x = self.initial(x)
        s1 = x.size()
        x, i1 = self.down1(x)
        x = self.stage1(x)
        s2 = x.size()
        x, i2 = self.down2(x)
        x = self.stage3(self.stage2(x))
        x = self.stage4(self.up4(x, i2, output_size=s2))
        x = self.stage5(self.up5(x, i1, output_size=s1))
        return self.fullconv(x)


def copy_weights(src: nn.Module, dst: nn.Module) -> bool:
    """Copy `src`'s parameters and buffers into `dst` in order when every shape lines up; False if not."""
    a, b = list(src.state_dict().values()), list(dst.state_dict().items())
    if len(a) != len(b) or any(x.shape != y.shape for x, (_, y) in zip(a, b)):
        return False
    dst.load_state_dict({k: v.clone() for (k, _), v in zip(b, a)})
    return True
