"""Upsampling choices: the bilinear-initialised transposed conv really is bilinear interpolation,
every mode reaches odd target sizes, and unpooling pairs with `MaxPool2x2`."""
import pytest
import torch
import torch.nn.functional as F

from edgeseg.layers.unpool import set_unpool_mode
from edgeseg.layers.upsample import MaxPool2x2, bilinear_kernel, make_upsample


def test_bilinear_kernel_is_fcns_filter():
    f = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(bilinear_kernel(4), f[:, None] * f[None, :])


@pytest.mark.parametrize("scale", [2, 8, 32])
def test_transposed_starts_as_bilinear_interpolation(scale):
    up = make_upsample("transposed", 3, scale=scale)
    x = torch.randn(1, 3, 5, 7)
    with torch.no_grad():
        y = up(x, 5 * scale, 7 * scale)
    ref = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    # Equal away from the border, where the transposed conv sees zero padding instead of edge values.
    torch.testing.assert_close(y[..., scale:-scale, scale:-scale], ref[..., scale:-scale, scale:-scale], rtol=1e-5, atol=1e-5)


def test_frozen_transposed_is_not_learnable():
    assert not any(p.requires_grad for p in make_upsample("transposed", 4, scale=8, learnable=False).parameters())
    assert all(p.requires_grad for p in make_upsample("transposed", 4, scale=2).parameters())


@pytest.mark.parametrize("mode", ["bilinear", "transposed"])
@pytest.mark.parametrize("target", [(44, 60), (45, 61), (43, 59)])
def test_modes_reach_any_target_near_twice_the_size(mode, target):
    # 22x30 -> 44x60 exactly, 45x61 (floor-mode pooling dropped a row/col), 43x59 (ceil-mode strides).
    up = make_upsample(mode, 8, 4, scale=2)
    assert up(torch.randn(1, 8, 22, 30), *target).shape == (1, 4, *target)


@pytest.mark.parametrize("form", ["native", "decomposed"])
def test_unpool_inverts_the_paired_pool_at_odd_sizes(form):
    pool, up = MaxPool2x2(keep_indices=True), make_upsample("unpool", 3)
    set_unpool_mode(torch.nn.ModuleList([pool, up]), form)
    x = torch.randn(1, 3, 45, 61)
    y, idx = pool(x)
    z = up(y, 45, 61, idx)
    assert z.shape == x.shape
    kept = z != 0
    torch.testing.assert_close(z[kept], x[kept])  # each maximum goes back where it came from
    assert kept.sum() == y.numel()


def test_plain_pool_has_no_indices_and_unpool_needs_them():
    y, idx = MaxPool2x2()(torch.randn(1, 3, 8, 8))
    assert idx is None and y.shape == (1, 3, 4, 4)
    with pytest.raises(AssertionError):
        make_upsample("unpool", 3)(y, 8, 8)
    with pytest.raises(ValueError):
        make_upsample("unpool", 3, 6)
