"""Calibration-image selection: every class covered, pixel shares close to the training set's."""
from __future__ import annotations

import numpy as np

from edgeseg.quant.select import Coverage, select_images

CLASSES = ["sky", "road", "car", "sign"]


def test_selection_covers_a_class_that_only_one_image_has():
    rng = np.random.default_rng(0)
    pixels = rng.integers(100, 1000, (50, 4))
    pixels[:, 3] = 0
    pixels[37, 3] = 5  # the only image with class 3, and only 5 pixels of it
    chosen = select_images(pixels, 5, per_class=2)
    assert len(chosen) == len(set(chosen)) == 5 and 37 in chosen
    assert Coverage.of(pixels, chosen, CLASSES).missing == []
    assert select_images(pixels, 5, per_class=2) == chosen  # deterministic


def test_balance_brings_shares_close_to_the_training_set():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 1000, (200, 4)) * rng.integers(0, 2, (200, 4))
    cov = Coverage.of(pixels, select_images(pixels, 60, per_class=3), CLASSES)
    assert np.abs(np.array(cov.share_selected) - cov.share_train).sum() < 0.02
