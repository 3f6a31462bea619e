"""Back ends behind one `Runner` interface, and `open_runner`, which picks one for an artifact.

Auto-selection follows the artifact's manifest: weights -> torch (eager), torchscript ->
torchscript, onnx -> onnxruntime, tensorrt -> tensorrt. A model held as weights can also be run
on the other back ends; it is scripted or exported to ONNX in memory first.
"""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from edgeseg.backends.base import BACKENDS, Runner, RunnerBase
from edgeseg.errors import ArtifactError, InputError
from edgeseg.manifest import Manifest

# manifest format -> file suffixes an artifact of that format may have
FORMAT_SUFFIXES = {
    "weights": (".safetensors", ".pt", ".pth"),
    "torchscript": (".pt", ".ts", ".torchscript"),
    "onnx": (".onnx",),
    "tensorrt": (".engine", ".plan"),
}
ARTIFACT_HELP = "expected .onnx, TorchScript .pt/.ts, .safetensors weights (each with its .json manifest), a folder with manifest.json, or a registered model name"


def resolve_artifact(path: str | Path) -> tuple[Manifest, Path]:
    """The artifact's manifest and the file it describes, after checking that file's sha256.

    `path` is a single file with `<file>.json` beside it, or a folder holding `manifest.json`
    (the file is the one the manifest hashes with the format's suffix, e.g. an engine).
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} not found")
    if path.is_file() and not path.name.endswith(sum(FORMAT_SUFFIXES.values(), ())):
        raise ArtifactError(f"{path} is not an edgeseg artifact: {ARTIFACT_HELP}")
    manifest = Manifest.load(path)
    suffixes = FORMAT_SUFFIXES.get(manifest.format)
    if suffixes is None:
        raise ArtifactError(f"manifest of {path} names an unknown format {manifest.format!r} (known: {', '.join(FORMAT_SUFFIXES)})")
    if path.is_dir():
        named = [n for n in manifest.sha256 if n.endswith(suffixes)]
        if len(named) != 1:
            raise ArtifactError(f"{Manifest.path_for(path)} must hash exactly one {manifest.format} file ({'/'.join(suffixes)}), found {named}")
        folder, file = path, path / named[0]
    else:
        if not path.name.endswith(suffixes):
            raise ArtifactError(f"{path} has a {manifest.format} manifest, but a {manifest.format} artifact ends in {'/'.join(suffixes)}")
        if path.name not in manifest.sha256:
            raise ArtifactError(f"{Manifest.path_for(path)} carries no sha256 for {path.name}, so the file cannot be checked; re-export it")
        folder, file = path.parent, path
    manifest.verify(folder)
    return manifest, file


def open_runner(
    artifact_or_model: str | Path | nn.Module,
    backend: str = "auto",
    device: str | None = None,
    manifest: Manifest | None = None,
) -> Runner:
    """A runner for an artifact path or an in-memory model.

    For a path, `manifest` may be passed when the caller has already loaded and verified it
    (`resolve_artifact`); otherwise it is loaded and verified here. For a model, `manifest`
    is needed only to run it on onnxruntime (it gives the input size to export at).
    """
    if backend not in ("auto", *BACKENDS):
        raise InputError(f"unknown back end {backend!r}; choose auto, {', '.join(BACKENDS)}")
    if isinstance(artifact_or_model, nn.Module):
        return _model_runner(artifact_or_model, backend, device, manifest)
    if manifest is None:
        manifest, file = resolve_artifact(artifact_or_model)
    else:
        file = Path(artifact_or_model)
    fmt = manifest.format
    if fmt == "tensorrt" or backend == "tensorrt":
        return _tensorrt_runner(file, manifest, device)
    if backend == "auto" and device in (None, "cuda") and fmt in ("torchscript", "weights") and _gpu_without_tensorrt():
        from edgeseg.backends.cuda_graph import CudaGraphRunner

        if fmt == "weights":
            from edgeseg.backends.torch_backend import model_from_weights

            return CudaGraphRunner(model_from_weights(file, manifest), precision="fp16")
        return CudaGraphRunner(file, precision="fp16")
    if fmt == "weights":
        from edgeseg.backends.torch_backend import model_from_weights

        return _model_runner(model_from_weights(file, manifest), backend, device, manifest)
    if fmt == "torchscript" and backend in ("auto", "torch", "torchscript"):
        from edgeseg.backends.torchscript_backend import TorchScriptRunner

        return TorchScriptRunner(file, device)
    if fmt == "onnx" and backend in ("auto", "onnxruntime"):
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner

        return OnnxRuntimeRunner(file, device, precision=manifest.precision)
    raise InputError(f"a {fmt} artifact cannot run on the {backend} back end; export the model's weights to that format with `edgeseg export`")


def _gpu_without_tensorrt() -> bool:
    """A CUDA GPU but no usable TensorRT: `auto` then takes the fp16 CUDA-graph path."""
    import torch

    if not torch.cuda.is_available():
        return False
    from edgeseg.backends.tensorrt_host import tensorrt_unavailable

    return tensorrt_unavailable() is not None


def _model_runner(model: nn.Module, backend: str, device: str | None, manifest: Manifest | None) -> Runner:
    import torch

    from edgeseg.backends.torch_backend import TorchRunner
    from edgeseg.backends.torchscript_backend import TorchScriptRunner

    scripted = isinstance(model, torch.jit.ScriptModule)
    if backend == "torch" or (backend == "auto" and not scripted):
        return TorchRunner(model, device)
    if backend in ("auto", "torchscript"):
        if not scripted:
            from edgeseg.export.torchscript import to_torchscript

            model = to_torchscript(model, manifest.input_size if manifest else None)[0]
        return TorchScriptRunner(model, device)
    if backend == "onnxruntime":
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner

        if manifest is None:
            raise InputError("running an in-memory model on onnxruntime needs its manifest (for the input size to export at)")
        from edgeseg.export.onnx import onnx_bytes

        return OnnxRuntimeRunner(onnx_bytes(model, manifest.input_size), device)
    raise InputError(f"an in-memory model cannot run on the {backend} back end; build an engine first with `edgeseg build`")


def _tensorrt_runner(file: Path, manifest: Manifest, device: str | None) -> Runner:
    if manifest.format != "tensorrt":
        raise InputError(f"the tensorrt back end runs engines; build one from {file} with `edgeseg build`")
    if device == "cpu":
        raise InputError("a TensorRT engine runs on a CUDA GPU, not on the cpu device")
    from edgeseg.backends.tensorrt_backend import TensorRTRunner

    return TensorRTRunner(file, manifest)  # checks TensorRT version and GPU against the manifest


__all__ = ["BACKENDS", "FORMAT_SUFFIXES", "Runner", "RunnerBase", "open_runner", "resolve_artifact"]
