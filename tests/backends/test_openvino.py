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

