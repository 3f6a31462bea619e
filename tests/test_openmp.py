"""The OpenMP spin setting: read from the environment, and asked for only before torch loads."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgeseg.openmp import spins_short


@pytest.mark.parametrize(("env", "short"), [
    ({}, False),
    ({"GOMP_SPINCOUNT": "1000"}, True),
    ({"GOMP_SPINCOUNT": "300000"}, False),
    ({"GOMP_SPINCOUNT": "infinite"}, False),
    ({"GOMP_SPINCOUNT": "10k"}, False),
    ({"OMP_WAIT_POLICY": "PASSIVE"}, True),
    ({"OMP_WAIT_POLICY": "active"}, False),
])
def test_spins_short_reads_the_environment(monkeypatch, env, short):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert spins_short() is short


def _after_ask(code_before: str, env: dict[str, str]) -> str:
    code = f"{code_before}\nimport os\nfrom edgeseg.openmp import ask_short_spin\nask_short_spin()\nprint(os.environ.get('GOMP_SPINCOUNT'))"
    clean = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True).stdout.strip()


def test_ask_short_spin_sets_it_before_torch_loads():
    assert _after_ask("", {}) == "1000"


def test_ask_short_spin_keeps_the_users_setting():
    assert _after_ask("", {"GOMP_SPINCOUNT": "50000"}) == "50000"


def test_ask_short_spin_does_nothing_once_torch_is_loaded():
    # libgomp has read its setting by then: writing one would only mislead spins_short
    assert _after_ask("import torch", {}) == "None"


def test_the_cli_does_not_load_torch_before_a_command_runs():
    code = "import sys, edgeseg.cli, edgeseg.commands.run, edgeseg.commands.bench; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
