"""The rewrites at export: a plain onnxruntime session on the written file matches torch, carries
no PRelu and no BatchNormalization, and still passes TensorRT's operator check."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from artifact_factory import INPUT_SIZE, tiny_manifest, tiny_model
from edgeseg.export.onnx import export_onnx
from edgeseg.export.opcheck import unsupported_ops
from edgeseg.manifest import Manifest


@pytest.mark.parametrize("unpool", ["native", "decomposed"])
def test_optimised_file_matches_torch_in_a_plain_session(tmp_path, unpool):
    model = tiny_model()
    path = export_onnx(model, tmp_path / "m.onnx", INPUT_SIZE, unpool=unpool, manifest=tiny_manifest(), optimize=True)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert not ops & {"PRelu", "Identity"}  # BatchNorm after a Conv is folded; after a Concat or ConvTranspose it stays
    assert Manifest.load(path).extra["rewrites"] == ["onnxslim", "prelu_as_relu"]
    x = np.random.default_rng(2).standard_normal((1, 3, *INPUT_SIZE)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))
    if unpool == "decomposed":
        assert unsupported_ops(path) == set()


def test_without_optimize_the_exporters_graph_is_kept(tmp_path):
    path = export_onnx(tiny_model(), tmp_path / "m.onnx", INPUT_SIZE, unpool="decomposed", manifest=tiny_manifest())
    assert "PRelu" in {n.op_type for n in onnx.load(str(path)).graph.node}
    assert Manifest.load(path).extra["rewrites"] == []
