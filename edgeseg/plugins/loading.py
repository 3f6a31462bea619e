"""Making the max-unpool plugin visible to TensorRT, and which implementations this host can use."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgeseg._optional import optional, require
from edgeseg.errors import ArtifactError
from edgeseg.plugins import CPP_LIBRARY, UnpoolPlugin


def load_unpool_plugin(impl: UnpoolPlugin | str, library: Path | None = None, compute_capability: tuple[int, int] | None = None) -> None:
    """Register the max-unpool plugin with TensorRT's registry before parsing or deserializing.

    `impl` says which implementation (UnpoolPlugin); an AOT one is loaded only while building.
    """
    impl = UnpoolPlugin.of(impl, "impl")
    if impl is UnpoolPlugin.CPP:
        trt = require("tensorrt", "loading the max-unpool plugin library")
        if library is None or not Path(library).is_file():
            raise ArtifactError(f"the max-unpool plugin library {library} is missing; build it: cmake -S edgeseg/plugins/cpp -B build && cmake --build build")
        if trt.get_plugin_registry().load_library(str(library)) is None:
            raise ArtifactError(f"TensorRT could not load the plugin library {library}")
        return
    from edgeseg.plugins.tensorrt_plugin import register

    register(compute_capability, aot=impl is UnpoolPlugin.QDP_AOT)


def find_cpp_plugin_library() -> Path | None:
    """The C++ plugin library: $EDGESEG_TRT_PLUGIN_LIB, else the CMake build folder in the package."""
    candidates = [os.environ.get("EDGESEG_TRT_PLUGIN_LIB", ""), str(Path(__file__).resolve().parent / "cpp" / "build" / CPP_LIBRARY)]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def unpool_plugin_options() -> list[UnpoolPlugin]:
    """Plugin implementations the installed TensorRT can use, best first (empty without TensorRT)."""
    if optional("tensorrt") is None:
        return []
    from edgeseg.plugins.ptx import nvrtc_module

    trtp = optional("tensorrt.plugin")
    options = []
    if trtp is not None and hasattr(trtp, "aot_impl") and (nvrtc_module() is not None or shutil.which("nvcc")):
        options.append(UnpoolPlugin.QDP_AOT)
    if find_cpp_plugin_library() is not None:
        options.append(UnpoolPlugin.CPP)
    if trtp is not None:
        from edgeseg.plugins.triton_kernel import AVAILABLE as triton_available

        if triton_available:
            options.append(UnpoolPlugin.QDP_JIT)
    return options
