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
