"""The no-TensorRT GPU path. On a CPU-only machine it must refuse in one clear error; with a GPU it
must match the FP32 model (FP16 tolerance) and replay its CUDA graph deterministically."""
import numpy as np
import pytest
import torch

from artifact_factory import tiny_model
from edgeseg.backends.cuda_graph import CudaGraphRunner
from edgeseg.errors import InputError

HAS_CUDA = torch.cuda.is_available()


@pytest.mark.skipif(HAS_CUDA, reason="a CUDA GPU is present")
def test_refuses_without_a_gpu():
    with pytest.raises(InputError, match="needs a CUDA GPU"):
        CudaGraphRunner(tiny_model())


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision,scripted", [("fp16", False), ("fp16", True), ("fp32", True)])
def test_matches_fp32_model_and_replays(precision, scripted):
    model = tiny_model()
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 96)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    source = torch.jit.script(tiny_model().eval()) if scripted else tiny_model()
    source.load_state_dict(model.state_dict())
    with CudaGraphRunner(source, precision=precision) as runner:
        got = runner.infer(x)
        again = runner.infer(x)
        other = runner.infer(np.zeros((1, 3, 32, 48), np.float32))  # a new shape is captured anew
    assert got.tobytes() == again.tobytes() and other.shape == (1, 4, 32, 48)
    tol = 5e-2 if precision == "fp16" else 1e-4
    assert np.abs(got - want).max() <= tol * max(1.0, np.abs(want).max())
