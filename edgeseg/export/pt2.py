"""AOTInductor package (.pt2): `torch.export` of the model, compiled ahead of time by inductor into
one archive of native code and weights that `torch._inductor.aoti_load_package` runs in Python and
`torch::inductor::AOTIModelPackageLoader` runs from C++ (examples/aoti_predict.cpp), no Python needed.

It is the successor of TorchScript for Python-free deployment: `torch.jit` is deprecated upstream.
The package is specialised to its input shape (batch 1 at the manifest's size) and to the host's
CPU instruction set it was compiled on; the manifest records both.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backends.transposed_bn import prepare_for_freezing
from edgeseg.errors import InputError
from edgeseg.export import check_input_size, example_input, export_size, stamp_manifest
from edgeseg.fileio import atomic_path
from edgeseg.manifest import Manifest


def export_pt2(model: nn.Module, path: str | Path, input_size: tuple[int, int] | None = None,
               manifest: Manifest | None = None) -> Path:
    """Write `model` as an AOTInductor package to `path` (.pt2, atomically) and its manifest to `<path>.json`."""
    path = Path(path)
    if path.suffix != ".pt2":
        raise InputError(f"an AOTInductor package ends in .pt2, got {path.name}")
    input_size = export_size(input_size, manifest, "export_pt2")
    size = check_input_size(model, input_size)
    was_training = model.training
    x = example_input(size)
    t0 = time.perf_counter()
    try:
        with torch.no_grad():
            # freezing folds BatchNorms into the convolutions (ENet 64 -> 55 ms a frame here); those
            # after a transposed convolution it folds wrongly, so they are folded first, in a copy
            frozen = copy.deepcopy(model.eval())
            freeze = prepare_for_freezing(frozen) is None
            program = torch.export.export(frozen, (x,))
            with tempfile.TemporaryDirectory(prefix="edgeseg-pt2-") as tmp:
                # aoti_compile_and_package insists on the .pt2 suffix, so compile beside, then move atomically
                built = torch._inductor.aoti_compile_and_package(program, package_path=str(Path(tmp) / "model.pt2"),
                                                                 inductor_configs={"freezing": freeze})
                with atomic_path(path) as out:
                    shutil.move(built, out)
            num_classes = int(model(x).shape[1])
    finally:
        model.train(was_training)
    extra = {"compile_s": round(time.perf_counter() - t0, 1), "batch": 1, "cpu_isa": torch.backends.cpu.get_cpu_capability(), "freezing": freeze}
    stamp_manifest(manifest, model, path, ArtifactFormat.PT2, size, num_classes, extra)
    return path
