"""`edgeseg bench` end to end on a tiny ENet and a synthetic dataset."""
from __future__ import annotations

import csv
import json

import pytest
import torch
from artifact_factory import tiny_manifest, tiny_model, write_camvid_listings, write_image_folder, write_weights
from typer.testing import CliRunner

import edgeseg.weights
from edgeseg.cli import app
from edgeseg.data import image_folder
from edgeseg.eval.evaluate import evaluate
from edgeseg.segmenter import Segmenter
from edgeseg.train.checkpoint import save_weights


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the stream runs its stages in threads already (see tests/stream/conftest.py)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("data"), n=3)


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    """A tiny ENet posing as the bundled `enet-camvid` weights."""
    path = tmp_path / "weights" / "enet-camvid.safetensors"
    path.parent.mkdir()
    save_weights(path, tiny_model())
    manifest = tiny_manifest()
    manifest.record_hash(path)
    manifest.save(path)
    monkeypatch.setattr(edgeseg.weights, "WEIGHTS_DIR", path.parent)
    return path


def bench(*args):
    return CliRunner().invoke(app, ["bench", *map(str, args), "--warmup", "1", "--iters", "3"])


def test_bench_by_name_measures_what_runs_and_skips_the_rest_with_reasons(data, bundled, tmp_path):
    result = bench("enet", "--data", data, "--backends", "torch,onnxruntime,tensorrt", "--precisions", "fp32,int8", "--out-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out" / "bench.csv").open()))
    assert [(r["backend"], r["precision"]) for r in rows] == [("torch", "fp32"), ("onnxruntime", "fp32")]
    for r in rows:
        assert float(r["engine_fps"]) > 0 and float(r["stream_fps"]) > 0 and int(r["images"]) == 3
        assert float(r["engine_p50_ms"]) <= float(r["engine_p99_ms"])
    # the stream's mIoU is the same number `edgeseg eval` computes on those images
    with Segmenter.load(bundled, backend="torch") as seg:
        expected = evaluate(seg, image_folder(data), progress=False).miou()
    assert float(rows[0]["miou"]) == pytest.approx(expected, abs=1e-9)
    assert float(rows[1]["miou"]) == pytest.approx(expected, abs=0.02)  # ONNX Runtime: same maps up to float ties

    report = json.loads((tmp_path / "out" / "bench.json").read_text())
    skipped = {(s["backend"], s["precision"]): s["reason"] for s in report["skipped"]}
    assert set(skipped) == {("torch", "int8"), ("onnxruntime", "int8"), ("tensorrt", "fp32"), ("tensorrt", "int8")}
    assert "edgeseg build MODEL --int8" in skipped[("onnxruntime", "int8")] and "TensorRT" in skipped[("tensorrt", "fp32")]
    assert sum(line.startswith("skipped enet ") for line in result.stdout.splitlines()) == 4
    assert (tmp_path / "out" / "pareto.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_a_weights_file_at_each_precision_like_a_name(data, tmp_path):
    weights = write_weights(tmp_path, tiny_model())
    result = bench(weights, "--data", data, "--backends", "torch,tensorrt", "--precisions", "fp32,int8", "--out-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out" / "bench.csv").open()))
    assert [(r["model"], r["artifact"], r["backend"], r["precision"]) for r in rows] == [("enet", weights.name, "torch", "fp32")]
    skipped = {(s["backend"], s["precision"]) for s in json.loads((tmp_path / "out" / "bench.json").read_text())["skipped"]}
    assert skipped == {("torch", "int8"), ("tensorrt", "fp32"), ("tensorrt", "int8")}


def test_bench_an_exported_artifact_runs_as_exported(data, tmp_path):
    from edgeseg.export.onnx import export_onnx

    onnx = export_onnx(tiny_model(), tmp_path / "enet.onnx", (64, 96), unpool="native", manifest=tiny_manifest("onnx"))
    result = bench(onnx, "--data", data, "--backends", "onnxruntime,torch", "--precisions", "fp32", "--out-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out" / "bench.csv").open()))
    assert [(r["artifact"], r["backend"], r["precision"]) for r in rows] == [("enet.onnx", "onnxruntime", "fp32")]
    assert "cannot run on the torch back end" in result.stdout


def test_bench_errors_are_one_line(data, tmp_path):
    for args, words in [
        (["enet", "--data", data, "--backends", "tpu"], "--backends must be one of"),
        (["enet", "--data", tmp_path / "nowhere"], "does not exist"),
        (["enet", "--data", data, "--input-size", "360"], "HxW"),
    ]:
        result = bench(*args)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr


def test_bench_measures_bf16_where_the_cpu_has_it_and_says_why_not_elsewhere(data, bundled, tmp_path):
    from edgeseg._optional import available
    from edgeseg.hardware import cpu_has_bf16

    # bf16 alone: each compiled precision costs an inductor compile (the slowest step of this suite)
    backends = "torch,compiled" + (",openvino" if available("openvino") else "")
    result = bench("enet", "--data", data, "--backends", backends, "--precisions", "bf16", "--out-dir", tmp_path / "out")
    if not cpu_has_bf16():  # every combination skipped, each with its reason
        assert result.exit_code == 2 and "nothing could be measured" in result.stderr, result.output
        assert "compiled or openvino" in result.stdout and "avx512_bf16" in result.stdout, result.stdout
        return
    assert result.exit_code == 0, result.output
    rows = {(r["backend"], r["precision"]): r for r in csv.DictReader((tmp_path / "out" / "bench.csv").open())}
    skipped = {(s["backend"], s["precision"]): s["reason"] for s in json.loads((tmp_path / "out" / "bench.json").read_text())["skipped"]}
    assert "compiled or openvino" in skipped[("torch", "bf16")]
    assert ("compiled", "bf16") in rows
    # bf16 changes a few class-map pixels at most: its mIoU is measured, close to fp32 eager's
    with Segmenter.load(bundled, backend="torch") as seg:
        fp32 = evaluate(seg, image_folder(data), progress=False).miou()
    assert float(rows[("compiled", "bf16")]["miou"]) == pytest.approx(fp32, abs=0.05)


def test_bench_on_one_sequence_of_joined_listings(tmp_path):
    """`--split train --split val --sequence B`: only drive B's frames, from both listings."""
    import dataclasses

    from edgeseg.data.palettes import CAMVID_CLASSES
    from edgeseg.registry import create_model

    weights = tmp_path / "enet11.safetensors"
    save_weights(weights, create_model("enet", num_classes=11))
    manifest = dataclasses.replace(tiny_manifest(), num_classes=11, classes=list(CAMVID_CLASSES), ignore_index=11)
    manifest.record_hash(weights)
    manifest.save(weights)

    root = write_camvid_listings(tmp_path / "camvid", {"train": ["A_00001", "B_00001", "B_00002"], "val": ["A_00002", "B_00003"]})
    # the recipe that 'trained' the weights, recorded beside them: train+val without drive B
    from edgeseg.recipe import load_recipe

    recipe = load_recipe("enet-camvid")
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, path=str(root), train_split=["train", "val"], holdout_sequences=["B"]))
    (tmp_path / "recipe.json").write_text(json.dumps(recipe.to_dict()))
    result = bench(weights, "--data", root, "--split", "train", "--split", "val", "--sequence", "B", "--backends", "torch",
                   "--precisions", "fp32", "--out-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert report["images"] == 3 and report["split"] == "train+val, sequences B"
    assert report["trained_frames"] == {str(weights): 0} and "nor any frame of their drives, trained these weights" in result.output
    assert [r["images"] for r in report["rows"]] == [3]
