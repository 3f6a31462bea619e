"""Validation during and after training: the split decoded once at the recipe's input size and
scored with one confusion matrix, on whatever device the model is on."""
from __future__ import annotations

import torch
import torch.nn as nn

from edgeseg.data.transforms import fit_size, normalize, to_tensors
from edgeseg.eval.metrics import ConfusionMatrix
from edgeseg.recipe import Recipe


class ValBatches:
    """A validation split at the recipe's input size, decoded once (uint8), in device memory
    when it fits there, normalised a batch at a time as deployment normalises a frame."""

    def __init__(self, dataset, recipe: Recipe, device: torch.device, batch_size: int = 4, cache: bool = True) -> None:
        d = recipe.data
        self.dataset, self.size, self.mean, self.std = dataset, tuple(d.input_size), d.mean, d.std
        self.device, self.batch_size = device, batch_size
        self.items = [self._item(i) for i in range(len(dataset))] if cache else None
        if self.items and device.type == "cuda":
            self.items = [(img.to(device), lbl.to(device)) for img, lbl in self.items]

    def _item(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img, lbl = fit_size(*to_tensors(*self.dataset[i]), self.size)
        return img.mul(255).round_().to(torch.uint8), lbl.to(torch.uint8)

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        for start in range(0, len(self), self.batch_size):
            part = range(start, min(start + self.batch_size, len(self)))
            items = [self.items[i] if self.items is not None else self._item(i) for i in part]
            img = torch.stack([im for im, _ in items]).to(self.device, non_blocking=True)
            lbl = torch.stack([lb for _, lb in items]).to(self.device, non_blocking=True)
            yield normalize(img.float().div_(255.0), self.mean, self.std), lbl


@torch.no_grad()
def score(model: nn.Module, val: ValBatches, num_classes: int, ignore_index: int) -> ConfusionMatrix:
    """The confusion matrix of `model` (put in eval mode) on `val`, counted on its device."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    model.eval()
    for x, y in val:
        cm.update(model(x).argmax(1), y)
    return cm


def evaluate_model(model: nn.Module, dataset, recipe: Recipe, device: torch.device, batch_size: int = 4) -> ConfusionMatrix:
    """Val mIoU at the recipe's input size, through the same normalisation as deployment."""
    val = ValBatches(dataset, recipe, device, batch_size, cache=False)
    return score(model, val, recipe.model.num_classes, recipe.data.ignore_index)
