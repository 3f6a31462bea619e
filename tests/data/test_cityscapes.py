"""Cityscapes layout on a tiny synthetic copy: ids mapped to the 19 train ids, detection by
open_dataset, clear errors for a missing or mixed label set, and the dataset's own palette."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeseg.data import DatasetError, open_dataset
from edgeseg.data.cityscapes import cityscapes
from edgeseg.data.palettes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, default_palette, palette_for


def make_city(root, split="val", city="ulm", n=2, kind="labelIds", ids=(7, 26, 0, 33)):
    for i in range(n):
        stem = f"{city}_{i:06d}_000019"
        img_dir, lbl_dir = root / "leftImg8bit" / split / city, root / "gtFine" / split / city
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 16, 3), 100 + i, np.uint8)).save(img_dir / f"{stem}_leftImg8bit.png")
        Image.fromarray(np.array([list(ids) * 4] * 8, np.uint8)).save(lbl_dir / f"{stem}_gtFine_{kind}.png")


def test_label_ids_map_to_train_ids(tmp_path):
    make_city(tmp_path)
    ds = open_dataset(tmp_path, "val")
    assert len(ds) == 2 and ds.classes == CITYSCAPES_CLASSES and ds.ignore_index == 255
    img, lbl = ds[1]
    assert img.shape == (8, 16, 3) and img[0, 0, 0] == 101
    assert lbl[0, :4].tolist() == [0, 13, 255, 18]  # road, car, ignored, bicycle


def test_train_id_files_are_used_as_they_are(tmp_path):
    make_city(tmp_path, kind="labelTrainIds", ids=(0, 13, 255, 18))  # road, car, ignored, bicycle
    _, lbl = cityscapes(tmp_path, "val")[0]
    assert lbl[0, :4].tolist() == [0, 13, 255, 18]


def test_a_label_value_outside_the_classes_names_the_file_and_value(tmp_path):
    make_city(tmp_path, kind="labelTrainIds", ids=(0, 26, 255, 18))  # 26 is a label id, not a train id
    with pytest.raises(DatasetError, match=r"ulm_000000_000019_gtFine_labelTrainIds.png holds value 26, which is neither a class \(0-18\)"):
        cityscapes(tmp_path, "val")[0]


def test_missing_and_mixed_labels_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="leftImg8bit/train"):
        cityscapes(tmp_path, "train")
    make_city(tmp_path)
    make_city(tmp_path, city="zurich", kind="labelTrainIds")
    with pytest.raises(DatasetError, match="mixes labelTrainIds and labelIds"):
        cityscapes(tmp_path, "val")
    next((tmp_path / "gtFine" / "val" / "ulm").glob("*.png")).unlink()
    with pytest.raises(DatasetError, match="no gtFine label for ulm_000000"):
        cityscapes(tmp_path, "val")


def test_palette_follows_the_classes():
    assert palette_for(CITYSCAPES_CLASSES) == list(CITYSCAPES_PALETTE)
    assert palette_for([f"c{i}" for i in range(19)]) == default_palette(19)
