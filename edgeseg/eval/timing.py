"""The one timing loop: seconds per call, measured interleaved so that load which comes and goes
hits every contender alike. Used by `build` (fps in the manifest), `bench` (engine latency) and
the scripts under bench/."""
from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np


def time_interleaved(calls: Mapping[str, Callable[[], object]], warmup: int, runs: int) -> dict[str, np.ndarray]:
    """Seconds of each call in `calls`, `runs` rounds after `warmup` untimed rounds; one call of each per round."""
    times: dict[str, list[float]] = {k: [] for k in calls}
    for i in range(warmup + runs):
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            if i >= warmup:
                times[key].append(time.perf_counter() - start)
    return {k: np.asarray(v) for k, v in times.items()}


def fps(call: Callable[[], object], warmup: int = 2, runs: int = 10) -> float:
    """Calls per second of `call` after `warmup` untimed calls."""
    seconds = time_interleaved({"call": call}, warmup, runs)["call"]
    return runs / float(seconds.sum())
