"""`edgeseg train` end to end on a tiny image folder: run folder, resume, init, errors."""
from __future__ import annotations

import json

from PIL import Image
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.data.synthetic import synthetic_scene

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
