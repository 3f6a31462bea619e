"""Max pooling that remembers where each maximum came from, and the unpooling that puts it back.

Used by ENet (Paszke et al. 2016) and SegNet (Badrinarayanan et al. 2017). Two forms:

- ``native``: ``F.max_pool2d(return_indices=True)`` + ``F.max_unpool2d``. Eager and TorchScript
  run this; the ONNX exporter maps it to ``MaxPool`` (Indices output) + ``MaxUnpool``, which ONNX
  Runtime runs and which the TensorRT plugin replaces.
- ``decomposed``: for 2x2/stride-2 windows only. The "indices" become the position (0..3) of the
  first maximum inside each window, found with ArgMax over a window axis; unpooling is a one-hot
  mask times the pooled value, reshaped back. Only standard operators that TensorRT's ONNX parser
  supports, and bit-exact with the native form in float32, ties included, because both keep the
  first maximum in row-major window order.

The form is a plain bool attribute so that ``torch.jit.script`` keeps both branches and the
exporter (which traces) keeps only the chosen one.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.textenum import TextEnum


class UnpoolForm(TextEnum):
    """The one max-unpool vocabulary: modules, ONNX graphs, engines and manifests all use it."""

    NATIVE = "native"  # MaxPool indices + MaxUnpool: eager, TorchScript, ONNX Runtime
    DECOMPOSED = "decomposed"  # ArgMax + one-hot over each 2x2 window: standard operators only
    PLUGIN = "plugin"  # a TensorRT graph or engine holding edgeseg's MaxUnpoolFromSource plugin

    @property
    def module_form(self) -> "UnpoolForm":
        """How the PyTorch modules run to give this form: a plugin graph is rewritten from the native export."""
        return UnpoolForm.DECOMPOSED if self is UnpoolForm.DECOMPOSED else UnpoolForm.NATIVE


MODULE_FORMS = (UnpoolForm.NATIVE, UnpoolForm.DECOMPOSED)


def pool_2x2_decomposed(x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """2x2/stride-2 max pool (floor mode) returning values and the in-window argmax code (int64)."""
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, :, : 2 * h2, : 2 * w2]
    windows = x.reshape(n, c, h2, 2, w2, 2).permute(0, 1, 2, 4, 3, 5).reshape(n, c, h2, w2, 4)
    code = torch.argmax(windows, dim=-1, keepdim=True)
    values = torch.gather(windows, -1, code).squeeze(-1)
    return values, code.squeeze(-1)


def unpool_2x2_decomposed(y: torch.Tensor, code: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """Inverse of `pool_2x2_decomposed`: scatter each value to its window position, zeros elsewhere."""
    n, c, h2, w2 = y.shape
    slots = torch.arange(4, device=y.device, dtype=code.dtype)
    onehot = (code.unsqueeze(-1) == slots).to(y.dtype)
    out = (y.unsqueeze(-1) * onehot).reshape(n, c, h2, w2, 2, 2).permute(0, 1, 2, 4, 3, 5)
    out = out.reshape(n, c, 2 * h2, 2 * w2)
    # Odd input sizes: floor-mode pooling dropped the last row/column, which unpools to zeros.
    return F.pad(out, [0, out_w - 2 * w2, 0, out_h - 2 * h2])


class MaxPoolWithIndices(nn.Module):
    """2x2/stride-2 max pool returning (values, indices); the indices feed a `MaxUnpool`."""

    def __init__(self) -> None:
        super().__init__()
        self.decomposed = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.decomposed:
            return pool_2x2_decomposed(x)
        return F.max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], False, True)


class MaxUnpool(nn.Module):
    """Inverse of `MaxPoolWithIndices` to an explicit output size (odd sizes round-trip).

    Calls the op ``F.max_unpool2d`` ends in, without its Python size check: that check fails under
    the legacy ONNX tracer, where sizes are tensors ("cond must be a bool"), and this binding keeps
    those traced sizes (``torch.ops.aten.max_unpool2d`` freezes them). ``torch.jit.script`` accepts
    it, while it rejects a module holding ``nn.MaxUnpool2d`` (IntList assert, torch 2.13).
    """

    def __init__(self) -> None:
        super().__init__()
        self.decomposed = False

    def forward(self, x: torch.Tensor, indices: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
        if self.decomposed:
            return unpool_2x2_decomposed(x, indices, out_h, out_w)
        return torch._C._nn.max_unpool2d(x, indices, [out_h, out_w])


def _pairs(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (MaxPoolWithIndices, MaxUnpool))]


def set_unpool_mode(model: nn.Module, mode: UnpoolForm | str) -> nn.Module:
    """Switch every pool/unpool pair of `model` to `mode` (native or decomposed), in place."""
    decomposed = UnpoolForm.of(mode, "unpool", MODULE_FORMS) is UnpoolForm.DECOMPOSED
    for m in _pairs(model):
        m.decomposed = decomposed
    return model


@contextmanager
def unpool_mode(model: nn.Module, mode: UnpoolForm | str) -> Iterator[nn.Module]:
    """`set_unpool_mode` for the block, then each pair's own mode back."""
    before = [(m, m.decomposed) for m in _pairs(model)]
    try:
        yield set_unpool_mode(model, mode)
    finally:
        for m, decomposed in before:
            m.decomposed = decomposed


def uses_unpool(model: nn.Module) -> bool:
    return any(isinstance(m, MaxUnpool) for m in model.modules())
