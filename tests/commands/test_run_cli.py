"""`edgeseg run` end to end on generated videos, and its one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
from artifact_factory import INPUT_SIZE, NUM_CLASSES, tiny_model, write_weights
from cli_checks import assert_one_line_error
from stream_fakes import read_video, write_video
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.stream.sources import DEMO_CLIP
from edgeseg.weights import WEIGHTS_DIR

H, W = INPUT_SIZE


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_weights(tmp_path_factory.mktemp("weights"), tiny_model())


def run(*args: str):
    # eager: the default (auto) would compile the tiny model first; tests/backends/test_auto.py covers auto
    return CliRunner().invoke(app, ["run", "--backend", "torch", *map(str, args)])



def test_run_writes_video_and_stats_with_miou_from_sidecar_labels(weights, tmp_path):
    n = 12
    video = write_video(tmp_path / "clip.avi", n)
    labels = np.random.default_rng(0).integers(0, NUM_CLASSES, (n, H, W), dtype=np.uint8)
    np.savez_compressed(tmp_path / "clip.labels.npz", labels=labels, classes=np.array([f"class{i}" for i in range(NUM_CLASSES)]))
    result = run("--video", video, "--artifact", weights, "--out", tmp_path / "out.mp4", "--stats", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames"]["processed"] == n and stats["frames"]["labelled"] == n and stats["frames"]["dropped"] == 0
    assert 0 <= stats["stream_miou"] <= 1 and stats["backend"] == "torch" and stats["model"] == "enet"
    assert stats["latency_ms"]["infer"]["count"] == n and stats["fps"] > 0
    assert len(read_video(tmp_path / "out.mp4")) == n
    assert "temporal consistency" in result.stdout and "p50 / p90 / p99" in result.stdout


def test_show_without_display_says_so_in_one_line_and_runs_headless(weights, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    video = write_video(tmp_path / "clip.avi", 3)
    result = run("--video", video, "--artifact", weights, "--show")
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "display" in line]
    assert len(said) == 1 and said[0].startswith("--show needs a display: ") and said[0].endswith("; running headless")
    assert "3 processed" in result.stdout


def test_truncated_video_is_one_line(weights, tmp_path):
    video = write_video(tmp_path / "clip.mp4", 10)
    video.write_bytes(video.read_bytes()[:2000])
    assert_one_line_error(run("--video", video, "--artifact", weights), "truncated")


def test_truncated_video_mid_stream_is_one_line_and_keeps_output(weights, tmp_path):
    video = write_video(tmp_path / "clip.avi", 20)
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    result = run("--video", video, "--artifact", weights, "--out", tmp_path / "out.mp4", "--stats", tmp_path / "s.json")
    assert_one_line_error(result, "ended after", "of its 20 frames")
    done = json.loads((tmp_path / "s.json").read_text())["frames"]["processed"]
    assert 0 < done < 20 and len(read_video(tmp_path / "out.mp4")) == done


def test_missing_camera_index_is_one_line(weights):
    assert_one_line_error(run("--camera", "57", "--artifact", weights), "camera 57 could not be opened")


def test_unwritable_output_is_one_line(weights, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    video = write_video(tmp_path / "clip.avi", 2)
    assert_one_line_error(run("--video", video, "--artifact", weights, "--out", blocker / "x.mp4"), "cannot write --out")


def test_conflicting_options_are_one_line(weights):
    assert_one_line_error(run("--model", "enet", "--artifact", weights), "--model or --artifact")
    assert_one_line_error(run("--headless", "--out", "x.mp4", "--artifact", weights), "at most one")


def test_default_run_is_the_bundled_clip_with_bundled_enet(tmp_path):
    assert DEMO_CLIP.is_file() and DEMO_CLIP.with_name(DEMO_CLIP.stem + ".labels.npz").is_file()
    result = run("--max-frames", "2", "--headless", "--stats", tmp_path / "s.json")
    if not (WEIGHTS_DIR / "enet-camvid.safetensors").is_file():
        assert_one_line_error(result, "no 'camvid' weights are shipped for 'enet'")
        return
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["source"] == str(DEMO_CLIP) and stats["frames"]["labelled"] == 2
    assert stats["stream_miou"] is not None and stats["manifest_miou"] is not None
