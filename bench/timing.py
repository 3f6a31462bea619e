"""What the timing benchmarks share: interleaved timing (edgeseg.eval.timing's loop, in ms) and the
JSON record of a run.

Imported by the scripts beside it (`python bench/<script>.py` puts bench/ on sys.path).
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np

from edgeseg.eval import timing


def time_interleaved(runners: dict, x: np.ndarray, warmup: int, runs: int, settle: int = 0) -> dict[str, np.ndarray]:
    """Milliseconds per call for each runner on `x` (edgeseg.eval.timing.time_interleaved)."""
    calls = {label: (lambda r=runner: r.infer(x)) for label, runner in runners.items()}
    return {k: 1000 * v for k, v in timing.time_interleaved(calls, warmup, runs, settle).items()}


def record_run(args, rows: list[dict]) -> dict:
    """The command, machine, library versions, settings and rows of a run; written to `args.json` if set."""
    from edgeseg.fileio import write_json
    from edgeseg.manifest import library_versions

    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(), "vnni": _cpu_has("avx512_vnni")},
        "versions": library_versions(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "load_average_end": os.getloadavg(),
        "rows": rows,
    }
    if args.json:
        write_json(args.json, result)
        print(f"\nwrote {args.json}")
    return result


def _cpuinfo_lines() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []


def _cpu_name() -> str:
    names = [l.split(":", 1)[1].strip() for l in _cpuinfo_lines() if l.startswith("model name")]
    return names[0] if names else platform.processor()


def _cpu_has(flag: str) -> bool:
    return any(l.startswith("flags") and flag in l.split() for l in _cpuinfo_lines())
