import dataclasses

from edgeseg.report.pareto import pareto_front, plot_pareto
from edgeseg.report.table import BenchRow, render, to_csv


def row(model, backend, fps, miou, precision="fp32"):
    return BenchRow(model, backend, precision, "cpu", "360x480", 10.0, 12.0, 100.0, fps, 30.0, miou, 101)


def test_pareto_front_keeps_only_undominated_points_in_fps_order():
    pts = [(10, 0.6), (30, 0.5), (20, 0.4), (5, 0.6), (30, 0.45), (50, 0.3)]
    # (20, .4) is beaten by (30, .5); (5, .6) by (10, .6); (30, .45) by (30, .5)
    assert pareto_front(pts) == [0, 1, 5]
    assert pareto_front([]) == [] and pareto_front([(1, 1)]) == [0]


def test_plot_is_a_png_and_rows_without_miou_are_left_out(tmp_path):
    rows = [row("enet", "onnxruntime", 25, 0.55), row("linknet", "torch", 8, 0.6), row("enet", "torch", 12, None, "int8")]
    path = plot_pareto(rows, tmp_path / "p.png", "test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_csv_has_a_header_and_one_line_per_row():
    text = to_csv([row("enet", "torch", 12.5, 0.5), row("enet", "onnxruntime", 20.0, None)])
    lines = text.splitlines()
    assert lines[0].startswith("model,backend,precision,device,input_size,engine_p50_ms")
    assert lines[1].startswith("enet,torch,fp32,cpu,360x480,10.0") and lines[2].count(",") == lines[0].count(",")


def test_table_shows_artifact_labels_whole():
    from rich.console import Console

    console = Console(width=250, record=True)
    r = dataclasses.replace(row("enet", "onnxruntime", 20.0, 0.47, "int8"), artifact="[model].int8-cpu.onnx")
    console.print(render([r], "t"))
    text = console.export_text()
    assert "enet" in text and "[model].int8-cpu.onnx" in text


def test_every_precision_a_bench_row_can_have_gets_its_own_marker():
    from edgeseg.precision import Precision
    from edgeseg.report.bench import PRECISIONS
    from edgeseg.report.pareto import MARKERS

    assert set(PRECISIONS) <= set(MARKERS) and len({MARKERS[p] for p in PRECISIONS}) == len(PRECISIONS)
    assert Precision.BF16 in PRECISIONS  # the row the shared circle once hid
