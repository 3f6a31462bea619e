"""Issue 13, defect 3: an image folder of mixed sizes (and grey, BGRA, 16-bit frames) gives every
processed frame in the --out video: the sink letterboxes each frame into the first one's size."""
from __future__ import annotations

import json

import numpy as np
import pytest
from fault_inputs import count_frames, scene
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.stream.sinks import letterbox
from edgeseg.stream.sources import SourceError, as_bgr


def test_mixed_sizes_grey_bgra_and_16_bit_frames_all_reach_the_video(tmp_path, weights):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(10):
        img = scene(*((80, 120) if i % 3 == 0 else (64, 96) if i % 3 == 1 else (50, 130)), seed=i)
        img = {4: img[:, :, 0], 5: np.dstack([img, np.full(img.shape[:2], 200, np.uint8)]), 7: img.astype(np.uint16) * 257}.get(i, img)
        cv2.imwrite(str(folder / f"{i:02d}.png"), img)
    out, stats = tmp_path / "o.mp4", tmp_path / "s.json"
    result = CliRunner().invoke(app, ["run", "--images", str(folder), "--artifact", str(weights), "--out", str(out), "--stats", str(stats),
                                      "--backend", "torch"])  # eager: the frames are the subject, not a compile
    assert result.exit_code == 0, result.output
    assert json.loads(stats.read_text())["frames"]["processed"] == 10
    assert count_frames(out) == 10  # OpenCV's writer alone kept only the frames of the first one's size


def test_letterbox_keeps_the_aspect_ratio_on_black():
    wide = np.full((50, 200, 3), 255, np.uint8)
    boxed = letterbox(wide, (100, 100))
    assert boxed.shape == (100, 100, 3)
    rows = np.flatnonzero(boxed[:, 50, 0] > 128)
    assert (rows.min(), rows.max()) == (37, 61)  # 25 rows of picture, centred
    assert letterbox(wide, (50, 200)) is wide


@pytest.mark.parametrize("image", [
    np.full((4, 6), 9, np.uint8),
    np.full((4, 6, 1), 9, np.uint8),
    np.dstack([np.full((4, 6, 3), 9, np.uint8), np.zeros((4, 6), np.uint8)]),
    np.full((4, 6, 3), 9 * 256 + 200, np.uint16),
], ids=["grey", "grey-1-channel", "bgra", "16-bit"])
def test_frames_become_bgr_uint8(image):
    bgr = as_bgr(image, "test")
    assert bgr.shape == (4, 6, 3) and bgr.dtype == np.uint8 and (bgr == 9).all()


@pytest.mark.parametrize("image", [np.zeros((4, 6, 3), np.float32), np.zeros((4, 6, 2), np.uint8), np.zeros((0, 6, 3), np.uint8), [[1, 2]]])
def test_frames_that_are_no_image_are_a_source_error(image):
    with pytest.raises(SourceError, match="test gave"):
        as_bgr(image, "test")
