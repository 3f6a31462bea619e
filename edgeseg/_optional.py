"""The one way edgeseg imports optional modules (Polygraphy's `mod/importer.py` idea): a module
either fails with the exact command that installs it (`require`), or is looked at without failing
(`optional`, `available`) where edgeseg adapts to what is installed."""
from __future__ import annotations

import importlib
from types import ModuleType

from edgeseg.errors import MissingDependencyError

# module -> pip command. cv2 names the extra, not a wheel: on a Jetson keep the system OpenCV.
INSTALL_HINTS = {
    "onnxruntime": "pip install onnxruntime",
    "onnxscript": "pip install 'edgeseg[export]'",
    "cv2": "pip install 'edgeseg[opencv]'  (on a Jetson use the system OpenCV: sudo apt install python3-opencv)",
    "matplotlib": "pip install 'edgeseg[plot]'",
    "tensorrt": "pip install 'edgeseg[tensorrt]'  (on a Jetson TensorRT comes with JetPack)",
    "cuda": "pip install cuda-python",
    "torch_tensorrt": "pip install torch-tensorrt",
    "triton": "pip install triton",
    "onnxslim": "pip install onnxslim",
    "openvino": "pip install 'edgeseg[openvino]'",
}


def _first(names: tuple[str, ...]) -> tuple[ModuleType | None, ImportError | None]:
    error = None
    for name in names:
        try:
            return importlib.import_module(name), None
        except ImportError as e:
            error = error or e
    return None, error


def require(module: str, purpose: str = "", *fallbacks: str) -> ModuleType:
    """Import `module` (else the first of `fallbacks` that imports: an older layout of the same
    package) or raise MissingDependencyError naming the install command."""
    found, error = _first((module, *fallbacks))
    if found is not None:
        return found
    top = module.split(".")[0]
    hint = INSTALL_HINTS.get(top, f"pip install {top}")
    why = f" (needed for {purpose})" if purpose else ""
    raise MissingDependencyError(f"{top} is not installed{why}: {hint}  [{error}]") from None


def optional(module: str, *fallbacks: str) -> ModuleType | None:
    """The first of `module`, `fallbacks` that imports, else None."""
    return _first((module, *fallbacks))[0]


def available(module: str) -> bool:
    return optional(module) is not None
