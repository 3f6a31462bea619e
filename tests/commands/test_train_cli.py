"""`edgeseg train` end to end on a tiny image folder: run folder, resume, init, errors."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cli_checks import assert_one_line_error
from edgeseg.cli import app
from edgeseg.data.synthetic import synthetic_scene

ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()

RECIPE = """
name = "tiny-folder"
[model]
name = "enet"
num_classes = 3
[data]
classes = ["a", "b", "c"]
ignore_index = 255
input_size = [48, 64]
[augment]
scale = [1.0, 1.0]
crop = [48, 64]
[train]
epochs = 2
batch_size = 2
eval_every = 1
"""


def make_folder(root):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("a\nb\nc\n")
    for i in range(4):
        img, lbl = synthetic_scene(48, 64, num_classes=3, seed=i)
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        Image.fromarray(lbl).save(root / "masks" / f"{i}.png")
    return root


def test_train_resume_and_init(tmp_path):
    data = make_folder(tmp_path / "data")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--out", str(run), "--stop-after", "1", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1
    r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--resume", str(run), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "resumed" in r.output and "best val mIoU" in r.output
    assert [json.loads(l)["epoch"] for l in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--init", str(run / "best.safetensors"), "--out", str(tmp_path / "second"), "--epochs", "1", "--no-progress"])
    assert r.exit_code == 0, r.output


def test_train_errors_are_one_line(tmp_path):
    recipe = tmp_path / "typo.toml"
    recipe.write_text(RECIPE.replace("batch_size", "batchsize"))
    r = runner.invoke(app, ["train", str(recipe), "--data", str(tmp_path)])
    assert r.exit_code == 2 and "train.batchsize" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["train", "no-such-recipe"])
    assert r.exit_code == 2 and "no recipe 'no-such-recipe'" in r.output
    r = runner.invoke(app, ["train", str(tmp_path / "typo.toml"), "--resume", str(tmp_path)])
    assert r.exit_code == 2 and "no last.pt" in r.output


def test_recipe_values_that_cannot_train_are_named_before_the_first_step(tmp_path):
    data = make_folder(tmp_path / "data")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE)
    cases = [
        (["--set", "train.epochs=0"], "train.epochs must be at least 1"),
        (["--set", "train.lr=-0.01"], "train.lr must be a positive number"),
        (["--set", "augment.crop=[1800, 2400]"], "augment.crop [1800, 2400] is larger than the training images"),
        (["--set", "train.optimizer='adamm'"], "train.optimizer must be one of adamw, adam, sgd"),
        (["--set", "train.precision='fp16'"], "train.precision fp16 needs a CUDA device"),
    ]
    for extra, message in cases:
        run = tmp_path / f"run-{len(message)}"
        r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--out", str(run), "--no-progress", "--device", "cpu", *extra])
        assert_one_line_error(r, message)
        assert not (run / "last.pt").exists()


def test_a_label_outside_the_classes_names_the_file(tmp_path):
    data = make_folder(tmp_path / "data")
    lbl = np.array(Image.open(data / "masks" / "2.png"))
    lbl[0, 0] = 200
    Image.fromarray(lbl).save(data / "masks" / "2.png")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE)
    r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress"])
    assert_one_line_error(r, "2.png holds value 200")


def test_a_resume_after_a_kill_between_checkpoint_and_log_keeps_one_line_per_epoch(tmp_path):
    data = make_folder(tmp_path / "data")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.replace("epochs = 2", "epochs = 3"))
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--out", str(run), "--stop-after", "2", "--no-progress"])
    assert r.exit_code == 0, r.output
    # What a kill -9 leaves: a repeated epoch line and a temporary from a checkpoint write.
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text("\n".join(lines + lines[-1:]) + "\n")
    (run / ".last.pt.abc123.tmp").write_bytes(b"")
    r = runner.invoke(app, ["train", str(recipe), "--data", str(data), "--resume", str(run), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert [json.loads(l)["epoch"] for l in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert not list(run.glob(".*.tmp"))
    assert (run / "final.safetensors").is_file()
    manifest = json.loads((run / "final.safetensors.json").read_text())
    assert manifest["metrics"]["selection"].startswith("the last epoch")


@pytest.mark.parametrize("to_group, workers", [(False, 0), (True, 1)], ids=["the trainer", "its process group, loader workers too"])
def test_sigterm_stops_training_with_a_checkpoint_and_one_line(tmp_path, to_group, workers):
    """SIGTERM to the trainer, or to its whole process group as a terminal or systemd sends it."""
    data = make_folder(tmp_path / "data")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.replace("epochs = 2", "epochs = 500"))
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "train", str(recipe), "--data", str(data), "--out", str(run), "--no-progress", "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not ((run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").read_text().strip()):
        time.sleep(0.2)
    if to_group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "resume with --resume" in err, err
    epoch = torch.load(run / "last.pt", weights_only=True)["epoch"]
    assert epoch >= 1 and len((run / "metrics.jsonl").read_text().splitlines()) == epoch


def test_torchrun_runs_the_train_command_with_two_processes(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun is not installed beside this Python")
    data = make_folder(tmp_path / "data")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE)
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(ROOT / "cli.py"), "train", str(recipe), "--data", str(data),
                           "--out", str(run), "--no-progress", "--workers", "0", "--batch-size", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "x2" in done.stdout
    assert [json.loads(l)["epoch"] for l in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
