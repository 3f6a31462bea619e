"""TorchScript export: `torch.jit.script`, so shape-dependent code (odd sizes, output_size of
unpooling, crops) stays general; the artifact loads from Python or C++ (`torch::jit::load`)
without edgeseg. Tracing is the fallback only for a model that cannot be scripted, and the
manifest says so and why: a trace freezes every shape computation at the traced size."""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn as nn

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.errors import InputError
from edgeseg.export import check_input_size, example_input, export_size, stamp_manifest
from edgeseg.fileio import atomic_path
from edgeseg.layers.unpool import MaxUnpool, UnpoolForm, uses_unpool
from edgeseg.manifest import Manifest


def to_torchscript(model: nn.Module, input_size: tuple[int, int] | None = None) -> tuple[torch.jit.ScriptModule, str | None]:
    """Script `model` (eval mode); if scripting fails and `input_size` is given, trace it instead.

    Returns the module and, for a trace, the scripting error that forced it.
    """
    model = model.eval()
    try:
        return torch.jit.script(model), None
    except Exception as e:  # TorchScript raises several unrelated types for unsupported code
        if input_size is None:
            raise InputError(f"{type(model).__name__} cannot be scripted and no input size was given to trace it: {_first_line(e)}") from None
        why = _first_line(e)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(model, example_input(check_input_size(model, input_size)))
    return traced, why


def _first_line(e: Exception) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"


def export_torchscript(
    model: nn.Module,
    path: str | Path,
    manifest: Manifest | None = None,
    input_size: tuple[int, int] | None = None,
) -> Path:
    """Write `model` as TorchScript to `path` (atomically) and its manifest to `<path>.json`.

    `input_size` (H, W) defaults to the manifest's; it is recorded, and used to trace a model
    that cannot be scripted.
    """
    input_size = export_size(input_size, manifest, "export_torchscript")
    input_size = check_input_size(model, input_size)
    was_training = model.training
    try:
        module, trace_reason = to_torchscript(model, input_size)
        with torch.no_grad():
            num_classes = int(module(example_input(input_size)).shape[1])
    finally:
        model.train(was_training)
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.jit.save(module, str(tmp))
    extra = {"torchscript": "script" if trace_reason is None else "trace"}
    if trace_reason is not None:
        warnings.warn(f"{type(model).__name__} was traced, not scripted ({trace_reason}): its shapes are fixed at {input_size}", stacklevel=2)
        extra["trace_reason"] = trace_reason
    unpool = None
    if uses_unpool(model):
        unpool = UnpoolForm.DECOMPOSED if all(m.decomposed for m in model.modules() if isinstance(m, MaxUnpool)) else UnpoolForm.NATIVE
    stamp_manifest(manifest, model, path, ArtifactFormat.TORCHSCRIPT, input_size, num_classes, extra, dynamic=trace_reason is None, unpool=unpool)
    return path
