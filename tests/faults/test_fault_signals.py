"""Issue 13, defect 2: SIGTERM and SIGHUP stop a command the way Ctrl-C does (edgeseg.signals):
`edgeseg run` finishes its video and statistics, leaves no temporary, exits 0 and says so in one line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_inputs import count_frames, write_video

from edgeseg.signals import Stopped, graceful_stop, ignore_stop_signals, signal_name, stop_signals_held

REPO = Path(__file__).resolve().parents[2]


def test_sigterm_becomes_a_named_keyboard_interrupt_and_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as e:
        with graceful_stop() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
    assert isinstance(e.value, Stopped) and signal_name(e.value) == "SIGTERM" and stop.signal_name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal_name(KeyboardInterrupt()) == "SIGINT"  # a bare one is Ctrl-C


def test_polling_mode_sets_the_event_first_and_interrupts_on_the_second_signal():
    with graceful_stop(interrupt=False) as stop:
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):  # a training loop's safe points
            if stop.requested:
                break
            time.sleep(0.01)
        assert stop.requested and stop.signal_name == "SIGHUP"
        with pytest.raises(Stopped):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)


TOTAL = 1000  # far more than the run gets through before the signal (asserted)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("long") / "long.avi", TOTAL)


def _slow_to_ignore(worker_id: int) -> None:
    time.sleep(1.0)  # widens the window between a worker's fork and its init to a second
    ignore_stop_signals(worker_id)


@pytest.mark.parametrize("held", [True, False], ids=["held: the worker lives", "not held: the window this closes"])
def test_a_sigterm_between_a_loader_workers_fork_and_its_init(held):
    """CI saw it: a group-wide SIGTERM reached a just-forked DataLoader worker before its
    `worker_init_fn` ignored it, so training ended in "worker killed" instead of at a checkpoint."""
    import torch

    loader = torch.utils.data.DataLoader(list(range(4)), batch_size=None, num_workers=1, worker_init_fn=_slow_to_ignore)
    if held:
        with stop_signals_held():
            batches = iter(loader)
    else:
        batches = iter(loader)
    assert not signal.pthread_sigmask(signal.SIG_BLOCK, []) & {signal.SIGTERM}  # the parent's mask came back
    os.kill(batches._workers[0].pid, signal.SIGTERM)
    if held:
        assert list(batches) == [0, 1, 2, 3]
    else:
        with pytest.raises(RuntimeError, match="DataLoader worker"):
            list(batches)


# the same path for both; SIGHUP's run only in the slow suite
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGHUP, marks=pytest.mark.slow)], ids=["SIGTERM", "SIGHUP"])
def test_a_real_signal_to_a_real_run_keeps_video_and_stats(tmp_path, weights, long_video, sig):
    video, total = long_video, TOTAL
    out, stats = tmp_path / "o.mp4", tmp_path / "s.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "run", "--video", str(video), "--artifact", str(weights), "--backend", "torch",
                             "--out", str(out), "--stats", str(stats)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("running ")  # the stream has started
    deadline = time.monotonic() + 60
    while not any(tmp_path.glob(".o.*.tmp.mp4")) or next(tmp_path.glob(".o.*.tmp.mp4")).stat().st_size < 2000:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)  # until frames are being written
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    name = signal.Signals(sig).name
    assert err.strip().splitlines() == [line for line in err.strip().splitlines() if line.startswith(f"stopped by {name} after ")] != []
    assert "Traceback" not in err
    summary = json.loads(stats.read_text())
    processed = summary["frames"]["processed"]
    assert 0 < processed < total and summary["stopped_by"] == "interrupted" and summary["signal"] == name
    assert count_frames(out) == processed  # the overlay holds every frame processed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4", "s.json"]  # no temporary left


def test_a_signal_during_a_command_without_a_stop_path_is_one_line_and_writes_nothing(tmp_path, weights, data, monkeypatch):
    from cli_checks import assert_one_line_error
    from typer.testing import CliRunner

    from edgeseg.cli import app

    def killed(*args, **kwargs):  # SIGTERM arrives mid-evaluation
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    monkeypatch.setattr("edgeseg.eval.evaluate.evaluate", killed)
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(app, ["eval", str(weights), "--data", str(data), "--json", str(tmp_path / "r.json"), "--no-progress"])
    assert_one_line_error(result, "stopped by SIGTERM before `eval` finished")
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before  # the CLI put the handler back
