"""PyTorch eager back end: an in-memory `nn.Module` on the CPU, or on CUDA when there is one."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import ArtifactError, InputError
from edgeseg.manifest import Manifest


def resolve_device(device: str | None) -> str:
    """None -> 'cuda' when torch sees a GPU, else 'cpu'; an explicit 'cuda' must be available."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise InputError(f"`device` must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("`device`='cuda' was asked for but torch sees no CUDA GPU; use `device`='cpu'")
    return device


def model_from_weights(path: str | Path, manifest: Manifest) -> nn.Module:
    """Build the manifest's registered model and load a safetensors (or weights-only .pt) file into it."""
    from edgeseg.registry import UnknownModelError, create_model
    from edgeseg.train.checkpoint import load_weights

    try:
        # model_kwargs: the recipe's architecture options (e.g. encoder_depth), written by the trainer
        model = create_model(manifest.model, num_classes=manifest.num_classes, **manifest.extra.get("model_kwargs", {}))
    except UnknownModelError as e:
        raise ArtifactError(f"{path} is weights for {e}") from None
    return load_weights(path, model)


class TorchRunner(RunnerBase):
    """Runs a module (eager or scripted) under `torch.inference_mode` in eval mode."""

    name = Backend.TORCH

    def __init__(self, model: nn.Module, device: str | None = None) -> None:
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)

    def infer(self, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(check_input(x)).to(self.device)
        with torch.inference_mode():
            out = self.model(t)
        return out.float().cpu().numpy()

    def close(self) -> None:
        self.model = None
        if self.device == "cuda":
            torch.cuda.empty_cache()
