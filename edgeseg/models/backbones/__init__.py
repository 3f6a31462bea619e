"""Encoders written here because torchvision has no CPU build on this platform.

Each backbone returns a list of feature maps, shallowest first, and exposes `channels`
(one entry per returned map) and `reductions` (the stride of each map).
"""
