"""The `edgeseg calib` / `edgeseg calibrate` commands, end to end on a synthetic dataset in CamVid's
layout and classes (ENet at 32x48)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from synthetic_data import SyntheticDataset
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.data.palettes import CAMVID_CLASSES
from edgeseg.quant.calibset import CalibrationSet


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A CamVid-layout dataset of synthetic scenes, a recipe for ENet at 32x48, and random weights with a manifest."""
    import torch

    from edgeseg.manifest import Manifest
    from edgeseg.registry import create_model
    from edgeseg.train.checkpoint import save_weights

    root = tmp_path_factory.mktemp("proj")
    data = root / "data"
    for split, n, seed in (("train", 20, 0), ("val", 3, 50)):
        (data / split).mkdir(parents=True)
        (data / f"{split}annot").mkdir()
        lines = []
        scenes = SyntheticDataset(n, (32, 48), len(CAMVID_CLASSES), seed=seed)
        for i in range(n):
            img, lbl = scenes[i]
            Image.fromarray(img).save(data / split / f"{i}.png")
            Image.fromarray(lbl).save(data / f"{split}annot" / f"{i}.png")
            lines.append(f"/{split}/{i}.png /{split}annot/{i}.png")
        (data / f"{split}.txt").write_text("\n".join(lines) + "\n")
    recipe = root / "tiny.toml"
    recipe.write_text(f"""
name = "tiny"
[model]
name = "enet"
num_classes = 11
[data]
path = "{data}"
classes = {json.dumps(CAMVID_CLASSES)}
ignore_index = 11
input_size = [32, 48]
[calibration]
manifest = "{root / 'calib.json'}"
images = 12
[targets]
max_int8_miou_drop = 100.0
""")
    torch.manual_seed(0)
    weights = root / "enet.safetensors"
    save_weights(weights, create_model("enet", num_classes=11))
    m = Manifest(model="enet", num_classes=11, input_size=(32, 48), format="weights", classes=list(CAMVID_CLASSES), ignore_index=11)
    m.record_hash(weights)
    m.save(weights)
    return root, recipe, weights


def test_calib_select_writes_a_manifest_that_covers_every_class(project):
    root, recipe, _ = project
    result = CliRunner().invoke(app, ["calib", "select", str(recipe), "--per-class", "1"])
    assert result.exit_code == 0, result.output
    cs = CalibrationSet.load(root / "calib.json")
    assert len(cs.images) == 12 and cs.split == "train"
    # every class of the training split is in the 12 images (sky, road and 9 object classes)
    assert cs.coverage.missing == [c for c, s in zip(cs.coverage.classes, cs.coverage.share_train) if s == 0] == []
    cs.verify(root / "data")
    report = CliRunner().invoke(app, ["calib", "report", str(root / "calib.json")])
    assert report.exit_code == 0 and "Bicyclist" in report.output


def test_calibrate_writes_int8_graph_cache_and_precision_map(project):
    import edgeseg
    from edgeseg.manifest import Manifest
    from edgeseg.quant.trt_cache import read_cache

    root, recipe, weights = project
    if not (root / "calib.json").is_file():
        CliRunner().invoke(app, ["calib", "select", str(recipe), "--per-class", "1"])
    out = root / "out"
    result = CliRunner().invoke(app, ["calibrate", str(recipe), "--weights", str(weights), "--method", "max",
                                      "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    m = Manifest.load(out / "model.int8.onnx")
    q = m.extra["quantization"]
    assert m.precision == "int8" and q["method"] == "max" and q["tensorrt_unsupported_ops"] == []
    assert len(q["precision_map"]) == 89  # ENet's weighted layers; three have no TensorRT INT8 kernel
    assert sorted(k for k, v in q["precision_map"].items() if v == "float") == sorted(q["float_layers"])
    assert "/initial/conv/Conv" in q["float_layers"] and len(q["float_layers"]) == 3
    head, amax = read_cache(out / "calibration.cache")
    assert head == "TRT-100300-EntropyCalibration2"
    assert amax.keys() == json.loads((out / "scales.json").read_text())["amax"].keys()
    with edgeseg.load(out / "model.int8.onnx") as seg:
        assert seg.runner.precision == "int8"
        assert seg.predict(np.zeros((32, 48, 3), np.uint8)).shape == (32, 48)


def test_calibrate_without_a_calibration_set_says_how_to_make_one(project, tmp_path):
    _, recipe, weights = project
    result = CliRunner().invoke(app, ["calibrate", str(recipe), "--weights", str(weights), "--calib", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "edgeseg calib select" in result.output


def test_build_int8_calibrates_through_the_recipe_and_measures_both_graphs(project):
    """`edgeseg build --int8` on a model name (its recipe found in recipes/) or a recipe: the Q/DQ
    graph is calibrated on the recipe's calibration set and becomes the folder's primary artifact."""
    from edgeseg.manifest import Manifest

    root, recipe, weights = project
    if not (root / "calib.json").is_file():
        CliRunner().invoke(app, ["calib", "select", str(recipe), "--per-class", "1"])
    out = root / "built"
    result = CliRunner().invoke(app, ["build", str(recipe), "--weights", str(weights), "--int8", "--data", str(root / "data"),
                                      "--max-images", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "INT8 skipped" not in result.output and (out / "model.int8.onnx").is_file()
    m = Manifest.load(out)
    assert m.precision == "int8" and m.format == "onnx" and m.extra["recipe"] == "tiny"
    assert set(m.metrics["miou"]) == {"onnxruntime-fp32", "onnxruntime-int8"} and m.extra["precision_map"]["onnx-int8"]
    assert m.extra["build"]["command"].startswith(f"edgeseg build {recipe} --int8 ") and "--data" in m.extra["build"]["command"]



def test_without_method_calibrate_takes_the_recipe_s_calibrator(project):
    from edgeseg.manifest import Manifest

    root, recipe, weights = project
    if not (root / "calib.json").is_file():
        CliRunner().invoke(app, ["calib", "select", str(recipe), "--per-class", "1"])
    variant = root / "tiny-percentile.toml"
    variant.write_text(recipe.read_text().replace("[calibration]\n", '[calibration]\nmethod = "percentile"\npercentile = 99.9\n'))
    out = root / "by-recipe"
    result = CliRunner().invoke(app, ["calibrate", str(variant), "--weights", str(weights), "--max-images", "1", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert Manifest.load(out / "model.int8.onnx").extra["quantization"]["method"] == "percentile-99.9"
    assert json.loads((out / "report.json").read_text())["methods_val_miou_pct"].keys() == {"percentile-99.9"}
