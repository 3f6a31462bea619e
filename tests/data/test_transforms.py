"""The batched augmentation: one resampling that scales, crops and flips, then colour jitter."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgeseg.data.transforms import Augment, Draw
from edgeseg.train.batches import DecodedDataset, EpochBatches


def batch(n=2, h=12, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (n, 3, h, w), generator=g, dtype=torch.uint8)
    lbl = torch.randint(0, 5, (n, h, w), generator=g, dtype=torch.uint8)
    return img, lbl


def plain(scale=1.0, top=0, left=0, flip=False) -> Draw:
    return Draw(scale, top, left, flip, 1.0, 1.0, 1.0)


def test_scale_one_and_a_full_crop_is_the_identity():
    img, lbl = batch()
    x, y = Augment(crop=(12, 16), ignore_index=255).apply(img, lbl, [plain(), plain()])
    assert torch.allclose(x, img.float() / 255, atol=1e-6)
    assert torch.equal(y, lbl.long())


def test_a_crop_and_a_flip_read_the_right_pixels():
    img, lbl = batch()
    x, y = Augment(crop=(5, 7), ignore_index=255).apply(img, lbl, [plain(top=3, left=4), plain(top=1, left=2, flip=True)])
    assert torch.allclose(x[0], img[0, :, 3:8, 4:11].float() / 255, atol=1e-6)
    assert torch.equal(y[1], lbl[1, 1:6, 2:9].flip(-1).long())


def test_upscaling_matches_a_bilinear_resize_then_crop():
    img, lbl = batch(n=1, h=20, w=24)
    x, _ = Augment(crop=(10, 12), ignore_index=255).apply(img, lbl, [plain(scale=2.0, top=9, left=11)])
    resized = F.interpolate(img.float() / 255, size=(40, 48), mode="bilinear", align_corners=False)
    assert torch.allclose(x[0], resized[0, :, 9:19, 11:23], atol=1e-5)


def test_outside_the_scaled_image_is_void_and_black():
    img, lbl = batch(h=12, w=16)
    x, y = Augment(crop=(12, 16), ignore_index=255).apply(img, lbl, [plain(scale=0.5), plain(scale=0.5)])
    assert (y[:, 6:, :] == 255).all() and (y[:, :, 8:] == 255).all()
    assert (y[:, :6, :8] < 5).all()
    assert x[:, :, 6:, :].abs().max() == 0 and x[:, :, :, 8:].abs().max() == 0


def test_jitter_factors_apply_per_sample():
    img, lbl = batch()
    aug = Augment(crop=(12, 16), brightness=0.5, ignore_index=255)
    x, _ = aug.apply(img, lbl, [Draw(1.0, 0, 0, False, 0.5, 1.0, 1.0), plain()])
    assert torch.allclose(x[0], img[0].float() / 255 * 0.5, atol=1e-6)
    assert torch.allclose(x[1], img[1].float() / 255, atol=1e-6)


def test_draws_stay_inside_the_scaled_image():
    aug = Augment(crop=(30, 40), scale=(0.5, 2.0), brightness=0.2, contrast=0.2, saturation=0.2)
    for seed in range(200):
        d = aug.draw(36, 48, torch.Generator().manual_seed(seed))
        nh, nw = max(1, round(36 * d.scale)), max(1, round(48 * d.scale))
        assert 0 <= d.top <= max(nh, 30) - 30 and 0 <= d.left <= max(nw, 40) - 40
        assert 0.5 <= d.scale <= 2.0 and all(0.8 <= f <= 1.2 for f in (d.brightness, d.contrast, d.saturation))


class Frames:
    """Frames of two sizes, to exercise the per-sample path."""

    def __init__(self, sizes):
        rng = np.random.default_rng(0)
        self.items = [(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(0, 4, (h, w), dtype=np.uint8)) for h, w in sizes]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_resident_batches_equal_the_loader_batches():
    data = DecodedDataset(Frames([(24, 32)] * 6))
    aug = Augment(crop=(16, 24), scale=(0.5, 1.5), brightness=0.2, contrast=0.2, saturation=0.2, ignore_index=255)
    loader = EpochBatches(data, aug, 3, seed=1, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    resident = EpochBatches(data, aug, 3, seed=1, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2), device=torch.device("cpu"))
    for epoch in (0, 3):
        loader.epoch = resident.epoch = epoch
        for b in range(len(loader)):
            (xa, ya), (xb, yb) = loader[b], resident[b]
            assert torch.allclose(xa, xb, atol=1e-6) and torch.equal(ya, yb)


def test_frames_of_several_sizes_make_one_batch():
    data = DecodedDataset(Frames([(24, 32), (30, 40), (24, 32), (18, 20)]))
    assert data.uniform_size() is None
    x, y = EpochBatches(data, Augment(crop=(16, 24), ignore_index=255), 4, seed=0, mean=(0.5,) * 3, std=(0.2,) * 3)[0]
    assert x.shape == (4, 3, 16, 24) and y.shape == (4, 16, 24)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_batches_built_on_a_gpu_equal_the_cpu_ones():
    data = DecodedDataset(Frames([(24, 32)] * 4))
    aug = Augment(crop=(16, 24), scale=(0.5, 1.5), brightness=0.2, contrast=0.2, saturation=0.2, ignore_index=255)
    cpu = EpochBatches(data, aug, 4, seed=1, mean=(0.5,) * 3, std=(0.2,) * 3)[0]
    gpu = EpochBatches(data, aug, 4, seed=1, mean=(0.5,) * 3, std=(0.2,) * 3, device=torch.device("cuda"))[0]
    assert torch.allclose(cpu[0], gpu[0].cpu(), atol=1e-4)
    assert (cpu[1] != gpu[1].cpu()).float().mean() < 0.01  # nearest-neighbour ties may round apart
