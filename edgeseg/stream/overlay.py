"""What a person sees: the class map blended over the frame, a class legend, and a HUD that puts
speed (fps, per-stage latency, back end, precision) beside accuracy (the artifact's mIoU from its
manifest, and the stream's own where labels exist): fps against accuracy even on a live camera."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from edgeseg.eval.metrics import percent
from edgeseg.stream.opencv import cv2_module

WHITE, GREY = (255, 255, 255), (120, 120, 120)


def palette_lut(palette_rgb: Sequence[Sequence[int]]) -> np.ndarray:
    """RGB palette -> (256, 3) BGR lookup table; indices past the palette are black."""
    lut = np.zeros((256, 3), np.uint8)
    colours = np.asarray(palette_rgb, np.uint8).reshape(-1, 3)
    lut[: len(colours)] = colours[:, ::-1]
    return lut


class Overlay:
    """Renders frames for display or for a video file. Text scales with the frame height."""

    def __init__(self, classes: Sequence[str], palette_rgb: Sequence[Sequence[int]], alpha: float = 0.5, legend: bool = True) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.classes, self.alpha, self.legend = list(classes), alpha, legend
        self.lut = palette_lut(palette_rgb)
        self.cv2 = cv2_module("drawing the overlay")

    def colorize(self, classes: np.ndarray) -> np.ndarray:
        # cv2.LUT: about 5x numpy's fancy indexing (self.lut[classes]) on a 480x360 map
        return self.cv2.LUT(self.cv2.merge((classes, classes, classes)), self.lut[:, None, :])

    def render(self, frame: np.ndarray, classes: np.ndarray, hud: Sequence[str] = ()) -> np.ndarray:
        view = self.cv2.addWeighted(frame, 1.0 - self.alpha, self.colorize(classes), self.alpha, 0.0)
        scale = max(0.3, frame.shape[0] / 900)
        if self.legend:
            self._legend(view, scale, classes)
        if hud:
            self._panel(view, [(line, WHITE, None) for line in hud], scale, right=False)
        return view

    def _legend(self, view: np.ndarray, scale: float, classes: np.ndarray) -> None:
        # every class; those absent from this frame dimmed
        present = np.bincount(classes.ravel(), minlength=len(self.classes)) > 0
        rows = [(name, WHITE if present[i] else GREY, tuple(int(c) for c in self.lut[i])) for i, name in enumerate(self.classes)]
        self._panel(view, rows, scale, right=True)

    def _panel(self, view: np.ndarray, rows: list[tuple[str, tuple, tuple | None]], scale: float, right: bool) -> None:
        """Rows of (text, text colour, swatch colour or None) on a darkened box in the top-left
        (HUD) or top-right (legend) corner."""
        cv2 = self.cv2
        font, thick = cv2.FONT_HERSHEY_SIMPLEX, 1
        (_, th), _ = cv2.getTextSize("Ag", font, scale, thick)
        line, pad = int(th * 1.8), max(2, th // 2)
        sw = line - 2 * pad if any(r[2] is not None for r in rows) else 0
        width = max(cv2.getTextSize(t, font, scale, thick)[0][0] for t, _, _ in rows) + sw + 3 * pad
        x0 = max(view.shape[1] - width, 0) if right else 0
        box = view[: line * len(rows) + pad, x0 : x0 + width]
        box[:] = box // 3  # darken in place: text stays legible on any scene
        for i, (text, colour, swatch) in enumerate(rows):
            x, y = x0 + pad, (i + 1) * line - pad
            if swatch is not None:
                cv2.rectangle(view, (x, y - sw), (x + sw, y), swatch, -1)
                x += sw + pad
            cv2.putText(view, text, (x, y), font, scale, colour, thick, cv2.LINE_AA)


def hud_lines(stats, meta: dict) -> list[str]:
    """The HUD's text from live statistics (edgeseg.stream.stats.StreamStats) and the run's
    description (model, backend, precision, device, manifest_miou and where it is from)."""

    def ms(stage: str) -> str:
        v = stats.latency[stage].recent_mean()
        return "-" if v is None else f"{v * 1e3:.0f}"

    fps, val = stats.recent_fps(), meta["manifest_miou"]
    acc = f"mIoU {percent(val)} ({meta['manifest_miou_from']})" if val is not None else "mIoU - (none recorded for this artifact)"
    lines = [
        f"{meta['model']} | {meta['backend']} {meta['precision']} {meta['device']}",
        f"{'-' if fps is None else f'{fps:.1f}'} fps | dropped {stats.dropped}",
        f"ms: pre {ms('preprocess')} inf {ms('infer')} post {ms('postprocess')} ovl {ms('overlay')}",
        acc,
    ]
    live = stats.miou()
    if live is not None:
        lines.append(f"mIoU {percent(live)} on this clip ({stats.labelled} frames)")
    return lines
