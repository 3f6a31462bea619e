"""Choosing calibration images: few enough to calibrate quickly, covering every class.

Calibration sees only the images it is given, so a class absent from them gets activation ranges
that never saw it. The selection is deterministic and reads labels only:
1. coverage: for each class, rarest first, the images with the most pixels of it are taken until
   `per_class` chosen images contain it (or every training image that has it is taken);
2. balance: the rest are added one at a time, each time the image that brings the chosen set's
   per-class pixel share closest (L1) to the training set's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeseg.errors import InputError


def class_pixels(labels, num_classes: int) -> np.ndarray:
    """(images, classes) pixel counts; labels >= num_classes (void) count nowhere."""
    rows = []
    for lbl in labels:
        flat = np.asarray(lbl).ravel()
        rows.append(np.bincount(flat[flat < num_classes], minlength=num_classes)[:num_classes])
    return np.array(rows, np.int64).reshape(len(rows), num_classes)


def select_images(pixels: np.ndarray, count: int, per_class: int = 10) -> list[int]:
    """Indices of `count` images chosen from a (images, classes) pixel-count table."""
    n, c = pixels.shape
    if not 0 < count <= n:
        raise InputError(f"cannot choose {count} calibration images out of {n}")
    chosen: list[int] = []
    present = pixels > 0
    for k in np.argsort(present.sum(0), kind="stable"):  # rarest class first
        have = int(present[chosen, k].sum()) if chosen else 0
        for i in np.argsort(-pixels[:, k], kind="stable"):
            if have >= per_class or len(chosen) == count or pixels[i, k] == 0:
                break
            if i not in chosen:
                chosen.append(int(i))
                have += 1
    target = pixels.sum(0) / max(pixels.sum(), 1)
    total = pixels[chosen].sum(0) if chosen else np.zeros(c, np.int64)
    left = np.setdiff1d(np.arange(n), chosen)
    while len(chosen) < count:
        trial = total[None, :] + pixels[left]
        share = trial / np.maximum(trial.sum(1, keepdims=True), 1)
        best = int(np.argmin(np.abs(share - target).sum(1)))
        chosen.append(int(left[best]))
        total = trial[best]
        left = np.delete(left, best)
    return chosen


@dataclass
class Coverage:
    """What a calibration set covers, against the set it was drawn from."""

    images: int
    classes: list[str]
    share_selected: list[float]  # pixel share per class among labelled (non-void) pixels
    share_train: list[float]
    images_with_class: list[int]

    @classmethod
    def of(cls, pixels: np.ndarray, chosen: list[int], classes: list[str]) -> "Coverage":
        sel, all_ = pixels[chosen].sum(0), pixels.sum(0)
        return cls(
            images=len(chosen), classes=list(classes),
            share_selected=[float(v) for v in sel / max(sel.sum(), 1)],
            share_train=[float(v) for v in all_ / max(all_.sum(), 1)],
            images_with_class=[int(v) for v in (pixels[chosen] > 0).sum(0)],
        )

    @property
    def missing(self) -> list[str]:
        return [c for c, k in zip(self.classes, self.images_with_class) if k == 0]

    def to_dict(self) -> dict:
        return {
            "images": self.images,
            "per_class": {c: {"pixel_share": s, "train_pixel_share": t, "images": k}
                          for c, s, t, k in zip(self.classes, self.share_selected, self.share_train, self.images_with_class)},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Coverage":
        pc = d["per_class"]
        return cls(d["images"], list(pc), [v["pixel_share"] for v in pc.values()],
                   [v["train_pixel_share"] for v in pc.values()], [v["images"] for v in pc.values()])
