"""Freezing folds a BatchNorm after a square transposed convolution along the wrong weight dim, so
the compiled back end folds those pairs itself first (edgeseg.backends.transposed_bn)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from edgeseg.backends.compiled_backend import CompiledRunner
from edgeseg.backends.transposed_bn import fold_transposed_bn, freezing_hazard


def _bn(ch: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(ch)
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 2.0)  # a scale per channel: folded along the wrong dim, it shows
    return bn


class Decoder(nn.Module):
    """ENet's and LinkNet's decoder step: a square 3x3/2 transposed conv, BatchNorm, ReLU."""

    def __init__(self, branch: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.up = nn.ConvTranspose2d(3, 3, 3, 2, 1, output_padding=1, bias=False)  # 3 channels in: a runner's input
        self.bn = _bn(3)
        self.branch = branch

    def forward(self, x):
        y = self.up(x)
        out = torch.relu(self.bn(y))
        return out + y if self.branch else out  # a second user of the conv's output: no fold


class Untraceable(Decoder):
    def forward(self, x):
        if x.sum() > float("inf"):  # control flow on a tensor: torch.fx cannot trace it
            return x
        return torch.relu(self.bn(self.up(x)))


def _x() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((1, 3, 8, 12)).astype(np.float32)


def _eager(net: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return net.eval()(torch.from_numpy(x)).numpy()


def test_a_pair_is_folded_in_place_and_the_outputs_stay():
    net = Decoder().eval()
    expected = _eager(net, _x())
    assert fold_transposed_bn(net) == 1
    assert isinstance(net.bn, nn.Identity) and net.up.bias is not None
    np.testing.assert_allclose(_eager(net, _x()), expected, atol=1e-5, rtol=0)


def test_a_conv_output_used_twice_is_left_alone():
    net = Decoder(branch=True).eval()
    assert fold_transposed_bn(net) == 0 and isinstance(net.bn, nn.BatchNorm2d)


def test_the_compiled_back_end_matches_eager_on_a_square_transposed_conv_and_bn():
    net = Decoder().eval()
    expected = _eager(net, _x())
    with CompiledRunner(net, channels_last=True) as runner:
        got = runner.infer(_x())
        assert runner.freezing and "freezing" in runner.detail
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert isinstance(net.bn, nn.BatchNorm2d)  # the caller's model is not folded


def test_a_model_that_does_not_trace_compiles_unfrozen_and_says_why():
    net = Untraceable().eval()
    assert fold_transposed_bn(net) is None
    assert "1 square transposed convolutions (up" in freezing_hazard(net)
    expected = _eager(net, _x())
    with CompiledRunner(net) as runner:
        got = runner.infer(_x())
        assert not runner.freezing and "not frozen (1 square transposed convolutions" in runner.detail
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
