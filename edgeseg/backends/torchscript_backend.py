"""TorchScript back end: a file written by `torch.jit.script` (edgeseg.export.torchscript),
loaded with `torch.jit.load`, which runs TorchScript code, never pickled Python."""
from __future__ import annotations

from pathlib import Path

import torch

from edgeseg.backend_names import Backend
from edgeseg.backends.torch_backend import TorchRunner, resolve_device
from edgeseg.errors import ArtifactError


def load_torchscript(path: str | Path, device: str = "cpu") -> torch.jit.ScriptModule:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"TorchScript file {path} not found")
    try:
        return torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as e:  # torch reports a damaged archive as RuntimeError
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise ArtifactError(f"{path} is not a readable TorchScript file ({first}); re-export it with `edgeseg export`") from None


class TorchScriptRunner(TorchRunner):
    """A scripted module, from a file or already in memory (`torch.jit.script(model)`)."""

    name = Backend.TORCHSCRIPT

    def __init__(self, source: str | Path | torch.jit.ScriptModule, device: str | None = None) -> None:
        device = resolve_device(device)
        module = source if isinstance(source, torch.jit.ScriptModule) else load_torchscript(source, device)
        super().__init__(module, device)
