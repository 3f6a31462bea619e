"""Facts about the host CPU that decide which fast paths are worth taking."""
from __future__ import annotations

import functools
from pathlib import Path


@functools.lru_cache(maxsize=None)
def cpu_flags() -> frozenset[str]:
    """The flags the kernel reports for the first CPU (empty where /proc/cpuinfo is absent)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX): elsewhere bf16 is emulated
    and slower than fp32, so the fast paths fall back to fp32."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def bf16_unsupported_reason() -> str | None:
    """Why bf16 is not offered on this CPU, or None when it is."""
    if cpu_has_bf16():
        return None
    return "this CPU has neither avx512_bf16 nor amx_bf16: bf16 would be emulated, slower than fp32"


@functools.lru_cache(maxsize=1)
def cxx_compiler() -> str | None:
    """The C++ compiler inductor builds its CPU kernels with, or None (then torch.compile cannot run)."""
    import shutil

    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return shutil.which(get_cpp_compiler())
    except (ImportError, RuntimeError):
        return None
