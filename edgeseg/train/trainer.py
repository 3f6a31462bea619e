"""The training loop: recipe in, run folder out.

Run folder: recipe.toml-as-resolved (recipe.json), metrics.jsonl, last.pt (resumable),
best.safetensors (best validation epoch) and final.safetensors (last epoch: nothing selected),
each with a manifest naming the validation it was measured on, and curve.png.
Resume restores model, EMA, optimiser, schedule, epoch, RNG and the metrics history, and every
batch is a function of (seed, epoch, sample), so a resumed run follows the same schedule.

On a CPU that computes bf16 natively the step runs under bf16 autocast in channels_last
(measured 2.3-2.9x fp32 on an AVX512-BF16 EPYC; elsewhere fp32), optionally compiled by
inductor (about 2x again after a one-off compile).
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.data.splits import Validation
from edgeseg.data.transforms import Augment
from edgeseg.errors import EdgesegError
from edgeseg.eval.metrics import ConfusionMatrix
from edgeseg.fileio import write_json, write_text
from edgeseg.hardware import cpu_has_bf16
from edgeseg.precision import Precision
from edgeseg.recipe import RUN_RECIPE, ClassWeighting, Optimizer, Recipe, RecipeError, TrainPrecision
from edgeseg.signals import ignore_stop_signals, stop_signals_held
from edgeseg.train.batches import DecodedDataset, EpochBatches, fits_on
from edgeseg.train.checkpoint import load_checkpoint, save_checkpoint, save_weights
from edgeseg.train.ema import WeightEMA
from edgeseg.train.class_weights import compute_class_weights
from edgeseg.train.schedules import lr_factor
from edgeseg.train.validation import ValBatches, score


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


def build_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    t = recipe.train
    # No weight decay on norms, biases and PReLU slopes: decaying them only hurts.
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if t.optimizer is Optimizer.ADAMW:
        return torch.optim.AdamW(groups, lr=t.lr)
    if t.optimizer is Optimizer.ADAM:
        return torch.optim.Adam(groups, lr=t.lr)
    return torch.optim.SGD(groups, lr=t.lr, momentum=t.momentum, nesterov=True)


class TrainingStopped(EdgesegError):
    """A stop was requested (a signal) mid-epoch; last.pt holds the last finished epoch."""


def resolve_precision(precision: TrainPrecision, device: torch.device) -> Precision:
    """`auto` becomes bf16 on a GPU or CPU that computes it natively, fp16 on older GPUs and
    fp32 elsewhere. bf16 needs no loss scaling, whose overflow check waits for the GPU every step."""
    if precision is TrainPrecision.AUTO:
        if device.type == "cuda":
            return Precision.BF16 if torch.cuda.is_bf16_supported() else Precision.FP16
        return Precision.BF16 if cpu_has_bf16() else Precision.FP32
    if precision is TrainPrecision.FP16 and device.type != "cuda":
        raise RecipeError("train.precision fp16 needs a CUDA device; on a CPU use bf16 or fp32")
    return Precision(precision.value)


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
        self.stop_requested = threading.Event()  # set from a signal handler: the step loop ends cleanly
        t, d = recipe.train, recipe.data
        torch.manual_seed(t.seed)
        self.precision = resolve_precision(t.precision, self.device)
        self.memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
        self.train_set = DecodedDataset(train_set, t.cache_images)
        self.val_set = ValBatches(val_set, recipe, self.device, cache=t.cache_images) if val_set is not None else None
        self.validation = Validation.of(val_set, train_set) if val_set is not None and hasattr(val_set, "pairs") else None
        self._check_data(train_set)
        self.cuda = self.device.type == "cuda"
        if self.cuda:
            torch.backends.cudnn.benchmark = True  # every training step has the same shapes
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.net: nn.Module = TrainView(self.model)
        if self.dist.world > 1:
            if self.cuda:  # batch statistics over the global batch; SyncBatchNorm has no CPU kernel
                self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
                self.net = TrainView(self.model)
            self.net = nn.parallel.DistributedDataParallel(self.net, device_ids=[self.dist.local_rank] if self.cuda else None)
        self.step_net = torch.compile(self.net) if t.compile else self.net
        self.ema = None
        if t.ema_decay:
            self.ema = WeightEMA(self.model, t.ema_decay)
        self.optimizer = build_optimizer(recipe, self.model)
        self.batches = EpochBatches(
            self.train_set,
            Augment(tuple(recipe.augment.crop), tuple(recipe.augment.scale), recipe.augment.hflip, recipe.augment.brightness,
                    recipe.augment.contrast, recipe.augment.saturation, d.ignore_index),
            t.batch_size, t.seed, d.mean, d.std, self.dist.rank, self.dist.world,
            device=self.device if fits_on(self.device, self.train_set) else None,
        )
        self.steps_per_epoch = len(self.batches)
        total = t.epochs * self.steps_per_epoch
        warm = t.warmup_epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(t.schedule, s, total, warm, t.poly_power)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision is Precision.FP16)
        self.class_weights = self._class_weights()
        self.epoch = 0
        self.best_miou = -1.0
        self.history: list[dict] = []

    @property
    def path(self) -> str:
        """The fast path in use, as the bar and the log show it."""
        t = self.recipe.train
        parts = [self.precision.value + (" autocast" if self.precision is not Precision.FP32 else ""),
                 "channels_last" if t.channels_last else "contiguous", "compiled" if t.compile else "eager",
                 f"batches built on {self.device.type}" if self.batches.resident is not None else f"{t.workers} loader workers"]
        return ", ".join(parts)

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are scored and shipped: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def _check_data(self, train_set) -> None:
        r = self.recipe
        n = getattr(train_set, "num_classes", r.model.num_classes)
        if n != r.model.num_classes:
            raise RecipeError(f"model.num_classes is {r.model.num_classes} but dataset {getattr(train_set, 'name', '')!r} has {n} classes")
        if not len(self.train_set):
            raise RecipeError("the training split holds no images")
        h, w = self.train_set[0][1].shape
        crop, top = r.augment.crop, r.augment.scale[1]
        # A crop beyond the largest scaled image is mostly padding, and a large one exhausts memory.
        if crop[0] > h * top or crop[1] > w * top:
            raise RecipeError(f"augment.crop {crop} is larger than the training images at the largest scale ({h}x{w} x {top} = {round(h * top)}x{round(w * top)})")

    def _class_weights(self) -> torch.Tensor | None:
        t, n = self.recipe.train, self.recipe.model.num_classes
        if t.class_weighting is ClassWeighting.NONE:
            return None
        labels = (self.train_set[i][1] for i in range(len(self.train_set)))
        w = compute_class_weights(t.class_weighting, labels, n, t.enet_c)
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "best_miou": self.best_miou,
            "history": json.dumps(self.history),
            "torch_rng": torch.get_rng_state(),
            "recipe": json.dumps(self.recipe.to_dict()),
        }

    def resume(self, path: str | Path) -> None:
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.best_miou = float(state.get("best_miou", -1.0))
        self.history = json.loads(state.get("history", "[]"))
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])

    # -- loop ------------------------------------------------------------------------------
    def _loader(self):
        self.batches.epoch = self.epoch
        if self.batches.resident is not None:  # built on the device, in this process
            return (self.batches[b] for b in range(len(self.batches)))
        workers = self.recipe.train.workers
        loader = torch.utils.data.DataLoader(self.batches, batch_size=None, shuffle=False, num_workers=workers,
                                             pin_memory=self.cuda, prefetch_factor=2 if workers else None,
                                             worker_init_fn=ignore_stop_signals if workers else None)
        with stop_signals_held():  # iter() forks the workers
            return iter(loader)

    def train_epoch(self, max_steps: int | None = None) -> dict:
        t, d = self.recipe.train, self.recipe.data
        self.net.train()
        steps = self.steps_per_epoch if max_steps is None else min(max_steps, self.steps_per_epoch)
        # Losses stay on the device, summed; the bar reads one every few steps, so the host does
        # not wait for the GPU at every step.
        loss_sum, seen, done, t0 = torch.zeros((), device=self.device), 0, 0, time.perf_counter()
        bar = _Progress(steps, f"epoch {self.epoch + 1}/{t.epochs} [{self.path}]", self.progress)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16 if self.precision is Precision.BF16 else torch.float16,
                                  enabled=self.precision is not Precision.FP32)
        for step, (x, y) in enumerate(self._loader()):
            if step >= steps:
                break
            if self.stop_requested.is_set():
                raise TrainingStopped(f"stopped in epoch {self.epoch + 1} at step {step}; last.pt holds epoch {self.epoch}")
            x = x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
            y = y.to(self.device, non_blocking=True)
            with autocast:
                loss = segmentation_loss(self.step_net(x), y, self.class_weights, d.ignore_index, t.aux_weight)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            loss_sum += loss.detach()
            seen, done = seen + x.shape[0] * self.dist.world, done + 1
            fields = {"lr": self.optimizer.param_groups[0]["lr"], "ips": seen / (time.perf_counter() - t0)}
            if step % 10 == 0 or not self.cuda:
                fields["loss"] = loss.item()
            bar.update(**fields)
        bar.close()
        self.epoch += 1
        return {"epoch": self.epoch, "loss": loss_sum.item() / max(1, done), "lr": self.optimizer.param_groups[0]["lr"],
                "img_per_s": seen / (time.perf_counter() - t0), "seconds": time.perf_counter() - t0}

    def fit(self, epochs: int | None = None, max_steps: int | None = None) -> dict:
        """Train until `epochs` (default: the recipe's), evaluating and checkpointing on the way."""
        t = self.recipe.train
        end = t.epochs if epochs is None else min(epochs, t.epochs)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.dist.main:
            for stale in self.run_dir.glob(".*.tmp"):  # a write killed mid-way (kill -9) left it
                stale.unlink()
            write_json(self.run_dir / RUN_RECIPE, self.recipe.to_dict())
            self._write_metrics()
        record: dict = {}
        while self.epoch < end:
            record = self.train_epoch(max_steps)
            if self.val_set is not None and (self.epoch % t.eval_every == 0 or self.epoch == end) and self.dist.main:
                cm = score(self.eval_model, self.val_set, self.recipe.model.num_classes, self.recipe.data.ignore_index)
                record.update(val_miou=cm.miou(), val_pixel_accuracy=cm.pixel_accuracy())
                if record["val_miou"] > self.best_miou:
                    self.best_miou = record["val_miou"]
                    self._save_weights("best.safetensors", cm, "the best validation epoch so far")
                record["best_val_miou"] = self.best_miou
                if self.epoch == t.epochs:
                    self._save_weights("final.safetensors", cm, "the last epoch (nothing selected on validation)")
            if self.dist.main:
                self.history.append({**record, "time": time.time()})
                # The checkpoint carries the history, so metrics.jsonl is rewritten from it and a
                # kill between the two writes can neither lose nor repeat an epoch's line.
                if self.epoch % t.checkpoint_every == 0 or self.epoch == end:
                    save_checkpoint(self.run_dir / "last.pt", self.state_dict())
                self._write_metrics()
                if self.on_epoch:
                    self.on_epoch(record)
                _log(record)
        if self.dist.main:
            plot_curves(self.run_dir)
        return record

    def _write_metrics(self) -> None:
        write_text(self.run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in self.history))

    def _save_weights(self, name: str, cm: ConfusionMatrix, selection: str) -> None:
        from edgeseg.manifest import library_versions, recipe_manifest

        r = self.recipe
        path = self.run_dir / name
        save_weights(path, self.eval_model)
        metrics = {"val_miou": cm.miou(), "val": cm.summary(r.data.classes), "epoch": self.epoch, "selection": selection}
        if self.validation is not None:
            metrics["validation"] = self.validation.to_dict()
        m = recipe_manifest(r, versions=library_versions(), metrics=metrics)
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
    from edgeseg.report.figure import can_plot, figure, save_png

    if not rows or not can_plot():
        return None
    fig = figure((7, 4), "training curves")
    ax = fig.add_subplot()
    ax.plot([r["epoch"] for r in rows], [r["loss"] for r in rows], label="train loss", color="tab:blue")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ev = [r for r in rows if "val_miou" in r]
    if ev:
        ax2 = ax.twinx()
        ax2.plot([r["epoch"] for r in ev], [100 * r["val_miou"] for r in ev], "o-", color="tab:orange", label="val mIoU")
        ax2.set_ylabel("val mIoU (%)")
    return save_png(fig, run_dir / "curve.png")
