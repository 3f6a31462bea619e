"""The training loop: recipe in, run folder out.

Run folder: recipe.toml-as-resolved (recipe.json), metrics.jsonl, last.pt (resumable),
best.safetensors + best.safetensors.json (manifest with val mIoU), curve.png.
Resume restores model, optimiser, schedule, epoch and RNG, and the per-epoch data order is a
function of (seed, epoch), so an interrupted run that is resumed follows the same schedule.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.data.transforms import Augment, fit_size, normalize, to_tensors
from edgeseg.eval.metrics import ConfusionMatrix
from edgeseg.fileio import write_json
from edgeseg.recipe import Recipe
from edgeseg.train.checkpoint import load_checkpoint, save_checkpoint, save_weights
from edgeseg.train.class_weights import compute_class_weights
from edgeseg.train.schedules import lr_factor


@dataclass
class Dist:
    """torchrun's environment; world 1 when launched plainly."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "Dist":
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


class CachedDataset:
    """Decodes every sample once; CamVid train (367 images) is ~190 MB as uint8."""

    def __init__(self, dataset, cache: bool = True) -> None:
        self.dataset = dataset
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.cache = cache

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.cache:
            return self.dataset[i]
        if i not in self._cache:
            self._cache[i] = self.dataset[i]
        return self._cache[i]


def build_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    t = recipe.train
    # No weight decay on norms, biases and PReLU slopes: decaying them only hurts.
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if t.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=t.lr)
    if t.optimizer == "adam":
        return torch.optim.Adam(groups, lr=t.lr)
    if t.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=t.lr, momentum=t.momentum, nesterov=True)
    raise ValueError(f"optimizer must be adamw, adam or sgd, got {t.optimizer!r}")


class TrainView(nn.Module):
    """Training-time view of a model: main logits first, then any auxiliary/deep-supervision
    logits (models that define `forward_train`). A module of its own so DDP can wrap it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if hasattr(self.model, "forward_train"):
            return list(self.model.forward_train(x))
        return [self.model(x)]


def segmentation_loss(outputs: list[torch.Tensor], target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int, aux_weight: float) -> torch.Tensor:
    loss = torch.zeros((), device=target.device)
    for i, out in enumerate(outputs):
        if out.shape[-2:] != target.shape[-2:]:
            out = F.interpolate(out, size=target.shape[-2:], mode="bilinear", align_corners=False)
        term = F.cross_entropy(out.float(), target, weight=weight, ignore_index=ignore_index)
        loss = loss + (term if i == 0 else aux_weight * term)
    return loss


@torch.no_grad()
def evaluate_model(model: nn.Module, dataset, recipe: Recipe, device: torch.device, batch_size: int = 4) -> ConfusionMatrix:
    """Val mIoU at the recipe's input size, through the same normalisation as deployment."""
    d = recipe.data
    cm = ConfusionMatrix(recipe.model.num_classes, d.ignore_index)
    model.eval()
    size = tuple(d.input_size)
    for start in range(0, len(dataset), batch_size):
        imgs, lbls = [], []
        for i in range(start, min(start + batch_size, len(dataset))):
            img, lbl = fit_size(*to_tensors(*dataset[i]), size)
            imgs.append(normalize(img, d.mean, d.std))
            lbls.append(lbl)
        logits = model(torch.stack(imgs).to(device))
        cm.update(logits.argmax(1).cpu().numpy(), torch.stack(lbls).numpy())
    return cm


class Trainer:
    def __init__(
        self,
        recipe: Recipe,
        model: nn.Module,
        train_set,
        val_set,
        run_dir: str | Path,
        device: str = "cpu",
        dist: Dist | None = None,
        progress: bool = True,
        on_epoch: Callable[[dict], None] | None = None,
    ) -> None:
        self.recipe, self.run_dir = recipe, Path(run_dir)
        self.dist = dist or Dist()
        self.device = torch.device(device)
        self.progress = progress and self.dist.main
        self.on_epoch = on_epoch
        t = recipe.train
        torch.manual_seed(t.seed)
        self.train_set = CachedDataset(train_set, t.cache_images)
        self.val_set = CachedDataset(val_set, t.cache_images) if val_set is not None else None
        self.cuda = self.device.type == "cuda"
        self.model = model.to(self.device)
        if self.cuda and t.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.net: nn.Module = TrainView(self.model)
        if self.dist.world > 1:
            self.net = nn.parallel.DistributedDataParallel(self.net, device_ids=[self.dist.local_rank] if self.cuda else None)
        self.optimizer = build_optimizer(recipe, self.model)
        self.steps_per_epoch = max(1, len(self.train_set) // (t.batch_size * self.dist.world))
        total = t.epochs * self.steps_per_epoch
        warm = t.warmup_epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(t.schedule, s, total, warm, t.poly_power)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cuda and t.amp)
        self.augment = Augment(
            tuple(recipe.augment.crop), tuple(recipe.augment.scale), recipe.augment.hflip,
            recipe.augment.brightness, recipe.augment.contrast, recipe.augment.saturation, recipe.data.ignore_index,
        )
        self.class_weights = self._class_weights()
        self.epoch = 0
        self.best_miou = -1.0

    def _class_weights(self) -> torch.Tensor | None:
        t, n = self.recipe.train, self.recipe.model.num_classes
        if t.class_weighting == "none":
            return None
        labels = (self.train_set[i][1] for i in range(len(self.train_set)))
        w = compute_class_weights(t.class_weighting, labels, n, t.enet_c)
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "best_miou": self.best_miou,
            "torch_rng": torch.get_rng_state(),
            "recipe": json.dumps(self.recipe.to_dict()),
        }

    def resume(self, path: str | Path) -> None:
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.best_miou = float(state.get("best_miou", -1.0))
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])

    # -- loop ------------------------------------------------------------------------------
    def _epoch_order(self) -> list[int]:
        g = torch.Generator().manual_seed(self.recipe.train.seed * 100003 + self.epoch)
        order = torch.randperm(len(self.train_set), generator=g).tolist()
        return order[self.dist.rank :: self.dist.world]

    def _batches(self):
        t, d = self.recipe.train, self.recipe.data
        g = torch.Generator().manual_seed(self.recipe.train.seed * 7919 + self.epoch * 31 + self.dist.rank)
        order = self._epoch_order()
        for b in range(self.steps_per_epoch):  # the short last batch is dropped (BN on 1x1 maps)
            idx = order[b * t.batch_size : (b + 1) * t.batch_size]
            pairs = [self.augment(*to_tensors(*self.train_set[i]), g) for i in idx]
            x = normalize(torch.stack([p[0] for p in pairs]), d.mean, d.std)
            y = torch.stack([p[1] for p in pairs])
            yield x, y

    def train_epoch(self, max_steps: int | None = None) -> dict:
        t, d = self.recipe.train, self.recipe.data
        self.net.train()
        losses, seen, t0 = [], 0, time.perf_counter()
        bar = _Progress(self.steps_per_epoch if max_steps is None else min(max_steps, self.steps_per_epoch), f"epoch {self.epoch + 1}/{t.epochs}", self.progress)
        for step, (x, y) in enumerate(self._batches()):
            if max_steps is not None and step >= max_steps:
                break
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            if self.cuda and t.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.cuda and t.amp):
                loss = segmentation_loss(self.net(x), y, self.class_weights, d.ignore_index, t.aux_weight)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            losses.append(loss.item())
            seen += x.shape[0] * self.dist.world
            bar.update(loss=losses[-1], lr=self.optimizer.param_groups[0]["lr"], ips=seen / (time.perf_counter() - t0))
        bar.close()
        self.epoch += 1
        return {"epoch": self.epoch, "loss": float(np.mean(losses)), "lr": self.optimizer.param_groups[0]["lr"], "img_per_s": seen / (time.perf_counter() - t0)}

    def fit(self, epochs: int | None = None, max_steps: int | None = None) -> dict:
        """Train until `epochs` (default: the recipe's), evaluating and checkpointing on the way."""
        t = self.recipe.train
        end = t.epochs if epochs is None else min(epochs, t.epochs)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.dist.main:
            write_json(self.run_dir / "recipe.json", self.recipe.to_dict())
        record: dict = {}
        while self.epoch < end:
            record = self.train_epoch(max_steps)
            if self.val_set is not None and (self.epoch % t.eval_every == 0 or self.epoch == end) and self.dist.main:
                cm = evaluate_model(self.model, self.val_set, self.recipe, self.device)
                record.update(val_miou=cm.miou(), val_pixel_accuracy=cm.pixel_accuracy())
                if record["val_miou"] > self.best_miou:
                    self.best_miou = record["val_miou"]
                    self._save_best(cm)
                record["best_val_miou"] = self.best_miou
            if self.dist.main:
                with open(self.run_dir / "metrics.jsonl", "a") as f:
                    f.write(json.dumps({**record, "time": time.time()}) + "\n")
                save_checkpoint(self.run_dir / "last.pt", self.state_dict())
                if self.on_epoch:
                    self.on_epoch(record)
                _log(record)
        if self.dist.main:
            plot_curves(self.run_dir)
        return record

    def _save_best(self, cm: ConfusionMatrix) -> None:
        from edgeseg.manifest import Manifest, library_versions

        r = self.recipe
        path = self.run_dir / "best.safetensors"
        save_weights(path, self.model)
        m = Manifest(
            model=r.model.name, num_classes=r.model.num_classes, input_size=tuple(r.data.input_size), format="weights",
            classes=list(r.data.classes), mean=tuple(r.data.mean), std=tuple(r.data.std), ignore_index=r.data.ignore_index,
            versions=library_versions(), metrics={"val_miou": cm.miou(), "val": cm.summary(r.data.classes), "epoch": self.epoch},
            extra={"recipe": r.name, "model_kwargs": r.model.kwargs},
        )
        m.record_hash(path)
        m.save(path)


class _Progress:
    """A rich progress bar with loss, learning rate, img/s and ETA (silent when disabled)."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.p = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                              TextColumn("loss {task.fields[loss]:.3f} lr {task.fields[lr]:.2e} {task.fields[ips]:.1f} img/s"),
                              TimeRemainingColumn(), transient=True)
            self.p.start()
            self.task = self.p.add_task(label, total=total, loss=0.0, lr=0.0, ips=0.0)

    def update(self, **fields) -> None:
        if self.p:
            self.p.update(self.task, advance=1, **fields)

    def close(self) -> None:
        if self.p:
            self.p.stop()


def _log(record: dict) -> None:
    parts = [f"epoch {record['epoch']}", f"loss {record['loss']:.4f}", f"lr {record['lr']:.2e}", f"{record['img_per_s']:.1f} img/s"]
    if "val_miou" in record:
        parts.append(f"val mIoU {100 * record['val_miou']:.2f} (best {100 * record['best_val_miou']:.2f})")
    print(" | ".join(parts), flush=True)


def plot_curves(run_dir: str | Path) -> Path | None:
    """Loss and val mIoU against epoch, as curve.png; skipped (None) without matplotlib."""
    run_dir = Path(run_dir)
    rows = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()] if (run_dir / "metrics.jsonl").is_file() else []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["epoch"] for r in rows], [r["loss"] for r in rows], label="train loss", color="tab:blue")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ev = [r for r in rows if "val_miou" in r]
    if ev:
        ax2 = ax.twinx()
        ax2.plot([r["epoch"] for r in ev], [100 * r["val_miou"] for r in ev], "o-", color="tab:orange", label="val mIoU")
        ax2.set_ylabel("val mIoU (%)")
    fig.tight_layout()
    from edgeseg.fileio import atomic_path

    out = run_dir / "curve.png"
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return out
