"""Stream statistics in constant memory: per-stage latency percentiles, fps, dropped frames,
temporal stability and, where labels exist, mIoU.

A robot runs for hours, so latencies go into a log-spaced histogram (1% relative resolution)
instead of a list that grows with every frame.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

import numpy as np

from edgeseg.eval.metrics import ConfusionMatrix

STAGES = ("capture", "preprocess", "infer", "postprocess", "overlay", "sink")


class LatencyHistogram:
    """Durations in seconds from 1 us to ~1000 s in bins 1% wide; percentiles within 0.5%."""

    LO, RATIO, BINS = 1e-6, 1.01, 2100

    def __init__(self, recent: int = 30) -> None:
        self.counts = np.zeros(self.BINS, np.int64)
        self.count, self.total = 0, 0.0
        self.min, self.max = math.inf, 0.0
        self.recent: deque[float] = deque(maxlen=recent)

    def add(self, seconds: float) -> None:
        b = int(math.log(max(seconds, self.LO) / self.LO, self.RATIO))
        self.counts[min(b, self.BINS - 1)] += 1
        self.count += 1
        self.total += seconds
        self.min, self.max = min(self.min, seconds), max(self.max, seconds)
        self.recent.append(seconds)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile (q in 0..100): the geometric centre of its bin, clipped to [min, max]."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q / 100 * self.count))
        b = int(np.searchsorted(np.cumsum(self.counts), rank))
        centre = self.LO * self.RATIO ** (b + 0.5)
        return min(max(centre, self.min), self.max)

    def recent_mean(self) -> float | None:
        window = list(self.recent)
        return sum(window) / len(window) if window else None

    def summary_ms(self) -> dict:
        ms = lambda v: None if v is None else round(v * 1e3, 3)  # noqa: E731
        return {
            "p50": ms(self.percentile(50)),
            "p90": ms(self.percentile(90)),
            "p99": ms(self.percentile(99)),
            "mean": ms(self.total / self.count if self.count else None),
            "count": self.count,
        }


class TemporalStability:
    """Mean IoU between consecutive class maps: 1.0 is a frozen picture, low values are flicker.
    On a moving camera it also falls with real motion, so compare models on the same clip."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.previous: np.ndarray | None = None
        self.total, self.pairs = 0.0, 0

    def update(self, classes: np.ndarray) -> None:
        if self.previous is not None and self.previous.shape == classes.shape:
            pair = ConfusionMatrix(self.num_classes)
            pair.update(classes, self.previous)
            self.total += pair.miou()
            self.pairs += 1
        self.previous = classes

    @property
    def score(self) -> float | None:
        return self.total / self.pairs if self.pairs else None


class StreamStats:
    """What one stream run measured. Each stage thread writes only its own histogram; the overlay
    reads a few numbers for the HUD, so no lock is needed beyond the counters' own."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        self.latency = {s: LatencyHistogram() for s in STAGES}
        self.end_to_end = LatencyHistogram()
        self.stability = TemporalStability(num_classes)
        self.confusion = ConfusionMatrix(num_classes, ignore_index)
        self.labelled = 0
        self.captured = self.processed = self.dropped = 0
        self._lock = threading.Lock()
        self.started: float | None = None  # first frame captured
        self.first_out: float | None = None
        self.finished: float | None = None  # last frame out
        self._done_times: deque[float] = deque(maxlen=30)

    def on_capture(self, t: float) -> None:
        with self._lock:
            self.captured += 1
            if self.started is None:
                self.started = t

    def on_drop(self) -> None:
        with self._lock:
            self.dropped += 1

    def on_classes(self, classes: np.ndarray, label: np.ndarray | None) -> None:
        self.stability.update(classes)
        if label is not None:
            self.confusion.update(classes, label)
            self.labelled += 1

    def on_done(self, t_capture: float) -> None:
        now = time.perf_counter()
        self.end_to_end.add(now - t_capture)
        self.processed += 1
        self.finished = now
        if self.first_out is None:
            self.first_out = now
        self._done_times.append(now)

    def fps(self) -> float | None:
        """Throughput: frames out per second from the first frame out to the last. The wait for
        the first frame is latency (end_to_end), not throughput; `duration_s` includes it."""
        if self.processed < 2 or self.finished <= self.first_out:
            return None
        return (self.processed - 1) / (self.finished - self.first_out)

    def recent_fps(self) -> float | None:
        t = list(self._done_times)
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else None

    def miou(self) -> float | None:
        return self.confusion.miou() if self.labelled else None

    def summary(self) -> dict:
        return {
            "frames": {"captured": self.captured, "processed": self.processed, "dropped": self.dropped, "labelled": self.labelled},
            "fps": self.fps(),
            "duration_s": (self.finished - self.started) if self.started is not None and self.finished is not None else None,
            "latency_ms": {**{s: h.summary_ms() for s, h in self.latency.items()}, "end_to_end": self.end_to_end.summary_ms()},
            "temporal_stability": self.stability.score,
            "stream_miou": self.miou(),
        }


def format_summary(summary: dict) -> str:
    """A report of a few lines for the terminal at exit."""

    def num(v, fmt: str = "{:.1f}") -> str:
        return "-" if v is None else fmt.format(v)

    f = summary["frames"]
    lines = [
        f"{summary.get('model', '?')} | {summary.get('backend', '?')} {summary.get('precision', '?')} {summary.get('device', '')}".rstrip()
        + f" | source {summary.get('source', '?')}",
        f"frames: {f['processed']} processed, {f['captured']} captured, {f['dropped']} dropped | fps {num(summary['fps'])}",
        "latency ms (p50 / p90 / p99):",
    ]
    for stage, s in summary["latency_ms"].items():
        if s["count"]:
            lines.append(f"  {stage:<12} {num(s['p50'])} / {num(s['p90'])} / {num(s['p99'])}")
    lines.append(
        f"temporal stability (mean IoU of consecutive maps): {num(summary['temporal_stability'], '{:.3f}')}"
        f" | mIoU on this stream: {num(summary['stream_miou'], '{:.3f}')} ({f['labelled']} labelled frames)"
        f" | artifact mIoU (manifest): {num(summary.get('manifest_miou'), '{:.3f}')}"
    )
    if summary.get("error"):
        lines.append(f"stopped by an error: {summary['error']}")
    return "\n".join(lines)
