"""The one interface every back end implements: float32 NCHW in, float32 NCHW logits out.

Accuracy and speed are measured through this interface alone, so every back end is compared on
the same frames with the same pre- and post-processing (edgeseg.preprocess).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from edgeseg.backend_names import Backend
from edgeseg.errors import InputError
from edgeseg.precision import Precision


@runtime_checkable
class Runner(Protocol):
    name: Backend  # never Backend.AUTO
    precision: Precision
    device: str  # cpu | cuda

    # True where the back end also runs `infer_classes(x)`: float32 (N, 3, h, w) -> uint8 (N, h, w),
    # the argmax computed inside its graph (edgeseg.segmenter takes it where the frame is the input's size)
    fuses_argmax: bool

    def infer(self, x: np.ndarray) -> np.ndarray:
        """float32 (N, 3, h, w) normalised input -> float32 (N, C, h, w) logits."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> "Runner": ...

    def __exit__(self, *exc) -> None: ...


class RunnerBase:
    """Context-manager plumbing and the input check shared by the back ends."""

    name: Backend
    precision = Precision.FP32
    device = "cpu"
    detail = ""  # one line on how it runs (e.g. a compile's cost); empty when there is nothing to add
    selection = ""  # with backend='auto': which back end was taken and why, in one line
    fuses_argmax = False

    def __enter__(self) -> "RunnerBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name='{self.name}', precision='{self.precision}', device={self.device!r})"


def check_input(x: object) -> np.ndarray:
    """Return `x` as a contiguous float32 NCHW array, or raise InputError saying what it is."""
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != 3:
        shape = getattr(x, "shape", type(x).__name__)
        raise InputError(f"a runner takes a float32 array of shape (N, 3, H, W), got {shape}")
    return np.ascontiguousarray(x, dtype=np.float32)
