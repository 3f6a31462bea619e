"""Segmentation datasets on disk: the (image, label) pair list every layout becomes, and the
generic image-folder layout. Each yields (image RGB uint8 HxWx3, label uint8 HxW) as numpy arrays;
labels use `ignore_index` for pixels that count nowhere."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class DatasetError(InputError, ValueError):
    """A dataset folder that does not have the expected layout."""


def read_rgb(path: str | Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        raise DatasetError(f"cannot read image {path}: {e}") from None


def read_label(path: str | Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I;16", "I"):
                raise DatasetError(f"label {path} must be a single-channel class-index image, got mode {im.mode}")
            return np.asarray(im).astype(np.uint8)
    except OSError as e:
        raise DatasetError(f"cannot read label {path}: {e}") from None


@dataclass
class SegDataset:
    """A list of (image, label) file pairs with class names and an ignore index. `label_lut`
    (256 entries) maps the ids stored in the label files to class indices when they differ."""

    pairs: list[tuple[Path, Path]]
    classes: tuple[str, ...]
    ignore_index: int = 255
    name: str = "dataset"
    label_lut: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    def label(self, i: int) -> np.ndarray:
        lbl = read_label(self.pairs[i][1])
        lbl = lbl if self.label_lut is None else self.label_lut[lbl]
        # A value that is neither a class nor void would index past the loss's classes (train)
        # or vanish from the confusion matrix (eval): name the file instead.
        bad = np.unique(lbl[(lbl >= len(self.classes)) & (lbl != self.ignore_index)])
        if bad.size:
            raise DatasetError(
                f"label {self.pairs[i][1]} holds value {int(bad[0])}, which is neither a class (0-{len(self.classes) - 1}) nor the ignore index {self.ignore_index}"
            )
        return lbl

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        img_path = self.pairs[i][0]
        img, lbl = read_rgb(img_path), self.label(i)
        if img.shape[:2] != lbl.shape:
            raise DatasetError(f"{img_path} is {img.shape[1]}x{img.shape[0]} but its label is {lbl.shape[1]}x{lbl.shape[0]}")
        return img, lbl

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def image_folder(root: str | Path) -> SegDataset:
    """`root/images/*`, `root/masks/*` (same stem, class-index PNG) and `root/classes.json`
    (`{"classes": [...], "ignore_index": 255}`) or `root/classes.txt` (one name per line)."""
    root = Path(root)
    if (root / "classes.json").is_file():
        meta = json.loads((root / "classes.json").read_text())
        classes, ignore = tuple(meta["classes"]), int(meta.get("ignore_index", 255))
    elif (root / "classes.txt").is_file():
        classes, ignore = tuple(l.strip() for l in (root / "classes.txt").read_text().splitlines() if l.strip()), 255
    else:
        raise DatasetError(f"{root} has no classes.json or classes.txt")
    if not (root / "images").is_dir() or not (root / "masks").is_dir():
        raise DatasetError(f"{root} must contain images/ and masks/")
    masks = {p.stem: p for p in (root / "masks").iterdir() if p.suffix.lower() == ".png"}
    pairs = []
    for img in sorted((root / "images").iterdir()):
        if img.suffix.lower() in IMAGE_SUFFIXES:
            if img.stem not in masks:
                raise DatasetError(f"no mask for {img.name} in {root / 'masks'}")
            pairs.append((img, masks[img.stem]))
    if not pairs:
        raise DatasetError(f"no images in {root / 'images'}")
    return SegDataset(pairs, classes, ignore, root.name)
