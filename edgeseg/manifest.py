"""The manifest every artifact carries: what it is, how to feed it, and hashes that prove it.

Written as `<artifact>.json` beside a single-file artifact (model.onnx -> model.onnx.json) or as
`manifest.json` inside a build folder. Loading checks the artifact's sha256 against it.
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgeseg.errors import ArtifactError
from edgeseg.fileio import sha256, write_json

SCHEMA = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Manifest:
    model: str
    num_classes: int
    input_size: tuple[int, int]  # (H, W) the network is fed
    format: str  # weights | torchscript | onnx | tensorrt
    classes: list[str] = field(default_factory=list)
    mean: tuple[float, float, float] = IMAGENET_MEAN  # on RGB in [0, 1]
    std: tuple[float, float, float] = IMAGENET_STD
    ignore_index: int | None = None
    dynamic: bool = False
    precision: str = "fp32"
    unpool: str | None = None  # native | decomposed | plugin, for models that unpool
    opset: int | None = None
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> hex digest
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)  # e.g. {"val_miou": 0.55, "fps": {...}}
    extra: dict = field(default_factory=dict)
    schema: int = SCHEMA

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
            known = set(cls.__dataclass_fields__)
            unknown = set(raw) - known
            if unknown:
                raise ArtifactError(f"manifest {path} has unknown fields {sorted(unknown)}: written by a newer edgeseg?")
            return cls(**raw)
        except (json.JSONDecodeError, KeyError, TypeError) as e:
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
