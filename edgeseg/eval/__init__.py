"""Segmentation metrics from one confusion matrix over a whole split."""
from edgeseg.eval.metrics import ConfusionMatrix

__all__ = ["ConfusionMatrix"]
