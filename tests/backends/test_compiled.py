"""The torch.compile back end: same logits as eager, compile cost stated, bf16 only where native."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from edgeseg.backends.compiled_backend import CompiledRunner
from edgeseg.hardware import cpu_has_bf16
from edgeseg.errors import InputError
from tiny_convnet import SIZE, tiny_convnet


def test_compiled_matches_eager_and_states_its_compile_time():
    net = tiny_convnet()
    x = np.random.default_rng(0).standard_normal((1, 3, *SIZE)).astype(np.float32)
    with torch.inference_mode():
        expected = net(torch.from_numpy(x)).numpy()
    with CompiledRunner(net) as runner:  # the weights laid out channels-last here, compiled on the first call
        assert "compiles on its first call" in runner.detail
        got = runner.infer(x)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert (runner.name, runner.precision, runner.device) == ("compiled", "fp32", "cpu")
    assert runner.compile_s > 0 and f"compiled in {runner.compile_s:.1f} s" in runner.detail and "freezing" in runner.detail


def test_compiled_rejects_torchscript_and_unknown_precision():
    with pytest.raises(InputError, match="not TorchScript"):
        CompiledRunner(torch.jit.script(tiny_convnet()))
    with pytest.raises(InputError, match="`precision` must be one of fp32, bf16, got .int8."):
        CompiledRunner(tiny_convnet(), precision="int8")


@pytest.mark.skipif(cpu_has_bf16(), reason="this CPU has native bf16, so bf16 is offered")
def test_bf16_is_refused_where_the_cpu_would_emulate_it():
    with pytest.raises(InputError, match="precision='bf16': this CPU has neither avx512_bf16 nor amx_bf16"):
        CompiledRunner(tiny_convnet(), precision="bf16")


@pytest.mark.skipif(not cpu_has_bf16(), reason="bf16 needs AVX512-BF16 or AMX, which this CPU lacks")
def test_bf16_stays_close_to_fp32_where_native():
    net = tiny_convnet()
    x = np.random.default_rng(0).standard_normal((1, 3, *SIZE)).astype(np.float32)
    with torch.inference_mode():
        expected = net(torch.from_numpy(x)).numpy()
    with CompiledRunner(net, precision="bf16") as runner:
        got = runner.infer(x)
    assert runner.precision == "bf16"
    np.testing.assert_allclose(got, expected, atol=0.1, rtol=0.05)
