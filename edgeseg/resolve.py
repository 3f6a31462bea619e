"""The one route from what a user names to a model with its manifest (timm's `create_model` ->
`build_model_with_cfg`): a registered model name, a recipe, or a weights file.

One rule for weights, used by build, export, calibrate, eval, run and `edgeseg.load`:
`weights` if given, else the bundled weights with tag `pretrained` ("camvid" by default), and
random initialisation only when asked for with `pretrained=None`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn

from edgeseg.errors import InputError
from edgeseg.manifest import DEFAULT_NUM_CLASSES, Manifest, default_manifest, recipe_manifest
from edgeseg.precision import Precision

WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth")
DEFAULT_TAG = "camvid"
RANDOM = "random initialisation"


@dataclass
class ModelSource:
    """A registered model, where its weights come from, and the manifest describing it."""

    name: str
    manifest: Manifest  # classes, input size, normalisation; format "weights"
    weights: Path | None = None  # None: random initialisation
    recipe: object | None = None  # edgeseg.recipe.Recipe, when one was named

    def model(self) -> nn.Module:
        """The model in eval mode, its weights loaded."""
        from edgeseg.registry import create_model

        net = create_model(self.name, num_classes=self.manifest.num_classes, **self.manifest.extra.get("model_kwargs", {}))
        if self.weights is not None:
            from edgeseg.train.checkpoint import load_weights

            load_weights(self.weights, net)
        return net.eval()


def resolve_model(source: str | Path, weights: str | Path | None = None, pretrained: str | None = DEFAULT_TAG,
                  num_classes: int | None = None) -> ModelSource:
    """`source` (a registered model, a recipe name or .toml, or a weights file) -> ModelSource.

    A weights file's `<file>.json` manifest, when present, is verified and gives classes, input
    size and normalisation; otherwise the recipe's, else the defaults (`num_classes` classes).
    """
    name, recipe = _name_and_recipe(source)
    if recipe is None and Path(source).suffix in WEIGHT_SUFFIXES:
        if weights is not None:
            raise InputError(f"{source} is already a weights file; `weights` is for a model name or a recipe")
        weights = source
    if weights is None and pretrained is not None:
        from edgeseg import weights as bundled

        weights = bundled.pretrained_path(name or Path(source).stem, pretrained)  # ArtifactError naming what is shipped
    weights = Path(weights) if weights is not None else None
    base = _weights_manifest(weights)
    if name is None:  # a weights file alone names its model through its manifest
        if base is None:
            raise InputError(f"{source} has no manifest beside it ({Manifest.path_for(source).name}) to say which model it holds")
        name = base.model
    if base is not None and base.model != name:
        raise InputError(f"{weights} holds {base.model!r} weights, not {name!r}")
    if base is not None and num_classes is not None and num_classes != base.num_classes:
        raise InputError(f"num_classes={num_classes} contradicts {Manifest.path_for(weights).name} ({base.num_classes})")
    if base is None:
        base = recipe_manifest(recipe) if recipe is not None else default_manifest(name, DEFAULT_NUM_CLASSES if num_classes is None else num_classes)
        base.sha256 = {weights.name: _sha256(weights)} if weights is not None else {}
    elif recipe is not None and not base.classes:
        base = dataclasses.replace(recipe_manifest(recipe), sha256=base.sha256, metrics=base.metrics, versions=base.versions)
    extra = {**base.extra, "weights": weights.name if weights is not None else RANDOM}
    if recipe is not None:
        extra["recipe"] = recipe.name
    if base.precision is not Precision.FP32:  # how the file stores them (fp16-storage): the model loads, runs and exports in fp32
        extra["weights_precision"] = base.precision
    return ModelSource(name, dataclasses.replace(base, precision=Precision.FP32, extra=extra), weights, recipe)


def _name_and_recipe(source: str | Path):
    """(registered model name or None, recipe or None) for `source`."""
    from edgeseg.recipe import RecipeError, load_recipe
    from edgeseg.registry import UnknownModelError, model_info

    text = str(source)
    if Path(text).suffix in WEIGHT_SUFFIXES:
        return None, None
    try:
        model_info(text)
        return text, None
    except UnknownModelError as unknown:
        try:
            recipe = load_recipe(text)
        except RecipeError:
            if Path(text).suffix == ".toml":
                raise
            raise InputError(f"{unknown} ({text!r} is neither a registered model nor a recipe)") from None
    return recipe.model.name, recipe


def _weights_manifest(weights: Path | None) -> Manifest | None:
    if weights is None or not Manifest.path_for(weights).is_file():
        return None
    base = Manifest.load(weights)
    base.verify(weights.parent)
    return base


def _sha256(path: Path) -> str:
    from edgeseg.errors import ArtifactError
    from edgeseg.fileio import sha256

    if not path.is_file():
        raise ArtifactError(f"weights file {path} not found")
    return sha256(path)
