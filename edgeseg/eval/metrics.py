"""Confusion-matrix metrics: mIoU over all pixels of all images of a split, void ignored."""
from __future__ import annotations

import numpy as np


class ConfusionMatrix:
    """Accumulates a (num_classes x num_classes) matrix; rows = ground truth, cols = prediction."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def update(self, pred, target) -> None:
        """Count one batch of numpy arrays or torch tensors; tensors are counted where they live,
        so a GPU evaluation moves 121 counts to the host instead of every pixel."""
        n = self.num_classes
        if isinstance(pred, np.ndarray) or not hasattr(pred, "bincount"):
            pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
            if pred.shape == target.shape and _unsigned(pred) and _unsigned(target) and pred.size and pred.max() < n:
                self.matrix += self._count_all_rows(pred, target)
                return
            pred, target = pred.astype(np.int64), target.astype(np.int64)
            bincount = lambda idx: np.bincount(idx, minlength=n * n)
        else:  # torch
            pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
            bincount = lambda idx: idx.bincount(minlength=n * n).cpu().numpy()
        if pred.shape != target.shape:
            raise ValueError(f"prediction has {pred.shape[0]} pixels, label {target.shape[0]}")
        keep = (target < n) if self.ignore_index is None else (target != self.ignore_index) & (target < n)
        self.matrix += bincount(target[keep] * n + pred[keep]).reshape(n, n)

    def _count_all_rows(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """One bincount over every pixel, with a row for every label value; the rows of labels
        that are not classes (void, `ignore_index`) are dropped afterwards. Masking them out first
        copied every pixel twice: 1.8 ms against 0.3 for a 480x360 map, which the stream pays per
        frame beside inference. Where the joint index fits a byte (11 classes and void do) it is
        built as uint8: 0.2 ms. (torch's bincount of that byte index took 0.08 ms alone, but inside
        the stream its thread pool cost more CPU than it saved: bench/README.md.)"""
        n = self.num_classes
        rows = int(target.max()) + 1
        index = target.astype(np.uint8 if rows * n <= 256 else np.intp)
        index *= n
        index += pred
        counts = np.bincount(index, minlength=rows * n).reshape(rows, n)[:n].copy()
        if self.ignore_index is not None and self.ignore_index < len(counts):
            counts[self.ignore_index] = 0
        return np.pad(counts, ((0, n - len(counts)), (0, 0)))

    def iou(self) -> np.ndarray:
        """Per-class IoU = TP / (TP + FP + FN); NaN for a class absent from both label and prediction."""
        tp = np.diag(self.matrix).astype(np.float64)
        denom = self.matrix.sum(0) + self.matrix.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, tp / denom, np.nan)

    def miou(self) -> float:
        return float(np.nanmean(self.iou())) if np.any(~np.isnan(self.iou())) else 0.0

    def pixel_accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else 0.0

    def summary(self, classes: tuple[str, ...] | list[str] | None = None) -> dict:
        names = list(classes) if classes else [str(i) for i in range(self.num_classes)]
        total = self.matrix.sum()
        return {
            "miou": self.miou(),
            "pixel_accuracy": self.pixel_accuracy(),
            "per_class_iou": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, self.iou())},
            # How much of the split each class is: an IoU resting on a few thousand pixels moves
            # the mean as much as the road's does.
            "label_share": {n: float(v / total) if total else 0.0 for n, v in zip(names, self.matrix.sum(1))},
        }


def percent(value: float | None, digits: int = 2) -> str:
    """An mIoU or accuracy fraction as every command prints it: 50.11%, or - when there is none."""
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def _unsigned(a: np.ndarray) -> bool:
    return a.dtype.kind == "u"
