"""During a stream a torch-family CPU runner gets one thread fewer (a core stays free for the
other stages), OpenCV runs on the stage threads, and the process's thread counts come back afterwards."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from stream_fakes import H, W, tiny_segmenter

from edgeseg.backend_names import Backend
from edgeseg.stream import Pipeline
from edgeseg.stream.pipeline import _one_core_for_the_other_stages
from edgeseg.stream.sources import ArraySource


@pytest.fixture
def three_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", [Backend.TORCH, Backend.COMPILED, Backend.TORCHSCRIPT])
def test_torch_runners_leave_a_core_and_get_it_back(three_threads, name):
    with _one_core_for_the_other_stages(SimpleNamespace(name=name, device="cpu")) as n:
        assert n == torch.get_num_threads() == 2
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("runner", [SimpleNamespace(name=Backend.ONNXRUNTIME, device="cpu"), SimpleNamespace(name=Backend.TORCH, device="cuda")])
def test_other_runners_keep_their_threads(three_threads, runner):
    with _one_core_for_the_other_stages(runner) as n:
        assert n is None and torch.get_num_threads() == 3


def test_the_count_comes_back_when_the_stream_raises(three_threads):
    with pytest.raises(RuntimeError):
        with _one_core_for_the_other_stages(SimpleNamespace(name=Backend.TORCH, device="cpu")):
            raise RuntimeError("a stage failed")
    assert torch.get_num_threads() == 3


def test_opencv_runs_on_the_stage_threads_during_a_stream_and_its_pool_comes_back():
    cv2 = pytest.importorskip("cv2")
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    seen: list[int] = []
    try:
        frames = [np.zeros((H, W, 3), np.uint8)] * 3
        report = Pipeline(tiny_segmenter(), ArraySource(frames), on_result=lambda p: seen.append(cv2.getNumThreads())).run()
        assert report.error is None and seen == [1, 1, 1]
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)


def test_overlapping_streams_leave_the_thread_count_as_they_found_it(three_threads):
    """Two streams in one process (two cameras), started A, B and ended A, B: the count stays lowered
    while B runs and comes back to 3 at the end, not to B's view of it."""
    runner = SimpleNamespace(name=Backend.TORCH, device="cpu")
    a, b = _one_core_for_the_other_stages(runner), _one_core_for_the_other_stages(runner)
    assert a.__enter__() == 2 and b.__enter__() == 2
    a.__exit__(None, None, None)
    assert torch.get_num_threads() == 2
    b.__exit__(None, None, None)
    assert torch.get_num_threads() == 3
