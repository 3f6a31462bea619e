"""edgeseg: semantic segmentation from definition to a deployed edge-GPU engine."""
from edgeseg.registry import create_model, list_models

__version__ = "0.1.0"


def load(path, backend: str = "auto", **kw):
    """Load an artifact (weights, TorchScript, ONNX or engine folder) as a `Segmenter`."""
    from edgeseg.segmenter import Segmenter

    return Segmenter.load(path, backend=backend, **kw)


__all__ = ["create_model", "list_models", "load", "__version__"]
