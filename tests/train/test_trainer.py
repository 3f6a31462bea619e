"""Trainer on synthetic scenes: it learns, it resumes exactly, it rejects bad recipes and checkpoints."""
from __future__ import annotations

import json

import pytest
import torch

from synthetic_data import SyntheticDataset
from edgeseg.errors import ArtifactError
from edgeseg.recipe import RECIPES_DIR, ClassWeighting, Loss, RecipeError, Schedule, load_recipe, recipe_from_dict
from edgeseg.registry import create_model
from edgeseg.train.checkpoint import load_checkpoint
from edgeseg.train.schedules import lr_factor
from edgeseg.train.trainer import Trainer


def tiny_recipe(**train) -> dict:
    return {
        "name": "tiny",
        "model": {"name": "enet", "num_classes": 4},
        "data": {"classes": ["a", "b", "c", "d"], "ignore_index": 255, "input_size": [48, 64]},
        "augment": {"scale": [0.9, 1.1], "crop": [40, 56], "brightness": 0.1},
        "train": {"epochs": 4, "batch_size": 4, "lr": 5e-3, "eval_every": 2, "class_weighting": "enet", **train},
    }


def make_trainer(tmp_path, name="run", **train) -> Trainer:
    torch.manual_seed(0)
    train.setdefault("precision", "fp32")  # the same arithmetic on every CPU; the bf16 path has its own tests
    r = recipe_from_dict(tiny_recipe(**train))
    data = SyntheticDataset(n=8, size=(48, 64), num_classes=4)
    return Trainer(r, create_model("enet", num_classes=4), data, SyntheticDataset(n=2, size=(48, 64), num_classes=4, seed=100), tmp_path / name, progress=False)


def test_a_few_steps_lower_the_loss(tmp_path):
    t = make_trainer(tmp_path, epochs=30)
    first = t.train_epoch()["loss"]
    for _ in range(15):
        last = t.train_epoch()["loss"]
    assert last < 0.7 * first, (first, last)


def test_fit_writes_run_folder(tmp_path):
    t = make_trainer(tmp_path)
    record = t.fit()
    run = tmp_path / "run"
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert "val_miou" in rows[1] and "val_miou" not in rows[0]
    assert (run / "best.safetensors").is_file() and (run / "last.pt").is_file()
    manifest = json.loads((run / "best.safetensors.json").read_text())
    assert manifest["model"] == "enet" and manifest["metrics"]["val_miou"] == pytest.approx(record["best_val_miou"])
    assert json.loads((run / "recipe.json").read_text())["train"]["epochs"] == 4


def test_resume_follows_the_same_schedule(tmp_path):
    straight = make_trainer(tmp_path, "straight")
    straight.fit()
    interrupted = make_trainer(tmp_path, "interrupted")
    interrupted.fit(epochs=2)  # "killed" after epoch 2
    resumed = make_trainer(tmp_path, "interrupted")
    resumed.resume(tmp_path / "interrupted" / "last.pt")
    assert resumed.epoch == 2
    assert resumed.scheduler.last_epoch == interrupted.scheduler.last_epoch
    for k, v in interrupted.optimizer.state_dict()["state"][0].items():
        assert torch.equal(torch.as_tensor(v), torch.as_tensor(resumed.optimizer.state_dict()["state"][0][k]))
    resumed.fit()
    assert resumed.epoch == straight.epoch == 4
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), k


def test_unknown_or_misspelt_key_is_named(tmp_path):
    raw = tiny_recipe()
    raw["train"]["learning_rate"] = 0.1
    with pytest.raises(RecipeError, match="train.learning_rate"):
        recipe_from_dict(raw)
    raw = tiny_recipe()
    raw["augmnet"] = {}
    with pytest.raises(RecipeError, match="'augmnet'.*did you mean 'augment'"):
        recipe_from_dict(raw)
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "enet"\n[train]\nepocs = 3\n')
    with pytest.raises(RecipeError, match="train.epocs.*did you mean 'epochs'"):
        load_recipe(str(bad))


def test_wrong_type_is_rejected():
    raw = tiny_recipe(epochs="ten")
    with pytest.raises(RecipeError, match="train.epochs must be an integer"):
        recipe_from_dict(raw)


@pytest.mark.parametrize("key, value, choices", [("loss", "focal", "cross_entropy"), ("schedule", "step", "poly, cosine, constant"),
                                                  ("class_weighting", "inverse", "enet, median, none")])
def test_a_value_outside_a_vocabulary_is_refused_not_ignored(key, value, choices):
    with pytest.raises(RecipeError, match=f"train.{key} must be one of {choices}, got '{value}'"):
        recipe_from_dict(tiny_recipe(**{key: value}))


def test_vocabulary_values_arrive_as_members():
    t = recipe_from_dict(tiny_recipe(schedule="cosine", class_weighting="median")).train
    assert (t.schedule, t.class_weighting, t.loss) == (Schedule.COSINE, ClassWeighting.MEDIAN, Loss.CROSS_ENTROPY)
    assert lr_factor(t.schedule, 50, 100) == pytest.approx(0.5)


def test_shipped_recipes_load():
    names = sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))
    assert {"enet-camvid", "linknet-camvid", "deeplabv3plus-mobilenetv2-camvid"} <= set(names)
    for name in names:
        r = load_recipe(name)
        create_model(r.model.name, num_classes=r.model.num_classes, **r.model.kwargs)
        assert r.data.classes and len(r.data.classes) == r.model.num_classes


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ArtifactError, match="corrupt"):
        load_checkpoint(bad)
    t = make_trainer(tmp_path)
    t.fit(epochs=1)
    data = (tmp_path / "run" / "last.pt").read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # truncated mid-write
    with pytest.raises(ArtifactError, match="corrupt"):
        load_checkpoint(bad)


def test_the_weight_ema_warms_up_instead_of_keeping_the_init():
    import torch.nn as nn

    from edgeseg.train.ema import WeightEMA

    model = nn.Linear(2, 2, bias=False)
    ema = WeightEMA(model, 0.999)
    for _ in range(50):
        with torch.no_grad():
            model.weight.add_(1.0)
        ema.update_parameters(model)
    # A fixed 0.999 would still sit within 2.5 of the init after 50 steps of +1 each.
    lag = (model.weight - ema.module.weight).abs().max().item()
    assert 1.0 < lag < 10.0, lag


def test_a_recipe_names_its_calibrator():
    from edgeseg.quant.method import Kind, Method

    raw = tiny_recipe()
    assert recipe_from_dict(raw).calibration.calibrator == Method(Kind.ENTROPY)
    raw["calibration"] = {"method": "percentile", "percentile": 99.999}
    assert recipe_from_dict(raw).calibration.calibrator == Method(Kind.PERCENTILE, 99.999)
    raw["calibration"] = {"method": "mse", "percentile": 99.999}  # the percentile goes with its method only
    assert recipe_from_dict(raw).calibration.calibrator == Method(Kind.MSE)
    raw["calibration"] = {"method": "kl"}
    with pytest.raises(RecipeError, match="calibration.method must be one of max, percentile, entropy, mse, got 'kl'"):
        recipe_from_dict(raw)
    raw["calibration"] = {"method": "percentile", "percentile": 100.5}
    with pytest.raises(RecipeError, match=r"calibration.percentile must be in \(0, 100\]"):
        recipe_from_dict(raw)
    assert load_recipe("linknet-camvid").calibration.calibrator == Method(Kind.PERCENTILE, 99.99)
