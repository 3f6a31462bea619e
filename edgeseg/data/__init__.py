"""Datasets (CamVid, Cityscapes, image folders; synthetic scenes), transforms and colour palettes, and
`open_dataset`, which recognises each layout."""
from __future__ import annotations

from pathlib import Path

from edgeseg.data.camvid import camvid
from edgeseg.data.cityscapes import cityscapes
from edgeseg.data.dataset import DatasetError, SegDataset, image_folder, read_label, read_rgb


def open_dataset(path: str | Path, split: str = "val") -> SegDataset:
    """CamVid layout if `<split>.txt` is there, Cityscapes if `leftImg8bit/` is, else an image folder."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset path {path} does not exist")
    if (path / f"{split}.txt").is_file():
        return camvid(path, split)
    if (path / "leftImg8bit").is_dir():
        return cityscapes(path, split)
    return image_folder(path)


__all__ = ["DatasetError", "SegDataset", "camvid", "cityscapes", "image_folder", "open_dataset", "read_label", "read_rgb"]
