"""The model registry's storage: one decorator, one dict (timm's `_registry.py`). Model files
register here; edgeseg.registry looks models up once every file has been imported."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch.nn as nn

from edgeseg.errors import InputError


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about an architecture without building it."""

    name: str
    builder: Callable[..., nn.Module]
    paper: str
    # Honest capability flags: the shared model tester asserts each one.
    scriptable: bool = True
    onnx: bool = True
    needs_unpool: bool = False
    # Tags of the weights shipped in edgeseg/weights (<name>-<tag>.safetensors); a test checks
    # that each file exists and that no shipped file goes undeclared.
    pretrained: tuple[str, ...] = ()
    # Overrides the shared model tester uses to keep CI fast (e.g. a narrower fc6 for FCN);
    # the full-size model is checked by the slow-marked variant of the same tests.
    test_kwargs: dict = field(default_factory=dict)


MODELS: dict[str, ModelInfo] = {}


class UnknownModelError(InputError, KeyError):
    """Raised for a model name that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; a CLI wants plain text
        return str(self.args[0])


def register_model(
    name: str,
    *,
    paper: str,
    scriptable: bool = True,
    onnx: bool = True,
    needs_unpool: bool = False,
    pretrained: tuple[str, ...] = (),
    test_kwargs: dict | None = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder `fn(num_classes=..., **kw) -> nn.Module` under `name`."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        MODELS[name] = ModelInfo(name, fn, paper, scriptable, onnx, needs_unpool, tuple(pretrained), dict(test_kwargs or {}))
        return fn

    return wrap
