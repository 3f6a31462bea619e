"""The one matplotlib idiom: a `Figure` made directly (no pyplot, so no global backend and no
display needed), saved as PNG atomically."""
from __future__ import annotations

from pathlib import Path

from edgeseg._optional import available, require
from edgeseg.fileio import atomic_path


def can_plot() -> bool:
    return available("matplotlib")


def figure(size: tuple[float, float], purpose: str, dpi: int = 100):
    """A new matplotlib Figure, or MissingDependencyError naming the install command."""
    require("matplotlib", purpose)
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi)


def save_png(fig, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
