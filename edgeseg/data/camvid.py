"""CamVid (Brostow et al., "Semantic object classes in video: A high-definition ground truth
database", PRL 2009) in the SegNet tutorial's layout: 11 classes, void = 11."""
from __future__ import annotations

from pathlib import Path

from edgeseg.data.dataset import DatasetError, SegDataset
from edgeseg.data.palettes import CAMVID_CLASSES, CAMVID_IGNORE


def camvid(root: str | Path, split: str = "train") -> SegDataset:
    """CamVid as distributed with the SegNet tutorial: `<split>.txt` lists image/label pairs."""
    root = Path(root)
    listing = root / f"{split}.txt"
    if not listing.is_file():
        raise DatasetError(f"{root} is not a CamVid folder: {listing.name} not found (expected train.txt/val.txt beside train/ and trainannot/)")
    pairs = []
    for line in listing.read_text().splitlines():
        if line.strip():
            img, lbl = line.split()
            pairs.append((root / img.lstrip("/"), root / lbl.lstrip("/")))
    missing = [p for pair in pairs for p in pair if not p.is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} files listed in {listing} are missing, e.g. {missing[0]}")
    return SegDataset(pairs, CAMVID_CLASSES, CAMVID_IGNORE, f"camvid-{split}")
