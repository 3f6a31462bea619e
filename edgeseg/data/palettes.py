"""Class names and colours per dataset (RGB)."""
from __future__ import annotations

CAMVID_CLASSES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)
# The SegNet tutorial's CamVid colours.
CAMVID_PALETTE = (
    (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192),
)
CAMVID_IGNORE = 11


def default_palette(num_classes: int) -> list[tuple[int, int, int]]:
    """CamVid's colours for 11 classes; otherwise a deterministic spread of distinct colours."""
    if num_classes <= len(CAMVID_PALETTE):
        return list(CAMVID_PALETTE[:num_classes])
    out = []
    for i in range(num_classes):
        r = g = b = 0
        c = i + 1
        for j in range(8):  # the PASCAL VOC bit-interleaving scheme
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return out
