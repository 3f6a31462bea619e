"""Weights shipped inside the package (trained here on CamVid; research use only, CC BY-NC 4.0)."""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from edgeseg.errors import ArtifactError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def pretrained_path(name: str, tag: str = "camvid") -> Path:
    path = WEIGHTS_DIR / f"{name}-{tag}.safetensors"
    if not path.is_file():
        shipped = sorted(p.name.removesuffix(".safetensors") for p in WEIGHTS_DIR.glob("*.safetensors"))
        raise ArtifactError(f"no {tag!r} weights are shipped for {name!r} (shipped: {', '.join(shipped) or 'none'}); train them with `edgeseg train`")
    return path


def load_pretrained(model: nn.Module, name: str, tag: str, num_classes: int) -> nn.Module:
    from edgeseg.manifest import Manifest
    from edgeseg.train.checkpoint import load_weights

    path = pretrained_path(name, tag)
    manifest = Manifest.load(path)
    if manifest.num_classes != num_classes:
        raise ArtifactError(f"{path.name} has {manifest.num_classes} classes, asked for {num_classes}")
    manifest.verify(path.parent)
    return load_weights(path, model)
