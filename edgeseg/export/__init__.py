"""Turning a model into a deployable artifact: TorchScript, or ONNX with max-unpool as a plugin op
(``native``) or as standard operators (``decomposed``). Each artifact gets a manifest."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn as nn

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.errors import InputError
from edgeseg.manifest import Manifest, library_versions


def parse_input_size(text: str) -> tuple[int, int]:
    """'HxW' (e.g. '360x480') -> (H, W); anything else -> InputError."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise InputError(f"input size must be HxW with positive integers, e.g. 360x480; got {text!r}")
    return int(parts[0]), int(parts[1])


def export_size(input_size: tuple[int, int] | None, manifest, exporter: str) -> tuple[int, int]:
    """`input_size`, else the manifest's: an exporter needs one of the two."""
    if input_size is not None:
        return input_size
    if manifest is None:
        raise InputError(f"{exporter} needs input_size or a manifest that has one")
    return manifest.input_size


def check_input_size(model: nn.Module, input_size: tuple[int, int]) -> tuple[int, int]:
    """Return (H, W) as ints, or raise InputError if the model cannot take that size."""
    h, w = (int(v) for v in input_size)
    if h <= 0 or w <= 0:
        raise InputError(f"input size must be positive, got {h}x{w}")
    d = int(getattr(model, "size_divisor", 1))
    if h % d or w % d:
        raise InputError(f"{type(model).__name__} needs height and width that are multiples of {d}, got {h}x{w}")
    return h, w


def example_input(input_size: tuple[int, int], batch: int = 1) -> torch.Tensor:
    """A fixed pseudo-random image batch: exports and parity checks see the same values every run."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, *input_size, generator=g)


def stamp_manifest(
    manifest: Manifest | None,
    model: nn.Module,
    artifact: Path,
    fmt: ArtifactFormat,
    input_size: tuple[int, int],
    num_classes: int,
    extra: dict | None = None,
    **fields,
) -> Manifest:
    """Copy `manifest` (or a bare one) for `artifact` with `extra` and `fields` set, hash the
    artifact, save the manifest beside it and return it.

    The artifact's manifest hashes only files that travel with it; the hashes of the weights it
    was made from (a weights manifest's `sha256`) move to `extra["weights_sha256"]`.
    """
    if manifest is None:
        manifest = Manifest(model=type(model).__name__.lower(), num_classes=num_classes, input_size=input_size, format=fmt)
    extra = {**manifest.extra, **(extra or {})}
    if manifest.sha256:
        extra["weights_sha256"] = {**extra.get("weights_sha256", {}), **manifest.sha256}
    out = dataclasses.replace(
        manifest,
        format=fmt,
        input_size=tuple(input_size),
        num_classes=num_classes,
        sha256={},
        versions=library_versions(),
        extra=extra,
        **fields,
    )
    out.record_hash(artifact)
    out.save(artifact)
    return out
