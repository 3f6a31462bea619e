"""How long torch's OpenMP threads (libgomp, which inductor's kernels share) busy-wait after each
parallel region before they sleep.

libgomp's default spin (GOMP_SPINCOUNT, 300000 by default) keeps every inference thread on its core
between the network's many small parallel regions. A network alone gains from that; a stream loses,
because capture, pre- and postprocessing need the same cores. Measured on 2 cores (compiled ENet,
100 clip frames, bench/README.md): inference on both threads streamed 25 % of engine fps with the
default spin and 87-97 % with GOMP_SPINCOUNT=1000, where inference on one thread fewer reaches about 60 %.

libgomp reads the setting once, when torch loads it, so it must be in the environment before the
first `import torch`: the CLI's stream commands set it (`ask_short_spin`); a process embedding the
pipeline sets it itself (or OMP_WAIT_POLICY=PASSIVE) before importing torch.
"""
from __future__ import annotations

import os
import sys

SHORT_SPINCOUNT = 1000
_LONGEST_SHORT = 10_000  # a spin count up to this leaves the other stages their core (measured: 1000 and 10000)


def ask_short_spin() -> None:
    """Put GOMP_SPINCOUNT=1000 in the environment unless the user set it, or torch is already loaded
    (then it would mean nothing and is left alone)."""
    if "torch" not in sys.modules:
        os.environ.setdefault("GOMP_SPINCOUNT", str(SHORT_SPINCOUNT))


def spins_short() -> bool:
    """True where the environment asks OpenMP threads to sleep soon after their work (passive wait
    or a short spin count), as it was when torch loaded libgomp unless it changed since."""
    if os.environ.get("OMP_WAIT_POLICY", "").strip().lower() == "passive":
        return True
    try:
        return int(os.environ.get("GOMP_SPINCOUNT", "")) <= _LONGEST_SHORT
    except ValueError:  # unset, "infinite" or a suffixed count: libgomp's long spin
        return False
