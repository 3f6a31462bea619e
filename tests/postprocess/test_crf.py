"""Dense CRF: the permutohedral lattice filters like a unit Gaussian, and mean-field inference
cleans a noisy prediction of a synthetic scene using its colour edges."""
import numpy as np
import pytest
import torch

from edgeseg.data.synthetic import synthetic_scene
from edgeseg.postprocess.crf import PermutohedralLattice, dense_crf


def normalised_gaussian_filter(f, v, sigma):
    k = torch.exp(-((f[:, None, :] - f[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))
    return (k @ v) / k.sum(1, keepdim=True)


@pytest.mark.parametrize("d", [2, 5])  # the smoothness and the bilateral kernel's feature sizes
def test_lattice_filter_is_a_unit_gaussian(d):
    g = torch.Generator().manual_seed(0)
    f = torch.rand(1500, d, generator=g) * 5
    v = torch.sin(1.3 * f.sum(1, keepdim=True)) + torch.rand(1500, 1, generator=g)
    lattice = PermutohedralLattice(f)
    got = lattice.filter(v) / lattice.filter(torch.ones(1500, 1))
    err = {s: (got - normalised_gaussian_filter(f, v, s)).abs().mean().item() for s in (0.7, 1.0, 1.4)}
    assert err[1.0] < 0.02 * (v.max() - v.min()).item()  # mean error: 2% of the signal's range
    assert err[1.0] < min(err[0.7], err[1.4])  # and calibrated to std 1, not merely smooth


def noisy_prediction(label, num_classes, noise, seed=0):
    rng = np.random.default_rng(seed)
    logits = np.eye(num_classes)[label].transpose(2, 0, 1) + rng.normal(0, noise, (num_classes, *label.shape))
    p = np.exp(logits)
    return (p / p.sum(0)).astype(np.float32)


def test_crf_cleans_a_noisy_prediction():
    img, label = synthetic_scene(90, 120, num_classes=4, seed=3)
    probs = noisy_prediction(label, 4, noise=0.9)
    before = (probs.argmax(0) == label).mean()
    refined = dense_crf(img, probs)
    after = (refined.argmax(0) == label).mean()
    assert refined.shape == probs.shape and refined.dtype == np.float32
    np.testing.assert_allclose(refined.sum(0), 1, atol=1e-5)
    assert before < 0.7 and after > 0.95, (before, after)


def test_bilateral_kernel_keeps_a_thin_structure_that_smoothing_erases():
    # A 3-pixel vertical pole (class 1) of its own colour, predicted right but weakly: the
    # appearance kernel keeps it; a wide smoothness kernel alone votes it away.
    h, w = 40, 60
    label = np.zeros((h, w), np.int64)
    label[:, 29:32] = 1
    img = np.where(label[..., None] == 1, 200, 40).astype(np.uint8).repeat(3, axis=2)
    probs = np.where(label == 1, 0.6, 0.4)[None].repeat(2, 0).astype(np.float32)
    probs[0] = 1 - probs[1]
    bilateral = dense_crf(img, probs, w_bilateral=5, sxy_bilateral=20, srgb=10, w_gauss=0)
    smooth = dense_crf(img, probs, w_bilateral=0, w_gauss=5, sxy_gauss=10)
    assert (bilateral.argmax(0) == label).all()
    assert (smooth.argmax(0)[:, 29:32] == 0).mean() > 0.9


def test_no_pairwise_terms_leave_the_prediction_alone():
    img, label = synthetic_scene(30, 40, num_classes=3, seed=1)
    probs = noisy_prediction(label, 3, noise=0.5)
    np.testing.assert_allclose(dense_crf(img, probs, w_bilateral=0, w_gauss=0), probs, rtol=1e-5, atol=1e-6)


def test_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="image is"):
        dense_crf(np.zeros((10, 10, 3), np.uint8), np.full((2, 10, 12), 0.5, np.float32))
