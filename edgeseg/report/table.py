"""The benchmark table: one row per model x back end x precision, printed, and written as CSV and JSON."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from edgeseg.backend_names import Backend
from edgeseg.fileio import write_json, write_text
from edgeseg.precision import Precision


@dataclass
class BenchRow:
    model: str
    backend: Backend
    precision: Precision
    device: str
    input_size: str  # HxW fed to the network
    engine_p50_ms: float  # runner.infer alone, after warm-up
    engine_p99_ms: float
    engine_fps: float  # iterations / time, same frame over and over
    stream_fps: float  # frames out / wall time through the threaded pipeline (overlay included)
    stream_p50_ms: float  # end-to-end latency of one frame, capture to sink
    miou: float | None  # on the benchmark data, through the stream
    images: int
    manifest_miou: float | None = None  # what the artifact's manifest records (val_miou)
    artifact: str | None = None  # the file measured, when one was named (two graphs of one model differ here)

    def line(self) -> str:
        miou = "-" if self.miou is None else f"{100 * self.miou:.2f}"
        what = f"{self.model} [{self.artifact}]" if self.artifact else self.model
        return (f"{what} {self.backend} {self.precision} {self.device}: engine p50 {self.engine_p50_ms:.1f} ms "
                f"({self.engine_fps:.1f} fps), stream {self.stream_fps:.1f} fps, mIoU {miou}")


@dataclass
class Skipped:
    model: str
    backend: Backend | None  # None: every back end
    precision: Precision | None  # None: every precision, or not known
    reason: str

    def line(self) -> str:
        return f"skipped {self.model} {self.backend or '*'} {self.precision or '*'}: {self.reason}"


def to_csv(rows: list[BenchRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[f.name for f in fields(BenchRow)], lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(asdict(r))
    return buf.getvalue()


def write_reports(rows: list[BenchRow], skipped: list[Skipped], folder: str | Path, meta: dict) -> dict[str, Path]:
    folder = Path(folder)
    paths = {"csv": folder / "bench.csv", "json": folder / "bench.json"}
    write_text(paths["csv"], to_csv(rows))
    write_json(paths["json"], {**meta, "rows": [asdict(r) for r in rows], "skipped": [asdict(s) for s in skipped]})
    return paths


def render(rows: list[BenchRow], title: str):
    """A rich Table: speed on the left, accuracy on the right."""
    from rich.markup import escape
    from rich.table import Table

    def f(v, fmt="{:.1f}"):
        return "-" if v is None else fmt.format(v)

    table = Table(title=title, caption="engine: runner.infer alone; stream: the threaded pipeline end to end; ratio: stream fps / engine fps")
    for name in ("model", "artifact", "backend", "precision", "device"):
        table.add_column(name, no_wrap=True)
    for name in ("engine p50 ms", "engine p99 ms", "engine fps", "stream fps", "ratio", "stream p50 ms", "mIoU %", "manifest mIoU %"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(
            r.model, escape(r.artifact or "-"), r.backend, r.precision, r.device,  # a file name is not markup
            f(r.engine_p50_ms), f(r.engine_p99_ms), f(r.engine_fps), f(r.stream_fps),
            f(100 * r.stream_fps / r.engine_fps, "{:.0f}%"), f(r.stream_p50_ms),
            f(None if r.miou is None else 100 * r.miou, "{:.2f}"), f(None if r.manifest_miou is None else 100 * r.manifest_miou, "{:.2f}"),
        )
    return table
