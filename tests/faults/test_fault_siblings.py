"""Siblings of issue 13's defects, found by trying other commands and flags: outputs that are
inputs, numbers out of range (NaN, negative, zero), usage errors; each one line and exit code 2."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_checks import assert_one_line_error
from fault_inputs import write_video
from typer.testing import CliRunner

from edgeseg.cli import app

REPO = Path(__file__).resolve().parents[2]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_an_output_that_is_an_input_is_refused_before_it_is_overwritten(tmp_path, weights):
    video = write_video(tmp_path / "clip.avi", 3)
    before = video.read_bytes()
    assert_one_line_error(invoke("run", "--video", video, "--artifact", weights, "--out", video), "--out", "is also --video")
    assert_one_line_error(invoke("run", "--video", video, "--artifact", weights, "--out", tmp_path / "o.avi", "--stats", tmp_path / "o.avi"), "--stats", "is also --out")
    assert video.read_bytes() == before
    assert_one_line_error(invoke("export", "enet", "--weights", weights, "--out", weights, "--no-verify"), "is also --weights")


@pytest.mark.parametrize("args, fragment", [
    (["build", "enet", "--weights", "{w}", "--workspace", "-1"], "--workspace must be a positive number"),
    (["build", "enet", "--weights", "{w}", "--workspace", "nan"], "--workspace must be a positive number"),
    (["build", "enet", "--weights", "{w}", "--dla-core", "-1"], "--dla-core must be 0 or more"),
    (["export", "enet", "--num-classes", "0", "--no-verify"], "num_classes=0"),
    (["export", "enet", "--num-classes", "-2", "--no-verify"], "num_classes=-2"),  # was a torch traceback
    (["calibrate", "enet", "--weights", "{w}", "--method", "percentile", "--percentile", "nan", "--no-progress"], "--percentile must be in (0, 100]"),
    (["calibrate", "enet", "--weights", "{w}", "--max-miou-drop", "-1", "--no-progress"], "--max-miou-drop must be 0 or more"),
])
def test_numbers_out_of_range_are_one_line(tmp_path, weights, args, fragment):
    assert_one_line_error(invoke(*[a.format(w=weights) for a in args], "--out", tmp_path / "out"), fragment)
    assert not (tmp_path / "out").exists()


def test_usage_errors_from_the_console_script_are_one_line():
    """Click prints a usage block and, with rich, a framed panel; the entry point makes it one line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args, fragment in ((["run", "--alpha", "nan"], "'--alpha'"), (["run", "--bogus"], "--bogus"), (["nosuch"], "nosuch")):
        p = subprocess.run([sys.executable, "-m", "edgeseg.cli", *args], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and p.stdout == "", (p.stdout, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], p.stderr
