import numpy as np
import pytest
from stream_fakes import H, W, coded_frame, decode_index, read_video

from edgeseg.errors import InputError
from edgeseg.stream.sinks import VideoSink, WindowSink


def test_video_is_written_atomically(tmp_path):
    out = tmp_path / "out.mp4"
    sink = VideoSink(out, fps=10)
    for i in range(3):
        sink.write(coded_frame(i))
    assert not out.exists()  # nothing under the real name until it is complete
    assert sink.close() == out
    assert [decode_index(f) for f in read_video(out)] == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_no_frames_leaves_no_file(tmp_path):
    assert VideoSink(tmp_path / "out.avi").close() is None
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_path_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(InputError) as e:
        VideoSink(blocker / "out.mp4")
    assert str(e.value).startswith(f"cannot write `out` {blocker / 'out.mp4'}: ") and "\n" not in str(e.value)


def test_unknown_container_is_refused(tmp_path):
    with pytest.raises(InputError) as e:
        VideoSink(tmp_path / "out.gif")
    assert ".mp4" in str(e.value)


def test_window_without_display_says_so(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(InputError) as e:
        WindowSink()
    assert str(e.value).startswith("showing a window needs a display: ")
