"""Learning-rate schedules as LambdaLR factors of the base rate, stepped once per iteration."""
from __future__ import annotations

import math


def lr_factor(schedule: str, step: int, total: int, warmup: int = 0, power: float = 0.9) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "poly":
        return (1.0 - t) ** power
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if schedule == "constant":
        return 1.0
    raise ValueError(f"schedule must be poly, cosine or constant, got {schedule!r}")
