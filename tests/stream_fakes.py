"""Test doubles and generators for the stream tests: a tiny real Segmenter, generated videos whose
frames carry their own index (so order and completeness survive a lossy codec), fake sources."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from edgeseg.manifest import Manifest
from edgeseg.segmenter import Segmenter
from edgeseg.stream.sources import Source, SourceError

H, W, CLASSES, BITS = 64, 96, 4, 8


def tiny_segmenter(val_miou: float | None = 0.5, infer_delay: float = 0.0) -> Segmenter:
    """A real Segmenter over a two-layer network; `infer_delay` makes it as slow as a big model."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, CLASSES, 1))
    manifest = Manifest(model="tiny", num_classes=CLASSES, input_size=(H, W), format="weights",
                        classes=[f"class{i}" for i in range(CLASSES)], metrics={} if val_miou is None else {"val_miou": val_miou})
    seg = Segmenter.from_model(model, manifest, backend="torch")
    if infer_delay:
        fast = seg.infer
        seg.infer = lambda x: (time.sleep(infer_delay), fast(x))[1]
    return seg


def coded_frame(i: int) -> np.ndarray:
    """A BGR frame whose top band spells `i` in 8 black/white blocks; the rest is a textured scene."""
    rng = np.random.default_rng(i)
    frame = np.clip(np.linspace(40, 200, W)[None, :, None] + rng.normal(0, 20, (H, W, 3)), 0, 255).astype(np.uint8)
    block = W // BITS
    for b in range(BITS):
        frame[:24, b * block:(b + 1) * block] = 255 if (i >> b) & 1 else 0
    return frame


def decode_index(frame: np.ndarray) -> int:
    block = W // BITS
    return sum(1 << b for b in range(BITS) if frame[4:20, b * block + 2:(b + 1) * block - 2].mean() > 128)


def write_video(path: Path, n: int, fps: float = 15.0) -> Path:
    import cv2

    fourcc = {".avi": "MJPG", ".mp4": "mp4v"}[path.suffix]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened()
    for i in range(n):
        writer.write(coded_frame(i))
    writer.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames



class FastCamera(Source):
    """A simulated live camera faster than any model here: a new frame every `period` seconds,
    freshly allocated each time (as a capture driver does), `n` frames in all."""

    live = True
    name = "fast camera (simulated)"

    def __init__(self, n: int, size: tuple[int, int] = (H, W), period: float = 0.001) -> None:
        super().__init__()
        self.n, self.size, self.period = n, size, period

    def grab(self) -> np.ndarray | None:
        if self._index >= self.n:
            return None
        time.sleep(self.period)
        frame = np.empty((*self.size, 3), np.uint8)
        frame[:] = self._index % 251
        return frame


class FailingSource(Source):
    """Delivers `good` coded frames, then fails the way a vanished camera does."""

    name = "failing source (simulated)"

    def __init__(self, good: int) -> None:
        super().__init__()
        self.good = good
        self.closed = False

    def grab(self) -> np.ndarray | None:
        if self._index >= self.good:
            raise SourceError("camera 0 stopped delivering frames and did not come back after 3 reconnection attempts")
        return coded_frame(self._index)

    def close(self) -> None:
        self.closed = True
