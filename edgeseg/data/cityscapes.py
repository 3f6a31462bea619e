"""Cityscapes (Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene Understanding",
CVPR 2016): the 19 evaluation classes, from the layout the dataset downloads as."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg.data.dataset import DatasetError, SegDataset
from edgeseg.data.palettes import CITYSCAPES_CLASSES, CITYSCAPES_IGNORE, CITYSCAPES_TRAIN_IDS


def cityscapes(root: str | Path, split: str = "val") -> SegDataset:
    """Cityscapes as downloaded: `leftImg8bit/<split>/<city>/*_leftImg8bit.png` with
    `gtFine/<split>/<city>/*_gtFine_labelTrainIds.png` when cityscapesScripts made them, else
    `*_gtFine_labelIds.png` mapped to the 19 train ids here (everything else ignored, 255)."""
    root = Path(root)
    images = sorted((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png"))
    if not images:
        raise DatasetError(f"{root} has no leftImg8bit/{split}/<city>/*_leftImg8bit.png images")
    pairs, train_ids = [], None
    for img in images:
        stem = str(img.relative_to(root / "leftImg8bit")).removesuffix("_leftImg8bit.png")
        trained, raw = root / "gtFine" / f"{stem}_gtFine_labelTrainIds.png", root / "gtFine" / f"{stem}_gtFine_labelIds.png"
        label = trained if trained.is_file() else raw
        if not label.is_file():
            raise DatasetError(f"no gtFine label for {img.name} (looked for {trained.name} and {raw.name})")
        if train_ids is not None and train_ids != (label == trained):
            raise DatasetError(f"gtFine/{split} mixes labelTrainIds and labelIds files; keep one kind")
        train_ids = label == trained
        pairs.append((img, label))
    lut = None
    if not train_ids:
        lut = np.full(256, CITYSCAPES_IGNORE, np.uint8)
        for label_id, train_id in CITYSCAPES_TRAIN_IDS.items():
            lut[label_id] = train_id
    return SegDataset(pairs, CITYSCAPES_CLASSES, CITYSCAPES_IGNORE, f"cityscapes-{split}", lut)
