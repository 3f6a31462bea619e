"""Where rendered frames go: nowhere (headless), a window, or a video file written atomically."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from edgeseg.errors import InputError
from edgeseg.outputs import check_file
from edgeseg.stream.opencv import cv2_module, display_problem


class Sink:
    """Headless: frames are measured and dropped. `write` returns False when the viewer asked to
    stop (a closed window, 'q')."""

    # Whether anyone sees the overlay: a headless stream renders none (6 ms a frame of a 2-core CPU's time).
    shows = False

    def write(self, view: np.ndarray | None) -> bool:
        return True

    def close(self) -> Path | None:
        return None

    def abandon(self) -> None:
        """The process is leaving without closing (a second Ctrl-C): leave no partial file."""


def letterbox(view: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`view` scaled to fit inside `size` (h, w), aspect ratio kept, centred on black."""
    h, w = size
    if view.shape[:2] == (h, w):
        return view
    cv2 = cv2_module("writing video")
    scale = min(h / view.shape[0], w / view.shape[1])
    nh, nw = max(1, round(view.shape[0] * scale)), max(1, round(view.shape[1] * scale))
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(view, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return out


class VideoSink(Sink):
    """Writes to a hidden temporary file beside `path` and renames it over `path` on close, so a
    crash leaves no file or a whole one; a stream that stops early still closes a playable file
    holding the frames processed so far. A video has one frame size, the first frame's: every
    later frame of another size (an image folder may mix them) is letterboxed into it, never
    dropped (OpenCV's writer silently drops frames of another size). The temporary name keeps the suffix because OpenCV picks
    the container from it (which is also why this does not use edgeseg.fileio.atomic_path)."""

    FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
    shows = True

    def __init__(self, out: str | Path, fps: float | None = None) -> None:
        self.path = Path(out)
        suffix = self.path.suffix.lower()
        if suffix not in self.FOURCC:
            raise InputError(f"`out` {self.path}: write .mp4 (mp4v) or .avi (MJPG), not {suffix or 'a file without suffix'}")
        check_file(self.path, "`out`")  # before the stream starts
        self.cv2 = cv2_module("writing video")
        self.fps = fps if fps and fps > 0 else 30.0
        # reserved here; not with mkstemp, whose 0600 mode would survive the rename
        self.tmp = self.path.with_name(f".{self.path.stem}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp.open("xb").close()
        except OSError as e:
            raise InputError(f"cannot write `out` {self.path}: {e.strerror or e}") from None
        self.writer = None
        self.frames = 0
        self.abandoned = False

    def write(self, view: np.ndarray) -> bool:
        if self.writer is None:
            self.size = view.shape[:2]
            fourcc = self.cv2.VideoWriter_fourcc(*self.FOURCC[self.path.suffix.lower()])
            self.writer = self.cv2.VideoWriter(str(self.tmp), fourcc, self.fps, (self.size[1], self.size[0]))
            if not self.writer.isOpened():
                raise InputError(f"OpenCV cannot open a {self.FOURCC[self.path.suffix.lower()]} video writer for {self.path}")
        self.writer.write(letterbox(view, self.size))
        self.frames += 1
        return True

    def close(self) -> Path | None:
        """Finish the file and move it into place; with no frames written, leave nothing."""
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self.frames and not self.abandoned:
            os.replace(self.tmp, self.path)
            return self.path
        self.tmp.unlink(missing_ok=True)
        return None

    def abandon(self) -> None:
        self.abandoned = True  # a close still racing in the sink thread must not rename
        self.tmp.unlink(missing_ok=True)


class WindowSink(Sink):
    """An OpenCV window; 'q' or Esc, or closing the window, stops the stream."""

    shows = True

    def __init__(self, title: str = "edgeseg") -> None:
        self.cv2 = cv2_module("showing a window")
        problem = display_problem(self.cv2)
        if problem:
            raise InputError(f"showing a window needs a display: {problem}")
        self.title = title
        self.cv2.namedWindow(title, self.cv2.WINDOW_NORMAL)

    def write(self, view: np.ndarray) -> bool:
        cv2 = self.cv2
        cv2.imshow(self.title, view)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27) and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> Path | None:
        self.cv2.destroyWindow(self.title)
        return None
