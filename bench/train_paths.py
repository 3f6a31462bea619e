"""Training paths against each other on CamVid: step throughput, interleaved, and the mIoU of
short runs with the same seed, so the fast path's accuracy can be set beside fp32's noise.

    python bench/train_paths.py --data ../shared/data/camvid [--model enet] [--epochs 3]
        [--crop 240 320] [--steps 6] [--json bench/results/train-paths.json]

Paths: fp32 eager (contiguous), fp32 channels_last, fp32 channels_last compiled, and bf16
autocast (+ compiled) where the CPU computes bf16 natively. Throughput: one training step per
path per round, `--steps` rounds after a warm-up round (which holds the one-off compile).
Accuracy: each path trains `--epochs` epochs from the same seed and is scored on the recipe's
held-out sequence; fp32 eager also runs with a second seed, which is the noise to compare with.
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch

from timing import record_run

from edgeseg.data.splits import open_split, recipe_splits
from edgeseg.eval.timing import time_interleaved
from edgeseg.hardware import cpu_has_bf16
from edgeseg.recipe import TrainPrecision, load_recipe
from edgeseg.registry import create_model
from edgeseg.train.trainer import Trainer, segmentation_loss
from edgeseg.train.validation import evaluate_model


def paths() -> dict[str, dict]:
    out = {
        "fp32 eager": {"precision": "fp32", "channels_last": False, "compile": False},
        "fp32 channels_last": {"precision": "fp32", "channels_last": True, "compile": False},
        "fp32 channels_last compiled": {"precision": "fp32", "channels_last": True, "compile": True},
    }
    if cpu_has_bf16():
        out["bf16 channels_last"] = {"precision": "bf16", "channels_last": True, "compile": False}
        out["bf16 channels_last compiled"] = {"precision": "bf16", "channels_last": True, "compile": True}
    return out


def step(t: Trainer, batch) -> None:
    """One optimiser step of `t` on a fixed batch, through the trainer's own path."""
    x, y = batch
    x = x.contiguous(memory_format=t.memory_format)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=t.precision is TrainPrecision.BF16):
        loss = segmentation_loss(t.step_net(x), y, t.class_weights, t.recipe.data.ignore_index, t.recipe.train.aux_weight)
    t.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    t.optimizer.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default="enet", help="recipe prefix: enet, linknet, deeplabv3plus-mobilenetv2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--crop", type=int, nargs=2, default=[240, 320])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    base = load_recipe(f"{args.model}-camvid", {"augment.crop": list(args.crop), "train.epochs": args.epochs, "train.eval_every": args.epochs,
                                                "train.workers": 0, "train.ema_decay": 0.0, "data.path": str(args.data)})
    train_split, val_split = recipe_splits(base.data)
    train, val = open_split(args.data, train_split), open_split(args.data, val_split)

    def trainer(settings: dict, seed: int, run_dir: Path) -> Trainer:
        r = copy.deepcopy(base)
        for k, v in {**settings, "seed": seed}.items():
            setattr(r.train, k, type(getattr(r.train, k))(v))
        torch.manual_seed(seed)
        return Trainer(r, create_model(r.model.name, num_classes=r.model.num_classes, **r.model.kwargs), train, None, run_dir, progress=False)

    rows = []
    scratch = Path("/tmp/edgeseg-train-paths")
    calls = {}
    for name, settings in paths().items():
        t = trainer(settings, 0, scratch / "speed")
        calls[name] = lambda t=t, b=t.batches[0]: step(t, b)
    times = time_interleaved(calls, warmup=1, runs=args.steps)
    for name, seconds in times.items():
        median = float(np.median(seconds))
        rows.append({"path": name, "step_ms_median": 1000 * median, "img_per_s": base.train.batch_size / median})
        print(f"{name:32s} {1000 * median:8.0f} ms/step {base.train.batch_size / median:6.1f} img/s", flush=True)
    runs = [(name, settings, 0) for name, settings in paths().items()] + [("fp32 eager", paths()["fp32 eager"], 1)]
    for name, settings, seed in runs:
        t = trainer(settings, seed, scratch / f"{name.replace(' ', '-')}-{seed}")
        start = time.perf_counter()
        t.fit()
        miou = evaluate_model(t.model, val, t.recipe, torch.device("cpu")).miou()
        row = next(r for r in rows if r["path"] == name)
        row.setdefault("runs", []).append({"seed": seed, "val_miou": miou, "wall_s": time.perf_counter() - start})
        print(f"{name} seed {seed}: {100 * miou:.2f} mIoU on {val.name} after {args.epochs} epochs ({time.perf_counter() - start:.0f} s)", flush=True)
    for r in rows:
        print(f"{r['path']:32s} {r['step_ms_median']:8.0f} ms/step {r['img_per_s']:6.1f} img/s  " + "  ".join(f"seed {x['seed']}: {100 * x['val_miou']:.2f}" for x in r.get("runs", [])))
    record_run(args, rows)


if __name__ == "__main__":
    main()
