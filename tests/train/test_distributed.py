"""DistributedDataParallel through torchrun, gloo, 2 CPU processes: the same weights as one
process at the same global batch (per-sample augmentation seeds make the batches identical)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def run(cmd: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="torchrun is not installed beside this Python")
def test_two_processes_match_one_at_the_same_global_batch(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    run([sys.executable, str(WORKER), str(tmp_path / "one"), "8"])
    run([torchrun, "--standalone", "--nproc_per_node", "2", str(WORKER), str(tmp_path / "two"), "4"])
    one = torch.load(tmp_path / "one" / "weights.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "weights.pt", weights_only=True)
    start = torch.load(tmp_path / "one" / "last.pt", weights_only=True)["epoch"]
    assert start == 2
    for k in one:
        assert torch.allclose(one[k], two[k], atol=1e-5, rtol=1e-4), (k, (one[k] - two[k]).abs().max())
    # The check can fail: a different global batch gives different weights.
    run([sys.executable, str(WORKER), str(tmp_path / "other"), "4"])
    other = torch.load(tmp_path / "other" / "weights.pt", weights_only=True)
    assert any(not torch.allclose(one[k], other[k], atol=1e-5, rtol=1e-4) for k in one)
