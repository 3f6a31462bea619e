"""An exponential moving average of the weights (and BN buffers), with a warm-up."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel


def weight_ema(model: nn.Module, decay: float) -> AveragedModel:
    """torch's AveragedModel whose decay ramps up as (1 + n) / (10 + n), as timm's ModelEma does:
    a fixed 0.999 from the first step keeps 41% of the random init after 900 steps (3 mIoU at
    ENet's epoch 20, where the raw weights score 32)."""

    def average(avg: torch.Tensor, new: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1.0 + float(n)) / (10.0 + float(n)))
        return d * avg + (1.0 - d) * new

    return AveragedModel(model, avg_fn=average, use_buffers=True)
