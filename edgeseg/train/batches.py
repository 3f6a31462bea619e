"""Training batches that worker processes can build: decoded once, augmented per sample.

Each sample's augmentation is drawn from a generator seeded by (seed, epoch, sample index), so
a batch is the same whether one process or several (DDP ranks, loader workers) build it, and
a resumed run sees the batches the uninterrupted run would have seen.
"""
from __future__ import annotations

import numpy as np
import torch

from edgeseg.data.transforms import Augment, normalize, to_tensors


class DecodedDataset:
    """Every sample decoded once, up front: CamVid train (367 images) is ~190 MB as uint8, and
    loader workers forked afterwards share it instead of decoding again."""

    def __init__(self, dataset, cache: bool = True) -> None:
        self.dataset = dataset
        self.samples = [dataset[i] for i in range(len(dataset))] if cache else None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.samples[i] if self.samples is not None else self.dataset[i]


class EpochBatches(torch.utils.data.Dataset):
    """Item b is this rank's batch b of the current epoch; set `epoch` before iterating."""

    def __init__(self, data: DecodedDataset, augment: Augment, batch_size: int, seed: int, mean, std, rank: int = 0, world: int = 1) -> None:
        self.data, self.augment, self.batch_size, self.seed = data, augment, batch_size, seed
        self.mean, self.std, self.rank, self.world = mean, std, rank, world
        self.epoch = 0
        self._order: tuple[int, list[int]] | None = None  # (epoch, order): one permutation per epoch

    def __len__(self) -> int:  # the short last batch is dropped (BN on 1x1 maps)
        return max(1, len(self.data) // (self.batch_size * self.world))

    def order(self) -> list[int]:
        """This rank's share of the epoch's permutation: ranks interleave, so the union of
        every rank's batch b is the one-process batch b at the global batch size."""
        if self._order is None or self._order[0] != self.epoch:
            g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
            self._order = (self.epoch, torch.randperm(len(self.data), generator=g).tolist()[self.rank :: self.world])
        return self._order[1]

    def __getitem__(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.order()[b * self.batch_size : (b + 1) * self.batch_size]
        pairs = [self.augment(*to_tensors(*self.data[i]), self._generator(i)) for i in idx]
        x = normalize(torch.stack([p[0] for p in pairs]), self.mean, self.std)
        return x, torch.stack([p[1] for p in pairs])

    def _generator(self, sample: int) -> torch.Generator:
        return torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_033 + sample)
