"""Pyramid pooling: the exportable adaptive average pool equals PyTorch's at sizes that are not
multiples of the bin count, and exports (where F.adaptive_avg_pool2d does not)."""
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgeseg.layers.ppm import PyramidPooling, adaptive_avg_pool2d


@pytest.mark.parametrize("size", [(45, 60), (8, 12), (5, 7), (3, 2)])
@pytest.mark.parametrize("bins", [1, 2, 3, 6])
def test_matches_adaptive_avg_pool2d(size, bins):
    x = torch.randn(2, 4, *size)
    torch.testing.assert_close(adaptive_avg_pool2d(x, bins), F.adaptive_avg_pool2d(x, bins), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter, chosen on purpose
def test_pyramid_pooling_exports_at_camvid_stride8_size():
    ort = pytest.importorskip("onnxruntime")
    m = PyramidPooling(16).eval()
    assert m.out_channels == 32
    x = torch.randn(1, 16, 45, 60)  # 360x480 at output stride 8
    buf = io.BytesIO()
    torch.onnx.export(m, (x,), buf, dynamo=False, opset_version=17)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, m(x).numpy(), rtol=1e-4, atol=1e-5)
