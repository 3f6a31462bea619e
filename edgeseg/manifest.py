"""The manifest every artifact carries: what it is, how to feed it, and hashes that prove it.

Written as `<artifact>.json` beside a single-file artifact (model.onnx -> model.onnx.json) or as
`manifest.json` inside a build folder. Loading checks the artifact's sha256 against it.
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backend_names import Backend
from edgeseg.errors import ArtifactError, InputError
from edgeseg.fileio import sha256, write_json
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.precision import Precision

SCHEMA = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT_SIZE = (360, 480)  # (H, W): CamVid's frames, what the bundled weights were trained at
DEFAULT_NUM_CLASSES = 11  # CamVid's


@dataclass
class Manifest:
    model: str
    num_classes: int
    input_size: tuple[int, int]  # (H, W) the network is fed
    format: ArtifactFormat
    classes: list[str] = field(default_factory=list)
    mean: tuple[float, float, float] = IMAGENET_MEAN  # on RGB in [0, 1]
    std: tuple[float, float, float] = IMAGENET_STD
    ignore_index: int | None = None
    dynamic: bool = False
    precision: Precision = Precision.FP32
    unpool: UnpoolForm | None = None  # for models that unpool
    opset: int | None = None
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> hex digest
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)  # e.g. {"val_miou": 0.55, "fps": {...}}
    extra: dict = field(default_factory=dict)
    schema: int = SCHEMA

    def __post_init__(self) -> None:
        self.format = ArtifactFormat.of(self.format, "format")
        self.precision = Precision.of(self.precision, "precision")

    @staticmethod
    def path_for(artifact: str | Path) -> Path:
        artifact = Path(artifact)
        return artifact / "manifest.json" if artifact.is_dir() else artifact.with_name(artifact.name + ".json")

    def save(self, artifact: str | Path) -> Path:
        out = self.path_for(artifact)
        write_json(out, asdict(self))
        return out

    @classmethod
    def load(cls, artifact: str | Path) -> "Manifest":
        path = cls.path_for(artifact)
        if not path.is_file():
            raise ArtifactError(f"no manifest for {artifact} (expected {path}); re-export it with `edgeseg export`")
        try:
            raw = json.loads(path.read_text())
            raw["input_size"] = tuple(raw["input_size"])
            raw["mean"], raw["std"] = tuple(raw["mean"]), tuple(raw["std"])
            raw["unpool"] = UnpoolForm(raw["unpool"]) if raw.get("unpool") else None
            known = set(cls.__dataclass_fields__)
            unknown = set(raw) - known
            if unknown:
                raise ArtifactError(f"manifest {path} has unknown fields {sorted(unknown)}: written by a newer edgeseg?")
            return cls(**raw)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, InputError) as e:  # InputError: __post_init__'s
            raise ArtifactError(f"manifest {path} is not a valid edgeseg manifest: {e}") from None

    def record_hash(self, file: str | Path) -> None:
        file = Path(file)
        self.sha256[file.name] = sha256(file)

    def verify(self, folder: str | Path) -> None:
        """Raise ArtifactError if any hashed file is missing or differs."""
        folder = Path(folder)
        for name, digest in self.sha256.items():
            f = folder / name
            if not f.is_file():
                raise ArtifactError(f"{f} named in the manifest is missing")
            if sha256(f) != digest:
                raise ArtifactError(f"{f} does not match the sha256 in its manifest: the file changed or is corrupt; re-export it")


def default_manifest(model: str, num_classes: int = DEFAULT_NUM_CLASSES) -> Manifest:
    """What is known of a model with no weights manifest and no recipe: the defaults."""
    return Manifest(model=model, num_classes=num_classes, input_size=DEFAULT_INPUT_SIZE, format=ArtifactFormat.WEIGHTS)


def recipe_manifest(recipe, **fields) -> Manifest:
    """The weights manifest a recipe implies (model, classes, input size, normalisation), with `fields` set."""
    r = recipe
    m = Manifest(
        model=r.model.name, num_classes=r.model.num_classes, input_size=tuple(r.data.input_size), format=ArtifactFormat.WEIGHTS,
        classes=list(r.data.classes), mean=tuple(r.data.mean), std=tuple(r.data.std), ignore_index=r.data.ignore_index,
        extra={"recipe": r.name, "model_kwargs": dict(r.model.kwargs)},
    )
    return replace(m, **fields)


@dataclass(frozen=True)
class RecordedMiou:
    """An mIoU a manifest records for its own artifact, and which validation gave it."""

    value: float  # a fraction; print it with edgeseg.eval.metrics.percent
    validation: str  # e.g. "camvid-val (101 images, sequences shared with training)"

    def label(self) -> str:
        return f"manifest: {self.validation}"


def measurement_key(backend: Backend, precision: Precision) -> str:
    """Where a build folder's metrics hold one artifact's figures: "onnxruntime-int8"."""
    return f"{backend}-{precision}"


def recorded_miou(manifest: Manifest, precision: Precision | None = None) -> RecordedMiou | None:
    """The mIoU measured on this artifact itself, run at `precision` (its own by default), or None
    where none is recorded.

    A build folder measured with --data records one per artifact it holds ("miou", keyed
    `<back end>-<precision>`): the one of the artifact it runs is taken. Otherwise `val_miou`,
    which every writer records for the artifact it describes (training for the weights,
    calibration for the INT8 graph), on the validation that `validation` describes. Weights run
    at a reduced precision give their own figure moved by what their precision check measured
    (`precision_check`: the reduced precision against fp32 on the same frames, which need not be
    the validation's: the all-data LinkNet's check ran on frames it trained on, where its mIoU is
    74.6 against 40.3 held out); without a check, their own figure comes back labelled with the
    precision it was measured in."""
    if precision is not None and precision is not manifest.precision.computed_as:
        own, check = recorded_miou(manifest), precision_check(manifest, precision)
        if check is None:
            return own and RecordedMiou(own.value, f"{own.validation}, in {manifest.precision.computed_as}")
        if own is None:
            return RecordedMiou(check.miou, f"{check.validation}, in {precision} on {check.backend}")
        moved = check.miou - check.fp32_miou
        return RecordedMiou(own.value + moved, f"{own.validation}, in {precision}: {100 * moved:+.2f} points from fp32 by its check on {check.backend}")
    m = manifest.metrics
    measured = m.get("miou")
    if isinstance(measured, dict):
        key = measurement_key(Backend.TENSORRT if manifest.format is ArtifactFormat.TENSORRT else Backend.ONNXRUNTIME, manifest.precision)
        on = m.get("measured_on") or {}
        if isinstance(measured.get(key), (int, float)):
            return RecordedMiou(float(measured[key]), f"{on.get('split', 'a split')} of {on.get('data', 'the build data')} ({on.get('images', '?')} images)")
    value = m.get("val_miou")
    if not isinstance(value, (int, float)):
        return None
    validation = m.get("validation") if isinstance(m.get("validation"), dict) else {}
    return RecordedMiou(float(value), validation.get("describe") or "a validation split the manifest does not name")


@dataclass(frozen=True)
class PrecisionCheck:
    """The mIoU of a weights artifact run at a reduced `precision` beside its fp32 mIoU on the same
    frames (`metrics[<precision>]`, written by edgeseg.eval.precision_check): what makes that
    precision a safe default (edgeseg.backends.auto.default_cpu_precision)."""

    precision: Precision
    miou: float  # fractions, as every mIoU a manifest keeps
    fp32_miou: float
    backend: Backend  # the back end that ran the reduced precision
    validation: str

    @property
    def drop_points(self) -> float:
        return 100 * (self.fp32_miou - self.miou)

    def to_dict(self) -> dict:
        return {"miou": self.miou, "fp32_miou": self.fp32_miou, "backend": str(self.backend), "validation": self.validation}


def precision_check(manifest: Manifest, precision: Precision) -> PrecisionCheck | None:
    """The check recorded for `precision`, or None where none is (or it is malformed)."""
    m = manifest.metrics.get(str(precision))
    try:
        return PrecisionCheck(precision, float(m["miou"]), float(m["fp32_miou"]), Backend.of(m["backend"], "backend"), str(m["validation"]))
    except (TypeError, KeyError, ValueError, InputError):
        return None


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape an artifact (absent ones omitted)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("torch", "onnx", "onnxruntime", "tensorrt", "edgeseg"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out
