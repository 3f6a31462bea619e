"""The OpenVINO back end on the tiny ENet: the decomposed FP32 graph matches eager; native unpool is refused.
(Its INT8 run of a Q/DQ graph is checked in tests/quant/test_openvino_int8.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from artifact_factory import INPUT_SIZE, shared_artifacts
from edgeseg._optional import available
from edgeseg.errors import ArtifactError

pytestmark = pytest.mark.skipif(not available("openvino"), reason="openvino is not installed (pip install 'edgeseg[openvino]')")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return shared_artifacts(tmp_path_factory)


def test_openvino_runs_the_decomposed_graph_like_eager(artifacts):
    from edgeseg.backends import open_runner

    x = np.random.default_rng(1).standard_normal((1, 3, *INPUT_SIZE)).astype(np.float32)
    with open_runner(artifacts["weights"], backend="torch") as ref, open_runner(artifacts["onnx-decomposed"], backend="openvino") as ov:
        assert (ov.name, ov.precision, ov.device) == ("openvino", "fp32", "cpu")
        np.testing.assert_allclose(ov.infer(x), ref.infer(x), atol=1e-4, rtol=0)


def test_native_unpool_is_refused_with_the_fix(artifacts):
    from edgeseg.backends.openvino_backend import OpenVinoRunner

    with pytest.raises(ArtifactError, match="MaxUnpool.*--unpool decomposed"):
        OpenVinoRunner(artifacts["onnx-native"])



def test_the_fused_argmax_is_numpys_argmax_of_the_logits(artifacts):
    from edgeseg.backends.openvino_backend import OpenVinoRunner

    x = np.random.default_rng(2).standard_normal((1, 3, *INPUT_SIZE)).astype(np.float32)
    with OpenVinoRunner(artifacts["onnx-decomposed"]) as ov:
        assert ov.fuses_argmax
        logits, classes = ov.infer(x), ov.infer_classes(x)
    assert classes.dtype == np.uint8 and classes.shape == (1, *INPUT_SIZE)
    top2 = np.sort(logits, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4  # two compiled graphs may round a near-tie apart
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(classes[clear], logits.argmax(1)[clear])


def test_the_fused_argmax_gives_ties_to_the_lowest_class(tmp_path):
    """A graph whose 4 logits are all 0 everywhere: numpy's argmax says class 0, and so must TopK."""
    import onnx
    from onnx import TensorProto, helper

    from edgeseg.backends.openvino_backend import OpenVinoRunner

    zeros = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 1, 1], [0.0] * 12)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["logits"])], "ties",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4, 8, 8])], [zeros])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with OpenVinoRunner(model.SerializeToString()) as ov:
        classes = ov.infer_classes(np.ones((1, 3, 8, 8), np.float32))
    np.testing.assert_array_equal(classes, np.zeros((1, 8, 8), np.uint8))
    assert onnx.checker.check_model(model) is None


def test_a_segmenter_on_openvino_takes_the_fused_argmax_only_at_the_input_size(artifacts):
    import edgeseg

    with edgeseg.load(artifacts["onnx-decomposed"], backend="openvino") as seg:
        at_size = np.random.default_rng(3).integers(0, 256, (*INPUT_SIZE, 3), dtype=np.uint8)
        assert seg.argmax_in_runner(INPUT_SIZE) and not seg.argmax_in_runner((50, 70))
        fused = seg.predict(at_size)
        logits = seg.infer(seg.preprocess(at_size))
        np.testing.assert_array_equal(fused, seg.postprocess(logits, INPUT_SIZE))  # same map as the logits path
        calls = []
        seg.runner.infer_classes = lambda x: calls.append(1) or np.zeros((1, *INPUT_SIZE), np.uint8)
        seg.predict(at_size)
        assert seg.predict(at_size[:50, :70]).shape == (50, 70)  # another size: logits, resized, then argmax
        assert len(calls) == 1
        seg.crf = True
        assert not seg.argmax_in_runner(INPUT_SIZE)  # CRF refines the scores, so it needs the logits


def test_the_stream_hands_the_fused_class_map_straight_to_the_sink(artifacts):
    import edgeseg
    from edgeseg.stream import Pipeline
    from edgeseg.stream.sources import ArraySource

    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, (*INPUT_SIZE, 3), dtype=np.uint8) for _ in range(6)]
    with edgeseg.load(artifacts["onnx-decomposed"], backend="openvino") as seg:
        expected = [seg.predict(f) for f in frames]
        seen = []
        report = Pipeline(seg, ArraySource(frames), on_result=lambda p: seen.append(p.classes)).run()
    assert report.error is None and len(seen) == 6
    for got, want in zip(seen, expected):
        np.testing.assert_array_equal(got, want)
    latency = report.summary["latency_ms"]
    assert latency["infer"]["count"] == 6 and latency["postprocess"]["count"] == 0  # no argmax left to do there


FREE_OUT_OF_ORDER = """
import os, signal, sys
import numpy as np
from edgeseg.backends.openvino_backend import OpenVinoRunner

x = np.zeros((1, 3, 64, 96), np.float32)
a, b = OpenVinoRunner(sys.argv[1]), OpenVinoRunner(sys.argv[1])
a.infer(x), b.infer(x)
a.close()
del b  # dropped without close(), after the older one
signal.signal(signal.SIGUSR1, lambda *_: print("handled"))
os.kill(os.getpid(), signal.SIGUSR1)
"""


def test_runners_freed_oldest_first_leave_the_process_able_to_take_a_signal(artifacts):
    """OpenVINO's signal stacks nest in the order models are compiled (module docstring): without
    freeing newest first, this ends in SIGSEGV (-11) at the signal."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FREE_OUT_OF_ORDER, str(artifacts["onnx-decomposed"])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "handled" in done.stdout, (done.returncode, done.stderr[-2000:])
