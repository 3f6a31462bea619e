"""Issue 13, defect 9: temporal consistency compensates motion. On a static scene seen by a
translating camera, predictions that follow the scene are consistent (TC near 1), while the raw,
unwarped figure counts the motion as flicker."""
from __future__ import annotations

import numpy as np
import pytest

from edgeseg.data.synthetic import synthetic_scene
from edgeseg.eval.temporal import TemporalConsistency


def panned(step: tuple[int, int], n: int = 6, size: tuple[int, int] = (120, 160)):
    """(BGR frame, its exact class map) for n frames of a camera moving `step` (dy, dx) px a frame."""
    h, w = size
    rgb, label = synthetic_scene(h + n * abs(step[0]) + 1, w + n * abs(step[1]) + 1, num_classes=5, seed=3)
    rgb = np.clip(rgb.astype(np.int16) + np.random.default_rng(0).integers(-40, 40, rgb.shape), 0, 255).astype(np.uint8)  # texture for the flow
    for t in range(n):
        y, x = t * step[0], t * step[1]
        yield np.ascontiguousarray(rgb[y:y + h, x:x + w, ::-1]), label[y:y + h, x:x + w]


def consistency(frames_and_maps) -> TemporalConsistency:
    tc = TemporalConsistency(5)
    for frame, classes in frames_and_maps:
        tc.update(classes, frame)
    return tc


def test_a_translated_static_scene_is_consistent_once_motion_is_compensated():
    tc = consistency(panned((2, 6)))
    assert tc.pairs == 5
    assert tc.tc > 0.9, tc.tc
    assert tc.raw < tc.tc - 0.1, (tc.raw, tc.tc)  # unwarped, the same motion reads as flicker


def test_a_still_camera_gives_tc_and_raw_of_one():
    frame, classes = next(panned((0, 0)))
    tc = consistency([(frame, classes)] * 4)
    assert tc.tc == pytest.approx(1.0) and tc.raw == pytest.approx(1.0)


def test_real_flicker_still_lowers_tc():
    pairs = list(panned((2, 6)))
    flickering = [(f, (m + (i % 2)) % 5) for i, (f, m) in enumerate(pairs)]  # every other map relabelled
    assert consistency(flickering).tc < 0.2


def test_frames_of_another_size_are_not_paired_and_tiny_frames_work():
    tc = TemporalConsistency(2)
    tc.update(np.zeros((4, 6), np.uint8), np.zeros((4, 6, 3), np.uint8))  # below DIS's minimum size
    tc.update(np.zeros((4, 6), np.uint8), np.zeros((4, 6, 3), np.uint8))
    tc.update(np.zeros((8, 6), np.uint8), np.zeros((8, 6, 3), np.uint8))
    assert tc.pairs == 1 and tc.tc == 1.0
