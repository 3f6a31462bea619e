"""What this CPU can do fast, read once: native bf16 (AVX512-BF16 or AMX) and a C++ compiler for inductor.

bf16 on a CPU without those instructions is emulated and slower than fp32, so back ends offer it
only where `bf16_native()` holds.
"""
from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The kernel's feature flags of the first CPU (Linux); empty where /proc/cpuinfo is absent."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def bf16_native() -> bool:
    """True when the CPU executes bf16 in hardware (AVX512-BF16 or AMX)."""
    return any(f in cpu_flags() for f in BF16_FLAGS)


def bf16_unsupported_reason() -> str | None:
    """Why bf16 is not offered on this CPU, or None when it is."""
    if bf16_native():
        return None
    return f"this CPU has neither {' nor '.join(BF16_FLAGS)}: bf16 would be emulated, slower than fp32"


@lru_cache(maxsize=1)
def cxx_compiler() -> str | None:
    """The C++ compiler inductor builds its CPU kernels with, or None (then torch.compile cannot run)."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return shutil.which(get_cpp_compiler())
    except (ImportError, RuntimeError):
        return None
