"""What this host offers a TensorRT engine (TensorRT version, GPU 0) and the check that refuses an
engine whose manifest does not match it. Plain Python: tested without a GPU."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from packaging.version import Version

from edgeseg._optional import INSTALL_HINTS, optional
from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backends.cuda_memory import cuda_ok, optional_cudart
from edgeseg.errors import ArtifactError, InputError, MissingDependencyError
from edgeseg.manifest import Manifest

HARDWARE_COMPATIBILITY = ("none", "ampere_plus")  # TensorRT's HardwareCompatibilityLevel we build with


@dataclass(frozen=True)
class HostInfo:
    tensorrt: str | None  # installed TensorRT version
    gpu: str | None  # device 0's name
    compute_capability: tuple[int, int] | None


def host_info() -> HostInfo:
    """What this machine offers an engine: TensorRT version and GPU 0 (None where absent)."""
    trt = optional("tensorrt")
    gpu, cc = _gpu()
    return HostInfo(trt.__version__ if trt else None, gpu, cc)


def _gpu() -> tuple[str | None, tuple[int, int] | None]:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0), tuple(torch.cuda.get_device_capability(0))
    rt = optional_cudart()
    if rt is None:
        return None, None
    try:
        if cuda_ok(rt.cudaGetDeviceCount()) < 1:
            return None, None
        props = cuda_ok(rt.cudaGetDeviceProperties(0))
    except (RuntimeError, OSError):  # no driver, or a driver error: no usable GPU
        return None, None
    name = props.name.decode(errors="replace").rstrip("\0") if isinstance(props.name, bytes) else str(props.name)
    return name, (props.major, props.minor)


def tensorrt_unavailable(host: HostInfo | None = None) -> str | None:
    """Why no engine can be built or run here, in one line; None when TensorRT and a GPU are present."""
    host = host or host_info()
    if host.tensorrt is None:
        return f"TensorRT not installed: {INSTALL_HINTS['tensorrt']}"
    if host.compute_capability is None:
        return f"no CUDA GPU visible (TensorRT {host.tensorrt} is installed)"
    return None


def format_cc(cc: tuple[int, int]) -> str:
    return f"{cc[0]}.{cc[1]}"


def parse_cc(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def rebuild_command(manifest: Manifest, where: str | Path | None = None) -> str:
    """The `edgeseg build` command that made this engine (recorded at build time), to rerun here."""
    recorded = manifest.extra.get("build", {}).get("command")
    if recorded:
        return recorded
    return f"edgeseg build {manifest.model} --out {where or '<folder>'}"


def engine_manifest(engine_path: Path) -> Manifest:
    """`<engine>.json` beside the engine, else the folder's manifest.json."""
    beside = Manifest.path_for(engine_path)
    return Manifest.load(engine_path if beside.is_file() else engine_path.parent)


def check_engine_manifest(manifest: Manifest, host: HostInfo, folder: str | Path | None = None) -> None:
    """Refuse an engine this host cannot run: TensorRT version, GPU compute capability, and (with
    `folder`) the sha256 of every file the manifest hashes. Each refusal names the rebuild command."""
    record = manifest.extra.get("tensorrt") or {}
    rebuild = rebuild_command(manifest, folder)
    if manifest.format is not ArtifactFormat.TENSORRT:
        raise ArtifactError(f"the manifest describes a {manifest.format} artifact, not a TensorRT engine")
    if host.tensorrt is None:
        raise MissingDependencyError(f"TensorRT is not installed (needed to run this engine): {INSTALL_HINTS['tensorrt']}")
    if host.compute_capability is None:
        raise InputError("a TensorRT engine needs a CUDA GPU and none is visible")
    if not record.get("version") or not record.get("compute_capability"):
        raise ArtifactError(f"the engine's manifest does not record the TensorRT version and GPU it was built for; rebuild it: {rebuild}")
    built, here = Version(record["version"]), Version(host.tensorrt)
    if record.get("version_compatible"):
        # a version-compatible engine runs on the same major version, this release or newer
        ok = here.major == built.major and here >= built
    else:
        ok = here.release[:3] == built.release[:3]
    if not ok:
        raise ArtifactError(f"the engine was built with TensorRT {built}, this machine has TensorRT {here}; rebuild it here: {rebuild}")
    built_cc, cc = parse_cc(record["compute_capability"]), tuple(host.compute_capability)
    level = record.get("hardware_compatibility", "none")
    if level not in HARDWARE_COMPATIBILITY:
        raise ArtifactError(f"the engine's manifest names an unknown hardware compatibility {level!r}; rebuild it: {rebuild}")
    if (level == "ampere_plus" and cc < (8, 0)) or (level == "none" and cc != built_cc):
        raise ArtifactError(
            f"the engine was built for compute capability {format_cc(built_cc)} ({record.get('gpu', 'unknown GPU')}), "
            f"this GPU ({host.gpu}) is {format_cc(cc)}; rebuild it here: {rebuild}"
        )
    if record.get("gpu") and host.gpu and record["gpu"] != host.gpu:
        warnings.warn(f"the engine was tuned on a {record['gpu']}, this is a {host.gpu}: it runs, but may be slower than one built here", stacklevel=2)
    if folder is not None:
        try:
            manifest.verify(folder)
        except ArtifactError as e:
            raise ArtifactError(f"{e}; rebuild it: {rebuild}") from None
