"""`ArtifactFormat`: what a manifest's `format` names, and the file suffixes each kind may have."""
from __future__ import annotations

from edgeseg.textenum import TextEnum


class ArtifactFormat(TextEnum):
    WEIGHTS = "weights"  # safetensors (or a legacy state dict) of a registered model
    TORCHSCRIPT = "torchscript"
    ONNX = "onnx"
    PT2 = "pt2"  # AOTInductor package
    TENSORRT = "tensorrt"  # a serialised engine, in a build folder

    @property
    def suffixes(self) -> tuple[str, ...]:
        return _SUFFIXES[self]

    @classmethod
    def of_path(cls, path) -> "ArtifactFormat | None":
        """The format a file's name points to (the first whose suffix matches), None for none."""
        name = str(path)
        return next((f for f in cls if name.endswith(f.suffixes)), None)


_SUFFIXES = {
    ArtifactFormat.WEIGHTS: (".safetensors", ".pt", ".pth"),
    ArtifactFormat.TORCHSCRIPT: (".pt", ".ts", ".torchscript"),
    ArtifactFormat.ONNX: (".onnx",),
    ArtifactFormat.PT2: (".pt2",),
    ArtifactFormat.TENSORRT: (".engine", ".plan"),
}
