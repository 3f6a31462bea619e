"""BatchNorm folded into the transposed convolution before it, so that inductor's freezing need not.

Freezing (torch 2.13) folds a constant per-channel multiply, such as an eval BatchNorm's scale, into
the convolution before it along weight dim 0. A transposed convolution's weight is (in, out, kh, kw),
so that dim is the input channels: when in == out the shapes agree and the result is silently wrong.
Measured here: ENet's decoder gave logits 3.9 off eager, 96 % of class-map pixels equal. torch's own
`fuse_conv_bn_eval(..., transpose=True)` folds along the right dim, so the pairs are folded first
and freezing finds none. A model whose pairs cannot be found (torch.fx cannot trace it) is frozen
only if it has no transposed convolution that freezing could get wrong (`freezing_hazard`).
"""
from __future__ import annotations

import torch.fx
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _square(m: nn.Module) -> bool:
    return isinstance(m, nn.ConvTranspose2d) and m.in_channels == m.out_channels


def fold_transposed_bn(model: nn.Module) -> int | None:
    """Fold, in place, every eval BatchNorm2d whose only input is a transposed convolution used by
    nothing else; returns how many were folded, None if torch.fx cannot trace `model`."""
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001  control flow on tensors: TraceError, TypeError, ... depending on the model
        return None
    modules = dict(model.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    folded = 0
    for node in graph.nodes:
        conv_node = node.args[0] if node.op == "call_module" and node.args else None
        if not (isinstance(conv_node, torch.fx.Node) and conv_node.op == "call_module"):
            continue
        conv, bn = modules[conv_node.target], modules[node.target]
        if not (isinstance(conv, nn.ConvTranspose2d) and isinstance(bn, nn.BatchNorm2d) and conv.groups == 1):
            continue
        if len(conv_node.users) != 1 or calls[conv_node.target] != 1 or calls[node.target] != 1 or bn.running_mean is None:
            continue
        _replace(model, conv_node.target, fuse_conv_bn_eval(conv.eval(), bn.eval(), transpose=True))
        _replace(model, node.target, nn.Identity())
        folded += 1
    return folded


def freezing_hazard(model: nn.Module) -> str | None:
    """Why freezing may miscompile `model` (a square transposed convolution), or None."""
    square = [name for name, m in model.named_modules() if _square(m)]
    return f"{len(square)} square transposed convolutions ({square[0]}, ...)" if square else None


def prepare_for_freezing(model: nn.Module) -> str | None:
    """Fold `model`'s transposed-convolution BatchNorms in place; returns why it must not be frozen,
    or None when freezing is safe: the pairs were folded, or there is none to get wrong."""
    if fold_transposed_bn(model) is not None:
        return None
    hazard = freezing_hazard(model)
    return None if hazard is None else f"{hazard}, which freezing can fold wrongly, in a model torch.fx cannot trace to fold them first"


def _replace(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, new)
