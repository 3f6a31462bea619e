"""Activation statistics from the FP32 ONNX model."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

from tiny_seg import synthetic_inputs
from edgeseg.quant import graph
from edgeseg.quant.stats import ActivationStats, collect


def _reference(model: onnx.ModelProto, tensor: str, inputs) -> np.ndarray:
    import onnxruntime as ort

    from edgeseg.quant.stats import _augmented

    s = ort.InferenceSession(_augmented(model, [tensor]), providers=["CPUExecutionProvider"])
    return np.concatenate([s.run([tensor], {model.graph.input[0].name: x})[0].ravel() for x in inputs])


def test_statistics_match_the_tensors_they_describe(tiny_fp32, tiny_stats):
    model = tiny_fp32[0]
    names = graph.float_activations(model)
    assert set(tiny_stats.tensors) == set(names) and tiny_stats.images == 8
    assert model.graph.input[0].name in names and model.graph.output[0].name in names
    for t in (names[0], names[len(names) // 2], names[-1]):
        values = _reference(model, t, synthetic_inputs(8))
        s = tiny_stats[t]
        assert (s.minimum, s.maximum) == pytest.approx((float(values.min()), float(values.max())), rel=1e-5)
        assert s.hist.sum() == values.size


def test_splitting_tensors_into_groups_changes_nothing(tiny_fp32, tiny_stats):
    small = collect(tiny_fp32[0], synthetic_inputs(8), memory_budget=1)  # one tensor per session
    for t, s in tiny_stats.tensors.items():
        # sessions with other outputs fuse differently: values move by an ulp, a few across a bin edge
        assert small[t].hist.sum() == s.hist.sum()
        assert np.abs(small[t].hist - s.hist).sum() <= 1e-3 * s.hist.sum()
        assert small[t].amax == pytest.approx(s.amax, rel=1e-6)  # fusions differ by an ulp


def test_statistics_round_trip_through_a_file(tmp_path, tiny_stats):
    tiny_stats.source = {"fp32_sha256": "abc"}
    tiny_stats.save(tmp_path / "a.npz")
    back = ActivationStats.load(tmp_path / "a.npz")
    assert back.images == tiny_stats.images and back.source == {"fp32_sha256": "abc"}
    for t, s in tiny_stats.tensors.items():
        np.testing.assert_array_equal(back[t].hist, s.hist)
        assert (back[t].minimum, back[t].maximum, back[t].width) == (s.minimum, s.maximum, s.width)
