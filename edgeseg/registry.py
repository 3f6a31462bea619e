"""Model registry: one decorator, one dict (the timm pattern)."""
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
    defaults: dict = field(default_factory=dict)
    # Overrides the shared model tester uses to keep CI fast (e.g. a narrower fc6 for FCN);
    # the full-size model is checked by the slow-marked variant of the same tests.
    test_kwargs: dict = field(default_factory=dict)


_MODELS: dict[str, ModelInfo] = {}


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
    test_kwargs: dict | None = None,
    **defaults,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder `fn(num_classes=..., **kw) -> nn.Module` under `name`."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = ModelInfo(name, fn, paper, scriptable, onnx, needs_unpool, dict(defaults), dict(test_kwargs or {}))
        return fn

    return wrap


def _ensure_loaded() -> None:
    import edgeseg.models  # noqa: F401  (importing registers every architecture)


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(_MODELS)


def model_info(name: str) -> ModelInfo:
    _ensure_loaded()
    try:
        return _MODELS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _MODELS, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} `edgeseg models` lists them all."
        ) from None


def create_model(name: str, num_classes: int = 11, pretrained: str | None = None, **kw) -> nn.Module:
    """Build a registered model; `pretrained='camvid'` loads the weights shipped in the package."""
    info = model_info(name)
    model = info.builder(num_classes=num_classes, **{**info.defaults, **kw})
    if pretrained is not None:
        from edgeseg.weights import load_pretrained

        load_pretrained(model, name, pretrained, num_classes)
    return model
