"""`Segmenter`: an artifact, its manifest and a runner, turning BGR frames into class maps.

    seg = edgeseg.load("enet.onnx")           # or a .pt, .safetensors, engine folder, "enet"
    classes = seg.predict(frame)               # frame: BGR uint8 (H, W, 3) -> uint8 (H, W)

The same pre- and post-processing (edgeseg.preprocess) runs for every back end; a runner that fuses
the argmax into its graph (`Runner.fuses_argmax`) computes it itself where the frame is the
network's size, which gives the same map without copying the logits out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch.nn as nn

from edgeseg.backend_names import Backend
from edgeseg.backends import Runner, open_runner, resolve_artifact
from edgeseg.data.palettes import palette_for
from edgeseg.errors import ArtifactError, InputError
from edgeseg.manifest import Manifest
from edgeseg.precision import Precision
from edgeseg.preprocess import frame_to_input, logits_to_classes, resize_logits


class Segmenter:
    def __init__(self, runner: Runner, manifest: Manifest, crf: bool = False, artifact_file: Path | None = None) -> None:
        self.runner, self.manifest = runner, manifest
        self.artifact_file = artifact_file  # the file it was loaded from; None for an in-memory model
        # Dense-CRF refinement of the class map (DeepLab v1/v2 post-processing); costs ~1 s/frame on a CPU.
        self.crf = crf
        self.num_classes = manifest.num_classes
        self.classes = list(manifest.classes) or [str(i) for i in range(self.num_classes)]
        self.input_size = tuple(manifest.input_size)
        self.palette = palette_for(self.classes)

    @classmethod
    def load(cls, source: str | Path, backend: Backend | str = Backend.AUTO, device: str | None = None,
             precision: Precision | str | None = None) -> "Segmenter":
        """`source`: an artifact path (file with its .json manifest, or a folder with manifest.json)
        or a registered model name, meaning that model with the weights shipped in the package.
        `precision` 'bf16' runs weights or an FP32 ONNX in bf16 (compiled or openvino, CPUs with native bf16)."""
        manifest, file = resolve_artifact(_artifact_path(source))
        return cls(open_runner(file, backend, device, manifest=manifest, precision=precision), manifest, artifact_file=file)

    @classmethod
    def from_model(cls, model: nn.Module, manifest: Manifest, backend: Backend | str = Backend.TORCH, device: str | None = None,
                   precision: Precision | str | None = None) -> "Segmenter":
        """Wrap an in-memory model (e.g. straight out of training) described by `manifest`."""
        return cls(open_runner(model, backend, device, manifest=manifest, precision=precision), manifest)

    def preprocess(self, frame_bgr: np.ndarray) -> np.ndarray:
        return frame_to_input(frame_bgr, self.input_size, self.manifest.mean, self.manifest.std)

    def infer(self, x: np.ndarray) -> np.ndarray:
        logits = self.runner.infer(x)
        if logits.ndim != 4 or logits.shape[1] != self.num_classes:
            raise ArtifactError(f"the {self.runner.name} model returned logits of shape {logits.shape}, its manifest says {self.num_classes} classes")
        return logits

    def argmax_in_runner(self, frame_hw: tuple[int, int]) -> bool:
        """Whether the class map of a frame this size comes straight from the runner's fused argmax:
        only at the network's own size, where the logits would not be resized before the argmax,
        and without CRF, which needs the scores."""
        return (self.runner.fuses_argmax and not self.crf and tuple(frame_hw) == self.input_size
                and self.num_classes <= 256)

    def infer_classes(self, x: np.ndarray) -> np.ndarray:
        """(1, 3, h, w) input -> uint8 (h, w) class map at the network's size, by the runner's fused argmax."""
        classes = self.runner.infer_classes(x)
        if classes.shape != (1, *self.input_size) or classes.dtype != np.uint8:
            raise ArtifactError(f"the {self.runner.name} model returned a class map of shape {classes.shape} {classes.dtype}, expected (1, {self.input_size[0]}, {self.input_size[1]}) uint8")
        return classes[0]

    def postprocess(self, logits: np.ndarray, frame_hw: tuple[int, int], frame_bgr: np.ndarray | None = None) -> np.ndarray:
        if not self.crf:
            return logits_to_classes(logits, frame_hw)
        if frame_bgr is None:
            raise InputError("CRF refinement needs the frame: pass frame_bgr to postprocess")
        from edgeseg.postprocess.crf import dense_crf

        z = resize_logits(logits, frame_hw)
        probs = np.exp(z - z.max(0, keepdims=True))
        probs /= probs.sum(0, keepdims=True)
        return dense_crf(frame_bgr[:, :, ::-1], probs).argmax(0).astype(np.uint8)

    def predict(self, frame_bgr: np.ndarray) -> np.ndarray:
        """BGR uint8 (H, W, 3) -> uint8 class map (H, W)."""
        x = self.preprocess(frame_bgr)
        if self.argmax_in_runner(frame_bgr.shape[:2]):
            return self.infer_classes(x)
        return self.postprocess(self.infer(x), frame_bgr.shape[:2], frame_bgr)

    def predict_logits(self, frame_bgr: np.ndarray) -> np.ndarray:
        """BGR uint8 (H, W, 3) -> float32 logits (C, H, W) at the frame's size."""
        return resize_logits(self.infer(self.preprocess(frame_bgr)), frame_bgr.shape[:2])

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> "Segmenter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Segmenter({self.manifest.model}, {self.num_classes} classes, input {self.input_size}, {self.runner!r})"


def _artifact_path(source: str | Path) -> Path:
    """A path as given; a registered model name or a recipe -> its weights (edgeseg.resolve)."""
    path = Path(source)
    if path.exists() or isinstance(source, Path) or any(c in str(source) for c in "/\\."):
        return path
    from edgeseg.resolve import resolve_model

    try:
        return resolve_model(str(source)).weights
    except InputError as e:
        raise InputError(f"{e} (and no file named {source!r} exists)") from None
