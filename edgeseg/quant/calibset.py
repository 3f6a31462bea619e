"""Calibration manifests (calib/<recipe>.json): which images calibrate a recipe, what they cover,
and a digest of their bytes, so a changed image is noticed before it silently changes the scales.

Images are named relative to the dataset folder, exactly as its split listing names them, so the
manifest travels between machines; the folder itself is given by the recipe (or --data).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from edgeseg.errors import ArtifactError
from edgeseg.fileio import sha256, write_json
from edgeseg.quant.select import Coverage

FORMAT = "edgeseg-calibration-set"


def images_digest(root: Path, images: Sequence[str]) -> str:
    h = hashlib.sha256()
    for name in images:
        h.update(f"{name} {sha256(root / name)}\n".encode())
    return h.hexdigest()


@dataclass
class CalibrationSet:
    recipe: str
    dataset: str
    split: str
    images: list[str]  # relative to the dataset folder
    labels: list[str]
    coverage: Coverage
    images_sha256: str
    selection: dict = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        write_json(path, {
            "format": FORMAT, "recipe": self.recipe, "dataset": self.dataset, "split": self.split,
            "selection": self.selection, "coverage": self.coverage.to_dict(),
            "images_sha256": self.images_sha256, "images": self.images, "labels": self.labels,
        })

    @classmethod
    def load(cls, path: str | Path) -> "CalibrationSet":
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"calibration manifest {path} not found; make it with `edgeseg calib select <recipe>`")
        try:
            d = json.loads(path.read_text())
            if d.get("format") != FORMAT:
                raise KeyError("format")
            return cls(d["recipe"], d["dataset"], d["split"], list(d["images"]), list(d["labels"]),
                       Coverage.from_dict(d["coverage"]), d["images_sha256"], d.get("selection", {}))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ArtifactError(f"{path} is not an edgeseg calibration manifest ({e})") from None

    def verify(self, root: str | Path) -> None:
        """Raise ArtifactError unless every image exists under `root` with the recorded bytes."""
        root = Path(root)
        missing = [n for n in self.images if not (root / n).is_file()]
        if missing:
            raise ArtifactError(f"{len(missing)} calibration images are missing under {root}, e.g. {missing[0]}")
        if images_digest(root, self.images) != self.images_sha256:
            raise ArtifactError(f"the calibration images under {root} differ from those the manifest recorded; re-run `edgeseg calib select`")


def recipe_path(recipe, relative: str | Path) -> Path:
    """A path a recipe names: as given if it exists from here, else relative to the repository the
    recipe file sits in (recipes/<name>.toml -> its parent's parent)."""
    p = Path(relative)
    if p.is_absolute() or p.exists() or not recipe.source:
        return p
    return Path(recipe.source).resolve().parent.parent / p


def select_for_recipe(recipe, data: str | Path | None, count: int, per_class: int) -> tuple[CalibrationSet, Path]:
    """Choose `count` calibration images from the recipe's training split; returns the set and the data folder."""
    from edgeseg.data.splits import open_split, recipe_splits
    from edgeseg.quant.select import class_pixels, select_images

    root = Path(data) if data is not None else recipe_path(recipe, recipe.data.path)
    split = recipe_splits(recipe.data)[0]
    train = open_split(root, split)
    pixels = class_pixels((train.label(i) for i in range(len(train))), len(recipe.data.classes) or train.num_classes)
    chosen = sorted(select_images(pixels, count, per_class))
    rel = lambda p: Path(p).resolve().relative_to(root.resolve()).as_posix()  # noqa: E731
    images = [rel(train.pairs[i][0]) for i in chosen]
    labels = [rel(train.pairs[i][1]) for i in chosen]
    classes = list(recipe.data.classes) or list(train.classes)
    cs = CalibrationSet(
        recipe.name, recipe.data.dataset, split.describe(), images, labels,
        Coverage.of(pixels, chosen, classes), images_digest(root, images),
        {"method": "class coverage, then pixel-share balance (edgeseg.quant.select)", "count": count,
         "per_class": per_class, "pool": len(train)},
    )
    return cs, root


class CalibrationInputs(Sequence):
    """The network inputs of a calibration set, preprocessed exactly as `Segmenter.preprocess` does,
    read from disk on each access (a sequence, so the statistics collector may pass over it again)."""

    def __init__(self, root: str | Path, images: Sequence[str], input_size, mean, std) -> None:
        self.root, self.images = Path(root), list(images)
        self.input_size, self.mean, self.std = tuple(input_size), tuple(mean), tuple(std)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return CalibrationInputs(self.root, self.images[i], self.input_size, self.mean, self.std)
        from edgeseg.data import read_rgb
        from edgeseg.preprocess import frame_to_input

        rgb = read_rgb(self.root / self.images[i])
        return frame_to_input(np.ascontiguousarray(rgb[:, :, ::-1]), self.input_size, self.mean, self.std)
