"""Max-unpool in both export forms against eager PyTorch, bit for bit, ties included."""
import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.errors import ArtifactError
from edgeseg.export.onnx import onnx_bytes
from edgeseg.export.opcheck import MAXPOOL_INDICES, unsupported_ops
from edgeseg.layers.unpool import MaxPoolWithIndices, MaxUnpool, unpool_mode

ort = pytest.importorskip("onnxruntime")


class PoolUnpool(nn.Module):
    """pool -> scale -> unpool to the input's size: what ENet's encoder/decoder pair does to one tensor.

    The 3 image channels become 9 with exact arithmetic (copies, flips, doubling), so ties survive.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pool, self.unpool = MaxPoolWithIndices(), MaxUnpool()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, x.flip(1), 2 * x], dim=1)
        y, idx = self.pool(x)
        return self.unpool(y * 1.5, idx, x.shape[2], x.shape[3])


def tied(shape, seed=0) -> torch.Tensor:
    """Values from {0, 1, 2} plus a constant band: most 2x2 windows hold a tie for their maximum."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 3, shape, generator=g).float()
    x[..., : shape[-2] // 2, :] = 1.0
    return x


def run(data: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


def eager_native(m: nn.Module, x: torch.Tensor) -> np.ndarray:
    with unpool_mode(m, "native"), torch.no_grad():
        return m(x).numpy()


@pytest.mark.parametrize("form", ["native", "decomposed"])
def test_onnx_unpool_is_bit_exact_with_ties(form):
    m = PoolUnpool()
    x = tied((2, 3, 8, 12))
    ref = eager_native(m, x)
    assert (ref == 0).mean() > 0.5  # unpooling really scattered into zeros
    np.testing.assert_array_equal(run(onnx_bytes(m, (8, 12), form, batch=2), x), ref)


@pytest.mark.parametrize("form", ["native", "decomposed"])
def test_dynamic_unpool_at_two_sizes_and_batches(form):
    m = PoolUnpool()
    data = onnx_bytes(m, (8, 12), form, dynamic=True)
    for shape in [(2, 3, 8, 12), (3, 3, 16, 6)]:
        x = tied(shape, seed=1)
        np.testing.assert_array_equal(run(data, x), eager_native(m, x))


@pytest.mark.parametrize("form", ["native", "decomposed"])
def test_odd_sizes_round_trip(form):
    m = PoolUnpool()
    x = tied((2, 3, 7, 9))
    np.testing.assert_array_equal(run(onnx_bytes(m, (7, 9), form, batch=2), x), eager_native(m, x))


def test_eager_decomposed_equals_native_with_ties():
    m = PoolUnpool()
    x = tied((2, 3, 10, 14))
    with unpool_mode(m, "decomposed"), torch.no_grad():
        got = m(x).numpy()
    np.testing.assert_array_equal(got, eager_native(m, x))


def test_native_graph_is_maxpool_straight_into_maxunpool():
    graph = onnx.load_from_string(onnx_bytes(PoolUnpool(), (8, 12), "native")).graph
    pool = next(n for n in graph.node if n.op_type == "MaxPool")
    unpool = next(n for n in graph.node if n.op_type == "MaxUnpool")
    # ONNX's whole-tensor index convention end to end: no per-plane offset arithmetic in between.
    assert unpool.input[1] == pool.output[1]
    assert [n.op_type for n in graph.node].count("MaxPool") == 1
    assert unsupported_ops(onnx.load_from_string(onnx_bytes(PoolUnpool(), (8, 12), "native"))) == {MAXPOOL_INDICES, "MaxUnpool"}


def test_decomposed_graph_has_only_tensorrt_ops():
    proto = onnx.load_from_string(onnx_bytes(PoolUnpool(), (8, 12), "decomposed", dynamic=True))
    ops = {n.op_type for n in proto.graph.node}
    assert "MaxUnpool" not in ops and "MaxPool" not in ops
    assert unsupported_ops(proto) == set()


def test_export_restores_pytorch_symbolics_and_modes():
    m = PoolUnpool()
    m.pool.decomposed = m.unpool.decomposed = True
    onnx_bytes(m, (8, 12), "native")
    assert m.pool.decomposed and m.unpool.decomposed

    class Indices(nn.Module):  # PyTorch's own symbolic returns per-plane indices, as eager does
        def forward(self, x):
            return F.max_pool2d(x, 2, 2, return_indices=True)[1]

    x = torch.randn(1, 3, 8, 12)
    got = run(onnx_bytes(Indices(), (8, 12), "decomposed"), x)
    np.testing.assert_array_equal(got, Indices()(x).numpy())


def test_native_form_refuses_indices_used_outside_unpool():
    class Leaky(PoolUnpool):
        def forward(self, x):
            y, idx = self.pool(x)
            return self.unpool(y, idx, x.shape[2], x.shape[3]) + idx.float().mean()

    with pytest.raises(ArtifactError, match="native unpool form"):
        onnx_bytes(Leaky(), (8, 12), "native")
    onnx_bytes(Leaky(), (8, 12), "decomposed")  # the in-window codes are ordinary tensors


def test_scripted_module_runs_both_forms():
    m = torch.jit.script(PoolUnpool())
    x = tied((2, 3, 8, 12))
    native = m(x)
    m.pool.decomposed = m.unpool.decomposed = True
    assert torch.equal(m(x), native)


def test_enet_both_forms_match_eager_with_tied_windows():
    from edgeseg.registry import create_model

    torch.manual_seed(0)
    enet = create_model("enet").eval()
    tied_share = []

    def count_ties(module, inputs, output):
        n, c, h, w = inputs[0].shape
        win = inputs[0].reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
        tied_share.append(((win == win.amax(-1, keepdim=True)).sum(-1) > 1).float().mean().item())

    enet.down1.pool.register_forward_hook(count_ties)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 9, (1, 3, 64, 96), generator=g).float() / 8 - 0.5  # posterised image
    with torch.no_grad():
        ref = enet(x).numpy()
    assert tied_share[0] > 0.05  # the probe really puts ties into the first unpooled max pool
    for form in ("native", "decomposed"):
        got = run(onnx_bytes(enet, (64, 96), form), x)
        assert np.abs(got - ref).max() <= 1e-5, form
        assert (got.argmax(1) == ref.argmax(1)).all(), form
