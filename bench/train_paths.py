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

import torch

from timing import record_run, time_interleaved

from edgeseg.data.splits import open_split, recipe_splits
from edgeseg.hardware import cpu_has_bf16
from edgeseg.recipe import TrainPrecision, load_recipe
from edgeseg.registry import create_model
from edgeseg.train.trainer import Trainer, evaluate_model, segmentation_loss


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


class Step:
    """One optimiser step of a trainer on a fixed batch, behind the `infer` the timing loop calls."""

    def __init__(self, trainer: Trainer, batch) -> None:
        self.trainer, self.batch = trainer, batch

    def infer(self, _x) -> None:
        t = self.trainer
        x, y = self.batch
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
    steppers = {}
    for name, settings in paths().items():
        t = trainer(settings, 0, scratch / "speed")
        steppers[name] = Step(t, t.batches[0])
    times = time_interleaved(steppers, None, warmup=1, runs=args.steps)
    batch = base.train.batch_size
    for name, ms in times.items():
        rows.append({"path": name, "step_ms_median": float(sorted(ms)[len(ms) // 2]), "img_per_s": 1000 * batch / float(sorted(ms)[len(ms) // 2])})
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
