"""Synthetic street-like scenes with exact labels, for tests and benchmarks that must not need a real dataset.

Each scene: sky band on top, road at the bottom, and random rectangles/ellipses of other
classes, each class drawn in its own colour plus noise, so a small network can learn it.
"""
from __future__ import annotations

import numpy as np


def synthetic_scene(h: int, w: int, num_classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (RGB uint8 HxWx3, label uint8 HxW)."""
    rng = np.random.default_rng(seed)
    colours = np.random.default_rng(1234).integers(0, 256, (num_classes, 3))
    label = np.zeros((h, w), np.uint8)
    label[int(h * rng.uniform(0.55, 0.7)):, :] = 1 % num_classes
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(rng.integers(2, 6)):
        c = rng.integers(2, num_classes) if num_classes > 2 else 1
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.1, 0.9) * w
        ry, rx = rng.uniform(0.05, 0.25) * h, rng.uniform(0.05, 0.2) * w
        if rng.random() < 0.5:
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            mask = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
        label[mask] = c
    img = colours[label] + rng.normal(0, 12, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8), label
