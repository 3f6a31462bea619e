"""`Backend`: the names of the back ends a runner computes on, and the groups the library asks about.

Apart from edgeseg.backends so that the CLI can name them without importing torch."""
from __future__ import annotations

from edgeseg.textenum import TextEnum


class Backend(TextEnum):
    AUTO = "auto"  # a request, never a runner's name: the fastest here (edgeseg.backends.auto)
    TORCH = "torch"
    TORCHSCRIPT = "torchscript"
    ONNXRUNTIME = "onnxruntime"
    TENSORRT = "tensorrt"
    COMPILED = "compiled"  # torch.compile (inductor)
    AOTI = "aoti"  # an AOTInductor .pt2 package
    OPENVINO = "openvino"

    @property
    def in_torch_pool(self) -> bool:
        """Computes in torch's intra-op thread pool (sized by torch.set_num_threads)."""
        return self in (Backend.TORCH, Backend.TORCHSCRIPT, Backend.COMPILED)


BACKENDS = tuple(b for b in Backend if b is not Backend.AUTO)
BF16_BACKENDS = (Backend.COMPILED, Backend.OPENVINO)  # the back ends that run a model's weights in bf16
