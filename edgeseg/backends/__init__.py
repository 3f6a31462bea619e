"""Back ends behind one `Runner` interface, and `open_runner`, which picks one for an artifact.

`backend='auto'` takes the fastest back end for the artifact on this machine (edgeseg.backends.auto)
and records why in `runner.selection`. A model held as weights can also be run on the other back
ends; it is compiled, scripted or exported to ONNX in memory first.
"""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backend_names import BACKENDS, BF16_BACKENDS, Backend
from edgeseg.backends.auto import choose_cpu, default_cpu_precision
from edgeseg.backends.base import Runner, RunnerBase
from edgeseg.errors import ArtifactError, InputError
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.manifest import Manifest
from edgeseg.precision import Precision

F = ArtifactFormat
ARTIFACT_HELP = "expected .onnx, AOTInductor .pt2, TorchScript .pt/.ts, .safetensors weights (each with its .json manifest), a folder with manifest.json, or a registered model name"


def resolve_artifact(path: str | Path) -> tuple[Manifest, Path]:
    """The artifact's manifest and the file it describes, after checking that file's sha256.

    `path` is a single file with `<file>.json` beside it, or a folder holding `manifest.json`
    (the file is the one the manifest hashes with the format's suffix, e.g. an engine).
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} not found")
    if path.is_file() and ArtifactFormat.of_path(path.name) is None:
        raise ArtifactError(f"{path} is not an edgeseg artifact: {ARTIFACT_HELP}")
    manifest = Manifest.load(path)  # an unknown format is an ArtifactError there
    suffixes = manifest.format.suffixes
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
    backend: Backend | str = Backend.AUTO,
    device: str | None = None,
    manifest: Manifest | None = None,
    precision: Precision | str | None = None,
) -> Runner:
    """A runner for an artifact path or an in-memory model.

    For a path, `manifest` may be passed when the caller has already loaded and verified it
    (`resolve_artifact`); otherwise it is loaded and verified here. For a model, `manifest`
    is needed only to run it on onnxruntime or openvino (it gives the input size to export at).
    `precision` 'bf16' runs weights (compiled, openvino) or an FP32 ONNX graph (openvino) in bf16,
    on CPUs with native bf16 only.
    """
    backend = Backend.of(backend, "backend")
    precision = None if precision is None else Precision.of(precision, "precision")
    if isinstance(artifact_or_model, nn.Module):
        return _model_runner(artifact_or_model, backend, device, manifest, precision)
    if manifest is None:
        manifest, file = resolve_artifact(artifact_or_model)
    else:
        file = Path(artifact_or_model)
    fmt = manifest.format
    bf16_onnx = fmt is F.ONNX and precision is Precision.BF16 and backend in (Backend.AUTO, Backend.OPENVINO)
    if precision not in (None, manifest.precision) and fmt is not F.WEIGHTS and not bf16_onnx:
        raise InputError(f"precision='{precision}': a {manifest.precision} {fmt} artifact runs as it was exported (bf16 runs weights, or an FP32 ONNX on openvino)")
    if backend is Backend.AUTO and fmt is not F.TENSORRT and _on_cpu(device):
        # weights compute in fp32 whatever their storage (the bundled ones are "fp16-storage"), or
        # in bf16 where this CPU runs it natively and the manifest shows it costs next to nothing
        why_precision = None
        if precision is None and fmt is F.WEIGHTS:
            precision, why_precision = default_cpu_precision(manifest)
        computed = precision or manifest.precision
        uint8 = manifest.extra.get("quantization", {}).get("activations") == "uint8"
        choice = choose_cpu(fmt, computed, manifest.unpool, uint8)
        runner = open_runner(file, choice.backend, "cpu", manifest, precision)
        runner.selection = choice.line() + (f"; {why_precision}" if why_precision else "")
        return runner
    if fmt is F.TENSORRT or backend is Backend.TENSORRT:
        return _tensorrt_runner(file, manifest, device)
    if backend is Backend.AUTO and device in (None, "cuda") and fmt in (F.TORCHSCRIPT, F.WEIGHTS) and _gpu_without_tensorrt():
        from edgeseg.backends.cuda_graph import CudaGraphRunner

        if fmt is F.WEIGHTS:
            from edgeseg.backends.torch_backend import model_from_weights

            return CudaGraphRunner(model_from_weights(file, manifest), precision=Precision.FP16)
        return CudaGraphRunner(file, precision=Precision.FP16)
    if fmt is F.WEIGHTS:
        from edgeseg.backends.torch_backend import model_from_weights

        return _model_runner(model_from_weights(file, manifest), backend, device, manifest, precision)
    if fmt is F.PT2 and backend in (Backend.AUTO, Backend.AOTI):
        from edgeseg.backends.aoti_backend import AOTIRunner

        if device == "cuda":
            raise InputError("this .pt2 package was compiled for the CPU; use device='cpu'")
        return AOTIRunner(file, manifest.input_size)
    if fmt is F.ONNX and backend is Backend.OPENVINO:
        from edgeseg.backends.openvino_backend import OpenVinoRunner

        return OpenVinoRunner(file, device, precision=precision if precision and manifest.precision is Precision.FP32 else manifest.precision)
    if fmt is F.TORCHSCRIPT and backend in (Backend.AUTO, Backend.TORCH, Backend.TORCHSCRIPT):
        from edgeseg.backends.torchscript_backend import TorchScriptRunner

        return TorchScriptRunner(file, device)
    if fmt is F.ONNX and backend in (Backend.AUTO, Backend.ONNXRUNTIME):
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner

        return OnnxRuntimeRunner(file, device, precision=manifest.precision)
    raise InputError(f"a {fmt} artifact cannot run on the {backend} back end; export the model's weights to that format with `edgeseg export`")


def _on_cpu(device: str | None) -> bool:
    import torch

    return device == "cpu" or (device is None and not torch.cuda.is_available())


def _gpu_without_tensorrt() -> bool:
    """A CUDA GPU but no usable TensorRT: `auto` then takes the fp16 CUDA-graph path."""
    import torch

    if not torch.cuda.is_available():
        return False
    from edgeseg.backends.tensorrt_host import tensorrt_unavailable

    return tensorrt_unavailable() is not None


def _model_runner(model: nn.Module, backend: Backend, device: str | None, manifest: Manifest | None, precision: Precision | None = None) -> Runner:
    import torch

    from edgeseg.backends.torch_backend import TorchRunner
    from edgeseg.backends.torchscript_backend import TorchScriptRunner

    scripted = isinstance(model, torch.jit.ScriptModule)
    if precision not in (None, Precision.FP32) and backend not in BF16_BACKENDS:
        raise InputError(f"precision='{precision}' runs a model's weights on the {' or '.join(BF16_BACKENDS)} back end, not on {backend}")
    if backend is Backend.TORCH or (backend is Backend.AUTO and not scripted):
        return TorchRunner(model, device)
    if backend in (Backend.AUTO, Backend.TORCHSCRIPT):
        if not scripted:
            from edgeseg.export.torchscript import to_torchscript

            model = to_torchscript(model, manifest.input_size if manifest else None)[0]
        return TorchScriptRunner(model, device)
    if backend in (Backend.ONNXRUNTIME, Backend.OPENVINO) and manifest is None:
        raise InputError(f"running an in-memory model on {backend} needs its manifest (for the input size)")
    if backend is Backend.COMPILED:
        from edgeseg.backends.compiled_backend import CompiledRunner

        return CompiledRunner(model, device, precision=precision or Precision.FP32)
    if backend is Backend.ONNXRUNTIME:
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
        from edgeseg.export.onnx import onnx_bytes

        return OnnxRuntimeRunner(onnx_bytes(model, manifest.input_size), device)
    if backend is Backend.OPENVINO:
        from edgeseg.backends.openvino_backend import OpenVinoRunner
        from edgeseg.export.onnx import onnx_bytes
        from edgeseg.export.rewrite import optimize_onnx

        # OpenVINO reads no MaxUnpool: the decomposed form
        return OpenVinoRunner(optimize_onnx(onnx_bytes(model, manifest.input_size, unpool=UnpoolForm.DECOMPOSED)), device, precision=precision or Precision.FP32)
    raise InputError(f"an in-memory model cannot run on the {backend} back end; build an engine first with `edgeseg build`")


def _tensorrt_runner(file: Path, manifest: Manifest, device: str | None) -> Runner:
    if manifest.format is not F.TENSORRT:
        raise InputError(f"the tensorrt back end runs engines; build one from {file} with `edgeseg build`")
    if device == "cpu":
        raise InputError("a TensorRT engine runs on a CUDA GPU, not on the cpu device")
    from edgeseg.backends.tensorrt_backend import TensorRTRunner

    return TensorRTRunner(file, manifest)  # checks TensorRT version and GPU against the manifest


__all__ = ["BACKENDS", "Backend", "Runner", "RunnerBase", "open_runner", "resolve_artifact"]
