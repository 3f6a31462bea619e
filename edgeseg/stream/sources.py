"""Frame sources: video files, cameras (index, V4L2 device, Jetson CSI, GStreamer pipeline), RTSP
and image folders, all behind one small `Source` interface.

A *live* source (camera, RTSP) produces frames whether or not we keep up, so the pipeline keeps
only the newest one; a file or folder is read in order, every frame. Live sources that stop
delivering are reopened a bounded number of times before the stream gives up.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import parse_qs, urlparse

import numpy as np

from edgeseg.errors import EdgesegError, InputError
from edgeseg.stream.opencv import cv2_module, has_gstreamer

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
LABELS_SUFFIX = ".labels.npz"
# 60 labelled CamVid val frames (see edgeseg/assets/README.md): the default source of `edgeseg run`
DEMO_CLIP = Path(__file__).resolve().parent.parent / "assets" / "camvid-0016E5.mp4"


class SourceError(EdgesegError):
    """A source that failed after it started: a truncated file, a camera that vanished."""


@dataclass
class Frame:
    index: int  # position in the source; gaps mean frames dropped as stale
    image: np.ndarray  # BGR uint8 (H, W, 3)
    t_capture: float  # time.perf_counter() when it was read
    label: np.ndarray | None = None  # uint8 (H, W) class map, where the source has labels


class Source:
    """Base class: `read()` returns the next Frame, None at a clean end, or raises SourceError."""

    live = False
    fps: float | None = None  # nominal rate, for writing the output video
    name = "source"

    def __init__(self, labels: "FrameLabels | None" = None) -> None:
        self.labels = labels
        self._index = 0

    def grab(self) -> np.ndarray | None:
        raise NotImplementedError

    def read(self) -> Frame | None:
        image = self.grab()
        if image is None:
            return None
        image = as_bgr(image, self.name)
        frame = Frame(self._index, image, time.perf_counter())
        if self.labels is not None:
            frame.label = self.labels.for_frame(self._index, image.shape[:2])
        self._index += 1
        return frame

    def close(self) -> None:
        pass

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_bgr(image: np.ndarray, source: str) -> np.ndarray:
    """A frame as the pipeline takes it, BGR uint8 (H, W, 3): grey (H, W) or (H, W, 1) is
    repeated, BGRA loses its alpha, 16-bit keeps its high byte. Anything else is a SourceError."""
    if not isinstance(image, np.ndarray):
        raise SourceError(f"{source} gave a {type(image).__name__}, not an image array")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape:
        raise SourceError(f"{source} gave a frame of shape {image.shape} {image.dtype}; expected 8- or 16-bit grey, BGR or BGRA")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3]) if image.shape[2] == 4 else image


class FrameLabels:
    """Ground-truth class maps for a file source: a `.labels.npz` sidecar (arrays `labels`
    (N, H, W) uint8, `classes`, `ignore_index`) or a folder of class-index PNGs named like the frames."""

    def __init__(self, maps: Sequence[np.ndarray] | Callable[[int], np.ndarray], count: int, classes: tuple[str, ...] = (), ignore_index: int | None = None, origin: str = "") -> None:
        self._maps, self.count = maps, count
        self.classes, self.ignore_index, self.origin = classes, ignore_index, origin

    @classmethod
    def load_npz(cls, path: str | Path) -> "FrameLabels":
        try:
            with np.load(path) as z:
                labels = z["labels"]
                classes = tuple(str(c) for c in z["classes"]) if "classes" in z else ()
                ignore = int(z["ignore_index"]) if "ignore_index" in z else None
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"labels file {path} is not an edgeseg labels .npz (needs an array 'labels' of shape (N, H, W)): {e}") from None
        if labels.ndim != 3 or labels.dtype != np.uint8:
            raise InputError(f"labels in {path} must be uint8 (N, H, W), got {labels.dtype} {labels.shape}")
        return cls(labels, len(labels), classes, ignore, str(path))

    @classmethod
    def for_images(cls, folder: str | Path, images: Sequence[Path]) -> "FrameLabels":
        folder = Path(folder)
        paths = [folder / (p.stem + ".png") for p in images]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise InputError(f"no label {missing[0].name} in {folder} ({len(missing)} of {len(paths)} missing)")
        cv2 = cv2_module("reading label images")
        return cls(lambda i: cv2.imread(str(paths[i]), cv2.IMREAD_UNCHANGED), len(paths), origin=str(folder))

    def for_frame(self, index: int, hw: tuple[int, int]) -> np.ndarray:
        if index >= self.count:
            raise SourceError(f"{self.origin} has labels for {self.count} frames; the source has more")
        label = self._maps(index) if callable(self._maps) else self._maps[index]
        if label is None or label.shape != tuple(hw):
            got = "unreadable" if label is None else f"{label.shape[1]}x{label.shape[0]}"
            raise SourceError(f"label {index} of {self.origin} is {got}, the frame is {hw[1]}x{hw[0]}")
        return label


def sidecar_labels(video: str | Path) -> Path | None:
    """clip.mp4 -> clip.labels.npz beside it, if that exists."""
    path = Path(video)
    side = path.with_name(path.stem + LABELS_SUFFIX)
    return side if side.is_file() else None


class CaptureSource(Source):
    """An OpenCV VideoCapture. Live captures that stop delivering are reopened up to `retries`
    times, `retry_delay` seconds apart (doubling); a file that ends short of its declared frame
    count is reported as truncated."""

    def __init__(self, name: str, cap, *, live: bool, reopen: Callable[[], object] | None = None, retries: int = 0, retry_delay: float = 0.5, labels: FrameLabels | None = None) -> None:
        super().__init__(labels)
        self.name, self.live, self.cap = name, live, cap
        self._reopen, self.retries, self.retry_delay = reopen, (retries if reopen else 0), retry_delay
        cv2 = cv2_module("reading video")
        self.fps = self.cap.get(cv2.CAP_PROP_FPS) or None
        count = self.cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.declared_frames = int(count) if not live and count and count > 0 else None

    def grab(self) -> np.ndarray | None:
        ok, image = self.cap.read()
        if ok:
            return image
        if not self.live:
            self._check_complete()
            return None
        return self._reconnect()

    def _check_complete(self) -> None:
        # FFmpeg's count is exact for MP4 and AVI and may be an estimate (one off) for others.
        n, declared = self._index, self.declared_frames
        if declared is not None and n < declared - 1:
            raise SourceError(f"{self.name} ended after {n} of its {declared} frames: the file is truncated or corrupt")

    def _reconnect(self) -> np.ndarray:
        delay = self.retry_delay
        for _ in range(self.retries):
            self.cap.release()
            time.sleep(delay)
            delay *= 2
            self.cap = self._reopen()
            if self.cap.isOpened():
                ok, image = self.cap.read()
                if ok:
                    return image
        raise SourceError(f"{self.name} stopped delivering frames and did not come back after {self.retries} reconnection attempts")

    def close(self) -> None:
        self.cap.release()


class ImageFolderSource(Source):
    """Images of a folder in name order, as a file source (every frame, in order)."""

    def __init__(self, folder: str | Path, fps: float = 15.0, labels_dir: str | Path | None = None) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"`images`={folder} is not a folder")
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        super().__init__(FrameLabels.for_images(labels_dir, self.paths) if labels_dir else None)
        self.name, self.fps = str(folder), fps
        self._cv2 = cv2_module("reading images")

    def grab(self) -> np.ndarray | None:
        if self._index >= len(self.paths):
            return None
        path = self.paths[self._index]
        image = self._cv2.imread(str(path), self._cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"cannot read image {path}")
        return image


class ArraySource(Source):
    """Frames already in memory, replayed as a file source: in order, every frame. Benchmarks use
    it so that the figure measures the pipeline, not an image decoder."""

    def __init__(self, frames: Sequence[np.ndarray], labels: Sequence[np.ndarray] | None = None, *, ignore_index: int | None = None, name: str = "memory") -> None:
        super().__init__(FrameLabels(labels, len(labels), ignore_index=ignore_index, origin=name) if labels is not None else None)
        self.frames, self.name = frames, name

    def grab(self) -> np.ndarray | None:
        return self.frames[self._index] if self._index < len(self.frames) else None


def csi_pipeline(spec: str) -> str:
    """csi://0[?width=1280&height=720&fps=30] -> a GStreamer pipeline for a Jetson CSI sensor:
    nvarguscamerasrc (ISP, NV12 in NVMM memory) -> nvvidconv (to BGRx in CPU memory) -> BGR appsink
    that keeps only the newest buffer."""
    url = urlparse(spec)
    q = {k: v[-1] for k, v in parse_qs(url.query).items()}
    sensor = url.netloc or "0"
    w, h, fps = int(q.get("width", 1280)), int(q.get("height", 720)), int(q.get("fps", 30))
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! video/x-raw(memory:NVMM), width={w}, height={h}, framerate={fps}/1, format=NV12 ! "
        f"nvvidconv ! video/x-raw, format=BGRx ! videoconvert ! video/x-raw, format=BGR ! appsink drop=true max-buffers=1"
    )


def _open_camera(spec: str, retries: int):
    """A camera index ("0"), a V4L2 device ("/dev/video0"), "csi://N" or a GStreamer pipeline."""
    cv2 = cv2_module("reading a camera")
    if spec.startswith("csi://") or "!" in spec:
        if not has_gstreamer(cv2):
            raise InputError(
                f"camera {spec!r} needs OpenCV built with GStreamer, and this one ({cv2.__version__}) is not: "
                "on a Jetson use JetPack's system OpenCV (python3-opencv), not a pip wheel"
            )
        pipeline = csi_pipeline(spec) if spec.startswith("csi://") else spec
        opener = lambda: cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)  # noqa: E731
    elif spec.isdigit():
        opener = lambda: cv2.VideoCapture(int(spec))  # noqa: E731
    elif spec.startswith("/dev/"):
        opener = lambda: cv2.VideoCapture(spec, cv2.CAP_V4L2)  # noqa: E731
    else:
        raise InputError(f"`camera`={spec!r} is not a camera index, /dev/videoN, csi://N or a GStreamer pipeline (with '!')")
    cap = opener()
    if not cap.isOpened():
        raise InputError(f"camera {spec} could not be opened: no such device, or it is in use")
    return CaptureSource(f"camera {spec}", cap, live=True, reopen=opener, retries=retries)


def _open_video(path: str | Path, labels: str | Path | None) -> CaptureSource:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    cv2 = cv2_module("reading video")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise InputError(f"cannot open video {path}: not a video this OpenCV can decode, or truncated (an MP4 cut short loses its index)")
    side = labels or sidecar_labels(path)
    return CaptureSource(str(path), cap, live=False, labels=FrameLabels.load_npz(side) if side else None)


def _open_rtsp(url: str, retries: int) -> CaptureSource:
    cv2 = cv2_module("reading an RTSP stream")
    opener = lambda: cv2.VideoCapture(url, cv2.CAP_FFMPEG)  # noqa: E731
    cap = opener()
    if not cap.isOpened():
        raise InputError(f"RTSP stream {url} could not be opened: check the URL and that the server is reachable")
    return CaptureSource(url, cap, live=True, reopen=opener, retries=retries)


def open_source(*, camera: str | None = None, video: str | Path | None = None, rtsp: str | None = None, images: str | Path | None = None, labels: str | Path | None = None, retries: int = 3) -> Source:
    """Open exactly one of the four kinds. `labels`: a .labels.npz or a folder of label PNGs
    (a video also finds `<stem>.labels.npz` beside it by itself)."""
    given = {k: v for k, v in dict(camera=camera, video=video, rtsp=rtsp, images=images).items() if v is not None}
    if len(given) != 1:
        raise InputError(f"give exactly one source (`camera`, `video`, `rtsp` or `images`), got {len(given)}")
    if labels is not None and (camera is not None or rtsp is not None):
        raise InputError("`labels` only make sense for a file source (`video` or `images`), not a live one")
    if labels is not None and not Path(labels).exists():
        raise InputError(f"labels {labels} do not exist")
    if camera is not None:
        return _open_camera(str(camera), retries)
    if rtsp is not None:
        return _open_rtsp(rtsp, retries)
    if video is not None:
        if labels is not None and Path(labels).is_dir():
            raise InputError("labels for a video must be a .labels.npz file, not a folder")
        return _open_video(video, labels)
    if labels is not None and not Path(labels).is_dir():
        raise InputError("`labels` for `images` must be a folder of class-index PNGs named like the images")
    return ImageFolderSource(images, labels_dir=labels)
