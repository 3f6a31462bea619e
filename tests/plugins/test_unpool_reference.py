"""The plugin's reference math against torch's max_pool2d + max_unpool2d: random inputs, ties, odd sizes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgeseg.plugins.reference import max_unpool_from_source


def torch_unpool(values: np.ndarray, source: np.ndarray, kernel) -> np.ndarray:
    """What the native form computes: indices from pooling `source`, then unpool `values` with them."""
    s = torch.from_numpy(source)
    _, idx = F.max_pool2d(s, kernel, kernel, return_indices=True)
    return F.max_unpool2d(torch.from_numpy(values), idx, kernel, kernel, output_size=s.shape[-2:]).numpy()


def pooled_shape(source_shape, kernel):
    n, c, h, w = source_shape
    return n, c, h // kernel[0], w // kernel[1]


def check(source: np.ndarray, kernel=(2, 2), seed=0) -> np.ndarray:
    # values independent of source, as in ENet where the decoder's features are unpooled
    values = np.random.default_rng(seed).normal(size=pooled_shape(source.shape, kernel)).astype(np.float32)
    got = max_unpool_from_source(values, source, kernel)
    np.testing.assert_array_equal(got, torch_unpool(values, source, kernel))
    return got


@pytest.mark.parametrize("shape,kernel", [
    ((2, 3, 8, 12), (2, 2)), ((1, 4, 7, 9), (2, 2)), ((2, 2, 5, 2), (2, 2)), ((1, 1, 3, 3), (2, 2)),
    ((2, 3, 8, 12), (3, 3)), ((1, 4, 7, 9), (3, 3)), ((1, 4, 7, 9), (2, 3)), ((1, 1, 3, 3), (3, 3)),
])
def test_random_inputs(shape, kernel):
    source = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    got = check(source, kernel)
    n, c, h, w = pooled_shape(shape, kernel)
    assert np.count_nonzero(got) == n * c * h * w  # one value per window, the rest zeros


@pytest.mark.parametrize("shape", [(2, 3, 8, 12), (1, 2, 7, 9), (1, 1, 9, 5)])
def test_ties_keep_the_first_maximum(shape):
    rng = np.random.default_rng(2)
    source = rng.integers(0, 3, size=shape).astype(np.float32)
    source[..., : shape[2] // 2, :] = 1.0  # a constant band: every window there is a 4-way tie
    got = check(source)
    # in the band the first (top-left) element of each window holds the value
    band = got[:, :, : (shape[2] // 2) // 2 * 2 : 2, : shape[3] // 2 * 2 : 2]
    assert np.all(band != 0)


def test_negative_windows_and_odd_tail_stay_zero():
    source = -np.abs(np.random.default_rng(3).normal(size=(1, 2, 5, 7))).astype(np.float32)
    got = check(source)
    assert not got[:, :, 4, :].any() and not got[:, :, :, 6].any()  # rows/columns no window covers


def test_half_precision_values():
    source = np.random.default_rng(4).integers(-2, 3, size=(1, 3, 6, 6)).astype(np.float16)
    values = np.random.default_rng(5).normal(size=(1, 3, 3, 3)).astype(np.float16)
    got = max_unpool_from_source(values, source)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, torch_unpool(values.astype(np.float32), source.astype(np.float32), (2, 2)).astype(np.float16))


@pytest.mark.parametrize("values_shape", [(1, 3, 4, 4), (1, 2, 3, 4), (2, 3, 3, 4)])
def test_shape_mismatch_is_refused(values_shape):
    with pytest.raises(ValueError, match="not a 2x2 pooling"):
        max_unpool_from_source(np.zeros(values_shape, np.float32), np.zeros((1, 3, 7, 9), np.float32))
