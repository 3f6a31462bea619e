"""Session fixtures: the tiny network of tiny_seg.py, exported and prepared once, and its statistics."""
from __future__ import annotations

import pytest

from tiny_seg import SIZE, synthetic_inputs, train_tiny


@pytest.fixture(scope="session")
def tiny_fp32(tmp_path_factory):
    """(prepared FP32 ONNX of the trained tiny model, the model itself)."""
    from edgeseg.export.onnx import export_onnx
    from edgeseg.quant import graph

    model = train_tiny()
    path = export_onnx(model, tmp_path_factory.mktemp("tiny") / "tiny.onnx", SIZE)
    return graph.prepare(path), model


@pytest.fixture(scope="session")
def tiny_stats(tiny_fp32):
    from edgeseg.quant.stats import collect

    return collect(tiny_fp32[0], synthetic_inputs(8))
