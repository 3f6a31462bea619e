import numpy as np
import pytest
from stream_fakes import H, W, coded_frame, decode_index, write_video

from edgeseg.errors import InputError
from edgeseg.stream import Pipeline, SourceError, open_source
from edgeseg.stream.opencv import cv2_module, has_gstreamer
from edgeseg.stream.sources import CaptureSource, FrameLabels, csi_pipeline, sidecar_labels


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


def _truncate(path, fraction: float):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def test_truncated_mp4_is_a_one_line_error_at_open(tmp_path):
    video = _truncate(write_video(tmp_path / "clip.mp4", 20), 0.6)  # its index (moov) is at the end
    with pytest.raises(InputError) as e:
        open_source(video=video)
    assert "truncated" in _one_line(e) and str(video) in str(e.value)


def test_truncated_avi_stops_the_stream_with_a_one_line_error(seg, tmp_path):
    video = _truncate(write_video(tmp_path / "clip.avi", 20), 0.5)  # frames up to the cut still decode
    report = Pipeline(seg, open_source(video=video)).run()
    assert isinstance(report.error, SourceError)
    processed = report.summary["frames"]["processed"]
    assert 0 < processed < 20
    assert report.summary["error"] == f"{video} ended after {processed} of its 20 frames: the file is truncated or corrupt"


def test_missing_video_and_non_video(tmp_path):
    with pytest.raises(InputError) as e:
        open_source(video=tmp_path / "none.mp4")
    assert "does not exist" in _one_line(e)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(InputError) as e:
        open_source(video=junk)
    assert "cannot open video" in _one_line(e)


def test_missing_camera_index_is_a_one_line_error():
    with pytest.raises(InputError) as e:
        open_source(camera="57")
    assert _one_line(e) == "camera 57 could not be opened: no such device, or it is in use"


def test_camera_spec_that_is_nothing_known():
    with pytest.raises(InputError) as e:
        open_source(camera="front")
    assert "csi://N" in _one_line(e)


@pytest.mark.skipif(has_gstreamer(cv2_module("tests")), reason="this OpenCV has GStreamer; the message is for builds without it")
@pytest.mark.parametrize("spec", ["csi://0", "videotestsrc ! videoconvert ! appsink"])
def test_csi_and_gstreamer_say_plainly_when_opencv_lacks_gstreamer(spec):
    with pytest.raises(InputError) as e:
        open_source(camera=spec)
    msg = _one_line(e)
    assert "GStreamer" in msg and "system OpenCV" in msg


def test_csi_pipeline_string():
    p = csi_pipeline("csi://1?width=640&height=480&fps=60")
    assert p.startswith("nvarguscamerasrc sensor-id=1 ! ")
    assert "width=640, height=480, framerate=60/1" in p and "nvvidconv" in p
    assert p.endswith("appsink drop=true max-buffers=1")
    assert "sensor-id=0" in csi_pipeline("csi://0") and "width=1280, height=720, framerate=30/1" in csi_pipeline("csi://0")


class FakeCapture:
    """Stands in for cv2.VideoCapture: `n` frames, then read() fails as an unplugged camera does."""

    def __init__(self, n: int, start: int = 0) -> None:
        self.n, self.i, self.opened = n, start, n > 0
        self.released = False

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return self.opened

    def read(self):
        if self.i >= self.n:
            return False, None
        self.i += 1
        return True, coded_frame(self.i - 1)

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True


def test_vanished_camera_retries_a_bounded_number_of_times_then_fails():
    attempts = []
    reopen = lambda: attempts.append(1) or FakeCapture(0)  # noqa: E731  the device is gone
    first = FakeCapture(5)
    source = CaptureSource("camera 0", first, live=True, reopen=reopen, retries=3, retry_delay=0.001)
    assert [source.read().index for _ in range(5)] == list(range(5))
    with pytest.raises(SourceError) as e:
        source.read()
    assert len(attempts) == 3 and first.released
    assert _one_line(e) == "camera 0 stopped delivering frames and did not come back after 3 reconnection attempts"


def test_camera_that_comes_back_continues_the_stream():
    source = CaptureSource("camera 0", FakeCapture(3), live=True, reopen=lambda: FakeCapture(10, start=3), retries=2, retry_delay=0.001)
    frames = [source.read() for _ in range(6)]
    assert [decode_index(f.image) for f in frames] == list(range(6))


def test_image_folder_in_name_order_with_label_folder(tmp_path):
    cv2 = cv2_module("tests")
    (tmp_path / "img").mkdir()
    (tmp_path / "lbl").mkdir()
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / "img" / f"f{i:02d}.png"), coded_frame(i))
        cv2.imwrite(str(tmp_path / "lbl" / f"f{i:02d}.png"), np.full((H, W), i, np.uint8))
    source = open_source(images=tmp_path / "img", labels=tmp_path / "lbl")
    frames = [source.read() for _ in range(3)]
    assert source.read() is None and not source.live
    assert [decode_index(f.image) for f in frames] == [0, 1, 2]
    assert [int(f.label[0, 0]) for f in frames] == [0, 1, 2]


def test_sidecar_labels_are_found_and_checked(tmp_path):
    video = write_video(tmp_path / "clip.avi", 4)
    assert sidecar_labels(video) is None
    np.savez_compressed(tmp_path / "clip.labels.npz", labels=np.zeros((4, H, W), np.uint8), classes=np.array(["a", "b"]), ignore_index=9)
    source = open_source(video=video)
    assert source.labels.count == 4 and source.labels.classes == ("a", "b") and source.labels.ignore_index == 9
    assert source.read().label.shape == (H, W)
    np.savez_compressed(tmp_path / "bad.labels.npz", labels=np.zeros((4, H, W), np.float32))
    with pytest.raises(InputError) as e:
        FrameLabels.load_npz(tmp_path / "bad.labels.npz")
    assert "uint8" in _one_line(e)


@pytest.mark.parametrize("kwargs, words", [
    ({}, "exactly one source"),
    ({"video": "a.mp4", "images": "d"}, "exactly one source"),
    ({"camera": "0", "labels": "l.npz"}, "file source"),
])
def test_source_arguments_are_checked(kwargs, words):
    with pytest.raises(InputError) as e:
        open_source(**kwargs)
    assert words in _one_line(e)
