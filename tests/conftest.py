"""Shared test settings: CPU-only, few threads (CI has 2 cores), deterministic."""
import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
