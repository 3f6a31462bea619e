import pytest
from stream_fakes import tiny_segmenter


@pytest.fixture(scope="module")
def seg():
    return tiny_segmenter()
