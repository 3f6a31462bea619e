"""Issue 13, defect 7: every printed number is true. An INT8 artifact shows its own mIoU, never its
FP32 source's; mIoU is a percent with the validation it came from; fps is warm and the start-up
is stated apart; end-to-end latency is explained by the stages and their queue waits."""
from __future__ import annotations

import json

import pytest
from fault_inputs import scene, tiny_segmenter

from edgeseg.manifest import Manifest, recorded_miou
from edgeseg.stream import Pipeline
from edgeseg.stream.overlay import hud_lines
from edgeseg.stream.sources import ArraySource

VALIDATION = {"split": "camvid-val", "images": 101, "describe": "camvid-val (101 images, sequences shared with training)"}


def manifest(**kw) -> Manifest:
    return Manifest(model="enet", num_classes=4, input_size=(64, 96), format="onnx", **kw)


def test_the_recorded_miou_is_the_artifacts_own_with_its_validation():
    int8 = recorded_miou(manifest(precision="int8", metrics={"val_miou": 0.492, "val_miou_fp32": 0.501, "validation": VALIDATION}))
    assert int8.value == 0.492 and int8.validation == VALIDATION["describe"]
    built = manifest(precision="int8", metrics={"val_miou": 0.492, "miou": {"onnxruntime-fp32": 0.501, "onnxruntime-int8": 0.488},
                                                "measured_on": {"data": "camvid", "split": "test", "images": 233}})
    assert recorded_miou(built).value == 0.488 and recorded_miou(built).validation == "test of camvid (233 images)"
    assert recorded_miou(manifest(metrics={})) is None
    assert "does not name" in recorded_miou(manifest(metrics={"val_miou": 0.5})).validation


def test_build_gives_an_int8_folder_the_int8_graphs_figure(tmp_path, weights, monkeypatch):
    """The folder manifest of `build --int8` used to copy the FP32 weights' val mIoU."""
    from typer.testing import CliRunner

    import edgeseg.build.folder as folder
    from edgeseg.cli import app
    from edgeseg.fileio import write_bytes

    source = Manifest.load(weights)
    source.metrics = {"val_miou": 0.501, "validation": VALIDATION}
    source.save(weights)

    def fake_int8(fp32, out, *_):  # stands in for calibration: the same graph, recorded as INT8 at 0.492
        int8 = out / "model.int8.onnx"
        write_bytes(int8, fp32.read_bytes())
        m = Manifest.load(fp32)
        m.precision, m.metrics = "int8", {"val_miou": 0.492, "val_miou_fp32": 0.501, "validation": VALIDATION}
        m.sha256 = {int8.name: m.sha256[fp32.name]}
        m.save(int8)
        return int8

    monkeypatch.setattr(folder, "_calibration", lambda src, opts, skipped: ("recipe", "calibration data"))
    monkeypatch.setattr(folder.graphs, "int8_graph", fake_int8)
    result = CliRunner().invoke(app, ["build", "enet", "--weights", str(weights), "--int8", "--input-size", "64x96", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    folder = Manifest.load(tmp_path / "b")
    assert folder.precision == "int8" and recorded_miou(folder).value == 0.492


def test_hud_and_report_print_percent_and_name_the_validation():
    seg = tiny_segmenter(metrics={"val_miou": 0.492, "validation": VALIDATION}, precision="int8")
    frames = [scene(64, 96, i) for i in range(4)]
    pipeline = Pipeline(seg, ArraySource(frames, [seg.predict(f) for f in frames]))
    hud = hud_lines(pipeline.stats, pipeline.meta)
    # the fake runs fp32 (torch) on a manifest measured in int8: the figure says which precision it is
    assert "mIoU 49.20% (manifest: camvid-val (101 images, sequences shared with training), in int8)" in hud
    report = pipeline.run()
    assert "artifact mIoU: 49.20% (manifest: camvid-val" in report.text
    assert "mIoU on this stream: 100.00% (4 labelled frames)" in report.text
    json.dumps(report.summary)  # the stats file holds it
    assert report.summary["manifest_miou"] == 0.492 and "camvid-val" in report.summary["manifest_miou_from"]
    unrecorded = Pipeline(tiny_segmenter(), ArraySource(frames))
    assert "mIoU - (none recorded for this artifact)" in hud_lines(unrecorded.stats, unrecorded.meta)


def test_fps_is_warm_and_the_start_up_is_reported_apart():
    seg = tiny_segmenter(first_call_s=1.5, infer_s=0.01)
    summary = Pipeline(seg, ArraySource([scene(64, 96, i) for i in range(20)])).run().summary
    assert summary["warmup_s"] >= 1.5
    assert summary["latency_ms"]["infer"]["p99"] < 1000  # the cold call is not counted as a frame's
    assert summary["fps"] > 20 / 1.5  # a cold first call inside the stream held it under this


def test_end_to_end_latency_is_the_stages_plus_the_queue_waits():
    summary = Pipeline(tiny_segmenter(infer_s=0.03), ArraySource([scene(64, 96, i) for i in range(25)])).run().summary
    lat, wait = summary["latency_ms"], summary["queue_wait_ms"]
    assert lat["overlay"]["count"] == 0  # headless: nothing renders
    stages = sum(lat[s]["mean"] for s in ("preprocess", "infer", "postprocess", "metrics", "sink"))
    waits = sum(w["mean"] for w in wait.values())
    assert lat["end_to_end"]["mean"] > 2 * lat["infer"]["mean"]  # a file is read ahead: frames queue
    assert stages + waits == pytest.approx(lat["end_to_end"]["mean"], rel=0.15)
