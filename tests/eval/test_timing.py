"""Interleaved timing: one timed call per path per round, after `settle` untimed calls of the same path."""
from __future__ import annotations

from edgeseg.eval.timing import time_interleaved


def test_settle_calls_run_before_each_timed_call_and_are_not_timed():
    order: list[str] = []
    calls = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    times = time_interleaved(calls, warmup=1, runs=2, settle=2)
    assert order == ["a", "a", "a", "b", "b", "b"] * 3
    assert {k: len(v) for k, v in times.items()} == {"a": 2, "b": 2}


def test_without_settle_each_round_calls_each_path_once():
    order: list[str] = []
    time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, warmup=0, runs=3)
    assert order == ["a", "b"] * 3
