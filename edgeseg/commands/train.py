"""Train a model from a recipe (recipes/<name>.toml) on real data; resumable."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def main(
    recipe: str = typer.Argument(..., help="Recipe name (recipes/<name>.toml) or path to a .toml file."),
    data: Optional[Path] = typer.Option(None, help="Dataset folder (overrides data.path)."),
    epochs: Optional[int] = typer.Option(None, help="Total epochs (overrides train.epochs)."),
    device: str = typer.Option("auto", help="cpu, cuda or auto."),
    resume: Optional[Path] = typer.Option(None, help="Run folder (or its last.pt) to resume."),
    init: Optional[Path] = typer.Option(None, help="Start from these weights (.safetensors) with a fresh schedule: fine-tuning, or a longer second stage."),
    out: Optional[Path] = typer.Option(None, help="Run folder (default runs/<recipe>-<time>)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (overrides train.seed)."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size per process."),
    set_: List[str] = typer.Option([], "--set", help="Override any recipe field: --set train.lr=1e-3"),
    stop_after: Optional[int] = typer.Option(None, min=1, help="Stop after this epoch (the schedule still spans train.epochs); resume later."),
    compile_: Optional[bool] = typer.Option(None, "--compile/--no-compile", help="torch.compile the training step (overrides train.compile): a one-off compile of a minute or two, then about 2x on a CPU."),
    workers: Optional[int] = typer.Option(None, min=0, help="Loader worker processes (overrides train.workers)."),
    precision: Optional[str] = typer.Option(None, help="auto, fp32, bf16 or fp16 (overrides train.precision)."),
    threads: Optional[int] = typer.Option(None, min=1, help="CPU threads for the training step (default: torch's)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    import time

    import torch

    from edgeseg.data.splits import open_split, recipe_splits
    from edgeseg.errors import InputError
    from edgeseg.outputs import check_folder
    from edgeseg.recipe import load_recipe, parse_override
    from edgeseg.registry import create_model
    from edgeseg.signals import graceful_stop
    from edgeseg.train.trainer import Dist, Trainer, TrainingStopped

    if out is not None:
        check_folder(out, "--out")
    overrides = dict(parse_override(s) for s in set_)
    for key, value in (("data.path", str(data) if data else None), ("train.epochs", epochs), ("train.seed", seed), ("train.batch_size", batch_size),
                       ("train.compile", compile_), ("train.workers", workers), ("train.precision", precision)):
        if value is not None:
            overrides[key] = value
    run_dir = None
    if resume is not None and init is not None:
        raise InputError("give --resume (same run, same schedule) or --init (new run from weights), not both")
    if resume is not None:
        run_dir = resume.parent if resume.name == "last.pt" else resume
        if not (run_dir / "last.pt").is_file():
            raise InputError(f"nothing to resume in {run_dir}: no last.pt")
    r = load_recipe(recipe, overrides)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dist = Dist.from_env()
    if dist.world > 1:
        import torch.distributed as td

        td.init_process_group("nccl" if device == "cuda" else "gloo")
        if device == "cuda":
            torch.cuda.set_device(dist.local_rank)
            device = f"cuda:{dist.local_rank}"
    if threads is not None:
        torch.set_num_threads(threads)
    train_split, val_split = recipe_splits(r.data)
    train_set = open_split(r.data.path, train_split)
    val_set = open_split(r.data.path, val_split)
    model = create_model(r.model.name, num_classes=r.model.num_classes, **r.model.kwargs)
    if init is not None:
        from edgeseg.train.checkpoint import load_weights

        load_weights(init, model)
    run_dir = run_dir or out or Path("runs") / f"{r.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    trainer = Trainer(r, model, train_set, val_set, run_dir, device=device, dist=dist, progress=progress)
    if resume is not None:
        trainer.resume(run_dir / "last.pt")
        typer.echo(f"resumed {run_dir} at epoch {trainer.epoch}/{r.train.epochs}")
    if dist.main:
        typer.echo(f"training {r.model.name} ({r.name}) on {device} x{dist.world} [{trainer.path}], {len(train_set)} train images -> {run_dir}")
        typer.echo(f"validating on {trainer.validation.describe() if trainer.validation else val_set.name}")

    # A signal ends the step loop at its next step; last.pt keeps the last finished epoch.
    with graceful_stop(interrupt=False) as stop:
        trainer.stop_requested = stop.event
        try:
            record = trainer.fit(epochs=stop_after)
        except TrainingStopped as e:
            raise InputError(f"training {e} ({stop.signal_name}); resume with --resume {run_dir}") from None
    if dist.world > 1:  # the ranks leave together (rank 0 validates and saves while the others wait)
        td.barrier()
        td.destroy_process_group()
    if dist.main and "best_val_miou" in record:
        typer.echo(f"best val mIoU {100 * record['best_val_miou']:.2f} -> {run_dir / 'best.safetensors'}")
