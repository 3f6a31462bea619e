"""The Pareto plot: end-to-end fps against mIoU, one point per model x back end x precision, with
the frontier of combinations no other beats on both."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from edgeseg._optional import require
from edgeseg.fileio import atomic_path
from edgeseg.report.table import BenchRow

MARKERS = {"fp32": "o", "fp16": "s", "int8": "^"}


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated (another at least as good on both axes and better on
    one), ordered by the first coordinate; both axes are better when larger."""
    front = [
        i for i, (x, y) in enumerate(points)
        if not any(ox >= x and oy >= y and (ox > x or oy > y) for ox, oy in points)
    ]
    return sorted(front, key=lambda i: points[i][0])


def plot_pareto(rows: Sequence[BenchRow], path: str | Path, title: str) -> Path:
    """Write the plot as PNG (atomically). Rows without an mIoU cannot be placed and are left out."""
    require("matplotlib", "drawing the Pareto plot")
    from matplotlib.figure import Figure  # no pyplot: no global backend, no display needed

    placed = [r for r in rows if r.miou is not None]
    fig = Figure(figsize=(7.5, 5), dpi=120)
    ax = fig.add_subplot()
    backends = sorted({r.backend for r in placed})
    colours = {b: f"C{i}" for i, b in enumerate(backends)}
    for r in placed:
        ax.scatter(r.stream_fps, 100 * r.miou, marker=MARKERS.get(r.precision, "o"), color=colours[r.backend], s=60, zorder=3)
        ax.annotate(r.model, (r.stream_fps, 100 * r.miou), textcoords="offset points", xytext=(6, 4), fontsize=8)
    front = pareto_front([(r.stream_fps, r.miou) for r in placed])
    if len(front) > 1:
        ax.plot([placed[i].stream_fps for i in front], [100 * placed[i].miou for i in front], "--", color="grey", zorder=2, label="Pareto front")
    for b in backends:
        ax.scatter([], [], color=colours[b], label=b)
    for p in sorted({r.precision for r in placed}):
        ax.scatter([], [], color="black", marker=MARKERS.get(p, "o"), label=p)
    ax.set_xlabel("end-to-end stream fps (higher is better)")
    ax.set_ylabel("mIoU % (higher is better)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if placed:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
