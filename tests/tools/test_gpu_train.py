"""tools/gpu_train.py: job specs, and the pieces a GPU lease sends back unpack to loadable weights."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from artifact_factory import tiny_model, write_weights
from edgeseg.manifest import Manifest
from edgeseg.precision import Precision
from edgeseg.train.checkpoint import load_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import gpu_train  # noqa: E402


def test_a_job_spec_names_its_group_recipe_cap_and_overrides():
    job = gpu_train.Job.parse("linknet.all=linknet-camvid:600:data.holdout_sequences=[]:train.lr=1e-3")
    assert (job.name, job.group, job.recipe, job.max_epochs) == ("linknet.all", "linknet", "linknet-camvid", 600)
    assert job.overrides == ["data.holdout_sequences=[]", "train.lr=1e-3"]
    cmd = job.command("data", Path("out"), 174, ["train.eval_every=7"], "cuda")
    assert cmd[cmd.index("--epochs") + 1] == "174" and cmd[-2:] == ["--set", "train.eval_every=7"]


def test_packed_runs_come_back_as_fp16_weights_whose_manifest_verifies(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_train, "PIECE", 200_000)  # force several pieces
    run = tmp_path / "runs" / "enet.holdout"
    run.mkdir(parents=True)
    model = tiny_model()
    weights = write_weights(run, model).rename(run / "final.safetensors")
    Manifest.path_for(run / "enet.safetensors").rename(Manifest.path_for(weights))
    (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 1.0}) + "\n")
    (tmp_path / "runs" / "summary.json").write_text("[]")
    out = tmp_path / "out"
    out.mkdir()
    gpu_train.pack_runs(tmp_path / "runs", out)
    assert len(list(out.glob("runs.tar.*"))) > 1
    gpu_train.unpack(out, tmp_path / "back")
    back = tmp_path / "back" / "enet.holdout" / "final.safetensors"
    manifest = Manifest.load(back)
    manifest.verify(back.parent)  # the hash is the fp16 file's
    assert manifest.precision is Precision.FP16_STORAGE
    loaded = load_weights(back, tiny_model())
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        if a.is_floating_point():
            assert torch.allclose(a, b, rtol=1e-3, atol=1e-4), name
    assert (tmp_path / "back" / "enet.holdout" / "metrics.jsonl").read_text().startswith('{"epoch": 1')
