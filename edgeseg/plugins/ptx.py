"""max_unpool.cu to PTX, for the kernel TensorRT bakes into an engine (tensorrt.plugin AOT).

NVRTC (through cuda-python, installed with the tensorrt extra) is preferred: it ships with the
CUDA runtime the engine will run on, so its PTX is one the driver can load. nvcc is the fallback,
e.g. on a Jetson where the toolkit comes with JetPack. PTX for compute capability X.Y is JIT-
compiled by the driver for that GPU or any newer one.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgeseg._optional import optional
from edgeseg.errors import MissingDependencyError
from edgeseg.plugins import kernel_source_path


@dataclass(frozen=True)
class PTX:
    code: bytes
    arch: str  # e.g. compute_87
    compiler: str  # e.g. "nvcc 13.0.88" or "nvrtc 12.6"


def arch_for(compute_capability: tuple[int, int]) -> str:
    major, minor = compute_capability
    return f"compute_{major}{minor}"


def compile_ptx(compute_capability: tuple[int, int], compiler: str = "auto") -> PTX:
    """PTX of max_unpool.cu for `compute_capability` with NVRTC or nvcc ("auto": the first present)."""
    arch = arch_for(compute_capability)
    if compiler in ("auto", "nvrtc"):
        nvrtc = nvrtc_module()
        if nvrtc is not None:
            return _compile_nvrtc(nvrtc, arch)
        if compiler == "nvrtc":
            raise MissingDependencyError("NVRTC is not available (needed to compile the max-unpool kernel): pip install cuda-python nvidia-cuda-nvrtc")
    if shutil.which("nvcc") is None:
        raise MissingDependencyError(
            "neither NVRTC (pip install cuda-python nvidia-cuda-nvrtc) nor nvcc (the CUDA toolkit) is available "
            "to compile the max-unpool kernel; build with `unpool`=decomposed instead"
        )
    return _compile_nvcc(arch)


def nvrtc_module():
    """cuda-python's NVRTC bindings (12.6+ layout, else the older `cuda.nvrtc`) with libnvrtc loadable, else None."""
    nvrtc = optional("cuda.bindings.nvrtc", "cuda.nvrtc")
    if nvrtc is None:
        return None
    try:
        nvrtc.nvrtcVersion()  # loads libnvrtc: absent libraries fail here, not mid-compile
    except (RuntimeError, OSError):
        return None
    return nvrtc


def _compile_nvrtc(nvrtc, arch: str) -> PTX:
    source = kernel_source_path().read_bytes()
    err, prog = nvrtc.nvrtcCreateProgram(source, b"max_unpool.cu", 0, [], [])
    _nvrtc_ok(nvrtc, err, "create program")
    try:
        options = [f"--gpu-architecture={arch}".encode(), b"--std=c++14"]
        (err,) = nvrtc.nvrtcCompileProgram(prog, len(options), options)
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            _, size = nvrtc.nvrtcGetProgramLogSize(prog)
            log = b" " * size
            nvrtc.nvrtcGetProgramLog(prog, log)
            raise RuntimeError(f"NVRTC failed to compile max_unpool.cu for {arch}:\n{log.decode(errors='replace')}")
        err, size = nvrtc.nvrtcGetPTXSize(prog)
        _nvrtc_ok(nvrtc, err, "PTX size")
        ptx = b" " * size
        (err,) = nvrtc.nvrtcGetPTX(prog, ptx)
        _nvrtc_ok(nvrtc, err, "get PTX")
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
    _, major, minor = nvrtc.nvrtcVersion()
    return PTX(ptx.rstrip(b"\0"), arch, f"nvrtc {major}.{minor}")


def _nvrtc_ok(nvrtc, err, what: str) -> None:
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"NVRTC {what}: {err}")


def _compile_nvcc(arch: str) -> PTX:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "max_unpool.ptx"
        cmd = ["nvcc", "-ptx", f"-arch={arch}", "-o", str(out), str(kernel_source_path())]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nvcc failed to compile max_unpool.cu for {arch}:\n{done.stderr.strip()}")
        code = out.read_bytes()
    version = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    release = next((line.split("release")[-1].strip() for line in version if "release" in line), "unknown")
    return PTX(code, arch, f"nvcc {release}")
