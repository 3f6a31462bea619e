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

# Cityscapes' 19 evaluation classes (trainIds 0-18) and colours, from cityscapesScripts' labels.py.
CITYSCAPES_CLASSES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
    "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
    "motorcycle", "bicycle",
)
CITYSCAPES_PALETTE = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
    (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
    (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
)
CITYSCAPES_IGNORE = 255
# labelId (0-33) -> trainId; the other ids (void, and classes not evaluated) are ignored.
CITYSCAPES_TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def palette_for(classes) -> list[tuple[int, int, int]]:
    """The dataset's own colours when `classes` are Cityscapes' 19, else `default_palette`."""
    if tuple(c.lower() for c in classes) == CITYSCAPES_CLASSES:
        return list(CITYSCAPES_PALETTE)
    return default_palette(len(classes))


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
