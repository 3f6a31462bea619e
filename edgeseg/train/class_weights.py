"""Class weights for imbalanced segmentation data.

- `enet`: w_c = 1 / ln(c + p_c), p_c the pixel share of class c (Paszke et al. 2016, sec. 5.2);
  c = 1.02 bounds the weights to [1, 50].
- `median`: median frequency balancing, w_c = median(f) / f_c, f_c the pixel share of class c
  over the images where c is present (Eigen & Fergus 2015).
"""
from __future__ import annotations

import numpy as np

from edgeseg.recipe import ClassWeighting


def class_pixel_counts(labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(pixels of each class, pixels of the images that contain each class), ignoring others."""
    counts = np.zeros(num_classes, np.int64)
    image_pixels = np.zeros(num_classes, np.int64)
    for lbl in labels:
        c = np.bincount(lbl.ravel(), minlength=256)[:num_classes]
        counts += c
        image_pixels += (c > 0) * lbl.size
    return counts, image_pixels


def enet_weights(counts: np.ndarray, c: float = 1.02) -> np.ndarray:
    p = counts / max(counts.sum(), 1)
    return 1.0 / np.log(c + p)


def median_frequency_weights(counts: np.ndarray, image_pixels: np.ndarray) -> np.ndarray:
    freq = np.where(image_pixels > 0, counts / np.maximum(image_pixels, 1), 0.0)
    med = np.median(freq[freq > 0])
    return np.where(freq > 0, med / np.maximum(freq, 1e-12), 0.0)


def compute_class_weights(method: ClassWeighting, labels, num_classes: int, enet_c: float = 1.02) -> np.ndarray | None:
    if method is ClassWeighting.NONE:
        return None
    counts, image_pixels = class_pixel_counts(labels, num_classes)
    if method is ClassWeighting.ENET:
        return enet_weights(counts, enet_c)
    return median_frequency_weights(counts, image_pixels)  # ClassWeighting.MEDIAN
