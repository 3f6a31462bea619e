"""Blocks shared between architectures: no model file defines its own copy of these."""
from edgeseg.layers.conv import ConvBNAct, SeparableConvBNAct
from edgeseg.layers.unpool import MaxPoolWithIndices, MaxUnpool, set_unpool_mode
from edgeseg.layers.aspp import ASPP
from edgeseg.layers.upsample import MaxPool2x2, make_upsample, resize_to
from edgeseg.layers.ppm import PyramidPooling, adaptive_avg_pool2d
from edgeseg.layers.refine import ChainedResidualPooling, RefineBlock, ResidualConvUnit
from edgeseg.layers.gate import GatedRefinementUnit, GateUnit

__all__ = [
    "ASPP",
    "ChainedResidualPooling",
    "ConvBNAct",
    "GateUnit",
    "GatedRefinementUnit",
    "MaxPool2x2",
    "MaxPoolWithIndices",
    "MaxUnpool",
    "PyramidPooling",
    "RefineBlock",
    "ResidualConvUnit",
    "SeparableConvBNAct",
    "adaptive_avg_pool2d",
    "make_upsample",
    "resize_to",
    "set_unpool_mode",
]
