"""Trains a tiny BN-free network on synthetic scenes, as one process or as a torchrun rank.

    python ddp_worker.py OUT BATCH              # one process, global batch BATCH
    torchrun --nproc_per_node 2 ddp_worker.py OUT BATCH/2

The network has no batch norm: per-rank batch statistics differ from the global batch's by
definition, and SyncBatchNorm has no CPU kernel, so equality is only claimed without BN.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

from edgeseg.recipe import recipe_from_dict
from edgeseg.train.trainer import Dist, Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared test helpers (run as a script)
from synthetic_data import SyntheticDataset  # noqa: E402


def tiny_net(num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, num_classes, 1))


def main(out: str, batch: int) -> None:
    d = Dist.from_env()
    if d.world > 1:
        dist.init_process_group("gloo")
    recipe = recipe_from_dict({
        "name": "ddp-check",
        "model": {"name": "tiny", "num_classes": 4},
        "data": {"classes": ["a", "b", "c", "d"], "ignore_index": 255, "input_size": [32, 48]},
        # Scale 1 and a full-size crop: no padded (ignored) pixels, so every rank's loss averages
        # the same number of pixels and the mean of rank means is the global mean.
        "augment": {"scale": [1.0, 1.0], "crop": [32, 48], "brightness": 0.1},
        "train": {"epochs": 2, "batch_size": batch, "lr": 3e-3, "class_weighting": "none", "workers": 0, "precision": "fp32",
                  "channels_last": False, "seed": 3},
    })
    torch.manual_seed(0)
    trainer = Trainer(recipe, tiny_net(4), SyntheticDataset(n=16, size=(32, 48), num_classes=4), None, out, dist=d, progress=False)
    trainer.fit()
    if d.main:
        torch.save(trainer.model.state_dict(), Path(out) / "weights.pt")
    if d.world > 1:
        # both ranks leave together: a rank tearing gloo down while the other still holds the
        # group aborted once with "terminate called without an active exception" (CI, session 4)
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
