"""Accuracy of a `Segmenter` on a dataset: one confusion matrix over all pixels of all images.

Frames go through `Segmenter.predict` exactly as in deployment (BGR in, class map at the
frame's size out), so every back end is scored on the same pixels by the same code.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from edgeseg.errors import InputError
from edgeseg.eval.metrics import ConfusionMatrix


def evaluate(segmenter, dataset: Sequence[tuple[np.ndarray, np.ndarray]], max_images: int | None = None, progress: bool = True,
             per_sequence: dict[str, ConfusionMatrix] | None = None) -> ConfusionMatrix:
    """Score `segmenter` on `dataset` (items: RGB uint8 (H, W, 3), label uint8 (H, W)).

    Pixels labelled `dataset.ignore_index` (CamVid: 11, void) count nowhere. When
    `per_sequence` is given, it is filled with one matrix per sequence named by the files.
    """
    from edgeseg.data.splits import sequence_of

    if getattr(dataset, "num_classes", segmenter.num_classes) != segmenter.num_classes:
        raise InputError(f"the model predicts {segmenter.num_classes} classes but dataset {getattr(dataset, 'name', '')!r} has {dataset.num_classes}")
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    if n <= 0:
        raise InputError("nothing to evaluate: the dataset is empty or `max_images` is 0")
    cm = ConfusionMatrix(segmenter.num_classes, getattr(dataset, "ignore_index", None))
    for i in _steps(n, progress, f"evaluating {getattr(dataset, 'name', 'dataset')}"):
        rgb, label = dataset[i]
        pred = segmenter.predict(rgb[:, :, ::-1])
        cm.update(pred, label)
        seq = sequence_of(dataset.pairs[i][0]) if per_sequence is not None and hasattr(dataset, "pairs") else None
        if seq is not None:
            per_sequence.setdefault(seq, ConfusionMatrix(segmenter.num_classes, cm.ignore_index)).update(pred, label)
    return cm


def _steps(n: int, progress: bool, description: str):
    if not progress:
        return range(n)
    from rich.progress import track

    return track(range(n), description=description, transient=True)
