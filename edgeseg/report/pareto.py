"""The Pareto plot: end-to-end fps against mIoU, one point per model x back end x precision, with
the frontier of combinations no other beats on both."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from edgeseg.precision import Precision
from edgeseg.report.figure import figure, save_png
from edgeseg.report.table import BenchRow

MARKERS = {Precision.FP32: "o", Precision.FP16: "s", Precision.BF16: "D", Precision.INT8: "^"}


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
    placed = [r for r in rows if r.miou is not None]
    fig = figure((9, 5.5), "drawing the Pareto plot", dpi=120)
    ax = fig.add_subplot()
    backends = sorted({r.backend for r in placed})
    colours = {b: f"C{i}" for i, b in enumerate(backends)}
    front = pareto_front([(r.stream_fps, r.miou) for r in placed])
    for r in placed:
        ax.scatter(r.stream_fps, 100 * r.miou, marker=MARKERS.get(r.precision, "o"), color=colours[r.backend], s=60, zorder=3)
    # Labels that do not pile up: each model's name once, beside its slowest point; artifact rows by
    # model and file name, the frontier's points with their fps too (colour and marker give the rest).
    slowest: dict[str, BenchRow] = {}
    for r in placed:
        if r.model not in slowest or r.stream_fps < slowest[r.model].stream_fps:
            slowest[r.model] = r
    for model, r in slowest.items():
        ax.annotate(model, (r.stream_fps, 100 * r.miou), textcoords="offset points", xytext=(0, -14), fontsize=8, ha="center", weight="bold")
    right = 0.6 * max((r.stream_fps for r in placed), default=0.0)
    tagged: set[str] = set()
    for i, r in enumerate(placed):
        tag = f"{r.model} [{r.artifact}]" if r.artifact else ""  # one file name may hold several models' graphs
        if i in front:
            text = f"{tag or r.model + ' ' + r.backend + ' ' + r.precision}, {r.stream_fps:.0f} fps"
        elif tag and tag not in tagged:  # an artifact on several back ends: named once
            text = tag
        else:
            continue
        tagged.add(tag)
        flip = r.stream_fps > right  # keep labels near the right edge inside the axes
        ax.annotate(text, (r.stream_fps, 100 * r.miou), textcoords="offset points", xytext=(-6 if flip else 6, 5), ha="right" if flip else "left", fontsize=7)
    if len(front) > 1:
        ax.plot([placed[i].stream_fps for i in front], [100 * placed[i].miou for i in front], "--", color="grey", zorder=2, label="Pareto front")
    for b in backends:
        ax.scatter([], [], color=colours[b], label=b)
    for p in sorted({r.precision for r in placed}):
        ax.scatter([], [], color="black", marker=MARKERS.get(p, "o"), label=p)
    ax.set_xlabel("end-to-end stream fps (higher is better)")
    ax.set_ylabel("mIoU % (higher is better)")
    ax.set_title(title.replace(" - ", "\n", 1), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.15, y=0.08)
    if placed:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return save_png(fig, path)
