"""Parameter and FLOP counts of registered models, without running them where possible.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode`: 2 per multiply-add in
convolutions and matrix products; normalisation, activations and pooling are not counted. That
is the convention of the FLOP figures in the ENet and LinkNet papers, which are close to ours.
The model is built and run on the meta device (shapes only, no memory, no arithmetic); a model
whose forward needs real values falls back to a CPU run.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from edgeseg.registry import create_model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_size: tuple[int, int], device: str | torch.device = "cpu") -> int:
    """FLOPs of one forward pass of `model` (eval mode) on a 1x3xHxW input on `device`."""
    x = torch.zeros(1, 3, *input_size, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(x)
    return counter.get_total_flops()


def fits(model: nn.Module, input_size: tuple[int, int]) -> bool:
    """Whether H and W are multiples of the model's `size_divisor` (1 if it declares none)."""
    d = int(getattr(model, "size_divisor", 1))
    return input_size[0] % d == 0 and input_size[1] % d == 0


def model_cost(name: str, input_size: tuple[int, int] | None = (512, 1024), **kw) -> tuple[int, int | None]:
    """(parameters, FLOPs at `input_size`) of registered model `name`.

    FLOPs are None when `input_size` is None or the model cannot take that size.
    """
    try:
        with torch.device("meta"):
            model = create_model(name, **kw)
            if input_size is None or not fits(model, input_size):
                return count_params(model), None
            return count_params(model), count_flops(model, input_size, "meta")
    except (NotImplementedError, RuntimeError):  # an op without a meta kernel, or data-dependent code
        model = create_model(name, **kw)
        return count_params(model), count_flops(model, input_size)
