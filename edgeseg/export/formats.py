"""One entry for every export format (Ultralytics' `Exporter.__call__`): write the artifact with its
manifest, then check it once against eager PyTorch through the same runner that will run it."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import torch.nn as nn

from edgeseg.errors import ArtifactError, InputError
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.manifest import Manifest

FORMATS = ("torchscript", "onnx", "triton")
TOLERANCE = 1e-3  # max |artifact - eager| on one fixed input


def export(net: nn.Module, manifest: Manifest, fmt: str, out: Path, size: tuple[int, int], unpool: UnpoolForm = UnpoolForm.NATIVE,
           dynamic: bool = False, opset: int = 17, verify: bool = True) -> Iterator[str]:
    """Write `net` as `fmt` to `out` (a file; for triton the repository folder); yields what it did, line by line."""
    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.torchscript import export_torchscript

    if fmt not in FORMATS:
        raise InputError(f"`format` must be {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "triton":
        from edgeseg.export.triton_repo import write_triton_repo

        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_onnx(net, Path(tmp) / "model.onnx", size, unpool=unpool, dynamic=dynamic, opset=opset, manifest=manifest)
            folder = write_triton_repo(onnx_path, out, Manifest.load(onnx_path), max_batch=8 if dynamic else 0)
        yield f"wrote Triton model {folder} (config.pbtxt + ONNX graph{', dynamic batch up to 8' if dynamic else ', fixed batch 1'})"
        return
    if fmt == "onnx":
        path = export_onnx(net, out, size, unpool=unpool, dynamic=dynamic, opset=opset, manifest=manifest)
    else:
        path = export_torchscript(net, out, manifest=manifest, input_size=size)
    written = Manifest.load(path)
    yield f"wrote {path} and {Manifest.path_for(path).name} ({written.num_classes} classes, input {size[0]}x{size[1]})"
    if fmt == "onnx":
        bad = written.extra["tensorrt_unsupported_ops"]
        yield f"TensorRT ONNX parser: {'needs plugins for ' + ', '.join(bad) if bad else 'every operator supported'}"
    if verify:
        yield verify_against_eager(net, path, fmt, size)


def verify_against_eager(net: nn.Module, path: Path, fmt: str, size: tuple[int, int]) -> str:
    """Max |artifact - eager| on one fixed input, through the back end's own CPU runner; an ArtifactError above TOLERANCE."""
    from edgeseg._optional import available
    from edgeseg.export import example_input

    x = example_input(size)
    ref = net(x).numpy()
    if fmt == "onnx":
        if not available("onnxruntime"):
            return "not verified: onnxruntime is not installed (pip install onnxruntime)"
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner as runner
    else:
        from edgeseg.backends.torchscript_backend import TorchScriptRunner as runner
    with runner(path, "cpu") as r:
        got = r.infer(x.numpy())
    diff = float(np.abs(got - ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    if diff > TOLERANCE:
        raise ArtifactError(f"{path} does not match eager PyTorch: max |diff| {diff:.2e} > {TOLERANCE:g}")
    return f"verified against eager PyTorch: max |diff| {diff:.1e}, argmax agreement {100 * agree:.2f}%"
