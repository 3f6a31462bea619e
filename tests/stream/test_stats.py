import numpy as np
import pytest

from edgeseg.eval.temporal import TemporalConsistency
from edgeseg.stream.stats import LatencyHistogram


def test_histogram_percentiles_match_numpy_within_one_percent():
    rng = np.random.default_rng(0)
    values = rng.lognormal(np.log(0.02), 0.6, 20_000)  # ~20 ms with a long tail
    h = LatencyHistogram()
    for v in values:
        h.add(float(v))
    for q in (50, 90, 99):
        assert h.percentile(q) == pytest.approx(np.percentile(values, q, method="inverted_cdf"), rel=0.01)
    s = h.summary_ms()
    assert s["count"] == 20_000 and s["mean"] == pytest.approx(values.mean() * 1e3, abs=1e-3)  # reported to the microsecond
    assert h.counts.shape == (LatencyHistogram.BINS,)  # constant memory whatever the count


def test_histogram_edges():
    h = LatencyHistogram()
    assert h.percentile(50) is None and h.recent_mean() is None
    h.add(0.005)
    assert h.percentile(1) == h.percentile(99) == pytest.approx(0.005)  # clipped to the one value seen


def test_raw_temporal_stability_is_the_unwarped_mean_iou_of_consecutive_maps():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[:, 2:] = 1
    frame = np.full((4, 4, 3), 128, np.uint8)  # featureless: the flow is zero, TC equals raw
    s = TemporalConsistency(2)
    assert s.raw is None and s.tc is None
    s.update(a, frame)
    s.update(a, frame)
    assert s.raw == 1.0
    s.update(b, frame)  # class 0: IoU 8/16; class 1: 0/8 -> 0.25
    assert s.raw == pytest.approx((1.0 + 0.25) / 2) == pytest.approx(s.tc)


def test_fps_is_steady_state_throughput_and_duration_includes_the_wait_for_the_first_frame():
    import time

    from edgeseg.stream.stats import StreamStats

    s = StreamStats(2)
    assert s.fps() is None
    t0 = time.perf_counter()
    s.on_capture(t0)
    time.sleep(0.1)  # pipeline fill: latency, not throughput
    for _ in range(3):
        s.on_done(t0)
        time.sleep(0.02)
    summary = s.summary()
    assert summary["fps"] <= 2 / 0.04 * 1.01  # 2 intervals of >= 20 ms
    assert summary["duration_s"] >= 0.14 and summary["fps"] > 3 / summary["duration_s"]
    assert summary["latency_ms"]["end_to_end"]["count"] == 3
