"""A deterministic dataset of synthetic scenes (same interface as `edgeseg.data.SegDataset`), for
tests that must not need a real dataset."""
from __future__ import annotations

import numpy as np

from edgeseg.data.synthetic import synthetic_scene


class SyntheticDataset:
    """Deterministic dataset of `n` synthetic scenes (same interface as `SegDataset`)."""

    def __init__(self, n: int = 8, size: tuple[int, int] = (64, 96), num_classes: int = 4, seed: int = 0) -> None:
        self.n, self.size, self.seed = n, size, seed
        self.classes = tuple(f"class{i}" for i in range(num_classes))
        self.ignore_index = 255
        self.name = "synthetic"

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return synthetic_scene(*self.size, num_classes=len(self.classes), seed=self.seed + i)

    @property
    def num_classes(self) -> int:
        return len(self.classes)
