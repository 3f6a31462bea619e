"""AOTInductor back end: runs a .pt2 package written by `edgeseg export --format pt2` (edgeseg.export.pt2)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import ArtifactError, InputError


class AOTIRunner(RunnerBase):
    """One loaded AOTInductor package; it takes exactly the input shape it was compiled for."""

    name = Backend.AOTI

    def __init__(self, path: str | Path, input_size: tuple[int, int], batch: int = 1) -> None:
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"AOTInductor package {path} not found")
        try:
            self._model = torch._inductor.aoti_load_package(str(path))
        except (RuntimeError, ValueError, OSError) as e:  # a damaged zip, or a package built for another torch
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ArtifactError(f"{path} cannot be loaded as an AOTInductor package ({first}); re-export it with `edgeseg export --format pt2`") from None
        self.shape = (batch, 3, *input_size)
        self.detail = f"AOTInductor package {path.name}, compiled ahead of time for {batch}x3x{input_size[0]}x{input_size[1]}"

    def infer(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x)
        if x.shape != self.shape:
            raise InputError(f"this AOTInductor package takes input of shape {self.shape}, got {x.shape}; export it again at that size")
        with torch.inference_mode():
            return self._model(torch.from_numpy(x)).float().numpy()

    def close(self) -> None:
        self._model = None
