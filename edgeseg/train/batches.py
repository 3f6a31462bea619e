"""Training batches: decoded once, augmented a batch at a time.

Each sample's augmentation is drawn from a generator seeded by (seed, epoch, sample index), so
a batch is the same whether one process or several (DDP ranks, loader workers, a GPU) build it,
and a resumed run sees the batches the uninterrupted run would have seen.

On a GPU the decoded samples can live in device memory (`resident`): a batch is then a gather
and two grid_samples there, and no loader process or host-to-device copy of images is needed.
"""
from __future__ import annotations

import numpy as np
import torch

from edgeseg.data.transforms import Augment, normalize, to_device


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

    def uniform_size(self) -> tuple[int, int] | None:
        """(H, W) when every cached sample has it (then they stack), else None."""
        if self.samples is None or not self.samples:
            return None
        sizes = {lbl.shape for _, lbl in self.samples}
        return next(iter(sizes)) if len(sizes) == 1 else None

    def stacked(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """All samples as uint8 (N,3,H,W) images and (N,H,W) labels on `device`."""
        imgs, lbls = _stack(self.samples)
        return imgs.contiguous().to(device), lbls.to(device)


def fits_on(device: torch.device, data: DecodedDataset, share: float = 0.25) -> bool:
    """Whether the decoded data can live on a CUDA `device`: same-size samples, taking at most
    `share` of its free memory (the rest is for the network)."""
    if device.type != "cuda" or data.uniform_size() is None:
        return False
    h, w = data.uniform_size()
    free, _ = torch.cuda.mem_get_info(device)
    return len(data) * h * w * 4 <= share * free


class EpochBatches(torch.utils.data.Dataset):
    """Item b is this rank's batch b of the current epoch; set `epoch` before iterating.
    With `device`, the samples are copied there once and batches are built there."""

    def __init__(self, data: DecodedDataset, augment: Augment, batch_size: int, seed: int, mean, std, rank: int = 0, world: int = 1,
                 device: torch.device | None = None) -> None:
        self.data, self.augment, self.batch_size, self.seed = data, augment, batch_size, seed
        self.mean, self.std, self.rank, self.world = mean, std, rank, world
        self.epoch = 0
        self._order: tuple[int, list[int]] | None = None  # (epoch, order): one permutation per epoch
        self.resident = data.stacked(device) if device is not None else None

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
        if self.resident is not None:
            imgs, lbls = self.resident
            pick = to_device(torch.tensor(idx), imgs.device)
            x, y = self.augment.apply(imgs[pick], lbls[pick], [self._draw(i, *lbls.shape[1:]) for i in idx])
        else:
            samples = [self.data[i] for i in idx]
            if len({lbl.shape for _, lbl in samples}) == 1:
                x, y = self.augment.apply(*_stack(samples), [self._draw(i, *lbl.shape) for i, (_, lbl) in zip(idx, samples)])
            else:  # frames of several sizes: each is resampled on its own into the common crop size
                parts = [self.augment.apply(*_stack([s]), [self._draw(i, *s[1].shape)]) for i, s in zip(idx, samples)]
                x, y = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        return normalize(x, self.mean, self.std), y

    def _draw(self, sample: int, h: int, w: int):
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_033 + sample)
        return self.augment.draw(h, w, g)


def _stack(samples: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    imgs = torch.from_numpy(np.stack([img for img, _ in samples])).permute(0, 3, 1, 2)
    return imgs, torch.from_numpy(np.stack([lbl for _, lbl in samples]))
