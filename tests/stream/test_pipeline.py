import _thread
import signal
import threading
import tracemalloc

import numpy as np
import pytest
from stream_fakes import H, W, FailingSource, FastCamera, coded_frame, decode_index, read_video, tiny_segmenter, write_video

from edgeseg.errors import EdgesegError
from edgeseg.stream import Pipeline, SourceError, open_source
from edgeseg.stream.sinks import VideoSink
from edgeseg.stream.sources import ArraySource


PLAIN = dict(alpha=0.0, hud=False, legend=False)  # the written view is the frame itself, so its code can be read back


def _no_pipeline_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("edgeseg-") and t.is_alive()]


def test_video_file_is_processed_frame_by_frame_in_order(seg, tmp_path):
    n = 30
    video = write_video(tmp_path / "in.avi", n)
    seen = []
    report = Pipeline(seg, open_source(video=video), VideoSink(tmp_path / "out.mp4", fps=15),
                      on_result=lambda p: seen.append((p.frame.index, decode_index(p.frame.image), p.classes.shape))).run()
    assert report.error is None and report.summary["stopped_by"] == "end"
    assert [s[0] for s in seen] == list(range(n))  # source positions: none skipped, none reordered
    assert [s[1] for s in seen] == list(range(n))  # and the pixels are those frames, in that order
    assert all(s[2] == (H, W) for s in seen)
    frames = report.summary["frames"]
    assert frames["captured"] == frames["processed"] == n and frames["dropped"] == 0
    out = read_video(report.output)
    assert len(out) == n and out[0].shape == (H, W, 3)
    for stage in ("capture", "preprocess", "infer", "postprocess", "overlay", "sink", "end_to_end"):
        lat = report.summary["latency_ms"][stage]
        assert lat["count"] == n and 0 < lat["p50"] <= lat["p90"] <= lat["p99"]
    assert report.summary["fps"] > 0 and 0 <= report.summary["temporal_consistency"] <= 1
    assert _no_pipeline_threads()


def test_a_headless_stream_renders_no_overlay_unless_a_callback_takes_the_view(seg):
    frames = [coded_frame(i) for i in range(6)]
    headless = Pipeline(seg, ArraySource(frames)).run()
    assert headless.error is None and headless.summary["frames"]["processed"] == 6
    assert headless.summary["latency_ms"]["overlay"]["count"] == 0 and headless.summary["latency_ms"]["postprocess"]["count"] == 6
    views = []
    Pipeline(seg, ArraySource(frames), on_result=lambda p: views.append(p.view)).run()
    assert len(views) == 6 and all(v is not None and v.shape == (H, W, 3) for v in views)


def test_live_source_keeps_latest_frame_drops_stale_and_memory_stays_flat(tmp_path):
    seg = tiny_segmenter(infer_delay=0.01)  # far slower than the camera
    n, size = 400, (240, 320)
    frame_bytes = size[0] * size[1] * 3
    indices = []
    tracemalloc.start()
    try:
        report = Pipeline(seg, FastCamera(n, size), on_result=lambda p: indices.append(p.frame.index)).run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    f = report.summary["frames"]
    assert report.error is None
    assert f["captured"] == n and f["dropped"] > n // 2  # most frames were stale when the model was free
    # every captured frame was processed, dropped, or caught in flight at the end (a few)
    assert f["processed"] + f["dropped"] <= n <= f["processed"] + f["dropped"] + 8
    assert indices == sorted(indices) and len(set(np.diff(indices))) > 1  # newest first, with gaps
    # Flat memory: the frames in flight (a few per stage and channel), not the hundreds a queue of
    # stale frames would hold (an unbounded first channel peaks at ~85 MB here).
    assert peak < 40 * frame_bytes, f"peak traced memory {peak / 1e6:.1f} MB for {n} frames"


def test_live_source_latency_stays_near_one_inference():
    """A frame waits for at most the inference in progress (about 2x one inference end to end),
    not behind queued ones (about 5x with a 2-deep queue in front of the network)."""
    report = Pipeline(tiny_segmenter(infer_delay=0.03), FastCamera(800, (240, 320))).run()  # ~30 inferences
    lat = report.summary["latency_ms"]
    assert lat["end_to_end"]["p50"] < 3.5 * lat["infer"]["p50"]


def test_source_failing_mid_stream_stops_cleanly_reports_and_leaves_playable_file(seg, tmp_path):
    source = FailingSource(good=12)
    report = Pipeline(seg, source, VideoSink(tmp_path / "out.mp4", fps=15), **PLAIN).run()
    assert isinstance(report.error, SourceError)
    assert report.summary["stopped_by"] == "error"
    assert "did not come back" in report.summary["error"] and "\n" not in report.summary["error"]
    assert report.summary["frames"]["processed"] == 12  # frames read before the failure went through
    frames = read_video(tmp_path / "out.mp4")
    assert [decode_index(f) for f in frames] == list(range(12))
    assert source.closed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no temporary left behind
    with pytest.raises(SourceError):
        report.raise_for_error()
    assert _no_pipeline_threads()


def test_failing_stage_stops_the_stream_and_still_closes_the_output(tmp_path):
    seg = tiny_segmenter()
    calls = {"n": 0}
    real = seg.infer

    def infer(x):
        calls["n"] += 1
        if calls["n"] == 7:  # call 1 is the warm-up before the stream
            raise RuntimeError("device lost")
        return real(x)

    seg.infer = infer
    report = Pipeline(seg, ArraySource([coded_frame(i) for i in range(40)]), VideoSink(tmp_path / "out.avi", fps=15), **PLAIN).run()
    assert isinstance(report.error, RuntimeError)
    assert report.summary["error"] == "infer failed: RuntimeError: device lost"
    assert report.summary["frames"]["processed"] == 5
    assert [decode_index(f) for f in read_video(tmp_path / "out.avi")] == list(range(5))
    assert _no_pipeline_threads()


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler, whatever the test run inherited: a shell starts a background
    job with SIGINT ignored, and then `_thread.interrupt_main()` does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_shuts_down_cleanly(tmp_path, python_sigint):
    """KeyboardInterrupt arrives in the main thread (as from Ctrl-C) while the stream runs."""
    seg = tiny_segmenter(infer_delay=0.01)  # 200 frames take > 2 s

    def interrupt(p):
        if p.frame.index == 4:
            _thread.interrupt_main()  # seen by the main thread within its 0.1 s wait

    frames = [coded_frame(i) for i in range(200)]
    report = Pipeline(seg, ArraySource(frames), VideoSink(tmp_path / "out.mp4", fps=15), on_result=interrupt, **PLAIN).run()
    assert report.error is None and report.summary["stopped_by"] == "interrupted"
    processed = report.summary["frames"]["processed"]
    assert 5 <= processed < 200
    assert [decode_index(f) for f in read_video(tmp_path / "out.mp4")] == list(range(processed))
    assert _no_pipeline_threads()


@pytest.mark.parametrize("live", [False, True])
def test_max_frames(seg, live):
    source = FastCamera(500) if live else ArraySource([coded_frame(i) for i in range(50)])
    report = Pipeline(seg, source, max_frames=7).run()
    assert report.summary["frames"]["processed"] == 7
    assert report.summary["stopped_by"] == "max_frames"


def test_labelled_stream_scores_miou_and_stability(seg):
    frames = [coded_frame(i) for i in range(6)]
    own = [seg.predict(f) for f in frames]
    perfect = Pipeline(seg, ArraySource(frames, own)).run().summary
    assert perfect["stream_miou"] == pytest.approx(1.0) and perfect["frames"]["labelled"] == 6

    wrong = [(m + 1) % 4 for m in own]  # every pixel mislabelled
    assert Pipeline(seg, ArraySource(frames, wrong)).run().summary["stream_miou"] == 0.0

    frozen = Pipeline(seg, ArraySource([frames[0]] * 5)).run().summary
    assert frozen["temporal_consistency"] == pytest.approx(1.0) == frozen["temporal_stability_raw"]
    assert frozen["stream_miou"] is None and perfect["manifest_miou"] == 0.5


def test_label_of_wrong_size_is_a_clear_error(seg):
    frames = [coded_frame(i) for i in range(3)]
    labels = [np.zeros((H // 2, W), np.uint8)] * 3
    report = Pipeline(seg, ArraySource(frames, labels)).run()
    assert isinstance(report.error, EdgesegError)
    assert "label 0 of memory is 96x32, the frame is 96x64" == report.summary["error"]
