"""`edgeseg eval` and `edgeseg bench` say whether the frames they measure trained the weights,
from the recipe recorded beside them (edgeseg.data.trained_on)."""
from __future__ import annotations

import dataclasses
import json

import pytest
from artifact_factory import write_camvid_listings

from edgeseg.data.splits import Split, open_split
from edgeseg.data.trained_on import recorded_recipe_path, training_overlap
from edgeseg.recipe import load_recipe

LISTINGS = {"train": ["A_00001", "B_00001", "C_00001", "C_00002"], "val": ["A_00002", "B_00002"]}


@pytest.fixture
def camvid(tmp_path):
    return write_camvid_listings(tmp_path / "camvid", LISTINGS, size=(8, 12))


def weights_trained_on(folder, train_split: list[str], holdout: list[str], data: str = "/elsewhere/camvid"):
    """A weights path with the recipe that 'trained' it recorded beside it, as the trainer writes it;
    `data` the folder it trained on (another copy of a dataset named like the measured one counts)."""
    recipe = load_recipe("enet-camvid")
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, path=data, train_split=train_split, holdout_sequences=holdout))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps(recipe.to_dict()))
    return folder / "model.safetensors"


@pytest.mark.parametrize("measured, trained, shared, says", [
    (Split(("val",)), 2, ("A", "B"), "2 of these 2 frames trained these weights"),
    (Split(("train",), sequences=("C",)), 0, (), "nor any frame of their drives"),
])
def test_the_held_out_drive_and_the_trained_frames_are_told_apart(tmp_path, camvid, measured, trained, shared, says):
    weights = weights_trained_on(tmp_path / "run", ["train", "val"], ["C"])
    overlap = training_overlap(camvid, open_split(camvid, measured), weights)
    assert (overlap.trained, overlap.shared_sequences) == (trained, shared) and says in overlap.line()
    assert "recipe enet-camvid" in overlap.line()


def test_other_frames_of_a_drive_it_trained_on_are_said_so(tmp_path, camvid):
    """Trained on the train listing only: val's frames are unseen, their drives are not (CamVid's val)."""
    weights = weights_trained_on(tmp_path / "run", ["train"], [])
    overlap = training_overlap(camvid, open_split(camvid, Split(("val",))), weights)
    assert overlap.trained == 0 and overlap.shared_sequences == ("A", "B") and "other frames of A+B did" in overlap.line()
    assert training_overlap(camvid, open_split(camvid, Split(("val",))), weights, images=1).images == 1


def test_nothing_is_claimed_without_a_recorded_recipe_or_its_listings(tmp_path, camvid):
    val = open_split(camvid, Split(("val",)))
    assert training_overlap(camvid, val, tmp_path / "alone" / "model.onnx") is None
    assert training_overlap(camvid, val, None) is None
    weights = weights_trained_on(tmp_path / "run", ["train", "test"], [])  # this data has no test listing
    assert training_overlap(camvid, val, weights) is None
    other = weights_trained_on(tmp_path / "other", ["train"], [], data="/data/cityscapes")  # listings of the same names, other frames
    assert training_overlap(camvid, val, other) is None


def test_shipped_weights_carry_their_recipe_under_their_own_name(tmp_path):
    (tmp_path / "enet-camvid.recipe.json").write_text("{}")
    assert recorded_recipe_path(tmp_path / "enet-camvid.safetensors") == tmp_path / "enet-camvid.recipe.json"
    assert recorded_recipe_path(tmp_path / "other.safetensors") is None
