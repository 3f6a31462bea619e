"""Whether the frames a figure is measured on are frames the weights trained on.

Training records its resolved recipe beside the weights (a run folder's `recipe.json`; shipped
weights carry `<name>.recipe.json`), and the recipe says which frames trained them: its
`train_split` listings without its held-out sequences. `edgeseg eval` and `edgeseg bench` use it
to say whether the mIoU they print is accuracy on unseen frames or fit to training data (CamVid
val, the default split, is frames the shipped weights trained on).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeseg.data import SegDataset
from edgeseg.data.splits import open_split, recipe_splits, sequence_of, sequences
from edgeseg.errors import EdgesegError
from edgeseg.recipe import RUN_RECIPE, recipe_path_beside, recorded_recipe


@dataclass(frozen=True)
class TrainingOverlap:
    """How `images` measured frames relate to the frames recipe `recipe` trained the weights on."""

    recipe: str
    images: int
    trained: int  # measured frames that are training frames
    shared_sequences: tuple[str, ...]  # measured sequences (drives) with frames in training

    def line(self) -> str:
        if self.trained:
            return (f"{self.trained} of these {self.images} frames trained these weights (recipe {self.recipe}): "
                    "this mIoU is fit to training data, not accuracy on unseen streets")
        if self.shared_sequences:
            return (f"none of these frames trained these weights, but other frames of {'+'.join(self.shared_sequences)} did "
                    f"(recipe {self.recipe}): a drive they saw, not unseen streets")
        return f"none of these frames, nor any frame of their drives, trained these weights (recipe {self.recipe})"


def recorded_recipe_path(weights: Path) -> Path | None:
    """The recipe recorded beside a weights file: shipped weights' own, else the run folder's."""
    for candidate in (recipe_path_beside(weights), weights.parent / RUN_RECIPE):
        if candidate.is_file():
            return candidate
    return None


def training_overlap(root: str | Path, measured: SegDataset, weights: Path | None, images: int | None = None) -> TrainingOverlap | None:
    """The overlap of the first `images` frames of `measured` (all by default) with the training
    frames of `weights`, where a recipe is recorded beside them, trained on a dataset folder of
    `root`'s name (a copy elsewhere counts: the shipped recipes name ../shared/data/camvid) and its
    listings exist under `root`. None otherwise: an exported graph records no recipe, and another
    dataset's listings of the same names are not the frames that trained the weights."""
    recipe_file = recorded_recipe_path(weights) if weights is not None else None
    if recipe_file is None:
        return None
    try:
        recipe = recorded_recipe(recipe_file)
        if Path(recipe.data.path).name != Path(root).resolve().name:
            return None
        train = open_split(root, recipe_splits(recipe.data)[0])
    except (OSError, ValueError, EdgesegError):  # unreadable, or this data lacks its listings (DatasetError)
        return None
    frames = measured.pairs[:images]
    train_images = {Path(img).resolve() for img, _ in train.pairs}
    trained = sum(Path(img).resolve() in train_images for img, _ in frames)
    shared = set(sequences(train)) & {sequence_of(img) for img, _ in frames} - {None}
    return TrainingOverlap(recipe.name, len(frames), trained, tuple(sorted(shared)))
