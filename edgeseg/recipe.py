"""Recipes: one flat TOML file per deployable recipe (model, data, schedule, calibration, targets).

No inheritance: every field a recipe uses is written in it or takes the default below. Unknown
or misspelt keys are rejected by name, so a typo never silently falls back to a default.
CLI flags override fields with dotted keys (`train.epochs=10`).
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from edgeseg.errors import EdgesegError
from edgeseg.manifest import DEFAULT_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD
from edgeseg.quant.method import Kind, Method
from edgeseg.textenum import TextEnum

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
RUN_RECIPE = "recipe.json"  # the resolved recipe training writes into its run folder


class RecipeError(EdgesegError):
    """A recipe that cannot be used as written."""


class Optimizer(TextEnum):
    ADAMW = "adamw"
    ADAM = "adam"
    SGD = "sgd"


class Schedule(TextEnum):
    POLY = "poly"
    COSINE = "cosine"
    CONSTANT = "constant"


class ClassWeighting(TextEnum):
    ENET = "enet"
    MEDIAN = "median"
    NONE = "none"


class Loss(TextEnum):
    """The training loss: class-weighted cross-entropy on the main output, plus `aux_weight` times
    it on each auxiliary head. One member, so a recipe naming another loss is refused, not ignored."""

    CROSS_ENTROPY = "cross_entropy"


class TrainPrecision(TextEnum):
    """What a recipe asks for: `auto` (bf16 autocast on a CPU that computes bf16 natively, fp16 on
    CUDA, else fp32) or one of those; the trainer resolves it to an edgeseg.precision.Precision."""

    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"


@dataclass
class ModelSection:
    name: str = ""
    num_classes: int = 11
    kwargs: dict = field(default_factory=dict)


@dataclass
class DataSection:
    dataset: str = "camvid"
    path: str = "../shared/data/camvid"
    train_split: list = field(default_factory=lambda: ["train"])  # listings whose frames train
    val_split: list = field(default_factory=lambda: ["val"])  # listings that validate, unless sequences are held out
    # Whole sequences taken out of every listing above to validate on: a drive the model never saw.
    holdout_sequences: list = field(default_factory=list)
    classes: list = field(default_factory=list)
    ignore_index: int = 11
    input_size: list = field(default_factory=lambda: list(DEFAULT_INPUT_SIZE))  # H, W fed to the network
    mean: list = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list = field(default_factory=lambda: list(IMAGENET_STD))


@dataclass
class AugmentSection:
    scale: list = field(default_factory=lambda: [0.5, 2.0])
    crop: list = field(default_factory=lambda: [360, 480])  # H, W of training crops
    hflip: bool = True
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2


@dataclass
class TrainSection:
    epochs: int = 100
    batch_size: int = 8
    optimizer: Optimizer = Optimizer.ADAMW
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: Schedule = Schedule.POLY
    poly_power: float = 0.9
    warmup_epochs: int = 0
    class_weighting: ClassWeighting = ClassWeighting.ENET
    enet_c: float = 1.02
    loss: Loss = Loss.CROSS_ENTROPY
    aux_weight: float = 0.4  # deep-supervision / auxiliary heads, where a model has them
    eval_every: int = 5
    checkpoint_every: int = 1  # epochs between writes of last.pt (the last epoch is always written)
    seed: int = 0
    workers: int = 1  # processes that decode and augment batches beside the training step
    precision: TrainPrecision = TrainPrecision.AUTO
    channels_last: bool = True
    compile: bool = False  # torch.compile the training step: a one-off compile, then ~2x on CPU
    ema_decay: float = 0.0  # per-step decay of an exponential moving average of the weights; 0 = off
    cache_images: bool = True


@dataclass
class CalibrationSection:
    manifest: str = ""
    images: int = 200
    method: Kind = Kind.ENTROPY  # the calibrator `edgeseg build --int8` and `edgeseg calibrate` use unless told
    percentile: float = 99.99  # with method = "percentile"

    @property
    def calibrator(self) -> Method:
        return Method(self.method, self.percentile if self.method is Kind.PERCENTILE else None)


@dataclass
class TargetsSection:
    val_miou: float = 0.0
    max_int8_miou_drop: float = 1.0


@dataclass
class Recipe:
    name: str = ""
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    augment: AugmentSection = field(default_factory=AugmentSection)
    train: TrainSection = field(default_factory=TrainSection)
    calibration: CalibrationSection = field(default_factory=CalibrationSection)
    targets: TargetsSection = field(default_factory=TargetsSection)
    source: str = ""  # where it was loaded from (not a TOML key)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Recipe) if f.name not in ("name", "description", "source")}


def _suggest(key: str, options) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_type(where: str, default: Any, value: Any) -> Any:
    if isinstance(default, Enum):
        options = [e.value for e in type(default)]
        if value not in options:
            raise RecipeError(f"{where} must be one of {', '.join(options)}, got {value!r}{_suggest(str(value), options)}")
        return type(default)(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise RecipeError(f"{where} must be true or false, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{where} must be a number, got {value!r}")
        value = float(value)
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{where} must be an integer, got {value!r}")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise RecipeError(f"{where} must be a string, got {value!r}")
    elif isinstance(default, list) and not isinstance(value, list):
        raise RecipeError(f"{where} must be a list, got {value!r}")
    elif isinstance(default, dict) and not isinstance(value, dict):
        raise RecipeError(f"{where} must be a table, got {value!r}")
    return value


def recipe_from_dict(raw: dict, source: str = "<dict>") -> Recipe:
    recipe = Recipe(source=source)
    for key, value in raw.items():
        if key in ("name", "description"):
            setattr(recipe, key, _check_type(key, "", value))
            continue
        if key not in _SECTIONS:
            raise RecipeError(f"{source}: unknown key {key!r}{_suggest(key, list(_SECTIONS) + ['name', 'description'])}")
        if not isinstance(value, dict):
            raise RecipeError(f"{source}: [{key}] must be a table")
        section = getattr(recipe, key)
        names = {f.name for f in dataclasses.fields(section)}
        for k, v in value.items():
            if k not in names:
                raise RecipeError(f"{source}: unknown key {key}.{k}{_suggest(k, names)}")
            setattr(section, k, _check_type(f"{key}.{k}", getattr(section, k), v))
    if not recipe.model.name:
        raise RecipeError(f"{source}: model.name is required")
    _check_ranges(recipe, source)
    return recipe


def _pair(where: str, value: list, minimum: float) -> None:
    if len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum for v in value):
        raise RecipeError(f"{where} must be two numbers of at least {minimum}, got {value!r}")


def _check_ranges(r: Recipe, source: str) -> None:
    """Values that type-check but cannot train: caught here, before any data is read."""
    t, a, d = r.train, r.augment, r.data

    def bad(where: str, rule: str, value: Any) -> RecipeError:
        return RecipeError(f"{source}: {where} must be {rule}, got {value!r}")

    for where, value in (("train.epochs", t.epochs), ("train.batch_size", t.batch_size), ("train.eval_every", t.eval_every), ("train.checkpoint_every", t.checkpoint_every), ("model.num_classes", r.model.num_classes)):
        if value < 1:
            raise bad(where, "at least 1", value)
    for where, value in (("train.warmup_epochs", t.warmup_epochs), ("train.workers", t.workers), ("train.weight_decay", t.weight_decay), ("train.aux_weight", t.aux_weight)):
        if value < 0:
            raise bad(where, "0 or more", value)
    if not 0 < r.calibration.percentile <= 100:
        raise bad("calibration.percentile", "in (0, 100]", r.calibration.percentile)
    if not t.lr > 0:
        raise bad("train.lr", "a positive number", t.lr)
    if not 0.0 <= t.ema_decay < 1.0:
        raise bad("train.ema_decay", "in [0, 1)", t.ema_decay)
    _pair(f"{source}: augment.crop", a.crop, 1)
    _pair(f"{source}: data.input_size", d.input_size, 1)
    _pair(f"{source}: augment.scale", a.scale, 0.01)
    if a.scale[0] > a.scale[1]:
        raise bad("augment.scale", "[low, high] with low <= high", a.scale)
    if d.classes and len(d.classes) != r.model.num_classes:
        raise RecipeError(f"{source}: data.classes names {len(d.classes)} classes but model.num_classes is {r.model.num_classes}")


def resolve_recipe_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise RecipeError(f"recipe file {p} not found")
        return p
    candidate = RECIPES_DIR / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    known = sorted(q.stem for q in RECIPES_DIR.glob("*.toml"))
    raise RecipeError(f"no recipe {name_or_path!r}{_suggest(name_or_path, known)}; known: {', '.join(known)}")


def parse_override(text: str) -> tuple[str, Any]:
    """`train.epochs=10` -> ("train.epochs", 10); the value is parsed as TOML, else taken as a string."""
    if "=" not in text:
        raise RecipeError(f"override {text!r} must look like section.key=value")
    key, value = text.split("=", 1)
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


def load_recipe(name_or_path: str, overrides: dict[str, Any] | None = None) -> Recipe:
    """Load a recipe by name (recipes/<name>.toml) or path, then apply dotted-key overrides."""
    path = resolve_recipe_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML: {e}") from None
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not key:
            raise RecipeError(f"override {dotted!r} must name section.key")
        raw.setdefault(section, {})[key] = value
    recipe = recipe_from_dict(raw, str(path))
    recipe.name = recipe.name or path.stem
    return recipe


def recorded_recipe(path: str | Path) -> Recipe:
    """A recipe as training recorded it: a run folder's `RUN_RECIPE`, or shipped weights' `recipe_path_beside`."""
    return recipe_from_dict(json.loads(Path(path).read_text()), str(path))


def recipe_path_beside(weights: Path) -> Path:
    """Where shipped weights keep the recipe that trained them: `<name>.recipe.json` beside `<name>.safetensors`."""
    return weights.with_name(weights.name.split(".")[0] + ".recipe.json")
