"""What `build` is asked for: typed options, and the choice of max-unpool form for the engine."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeseg.build.tensorrt import Frontend, Shapes
from edgeseg.errors import InputError
from edgeseg.layers.unpool import UnpoolForm
from edgeseg.plugins import UnpoolPlugin

ENGINE_FORMS = (UnpoolForm.PLUGIN, UnpoolForm.DECOMPOSED)  # what an engine's graph may hold


@dataclass
class BuildOptions:
    fp16: bool = False
    int8: bool = False
    input_size: tuple[int, int] | None = None
    dynamic: Shapes | None = None
    unpool: UnpoolForm | None = None  # None: the plugin where this TensorRT can use one, else decomposed
    workspace_gb: float = 2.0
    dla_core: int | None = None
    frontend: Frontend = Frontend.ONNX
    weights: Path | None = None
    random_init: bool = False
    data: Path | None = None
    split: str = "val"
    max_images: int | None = None
    command: str = ""  # the command line, recorded as the rebuild command


def parse_dynamic(text: str) -> Shapes:
    """'MIN:OPT:MAX', each HxW or NxHxW (e.g. 256x320:360x480:720x960) -> three NCHW shapes."""
    parts = text.lower().split(":")
    if len(parts) != 3:
        raise InputError(f"`dynamic` takes MIN:OPT:MAX shapes (HxW or NxHxW each), got {text!r}")
    shapes = []
    for p in parts:
        dims = p.split("x")
        if len(dims) not in (2, 3) or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise InputError(f"`dynamic`: {p!r} is not HxW or NxHxW with positive integers")
        n, h, w = [1, *map(int, dims)] if len(dims) == 2 else map(int, dims)
        shapes.append((n, 3, h, w))
    lo, opt, hi = shapes
    if not all(a <= b <= c for a, b, c in zip(lo, opt, hi)):
        raise InputError(f"`dynamic` needs MIN <= OPT <= MAX in every dimension, got {text!r}")
    return lo, opt, hi


def resolve_unpool(requested: UnpoolForm | str | None, options: list[UnpoolPlugin]) -> tuple[UnpoolForm, UnpoolPlugin | None]:
    """(form of the engine's graph: plugin or decomposed, plugin implementation or None).

    `requested` None picks the plugin where `options` (the implementations the installed TensorRT
    can use, best first: edgeseg.plugins.loading.unpool_plugin_options) has one.
    """
    if requested is not None:
        requested = UnpoolForm.of(requested, "unpool", ENGINE_FORMS)
    if requested is UnpoolForm.DECOMPOSED or (requested is None and not options):
        return UnpoolForm.DECOMPOSED, None
    if options:
        return UnpoolForm.PLUGIN, options[0]
    # plugin asked for where no engine is built: still write the plugin graph, for trtexec elsewhere
    return UnpoolForm.PLUGIN, None
