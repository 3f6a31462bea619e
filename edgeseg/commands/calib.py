"""Calibration sets: `select` chooses a recipe's calibration images from its training split so
that every class is covered and writes calib/<recipe>.json; `report` prints what a manifest covers."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def main(
    action: str = typer.Argument(..., help="select or report."),
    target: str = typer.Argument(..., help="select: recipe name or .toml path. report: a calibration manifest (.json) or a recipe."),
    count: Optional[int] = typer.Option(None, min=1, help="Images to choose (default: the recipe's calibration.images)."),
    per_class: int = typer.Option(10, min=1, help="Chosen images that must contain each class (where the split has that many)."),
    out: Optional[Path] = typer.Option(None, help="Manifest to write (default: the recipe's calibration.manifest)."),
    data: Optional[Path] = typer.Option(None, help="Dataset folder (default: the recipe's data.path)."),
) -> None:
    from edgeseg.errors import InputError
    from edgeseg.outputs import check_file
    from edgeseg.quant.calibset import CalibrationSet, recipe_path, select_for_recipe
    from edgeseg.recipe import load_recipe

    if action == "select":
        recipe = load_recipe(target)
        path = check_file(out or recipe_path(recipe, recipe.calibration.manifest or f"calib/{recipe.name}.json"), "--out")
        cs, root = select_for_recipe(recipe, data, count or recipe.calibration.images, per_class)
        cs.save(path)
        _print(cs, f"{recipe.name}: {len(cs.images)} calibration images from {root} ({cs.selection['pool']} in {cs.split})")
        typer.echo(f"wrote {path}")
    elif action == "report":
        if target.endswith(".json"):
            path = Path(target)
        else:
            recipe = load_recipe(target)
            path = recipe_path(recipe, recipe.calibration.manifest or f"calib/{recipe.name}.json")
        cs = CalibrationSet.load(path)
        _print(cs, f"{path}: {len(cs.images)} images of {cs.dataset} {cs.split} for {cs.recipe}")
    else:
        raise InputError(f"unknown action {action!r}: use `edgeseg calib select RECIPE` or `edgeseg calib report MANIFEST`")


def _print(cs, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("class", "pixel share %", "train share %", "images with it"):
        table.add_column(col, justify="left" if col == "class" else "right")
    cov = cs.coverage
    for name, s, t, k in zip(cov.classes, cov.share_selected, cov.share_train, cov.images_with_class):
        table.add_row(name, f"{100 * s:.2f}", f"{100 * t:.2f}", str(k), style="red" if k == 0 else None)
    console = Console()
    console.print(table)
    if cov.missing:
        console.print(f"[red]classes absent from the calibration set: {', '.join(cov.missing)}[/red]")
