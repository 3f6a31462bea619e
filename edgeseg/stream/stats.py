"""Stream statistics in constant memory: per-stage latency percentiles and queue waits, warm fps,
dropped frames, temporal consistency and, where labels exist, mIoU.

A robot runs for hours, so latencies go into a log-spaced histogram (1% relative resolution)
instead of a list that grows with every frame.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

import numpy as np

from edgeseg.eval.metrics import ConfusionMatrix, percent
from edgeseg.eval.temporal import TemporalConsistency

STAGES = ("capture", "preprocess", "infer", "postprocess", "overlay", "metrics", "sink")  # metrics: mIoU, TC
QUEUED = ("preprocess", "infer", "postprocess", "sink")  # the pipeline threads, each behind a queue


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


class StreamStats:
    """What one stream run measured. Each stage thread writes only its own histogram; the overlay
    reads a few numbers for the HUD, so no lock is needed beyond the counters' own."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        self.latency = {s: LatencyHistogram() for s in STAGES}
        # time each frame waits in the queue before a stage: a file source is read ahead of the
        # network, so a frame's end-to-end latency is its stages plus these waits
        self.queue_wait = {s: LatencyHistogram() for s in QUEUED}
        self.warmup_s: float | None = None  # the back end's first call, before the stream
        self.end_to_end = LatencyHistogram()
        self.temporal = TemporalConsistency(num_classes)
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

    def on_classes(self, classes: np.ndarray, frame_bgr: np.ndarray, label: np.ndarray | None) -> None:
        self.temporal.update(classes, frame_bgr)
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
            "warmup_s": self.warmup_s,
            "latency_ms": {**{s: h.summary_ms() for s, h in self.latency.items()}, "end_to_end": self.end_to_end.summary_ms()},
            "queue_wait_ms": {s: h.summary_ms() for s, h in self.queue_wait.items()},
            "temporal_consistency": self.temporal.tc,  # flow-warped (edgeseg.eval.temporal)
            "temporal_stability_raw": self.temporal.raw,  # unwarped: camera motion counts as flicker
            "stream_miou": self.miou(),
        }


def format_summary(summary: dict) -> str:
    """A report of a few lines for the terminal at exit."""

    def num(v, fmt: str = "{:.1f}") -> str:
        return "-" if v is None else fmt.format(v)

    f, waits = summary["frames"], summary.get("queue_wait_ms", {})
    warmup = summary.get("warmup_s")
    lines = [
        f"{summary.get('model', '?')} | {summary.get('backend', '?')} {summary.get('precision', '?')} {summary.get('device', '')}".rstrip()
        + f" | source {summary.get('source', '?')}",
        f"frames: {f['processed']} processed, {f['captured']} captured, {f['dropped']} dropped"
        f" | fps {num(summary['fps'])} warm (start-up: first inference {num(warmup, '{:.2f}')} s, before the stream, not counted)",
        "latency ms (p50 / p90 / p99)         wait in the queue before the stage (p50 / p90)",
    ]
    for stage, s in summary["latency_ms"].items():
        if s["count"]:
            w = waits.get(stage)
            wait = f"{num(w['p50'])} / {num(w['p90'])}" if w and w["count"] else ""
            lines.append(f"  {stage:<12} {num(s['p50']):>7} / {num(s['p90']):>7} / {num(s['p99']):>7}     {wait}".rstrip())
    if not summary.get("live") and any(w["count"] for w in waits.values()):
        lines.append("  end_to_end = the stages + the waits: a file is read ahead of the network, so each frame queues behind"
                     " those before it (a live source keeps only the newest frame and does not queue)")
    recorded = summary.get("manifest_miou")
    lines.append(
        f"temporal consistency (TC: mIoU of consecutive maps, flow-warped): {percent(summary['temporal_consistency'])}"
        f" | raw, unwarped: {percent(summary['temporal_stability_raw'])}"
    )
    lines.append(
        f"mIoU on this stream: {percent(summary['stream_miou'])} ({f['labelled']} labelled frames)"
        f" | artifact mIoU: {percent(recorded) + ' (' + summary['manifest_miou_from'] + ')' if recorded is not None else '- (none recorded for this artifact)'}"
    )
    if summary.get("error"):
        lines.append(f"stopped by an error: {summary['error']}")
    return "\n".join(lines)
