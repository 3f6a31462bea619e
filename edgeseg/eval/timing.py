"""The one timing loop: seconds per call, measured interleaved so that load which comes and goes
hits every contender alike. Used by `build` (fps in the manifest), `bench` (engine latency) and
the scripts under bench/."""
from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np


def time_interleaved(calls: Mapping[str, Callable[[], object]], warmup: int, runs: int, settle: int = 0) -> dict[str, np.ndarray]:
    """Seconds of each call in `calls`, `runs` rounds after `warmup` untimed rounds; one timed call of
    each per round. `settle` untimed calls of the same path come first in each round: a thread pool
    that spins after returning (OpenMP's, ONNX Runtime's default) takes cores from whatever is
    timed next, and these calls absorb it."""
    times: dict[str, list[float]] = {k: [] for k in calls}
    for i in range(warmup + runs):
        for key, call in calls.items():
            for _ in range(settle):
                call()
            start = time.perf_counter()
            call()
            if i >= warmup:
                times[key].append(time.perf_counter() - start)
    return {k: np.asarray(v) for k, v in times.items()}


def fps(call: Callable[[], object], warmup: int = 2, runs: int = 10) -> float:
    """Calls per second of `call` after `warmup` untimed calls."""
    seconds = time_interleaved({"call": call}, warmup, runs)["call"]
    return runs / float(seconds.sum())
