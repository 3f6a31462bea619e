"""Activation statistics: run the FP32 ONNX model over the calibration set and keep, for every
float activation, its min, max and a histogram of |x| - everything the calibrators need.

The histogram has a fixed number of bins (2048, as TensorRT's entropy calibrator) starting at 0.
Its bin width is set by the first image and doubles (merging neighbouring bins) whenever a later
image exceeds the range, so memory stays bounded and no value is ever dropped.

Every tensor becomes an extra graph output of one ONNX Runtime session. When all of them would
not fit `memory_budget` bytes per image, the tensors are split into groups and the calibration
set is run once per group.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import onnx

from edgeseg._optional import require
from edgeseg.errors import ArtifactError
from edgeseg.fileio import atomic_path
from edgeseg.quant import graph

BINS = 2048


@dataclass
class TensorStats:
    """Running min, max and |x| histogram of one tensor: bin k counts |x| in [k*width, (k+1)*width)."""

    bins: int = BINS
    minimum: float = np.inf
    maximum: float = -np.inf
    width: float = 0.0  # 0 until the first non-zero value is seen
    hist: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.hist is None:
            self.hist = np.zeros(self.bins, np.int64)

    @property
    def amax(self) -> float:
        """Largest |x| seen."""
        return float(max(abs(self.minimum), abs(self.maximum))) if np.isfinite(self.minimum) else 0.0

    @property
    def edges(self) -> np.ndarray:
        return np.arange(self.bins + 1) * self.width

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32).ravel()
        if x.size == 0:
            return
        self.minimum = min(self.minimum, float(x.min()))
        self.maximum = max(self.maximum, float(x.max()))
        a = np.abs(x)
        top = float(a.max())
        if top > 0 and self.width == 0:
            self.width = top / self.bins
        while top > self.width * self.bins:
            self.hist = np.concatenate([self.hist.reshape(-1, 2).sum(1), np.zeros(self.bins // 2, np.int64)])
            self.width *= 2
        if self.width == 0:  # all zeros so far
            self.hist[0] += a.size
            return
        idx = np.minimum((a / np.float32(self.width)).astype(np.int64), self.bins - 1)
        self.hist += np.bincount(idx, minlength=self.bins)


@dataclass
class ActivationStats:
    """Statistics of every calibrated tensor, plus how many images produced them."""

    tensors: dict[str, TensorStats] = field(default_factory=dict)
    images: int = 0
    source: dict = field(default_factory=dict)  # what produced them (model and image digests)

    def __getitem__(self, name: str) -> TensorStats:
        return self.tensors[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def __len__(self) -> int:
        return len(self.tensors)

    def save(self, path: str | Path) -> None:
        names = list(self.tensors)
        meta = {"names": names, "images": self.images, "bins": BINS, "source": self.source}
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
            "minimum": np.array([self.tensors[n].minimum for n in names], np.float64),
            "maximum": np.array([self.tensors[n].maximum for n in names], np.float64),
            "width": np.array([self.tensors[n].width for n in names], np.float64),
            "hist": np.stack([self.tensors[n].hist for n in names]) if names else np.zeros((0, BINS), np.int64),
        }
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "ActivationStats":
        try:
            with np.load(path) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                stats = cls(images=int(meta["images"]), source=meta.get("source", {}))
                for i, name in enumerate(meta["names"]):
                    stats.tensors[name] = TensorStats(
                        bins=z["hist"].shape[1], minimum=float(z["minimum"][i]), maximum=float(z["maximum"][i]),
                        width=float(z["width"][i]), hist=z["hist"][i].astype(np.int64),
                    )
        except (OSError, KeyError, ValueError) as e:
            raise ArtifactError(f"activation statistics {path} are unreadable ({e}); delete the file to recollect them") from None
        return stats


def _augmented(model: onnx.ModelProto, tensors: Sequence[str]) -> bytes:
    """The model with `tensors` added as graph outputs, serialized."""
    aug = onnx.ModelProto()
    aug.CopyFrom(model)
    present = {o.name for o in aug.graph.output}
    for name in tensors:
        if name not in present:
            aug.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return aug.SerializeToString()


def _groups(model: onnx.ModelProto, tensors: Sequence[str], memory_budget: int) -> list[list[str]]:
    shapes = graph.shapes(model)
    groups: list[list[str]] = [[]]
    used = 0
    for name in tensors:
        size = graph.tensor_bytes(shapes.get(name, ()))
        if groups[-1] and used + size > memory_budget:
            groups.append([])
            used = 0
        groups[-1].append(name)
        used += size
    return groups


def collect(
    model: onnx.ModelProto,
    inputs: Sequence[np.ndarray] | Iterable[np.ndarray],
    tensors: Sequence[str] | None = None,
    memory_budget: int = 1 << 30,
    threads: int | None = None,
    on_image: Callable[[int], None] | None = None,
) -> ActivationStats:
    """Run `model` (FP32, prepared) on every input batch (float32 NCHW) and gather statistics.

    `tensors` defaults to every float activation. `inputs` must be a sequence (it is iterated once
    per tensor group) unless everything fits one group. `on_image(i)` is called after each run.
    """
    ort = require("onnxruntime", "INT8 calibration")
    tensors = list(tensors) if tensors is not None else graph.float_activations(model)
    groups = _groups(model, tensors, memory_budget)
    if len(groups) > 1 and not isinstance(inputs, Sequence):
        inputs = list(inputs)
    stats = ActivationStats({t: TensorStats() for t in tensors})
    input_name = model.graph.input[0].name
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    for group in groups:
        session = ort.InferenceSession(_augmented(model, group), opts, providers=["CPUExecutionProvider"])
        images = 0
        for x in inputs:
            for name, value in zip(group, session.run(group, {input_name: np.asarray(x, np.float32)})):
                stats.tensors[name].update(value)
            images += 1
            if on_image:
                on_image(images)
        stats.images = images
    return stats
