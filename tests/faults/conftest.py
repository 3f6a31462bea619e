import pytest
from artifact_factory import tiny_model, write_image_folder, write_weights


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """Tiny ENet weights (4 classes, 64x96) with their manifest."""
    return write_weights(tmp_path_factory.mktemp("fault-weights"), tiny_model())


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """Three synthetic images in the image-folder layout (images/, masks/, classes.json)."""
    return write_image_folder(tmp_path_factory.mktemp("fault-data"))
