"""Small synthetic inputs for the fault suite: videos and image folders written on the spot."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def scene(h: int, w: int, seed: int) -> np.ndarray:
    """A textured BGR frame (noise on a gradient), so codecs and flow have something to hold on to."""
    rng = np.random.default_rng(seed)
    base = np.linspace(40, 200, w)[None, :, None] + rng.normal(0, 25, (h, w, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def write_video(path: Path, n: int, size: tuple[int, int] = (64, 96), fps: float = 15.0) -> Path:
    import cv2

    h, w = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        writer.write(scene(h, w, i % 7))
    writer.release()
    return path


def count_frames(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def tiny_segmenter(metrics: dict | None = None, precision: str = "fp32", first_call_s: float = 0.0, infer_s: float = 0.0):
    """A real Segmenter over a two-layer network at 64x96, 4 classes; `first_call_s` makes its
    first inference slow as a cold back end's is, `infer_s` every inference as slow as a big model's."""
    import time

    import torch

    from edgeseg.manifest import Manifest
    from edgeseg.segmenter import Segmenter

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
    manifest = Manifest(model="tiny", num_classes=4, input_size=(64, 96), format="weights", precision=precision,
                        classes=[f"class{i}" for i in range(4)], metrics=metrics or {})
    seg = Segmenter.from_model(model, manifest, backend="torch")
    fast, calls = seg.infer, []

    def infer(x):
        calls.append(1)
        time.sleep(first_call_s if len(calls) == 1 else infer_s)
        return fast(x)

    seg.infer = infer
    return seg
