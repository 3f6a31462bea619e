"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""
from __future__ import annotations


class EdgesegError(Exception):
    """Base class: the message says what was wrong and, where possible, what to do."""


class InputError(EdgesegError):
    """A frame, image or file that is not what the model or tool expects."""


class ArtifactError(EdgesegError):
    """A corrupt, foreign or mismatched artifact (weights, TorchScript, ONNX, engine, manifest)."""


class MissingDependencyError(EdgesegError):
    """An optional module is not installed; the message carries the install command."""
