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
from edgeseg.textenum import TextEnum

TOLERANCE = 1e-3  # max |artifact - eager| on one fixed input


class ExportFormat(TextEnum):
    TORCHSCRIPT = "torchscript"
    ONNX = "onnx"
    PT2 = "pt2"  # AOTInductor package: native code for this CPU, runnable from C++
    TRITON = "triton"  # a model repository serving the ONNX graph

    @property
    def suffix(self) -> str:
        """Default file suffix ('' for triton, which writes a folder)."""
        return {ExportFormat.TORCHSCRIPT: ".ts", ExportFormat.ONNX: ".onnx", ExportFormat.PT2: ".pt2"}.get(self, "")

    @property
    def needs_onnx(self) -> bool:
        return self in (ExportFormat.ONNX, ExportFormat.TRITON)


def export(net: nn.Module, manifest: Manifest, fmt: ExportFormat, out: Path, size: tuple[int, int], unpool: UnpoolForm = UnpoolForm.NATIVE,
           dynamic: bool = False, opset: int = 17, verify: bool = True) -> Iterator[str]:
    """Write `net` as `fmt` to `out` (a file; for triton the repository folder); yields what it did, line by line."""
    from edgeseg.export.onnx import export_onnx

    fmt = ExportFormat.of(fmt, "fmt")
    if fmt is ExportFormat.PT2 and dynamic:
        raise InputError("`dynamic`: an AOTInductor package is compiled for one input shape; export one per size")
    if fmt is ExportFormat.TRITON:
        from edgeseg.export.triton_repo import write_triton_repo

        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_onnx(net, Path(tmp) / "model.onnx", size, unpool=unpool, dynamic=dynamic, opset=opset, manifest=manifest, optimize=True)
            folder = write_triton_repo(onnx_path, out, Manifest.load(onnx_path), max_batch=8 if dynamic else 0)
        yield f"wrote Triton model {folder} (config.pbtxt + ONNX graph{', dynamic batch up to 8' if dynamic else ', fixed batch 1'})"
        return
    if fmt is ExportFormat.ONNX:
        path = export_onnx(net, out, size, unpool=unpool, dynamic=dynamic, opset=opset, manifest=manifest, optimize=True)
    elif fmt is ExportFormat.PT2:
        from edgeseg.export.pt2 import export_pt2

        path = export_pt2(net, out, size, manifest=manifest)
    else:
        from edgeseg.export.torchscript import export_torchscript

        path = export_torchscript(net, out, manifest=manifest, input_size=size)
    written = Manifest.load(path)
    yield f"wrote {path} and {Manifest.path_for(path).name} ({written.num_classes} classes, input {size[0]}x{size[1]})"
    if fmt is ExportFormat.ONNX:
        bad = written.extra["tensorrt_unsupported_ops"]
        yield f"graph rewrites: {', '.join(written.extra['rewrites']) or 'none'}"
        yield f"TensorRT ONNX parser: {'needs plugins for ' + ', '.join(bad) if bad else 'every operator supported'}"
    if fmt is ExportFormat.PT2:
        yield f"AOTInductor compile took {written.extra['compile_s']} s; the package runs on CPUs with {written.extra['cpu_isa']}"
    if verify:
        yield verify_against_eager(net, path, fmt, size)


def verify_against_eager(net: nn.Module, path: Path, fmt: ExportFormat, size: tuple[int, int]) -> str:
    """Max |artifact - eager| on one fixed input, through the back end's own CPU runner; an ArtifactError above TOLERANCE."""
    from edgeseg._optional import available
    from edgeseg.export import example_input

    x = example_input(size)
    ref = net(x).numpy()
    if fmt is ExportFormat.ONNX:
        if not available("onnxruntime"):
            return "not verified: onnxruntime is not installed (pip install onnxruntime)"
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner

        runner = OnnxRuntimeRunner(path, "cpu")
    elif fmt is ExportFormat.PT2:
        from edgeseg.backends.aoti_backend import AOTIRunner

        runner = AOTIRunner(path, size)
    else:
        from edgeseg.backends.torchscript_backend import TorchScriptRunner

        runner = TorchScriptRunner(path, "cpu")
    with runner as r:
        got = r.infer(x.numpy())
    diff = float(np.abs(got - ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    if diff > TOLERANCE:
        raise ArtifactError(f"{path} does not match eager PyTorch: max |diff| {diff:.2e} > {TOLERANCE:g}")
    return f"verified against eager PyTorch: max |diff| {diff:.1e}, argmax agreement {100 * agree:.2f}%"
