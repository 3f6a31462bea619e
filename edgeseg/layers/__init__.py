"""Blocks shared between architectures: no model file defines its own copy of these."""
from edgeseg.layers.conv import ConvBNAct, SeparableConvBNAct
from edgeseg.layers.unpool import MaxPoolWithIndices, MaxUnpool, set_unpool_mode
from edgeseg.layers.aspp import ASPP
from edgeseg.layers.upsample import resize_to

__all__ = [
    "ASPP",
    "ConvBNAct",
    "MaxPoolWithIndices",
    "MaxUnpool",
    "SeparableConvBNAct",
    "resize_to",
    "set_unpool_mode",
]
