"""The threaded stream: capture -> preprocess -> infer -> postprocess + overlay -> sink.

A runner that fuses the argmax (`Segmenter.argmax_in_runner`) hands the class map straight out of
the infer stage, and postprocessing only draws.

One thread per stage, joined by bounded channels (edgeseg.stream.channels), so the stages overlap
(the network runs on frame n while frame n+1 is resized and frame n-1 drawn) and memory is flat
under back-pressure: at most a few frames are in flight whatever the source's rate.

- A live source hands frames to preprocessing and to the network through `LatestSlot`s: the
  newest frame wins, stale ones are dropped and counted, and latency stays near one inference.
  A file source goes through blocking `Channel`s: every frame, in order.
- Shutdown is one path for every cause. End of file, a source that fails, `max_frames`, a closed
  window, Ctrl-C, SIGTERM or SIGHUP (edgeseg.signals) all end the capture side; the frames already in flight drain through, the sink
  closes its file (playable, holding every frame processed), and `run()` returns a report.
  A stage that raises stops the stream too: frames already past it finish, the rest are discarded.
"""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from edgeseg.errors import EdgesegError, InputError
from edgeseg.manifest import recorded_miou
from edgeseg.signals import signal_name
from edgeseg.stream.channels import END, Channel, LatestSlot
from edgeseg.stream.opencv import cv2_module
from edgeseg.stream.overlay import Overlay, hud_lines
from edgeseg.stream.sinks import Sink
from edgeseg.stream.sources import Frame, Source
from edgeseg.stream.stats import StreamStats, format_summary


class _SharedSetting:
    """A process-wide setting that streams running at once share: the first to start saves it and
    sets the stream's value, the last to end puts it back. Each stream restoring what it saved would
    leave the process at the stream's value once two overlap (A saves 2 and sets 1, B saves 1, A
    puts back 2 while B runs, B puts back 1 for good)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users, self._before = 0, 0

    @contextlib.contextmanager
    def held(self, get: Callable[[], int], set_: Callable[[int], None], value: Callable[[int], int]) -> Iterator[None]:
        with self._lock:
            if not self._users:
                self._before = get()
                set_(value(self._before))
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if not self._users:
                    set_(self._before)


_TORCH_THREADS, _OPENCV_THREADS = _SharedSetting(), _SharedSetting()


@contextlib.contextmanager
def _one_core_for_the_other_stages(runner) -> Iterator[int | None]:
    """Run a torch-family CPU runner on one thread fewer for the stream's duration, so capture,
    pre- and postprocessing keep a core: measured on 2 cores (ENet, torch.compile), the stream
    went from 12-16 fps with 2 inference threads to 19-21 fps with 1, its engine alone being 30 and
    17 fps. Other back ends own their pools (ONNX Runtime's does not spin). Inductor builds its
    kernels for one thread count, so a compiled runner compiles for the stream's in `_warm_up`.
    Yields the thread count, None where it left them alone."""
    if runner.device != "cpu" or not runner.name.in_torch_pool:
        yield None
        return
    import torch

    with _TORCH_THREADS.held(torch.get_num_threads, torch.set_num_threads, lambda n: max(1, n - 1)):
        yield torch.get_num_threads()


@contextlib.contextmanager
def _opencv_on_the_stage_threads() -> Iterator[None]:
    """OpenCV's share of the stream (the optical flow behind TC, resizing, drawing) runs on the stage
    threads themselves for the stream's duration, not in OpenCV's pool, whose threads wait actively
    after each small job and so take CPU from the network. In a scratch run on 2 cores (ENet,
    OpenVINO bf16) this cut the process's CPU per frame from 34.7 to 32.9 ms, the engine alone using
    31.9; in the kept before/after runs this step alone is within noise, the whole of that change is
    not (bench/README.md). The setting is process-wide and comes back when the last stream ends."""
    cv2 = cv2_module("streaming")
    with _OPENCV_THREADS.held(cv2.getNumThreads, cv2.setNumThreads, lambda _: 1):
        yield


@dataclass
class Packet:
    """One frame on its way through; each stage fills its field and frees the one before."""

    frame: Frame
    x: np.ndarray | None = None
    logits: np.ndarray | None = None
    classes: np.ndarray | None = None
    view: np.ndarray | None = None
    t_put: float = 0.0  # when it was handed to the next stage's queue: its wait there is measured


@dataclass
class StreamReport:
    summary: dict
    error: BaseException | None = None
    output: Path | None = None
    text: str = field(default="", repr=False)

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error


class Pipeline:
    """Run `segmenter` (a Segmenter, or anything with its preprocess / infer / argmax_in_runner /
    infer_classes / postprocess, `manifest`, `runner`, `classes`, `palette`) over `source` into
    `sink`. `run()` consumes both and closes them.

    `on_result(packet)` is called from the sink thread for every frame out (frame, class map, view;
    the overlay view is rendered only for a sink that shows it or when `on_result` is given);
    it must be quick, or it becomes the slowest stage."""

    def __init__(
        self,
        segmenter,
        source: Source,
        sink: Sink | None = None,
        *,
        alpha: float = 0.5,
        max_frames: int | None = None,
        queue_depth: int = 2,
        hud: bool = True,
        legend: bool = True,
        on_result: Callable[[Packet], None] | None = None,
    ) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError("max_frames must be at least 1")
        self.seg, self.source, self.sink = segmenter, source, sink or Sink()
        self.max_frames, self.on_result, self.hud = max_frames, on_result, hud
        self.renders = self.sink.shows or on_result is not None  # an embedding process may use the view
        self.overlay = Overlay(segmenter.classes, segmenter.palette, alpha=alpha, legend=legend)
        manifest, runner = segmenter.manifest, segmenter.runner
        labels = source.labels
        if labels is not None and labels.classes and list(labels.classes) != list(segmenter.classes):
            raise InputError(f"the labels of {source.name} name classes {list(labels.classes)}, the model {list(segmenter.classes)}: its mIoU would mean nothing")
        ignore = labels.ignore_index if labels is not None and labels.ignore_index is not None else manifest.ignore_index
        self.stats = StreamStats(len(segmenter.classes), ignore)
        recorded = recorded_miou(manifest, runner.precision)
        self.meta = {
            "source": source.name,
            "live": source.live,
            "model": manifest.model,
            "backend": runner.name,
            "precision": runner.precision,
            "device": runner.device,
            "input_size": list(manifest.input_size),
            "manifest_miou": None if recorded is None else recorded.value,  # this artifact's own at the precision it runs (an INT8 graph's, never its FP32 source's)
            "manifest_miou_from": None if recorded is None else recorded.label(),
        }
        self._stop = threading.Event()
        self._sink_done = threading.Event()  # not Thread.is_alive: a join interrupted by Ctrl-C can misreport it
        self._error: BaseException | None = None  # the first failure, source or stage
        self._error_text: str | None = None
        self._failed_at: int | None = None  # a stage that raised; it and those before it discard
        self._stopped_by: str | None = None
        self._signal: str | None = None  # the signal that stopped the stream, if one did
        self._output: Path | None = None
        # A live source drops stale frames on both sides of preprocessing, so the network (the slow
        # stage) always starts on the newest frame instead of one that waited behind it.
        latest = lambda: LatestSlot(self.stats.on_drop) if source.live else Channel(queue_depth)  # noqa: E731
        self._channels = [latest(), latest(), Channel(queue_depth), Channel(queue_depth)]

    # -- control ------------------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """End the stream from any thread: capture stops, frames in flight drain."""
        if self._stopped_by is None:
            self._stopped_by = reason
        self._stop.set()
        self._channels[0].abort()

    def _record(self, stage: str, e: BaseException) -> None:
        if self._error is None:
            self._error = e
            self._error_text = str(e) if isinstance(e, EdgesegError) else f"{stage} failed: {type(e).__name__}: {e}"
        self._stopped_by = self._stopped_by or "error"

    def _fail(self, position: int, stage: str, e: BaseException) -> None:
        self._failed_at = position if self._failed_at is None else min(self._failed_at, position)
        self._record(stage, e)
        self.stop()

    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.stats.latency[stage].add(time.perf_counter() - t0)
        return out

    # -- stages ---------------------------------------------------------------------------------
    def _capture(self) -> None:
        out = self._channels[0]
        try:
            while not self._stop.is_set():
                if not self.source.live and self.max_frames is not None and self.stats.captured >= self.max_frames:
                    self._stopped_by = self._stopped_by or "max_frames"
                    break
                t0 = time.perf_counter()
                try:
                    frame = self.source.read()
                except Exception as e:  # noqa: BLE001  reported in the summary and by raise_for_error
                    self._record("capture", e)  # what was read so far still goes through
                    break
                if frame is None:
                    self._stopped_by = self._stopped_by or "end"
                    break
                self.stats.latency["capture"].add(frame.t_capture - t0)
                self.stats.on_capture(frame.t_capture)
                if not out.put(Packet(frame, t_put=time.perf_counter())):
                    break
        finally:
            out.close()
            self.source.close()

    def _preprocess(self, p: Packet) -> None:
        p.x = self._timed("preprocess", self.seg.preprocess, p.frame.image)

    def _infer(self, p: Packet) -> None:
        if self.seg.argmax_in_runner(p.frame.image.shape[:2]):
            p.classes = self._timed("infer", self.seg.infer_classes, p.x)
        else:
            p.logits = self._timed("infer", self.seg.infer, p.x)
        p.x = None

    def _postprocess(self, p: Packet) -> None:
        if p.classes is None:
            p.classes = self._timed("postprocess", self.seg.postprocess, p.logits, p.frame.image.shape[:2], p.frame.image)
            p.logits = None
        if self.renders:
            hud = hud_lines(self.stats, self.meta) if self.hud else ()
            p.view = self._timed("overlay", self.overlay.render, p.frame.image, p.classes, hud)

    def _write(self, p: Packet) -> None:
        if self.max_frames is not None and self.stats.processed >= self.max_frames:
            return  # in flight when the limit was reached
        # here, not in postprocessing: the sink thread is idle enough to carry the optical flow
        self._timed("metrics", self.stats.on_classes, p.classes, p.frame.image, p.frame.label)
        keep = self._timed("sink", self.sink.write, p.view)
        self.stats.on_done(p.frame.t_capture)
        if self.on_result is not None:
            self.on_result(p)
        if not keep:
            self.stop("viewer")
        elif self.max_frames is not None and self.stats.processed >= self.max_frames:
            self.stop("max_frames")

    def _worker(self, position: int, stage: str, fn: Callable[[Packet], None], inp: Channel, out: Channel | None) -> None:
        """Run `fn` on every packet. Once this stage or a later one has failed, keep consuming (so
        the stages before never block) but discard; frames already past a failed stage finish."""
        try:
            while (p := inp.get()) is not END:
                self.stats.queue_wait[stage].add(time.perf_counter() - p.t_put)
                if self._failed_at is not None and position <= self._failed_at:
                    continue
                try:
                    fn(p)
                except Exception as e:  # noqa: BLE001  reported in the summary and by raise_for_error
                    self._fail(position, stage, e)
                    continue
                if out is not None:
                    p.t_put = time.perf_counter()
                    out.put(p)
        finally:
            if out is not None:
                out.close()
            else:
                self._close_sink()
                self._sink_done.set()

    def _close_sink(self) -> None:
        try:
            self._output = self.sink.close()
        except Exception as e:  # noqa: BLE001  reported in the summary and by raise_for_error
            self._fail(len(self._channels), "sink", e)

    # -- run ------------------------------------------------------------------------------------
    def _warm_up(self) -> None:
        """One inference before the stream starts: a back end's first call (allocation, kernel
        selection, graph optimisation) takes seconds, and inside the stream it would pass for
        latency and, on a camera, drop frames. Its time is reported apart as `warmup_s`."""
        h, w = self.seg.manifest.input_size
        t0 = time.perf_counter()
        try:
            self.seg.infer(np.zeros((1, 3, h, w), np.float32))
        except Exception as e:  # noqa: BLE001  the infer stage would fail the same way; reported alike
            self._fail(1, "infer", e)
        self.stats.warmup_s = time.perf_counter() - t0

    def run(self) -> StreamReport:
        with _one_core_for_the_other_stages(self.seg.runner) as threads, _opencv_on_the_stage_threads():
            self.meta["inference_threads"] = threads
            return self._run()

    def _run(self) -> StreamReport:
        self._warm_up()
        c = self._channels
        threads = [
            threading.Thread(target=self._capture, name="edgeseg-capture", daemon=True),
        ] + [
            threading.Thread(target=self._worker, args=(i, stage, fn, c[i], c[i + 1] if i + 1 < len(c) else None), name=f"edgeseg-{stage}", daemon=True)
            for i, (stage, fn) in enumerate([("preprocess", self._preprocess), ("infer", self._infer), ("postprocess", self._postprocess), ("sink", self._write)])
        ]
        for t in threads:
            t.start()
        try:
            while not self._sink_done.wait(0.1):
                pass
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM / SIGHUP under edgeseg.signals.graceful_stop
            self._signal = signal_name(e)
            self.stop("interrupted")
            try:
                while not self._sink_done.wait(0.1):  # frames in flight drain
                    pass
            except KeyboardInterrupt:  # a second stop leaves at once, leaving no partial file
                self.sink.abandon()
                raise
        for t in threads[1:]:
            t.join()
        # A capture blocked inside a camera read can outlive the rest; it closes its source itself.
        threads[0].join(timeout=1.0)
        summary = {**self.meta, **self.stats.summary(), "stopped_by": self._stopped_by or "end", "signal": self._signal,
                   "error": self._error_text, "output": None if self._output is None else str(self._output)}
        return StreamReport(summary, self._error, self._output, format_summary(summary))
