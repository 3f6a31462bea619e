"""Checkpoints that load without running pickled code, and weights files with a manifest.

`last.pt` holds everything needed to resume (model, optimiser, schedule, epoch, RNG) and is
read back with `torch.load(weights_only=True)`. Best weights go to safetensors.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from edgeseg.errors import ArtifactError
from edgeseg.fileio import atomic_path


def save_checkpoint(path: str | Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"checkpoint {path} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several unrelated types for a damaged zip/pickle
        raise ArtifactError(f"checkpoint {path} is corrupt or not an edgeseg checkpoint ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    missing = {"model", "optimizer", "scheduler", "epoch"} - set(state if isinstance(state, dict) else ())
    if missing:
        raise ArtifactError(f"checkpoint {path} lacks {sorted(missing)}: not a resumable edgeseg checkpoint")
    return state


def save_weights(path: str | Path, model: nn.Module, half: bool = False) -> None:
    """State dict to safetensors (float tensors to fp16 when `half`), written atomically."""
    from safetensors.torch import save_file

    sd = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp))


def load_weights(path: str | Path, model: nn.Module) -> nn.Module:
    """Load safetensors (or a weights_only state dict .pt) into `model`, casting to its dtypes."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"weights file {path} not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
            sd = sd.get("model", sd) if isinstance(sd, dict) else sd
    except Exception as e:  # safetensors/torch raise assorted types on damaged files
        raise ArtifactError(f"weights file {path} is corrupt or unreadable ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    if not isinstance(sd, dict):
        raise ArtifactError(f"weights file {path} does not hold a state dict")
    own = model.state_dict()
    bad = [k for k in sd if k not in own or own[k].shape != sd[k].shape]
    missing = [k for k in own if k not in sd]
    if bad or missing:
        raise ArtifactError(
            f"weights {path.name} do not fit {type(model).__name__}: "
            f"{len(bad)} unexpected or mis-shaped (e.g. {bad[:2]}), {len(missing)} missing (e.g. {missing[:2]})"
        )
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()})
    return model
