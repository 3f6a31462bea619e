"""Model registry lookups (timm's `list_models`, `list_pretrained`, `create_model`), once every
architecture in edgeseg.models has registered itself (edgeseg.models._registry)."""
from __future__ import annotations

import torch.nn as nn

from edgeseg.errors import InputError
from edgeseg.models._registry import MODELS, ModelInfo, UnknownModelError


def _ensure_loaded() -> None:
    import edgeseg.models  # noqa: F401  (importing registers every architecture)


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(MODELS)


def list_pretrained() -> list[tuple[str, str]]:
    """(model, tag) of every weights file shipped with edgeseg, e.g. ("enet", "camvid")."""
    _ensure_loaded()
    return sorted((name, tag) for name, info in MODELS.items() for tag in info.pretrained)


def model_info(name: str) -> ModelInfo:
    _ensure_loaded()
    try:
        return MODELS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, MODELS, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(f"unknown model {name!r}.{hint} `edgeseg models` lists them all.") from None


def create_model(name: str, num_classes: int = 11, pretrained: str | None = None, **kw) -> nn.Module:
    """Build a registered model; `pretrained='camvid'` loads the weights shipped in the package."""
    info = model_info(name)
    if not 1 <= num_classes <= 256:
        raise InputError(f"`num_classes`={num_classes}: a model predicts 1 to 256 classes (class maps are uint8)")
    model = info.builder(num_classes=num_classes, **kw)
    if pretrained is not None:
        from edgeseg.weights import load_pretrained

        load_pretrained(model, name, pretrained, num_classes)
    return model


__all__ = ["ModelInfo", "UnknownModelError", "create_model", "list_models", "list_pretrained", "model_info"]
