"""Learning-rate schedules as LambdaLR factors of the base rate, stepped once per iteration."""
from __future__ import annotations

import math

from edgeseg.recipe import Schedule


def lr_factor(schedule: Schedule, step: int, total: int, warmup: int = 0, power: float = 0.9) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule is Schedule.POLY:
        return (1.0 - t) ** power
    if schedule is Schedule.COSINE:
        return 0.5 * (1.0 + math.cos(math.pi * t))
    return 1.0  # Schedule.CONSTANT
