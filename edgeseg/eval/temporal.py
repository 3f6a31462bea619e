"""Temporal consistency (TC) of video segmentation: how much a prediction flickers, with camera
and object motion compensated.

For consecutive frames t, t+1, the class map at t+1 is warped back to t along the optical flow
from frame t to frame t+1 (OpenCV's DIS flow) and compared with the map at t; TC is the mean over
pairs of that pair's mIoU (Liu et al., "Efficient Semantic Video Segmentation with Per-frame
Inference", ECCV 2020; VSPW's TC). Pixels that flow out of the frame are not scored. The raw
figure, the same mIoU without warping, is kept beside it: on a moving camera it counts motion as
flicker, so it is lower than TC wherever the scene moves.
"""
from __future__ import annotations

import numpy as np

from edgeseg.eval.metrics import ConfusionMatrix

FLOW_SIDE = 240  # TC is measured with the longer side at most this long (see `_small`)
FLOW_MIN = 16  # DIS needs a few patches per side


class TemporalConsistency:
    """Accumulates TC and the raw (unwarped) consecutive-map mIoU over a stream. Feed it every
    frame's class map with its BGR frame; a pair whose sizes differ (a folder of mixed frames) is
    not scored. Its cost barely grows with the frame (seen here, a loaded 2-core machine: 5 ms a
    frame at 480x360, 14 ms at 1280x720)."""

    def __init__(self, num_classes: int) -> None:
        from edgeseg.stream.opencv import cv2_module  # here: edgeseg.stream imports this module

        self.num_classes = num_classes
        # A warped pixel whose source lies outside the frame gets this label, which is no class and
        # is not scored: the first value after the classes, so a pair's joint index fits a byte
        # (ConfusionMatrix) wherever the classes leave room.
        self.outside = num_classes
        self.cv2 = cv2_module("measuring temporal consistency")
        self.flow = self.cv2.DISOpticalFlow_create(self.cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # (grey frame, class map), both small
        self._size: tuple[int, int] | None = None  # the previous frame's full size
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self.tc_total = self.raw_total = 0.0
        self.pairs = 0

    def update(self, classes: np.ndarray, frame_bgr: np.ndarray) -> None:
        grey, classes = self._small(self.cv2.cvtColor(frame_bgr, self.cv2.COLOR_BGR2GRAY), classes)
        if self._previous is not None and self._previous[1].shape == classes.shape and self._size == frame_bgr.shape[:2]:
            prev_grey, prev_classes = self._previous
            flow = self.flow.calc(prev_grey, grey, None)
            tc = self._miou(self.warp_back(classes, flow), prev_classes)
            if tc is not None:  # None: everything flowed out of the frame
                self.tc_total += tc
                self.raw_total += self._miou(classes, prev_classes)
                self.pairs += 1
        self._previous, self._size = (grey, classes), frame_bgr.shape[:2]

    def _small(self, grey: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both at the size TC is measured at: the longer side at most FLOW_SIDE (flow follows
        motion, not detail, and full-size maps would make this the stream's slowest stage), each
        side at least FLOW_MIN (DIS's minimum). Class maps are resampled nearest-neighbour."""
        h, w = grey.shape
        scale = min(FLOW_SIDE / max(h, w), 1.0)
        size = (max(FLOW_MIN, round(w * scale)), max(FLOW_MIN, round(h * scale)))
        if size == (w, h):
            return grey, classes
        return (self.cv2.resize(grey, size, interpolation=self.cv2.INTER_AREA),
                self.cv2.resize(classes, size, interpolation=self.cv2.INTER_NEAREST))

    def warp_back(self, classes_next: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """The map at t+1 sampled at x + flow[x], flow from t to t+1: its prediction for each pixel of frame t."""
        h, w = classes_next.shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        xs, ys = self._grid
        return self.cv2.remap(classes_next, xs + flow[..., 0], ys + flow[..., 1], self.cv2.INTER_NEAREST,
                              borderMode=self.cv2.BORDER_CONSTANT, borderValue=self.outside)

    def _miou(self, pred: np.ndarray, reference: np.ndarray) -> float | None:
        pair = ConfusionMatrix(self.num_classes, self.outside)
        pair.update(reference, pred)  # IoU is symmetric; pixels where `pred` is outside are ignored
        return pair.miou() if pair.matrix.sum() else None

    @property
    def tc(self) -> float | None:
        return self.tc_total / self.pairs if self.pairs else None

    @property
    def raw(self) -> float | None:
        return self.raw_total / self.pairs if self.pairs else None
