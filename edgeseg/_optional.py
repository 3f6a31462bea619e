"""Lazy imports of optional modules, failing with the exact command that installs them."""
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
}


def require(module: str, purpose: str = "") -> ModuleType:
    """Import `module` or raise MissingDependencyError naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        hint = INSTALL_HINTS.get(top, f"pip install {top}")
        why = f" (needed for {purpose})" if purpose else ""
        raise MissingDependencyError(f"{top} is not installed{why}: {hint}  [{e}]") from None


def available(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False
