"""Splits by sequence: which frames train a model and which validate it.

CamVid's val listing is one stretch of a drive (0016E5) whose other frames are in train, so a
score on it predicts little about unseen video. A `Split` takes the union of dataset listings
and keeps or drops whole sequences, so validation can be a drive the model never saw. The
sequence is read from the file name (`0016E5_07959.png`, `Seq05VD_f00000.png`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from edgeseg.data import DatasetError, SegDataset, open_dataset
from edgeseg.recipe import DataSection

_SEQUENCE = re.compile(r"^(?P<seq>.+?)_f?\d+$")


def sequence_of(path: str | Path) -> str | None:
    """The sequence a frame belongs to, from its file name; None when the name carries none."""
    m = _SEQUENCE.match(Path(path).stem)
    return m.group("seq") if m else None


@dataclass(frozen=True)
class Split:
    """Frames from `listings` (e.g. ("train", "val")), restricted to `sequences` when given,
    without those in `exclude`."""

    listings: tuple[str, ...]
    sequences: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def keeps(self, path: Path) -> bool:
        seq = sequence_of(path)
        if self.sequences and seq not in self.sequences:
            return False
        return seq not in self.exclude

    def describe(self) -> str:
        text = "+".join(self.listings)
        if self.sequences:
            text += f", sequences {'+'.join(self.sequences)}"
        if self.exclude:
            text += f", without {'+'.join(self.exclude)}"
        return text


def open_split(root: str | Path, split: Split) -> SegDataset:
    """The frames of `split` under `root` as one dataset (listings in order, duplicates once)."""
    parts = [open_dataset(root, name) for name in split.listings]
    seen: set[Path] = set()
    pairs = []
    for part in parts:
        for pair in part.pairs:
            if pair[0] not in seen and split.keeps(pair[0]):
                seen.add(pair[0])
                pairs.append(pair)
    if not pairs:
        raise DatasetError(f"split {split.describe()} of {root} holds no images")
    first = parts[0]
    return SegDataset(pairs, first.classes, first.ignore_index, f"{Path(root).name} {split.describe()}", first.label_lut)


def sequences(dataset: SegDataset) -> Counter:
    """Frames per sequence (None for names that carry no sequence)."""
    return Counter(sequence_of(img) for img, _ in dataset.pairs)


@dataclass(frozen=True)
class Validation:
    """What a reported mIoU was measured on, and whether it is independent of the training frames."""

    split: str
    images: int
    sequences: tuple[str, ...]
    independent: bool | None  # no validation sequence has frames in training; None: training frames unknown

    @classmethod
    def of(cls, val: SegDataset, train: SegDataset | None) -> "Validation":
        val_seqs = sequences(val)
        if train is None:  # e.g. calibration scoring bundled weights: what they trained on is not here
            return cls(val.name, len(val), tuple(sorted(s for s in val_seqs if s)), None)
        # Without sequence names nothing can be said, so it is not claimed to be independent.
        independent = None not in val_seqs and not (set(val_seqs) & set(sequences(train)))
        return cls(val.name, len(val), tuple(sorted(s for s in val_seqs if s)), independent)

    def describe(self) -> str:
        kind = {True: "held-out sequences", False: "sequences shared with training", None: "training frames not recorded here"}[self.independent]
        return f"{self.split} ({self.images} images, {kind})"

    def to_dict(self) -> dict:
        return {"split": self.split, "images": self.images, "sequences": list(self.sequences), "independent": self.independent, "describe": self.describe()}


def recipe_splits(data: DataSection) -> tuple[Split, Split]:
    """(train, validation) splits of a recipe's [data] section: validation is the held-out
    sequences of every listing when `holdout_sequences` is set, else the `val_split` listings."""
    held = tuple(data.holdout_sequences)
    train = Split(tuple(data.train_split), exclude=held)
    if held:
        return train, Split(tuple(dict.fromkeys([*data.train_split, *data.val_split])), sequences=held)
    return train, Split(tuple(data.val_split))
