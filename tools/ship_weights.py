"""Copy a run's weights into the package (edgeseg/weights/), fp16 when that costs nothing.

    python tools/ship_weights.py RUN_DIR --command "edgeseg train ..." [--note TEXT]
                                 [--pick final|best] [--data ../shared/data/camvid] [--tag camvid]

`--figure-from TWIN` is for a run trained on every frame (no sequence held out): its own
validation is a split it trained on, so the figure recorded is TWIN's, a run of the same recipe
and schedule with sequences held out, scored on them (the weights shipped are still RUN's).

`--pick final` (the default) ships the last epoch's weights, selected on nothing, so the
validation figure beside them is not inflated by a choice made on it; `best` ships the best
validation epoch and says so. Evaluates them on the run's validation in fp32 and after an fp16 round trip; ships fp16 only
if val mIoU moves by less than 0.05 points, else fp32. On a CPU with native bf16 it also measures
the shipped file in bf16 and records that in the manifest (edgeseg.eval.precision_check). Writes the manifest and the resolved
recipe beside the file, and the provenance (val mIoU, the training command, that epoch's
log line) as that file's section of edgeseg/weights/README.md, replacing an older one.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from edgeseg.data.splits import open_split, recipe_splits
from edgeseg.eval.precision_check import measure_precision, record_precision_check
from edgeseg.fileio import write_json, write_text
from edgeseg.manifest import Manifest
from edgeseg.precision import BF16_MAX_DROP_POINTS, Precision
from edgeseg.recipe import RUN_RECIPE, recipe_path_beside, recorded_recipe
from edgeseg.registry import create_model
from edgeseg.train.checkpoint import load_weights, save_weights
from edgeseg.train.validation import evaluate_model

WEIGHTS = Path(__file__).resolve().parent.parent / "edgeseg" / "weights"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", default="../shared/data/camvid")
    ap.add_argument("--tag", default="camvid")
    ap.add_argument("--command", required=True, help="the training command(s) that produced the run")
    ap.add_argument("--note", default="", help="anything a user should know (schedule changes, gaps)")
    ap.add_argument("--pick", choices=("final", "best"), default="final", help="final: the last epoch (nothing selected); best: the best validation epoch")
    ap.add_argument("--figure-from", type=Path, help="the held-out twin run whose score on its held-out sequences is the figure recorded")
    args = ap.parse_args()
    recipe = recorded_recipe(args.run / RUN_RECIPE)
    recipe.data.path = args.data
    val = open_split(args.data, recipe_splits(recipe.data)[1])
    chosen = args.run / f"{args.pick}.safetensors"
    if not chosen.is_file():
        raise SystemExit(f"{chosen} not found: the run has not {'finished' if args.pick == 'final' else 'validated yet'}")
    manifest = Manifest.load(chosen)
    model = load_weights(chosen, create_model(recipe.model.name, num_classes=recipe.model.num_classes, **recipe.model.kwargs)).eval()
    fp32 = evaluate_model(model, val, recipe, torch.device("cpu")).miou()
    half = model.half().float()  # the round trip fp16 storage imposes
    fp16 = evaluate_model(half, val, recipe, torch.device("cpu")).miou()
    use_half = abs(fp32 - fp16) < 0.0005
    out = WEIGHTS / f"{recipe.model.name}-{args.tag}.safetensors"
    save_weights(out, half if use_half else model, half=use_half)
    manifest.sha256 = {}
    manifest.record_hash(out)
    manifest.precision = Precision.FP16_STORAGE if use_half else Precision.FP32
    manifest.metrics.update(val_miou=fp16 if use_half else fp32, val_miou_fp32=fp32, val_miou_fp16=fp16)
    if args.figure_from is not None:
        manifest.metrics = twin_figure(args.figure_from, recipe, manifest.metrics, args.data)
    manifest.extra.update(recipe=recipe.name, licence="CamVid is CC BY-NC 4.0: these weights are for research use only")
    manifest.save(out)
    bf16_line = record_bf16(out, val)
    write_json(recipe_path_beside(out), recipe.to_dict())  # as trained, data.path as given here
    rows = [json.loads(l) for l in (args.run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    epoch_row = next(r for r in rows if r["epoch"] == manifest.metrics["epoch"])
    m = manifest.metrics
    twin_rows = [json.loads(l) for l in (args.figure_from / "metrics.jsonl").read_text().splitlines() if l.strip()] if args.figure_from else []
    storage = f"{'fp16' if use_half else 'fp32'} storage; fp32 {100 * fp32:.2f} and fp16 {100 * fp16:.2f} on {val.name}"
    write_readme_section(out.name, [
        f"- mIoU {100 * m['val_miou']:.2f} on {m['validation']['describe']}, all images at full size ({storage})"
        + (f": {m['validation']['note']}." if m["validation"].get("note") else "."),
        f"- Weights: epoch {m['epoch']}, {m['selection']}.",
        f"- Trained with `{args.command}`; resolved recipe in `{recipe_path_beside(out).name}`.",
        f"- That epoch's log line: `{json.dumps(epoch_row)}`",
        bf16_line,
    ] + ([f"- The held-out twin's last log line (`{args.figure_from}`): `{json.dumps(twin_rows[-1])}`"] if args.figure_from else [])
      + ([f"- {args.note}"] if args.note else []))
    print(f"{out.name}: val mIoU fp32 {100 * fp32:.2f}, fp16 {100 * fp16:.2f} -> shipped {'fp16' if use_half else 'fp32'}")
    print(f"epoch {manifest.metrics['epoch']} ({args.pick}) log line:", json.dumps(epoch_row))


def record_bf16(out: Path, val) -> str:
    """Measure bf16 on the shipped file where this CPU runs it natively; its README line either way."""
    from edgeseg.hardware import bf16_unsupported_reason

    if why := bf16_unsupported_reason():
        return f"- bf16 not measured ({why}): run tools/record_precision.py on a CPU with AVX512-BF16 or AMX."
    check = measure_precision(out, val, progress=False)
    record_precision_check(out, check)
    return (f"- bf16 ({check.backend}): {100 * check.miou:.2f} against fp32 {100 * check.fp32_miou:.2f} on {check.validation}, "
            f"recorded in the manifest (`auto` computes in bf16 on CPUs with native bf16 when it costs <= {BF16_MAX_DROP_POINTS} points).")


def twin_figure(twin: Path, recipe, own: dict, data: str) -> dict:
    """The metrics a manifest records when the shipped weights trained on every frame: the
    held-out twin's score on its held-out sequences as the figure, the weights' own score on a
    split they trained on kept aside under `trained_on_val`."""
    twin_recipe = recorded_recipe(twin / RUN_RECIPE)
    differs = [f"{section}.{k}" for section in ("model", "data", "augment", "train") for k, v in getattr(recipe, section).__dict__.items()
               if getattr(getattr(twin_recipe, section), k) != v and k not in ("holdout_sequences", "path", "eval_every", "checkpoint_every")]
    if differs or not twin_recipe.data.holdout_sequences or recipe.data.holdout_sequences:
        raise SystemExit(f"{twin} is not a held-out twin of this run (differs in {differs or 'holdout_sequences'})")
    twin_recipe.data.path = data
    held = open_split(data, recipe_splits(twin_recipe.data)[1])
    model = load_weights(twin / "final.safetensors", create_model(recipe.model.name, num_classes=recipe.model.num_classes, **recipe.model.kwargs)).eval()
    cm = evaluate_model(model, held, twin_recipe, torch.device("cpu"))
    validation = dict(Manifest.load(twin / "final.safetensors").metrics["validation"])
    # `describe` stays one short phrase (the HUD prints it); `note` says the rest.
    validation["describe"] = f"{validation['split']} ({validation['images']} images, held out from the twin run)"
    validation["note"] = (f"scored on the held-out twin run, the same recipe and {own['epoch']}-epoch schedule without "
                          f"{'+'.join(twin_recipe.data.holdout_sequences)}; these weights trained on every frame")
    return {"val_miou": cm.miou(), "val": cm.summary(recipe.data.classes), "epoch": own["epoch"], "selection": own["selection"],
            "validation": validation, "twin_run": twin.name,
            "trained_on_val": {k: own[k] for k in ("val_miou", "val_miou_fp32", "val_miou_fp16", "validation") if k in own}}


def write_readme_section(filename: str, lines: list[str]) -> None:
    readme = WEIGHTS / "README.md"
    text = readme.read_text()
    section = f"## {filename}\n\n" + "\n".join(lines) + "\n"
    pattern = re.compile(rf"^## {re.escape(filename)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    write_text(readme, text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
