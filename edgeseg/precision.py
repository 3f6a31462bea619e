"""`Precision`: the number format an artifact stores its layers in, or a runner computes them in."""
from __future__ import annotations

from edgeseg.textenum import TextEnum


class Precision(TextEnum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"  # CPUs with AVX512-BF16 or AMX (edgeseg.hardware)
    INT8 = "int8"  # an explicit Q/DQ graph, or an engine built from one
    FP16_STORAGE = "fp16-storage"  # a weights file stored in fp16: loaded, run and exported in fp32

    @property
    def computed_as(self) -> "Precision":
        """The precision an artifact stored in this one computes in: fp16-storage weights run in fp32."""
        return Precision.FP32 if self is Precision.FP16_STORAGE else self


# bf16 becomes a default the user did not ask for only where it costs under this (mIoU points,
# fp32 minus bf16 on the same frames; edgeseg.backends.auto); the bundled ENet measured 0.02-0.03
# on its held-out drive.
BF16_MAX_DROP_POINTS = 0.1
