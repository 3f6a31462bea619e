"""edgeseg: semantic segmentation from definition to a deployed edge-GPU engine.

Nothing here imports torch until it is used, so the CLI's `--help` stays instant (2.6 s of torch
import before)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgeseg.backend_names import Backend

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("create_model", "list_models"):
        from edgeseg import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'edgeseg' has no attribute {name!r}")


def load(path, backend: Backend | str = "auto", **kw):
    """Load an artifact (weights, TorchScript, ONNX or engine folder) as a `Segmenter`."""
    from edgeseg.segmenter import Segmenter

    return Segmenter.load(path, backend=backend, **kw)


__all__ = ["create_model", "list_models", "load", "__version__"]
