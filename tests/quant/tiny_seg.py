"""A small segmentation network with every structure the Q/DQ placement cares about (residual add,
concat, transposed conv, logits from a conv), trained for a few steps on synthetic scenes so its
logits mean something. (A module of its own: `conftest` is not a unique name to import from.)"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from synthetic_data import SyntheticDataset
from edgeseg.layers.conv import ConvBNAct
from edgeseg.preprocess import frame_to_input

SIZE, CLASSES = (32, 48), 4
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


class TinySeg(nn.Module):
    size_divisor = 2

    def __init__(self, num_classes: int = CLASSES) -> None:
        super().__init__()
        self.stem = ConvBNAct(3, 16, 3, stride=2)
        self.block = nn.Sequential(ConvBNAct(16, 16, 3), ConvBNAct(16, 16, 3, act=None))
        self.left, self.right = ConvBNAct(16, 8, 1), ConvBNAct(16, 8, 3)
        self.fuse = ConvBNAct(16, 16, 1)
        self.up = nn.ConvTranspose2d(16, 16, 2, 2)
        self.head = nn.Conv2d(16, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = F.relu(x + self.block(x))
        x = self.fuse(torch.cat([self.left(x), self.right(x)], 1))
        return self.head(F.relu(self.up(x)))


def synthetic_inputs(n: int, seed: int = 100) -> list[np.ndarray]:
    data = SyntheticDataset(n, SIZE, CLASSES, seed=seed)
    return [frame_to_input(np.ascontiguousarray(data[i][0][:, :, ::-1]), SIZE, MEAN, STD) for i in range(n)]


def train_tiny(steps: int = 60) -> TinySeg:
    # one thread: on a shared 2-core machine two threads of tiny ops spin and run ~10x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(steps)
    finally:
        torch.set_num_threads(threads)


def _train(steps: int) -> TinySeg:
    torch.manual_seed(0)
    model = TinySeg()
    data = SyntheticDataset(16, SIZE, CLASSES, seed=0)
    x = torch.from_numpy(np.concatenate(synthetic_inputs(16, seed=0)))
    y = torch.from_numpy(np.stack([data[i][1] for i in range(16)])).long()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()
