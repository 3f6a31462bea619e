"""`edgeseg eval` end to end, and bad input: one line on stderr, exit code 2, never a traceback."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_factory import tiny_model, write_garbage, write_image_folder, write_weights
from cli_checks import assert_one_line_error
from edgeseg.cli import app
from edgeseg.data import image_folder
from edgeseg.eval.evaluate import evaluate
from edgeseg.segmenter import Segmenter

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_weights(tmp_path_factory.mktemp("weights"), tiny_model())



def test_eval_prints_a_table_and_writes_json_that_matches_evaluate(data, weights, tmp_path):
    out = tmp_path / "res.json"
    result = CliRunner().invoke(app, ["eval", str(weights), "--data", str(data), "--json", str(out), "--no-progress", "--backend", "torch"])
    assert result.exit_code == 0, result.output
    assert "mIoU" in result.stdout and "pixel accuracy" in result.stdout and "class3" in result.stdout
    got = json.loads(out.read_text())
    with Segmenter.load(weights, backend="torch") as seg:
        expected = evaluate(seg, image_folder(data), progress=False).summary(seg.classes)
    assert got["miou"] == pytest.approx(expected["miou"]) and got["pixel_accuracy"] == pytest.approx(expected["pixel_accuracy"])
    assert got["per_class_iou"] == pytest.approx(expected["per_class_iou"])
    assert got["label_share"] == pytest.approx(expected["label_share"]) and sum(got["label_share"].values()) == pytest.approx(1.0)
    assert "pixels %" in result.stdout
    assert (got["backend"], got["images"], got["model"]) == ("torch", 3, "enet")
    assert "whether these frames are unseen is not known" in result.stdout and got["trained_frames"] is None  # no recipe beside


def test_eval_unknown_model_name(data):
    assert_one_line_error(CliRunner().invoke(app, ["eval", "enett", "--data", str(data)]), "unknown model 'enett'", "enet")


@pytest.mark.parametrize("name, fmt", [("bad.onnx", "onnx"), ("bad.pt", "torchscript"), ("bad.safetensors", "weights")])
def test_eval_corrupt_artifact(data, tmp_path, name, fmt):
    path = write_garbage(tmp_path / name, fmt)
    assert_one_line_error(CliRunner().invoke(app, ["eval", str(path), "--data", str(data)]), name)


def test_eval_manifest_hash_mismatch(data, weights, tmp_path):
    copy = tmp_path / weights.name
    copy.write_bytes(weights.read_bytes()[:-1] + b"\1")
    shutil.copy(str(weights) + ".json", str(copy) + ".json")
    assert_one_line_error(CliRunner().invoke(app, ["eval", str(copy), "--data", str(data)]), "sha256")


def test_eval_non_image_file_as_model_or_in_the_data(data, weights, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert_one_line_error(CliRunner().invoke(app, ["eval", str(text), "--data", str(data)]), "not an edgeseg artifact")
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    (broken / "images" / "001.png").write_text("not a picture")
    # on torch eager: the compiled back end's compile (tens of seconds) is not what this checks
    assert_one_line_error(CliRunner().invoke(app, ["eval", str(weights), "--data", str(broken), "--no-progress", "--backend", "torch"]), "cannot read image")


def test_eval_missing_dataset(weights, tmp_path):
    assert_one_line_error(CliRunner().invoke(app, ["eval", str(weights), "--data", str(tmp_path / "nowhere")]), "does not exist")


def test_the_real_entry_point_exits_2_with_one_stderr_line(data):
    """`python cli.py` and the installed `edgeseg` script both go through edgeseg.cli.main."""
    commands = [[sys.executable, str(REPO / "cli.py")]]
    script = Path(sys.executable).with_name("edgeseg")
    if script.is_file():
        commands.append([str(script)])
    for command in commands:
        proc = subprocess.run([*command, "eval", "enett", "--data", str(data)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: unknown model 'enett'."), proc.stderr
