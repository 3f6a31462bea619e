import pytest
import torch
from stream_fakes import tiny_segmenter


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The pipeline already runs its stages in parallel threads; on a 2-core runner shared with
    other jobs, torch's own intra-op threads on top of them thrash (seen: 30x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def seg():
    return tiny_segmenter()
