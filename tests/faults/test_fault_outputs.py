"""Issue 13, defect 1: every output path is checked before any work starts, in one place
(edgeseg.outputs), and a bad one is one line naming the flag, exit code 2."""
from __future__ import annotations

import pytest
from cli_checks import assert_one_line_error
from fault_inputs import write_video
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.errors import InputError
from edgeseg.outputs import check_file, check_folder


def test_a_good_file_path_passes_and_the_probe_leaves_nothing(tmp_path):
    assert check_file(tmp_path / "new" / "deeper" / "s.json", "--stats") == tmp_path / "new" / "deeper" / "s.json"
    (tmp_path / "old.json").write_text("{}")
    check_file(tmp_path / "old.json", "--stats")  # an existing file is replaced atomically later
    check_folder(tmp_path / "run", "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # no probe file, no folder made


@pytest.mark.parametrize("where, fragment", [
    ("/proc/edgeseg-stats.json", "no file can be created in /proc"),
    ("{tmp}/a-file/s.json", "is a file, not a folder"),
    ("{tmp}/a-file/deep/er/s.json", "is a file, not a folder"),
    ("{tmp}/a-folder", "is a folder; give a file name"),
    ("/dev/null", "is not a regular file"),
])
def test_bad_file_paths_are_typed_errors_naming_the_parameter(tmp_path, where, fragment):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(InputError, match=fragment) as e:
        check_file(where.format(tmp=tmp_path), "--stats")
    assert str(e.value).count("--stats") == 1


def test_bad_folder_paths_are_typed_errors(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(InputError, match="--out-dir .* exists and is not a folder"):
        check_folder(tmp_path / "a-file", "--out-dir")
    with pytest.raises(InputError, match="no file can be created in /proc"):
        check_folder("/proc/edgeseg-bench", "--out-dir")


def test_a_wrong_suffix_is_named(tmp_path):
    with pytest.raises(InputError, match=r"--out .*\.mkv: expected a file ending in \.mp4 or \.avi"):
        check_file(tmp_path / "o.mkv", "--out", (".mp4", ".avi"))


# Every command that writes, with each output flag: (args before the flag, flag, kind).
WRITERS = [
    (["run", "--video", "{video}", "--artifact", "{weights}"], "--stats", "file"),
    (["run", "--video", "{video}", "--artifact", "{weights}"], "--out", "video"),
    (["eval", "{weights}", "--data", "{data}", "--no-progress"], "--json", "file"),
    (["bench", "{weights}", "--data", "{data}", "--backends", "torch", "--iters", "1", "--warmup", "0"], "--out-dir", "folder"),
    (["export", "enet", "--weights", "{weights}", "--no-verify"], "--out", "file"),
    (["export", "enet", "--weights", "{weights}", "--format", "triton"], "--out", "folder"),
    (["build", "enet", "--weights", "{weights}"], "--out", "folder"),
    (["calibrate", "enet", "--weights", "{weights}", "--data", "{data}", "--no-progress"], "--out", "folder"),
    (["calib", "select", "enet-camvid", "--data", "{data}"], "--out", "file"),
    (["train", "enet-camvid", "--data", "{data}", "--epochs", "1"], "--out", "folder"),
]
BAD = {
    "file": [("{tmp}/a-file/x.json", "is a file, not a folder"), ("{tmp}/a-folder", "is a folder"), ("/proc/x.json", "/proc")],
    "video": [("{tmp}/a-file/x.mp4", "is a file, not a folder"), ("{tmp}/a-folder.mp4", "is a folder"), ("/proc/x.mp4", "/proc")],
    "folder": [("{tmp}/a-file", "exists and is not a folder"), ("{tmp}/a-file/run", "is a file, not a folder"), ("/proc/run", "/proc")],
}
CASES = [(args, flag, bad, fragment) for args, flag, kind in WRITERS for bad, fragment in BAD[kind]]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", 4)


@pytest.mark.parametrize("args, flag, bad, fragment", CASES, ids=[f"{a[0]}{' ' + a[1] if a[0] == 'calib' else ''} {f} {b.split('/')[-1]}" for a, f, b, _ in CASES])
def test_every_writer_checks_its_output_before_work(tmp_path, weights, data, video, args, flag, bad, fragment):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-folder.mp4").mkdir()
    fill = dict(tmp=tmp_path, weights=weights, data=data, video=video)
    result = CliRunner().invoke(app, [a.format(**fill) for a in args] + [flag, bad.format(**fill)])
    assert_one_line_error(result, flag, fragment)
    assert "running" not in result.stdout and "wrote" not in result.stdout  # failed before any work
