"""Confusion-matrix metrics: mIoU over all pixels of all images of a split, void ignored."""
from __future__ import annotations

import numpy as np


class ConfusionMatrix:
    """Accumulates a (num_classes x num_classes) matrix; rows = ground truth, cols = prediction."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
        if pred.shape != target.shape:
            raise ValueError(f"prediction has {pred.size} pixels, label {target.size}")
        keep = (target < self.num_classes) if self.ignore_index is None else (target != self.ignore_index) & (target < self.num_classes)
        idx = target[keep].astype(np.int64) * self.num_classes + pred[keep].astype(np.int64)
        self.matrix += np.bincount(idx, minlength=self.num_classes**2).reshape(self.num_classes, self.num_classes)

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
        return {
            "miou": self.miou(),
            "pixel_accuracy": self.pixel_accuracy(),
            "per_class_iou": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, self.iou())},
        }


def percent(value: float | None, digits: int = 2) -> str:
    """An mIoU or accuracy fraction as every command prints it: 50.11%, or - when there is none."""
    return "-" if value is None else f"{100 * value:.{digits}f}%"
