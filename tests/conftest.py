"""Shared test settings: CPU-only, few threads (CI has 2 cores), deterministic."""
import numpy as np
import pytest
import torch

torch.set_num_threads(1)  # 2-core CI: one thread is faster and steadier under load


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
