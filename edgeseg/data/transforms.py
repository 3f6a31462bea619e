"""Training augmentation and normalisation on torch tensors (no cv2 needed).

Augmentation: random scale, random crop (label padded with the ignore index), horizontal flip,
colour jitter; each sample's choices are drawn on the CPU and a batch is applied at once, on
the CPU or a GPU. Normalisation matches edgeseg.preprocess so a trained
model sees at deployment exactly what it saw in training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Draw:
    """One sample's random choices: the scale, the crop's top-left corner in the scaled image,
    a flip and the colour-jitter factors. Drawn on the CPU from the sample's own generator, so a
    batch is the same wherever it is applied (loader worker, DDP rank, GPU)."""

    scale: float
    top: int
    left: int
    flip: bool
    brightness: float
    contrast: float
    saturation: float


@dataclass
class Augment:
    crop: tuple[int, int]
    scale: tuple[float, float] = (0.5, 2.0)
    hflip: bool = True
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    ignore_index: int = 255

    def draw(self, h: int, w: int, g: torch.Generator) -> Draw:
        """The choices for one (h, w) sample: random scale, a crop inside the scaled image (at
        the top-left, padded, where the scaled image is smaller), flip, jitter factors."""
        s = self.scale[0] + (self.scale[1] - self.scale[0]) * torch.rand((), generator=g).item()
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        ch, cw = self.crop
        top = int(torch.randint(0, max(nh, ch) - ch + 1, (), generator=g))
        left = int(torch.randint(0, max(nw, cw) - cw + 1, (), generator=g))
        flip = self.hflip and torch.rand((), generator=g).item() < 0.5

        def factor(amount: float) -> float:
            return 1.0 + amount * (2 * torch.rand((), generator=g).item() - 1) if amount else 1.0

        return Draw(s, top, left, flip, factor(self.brightness), factor(self.contrast), factor(self.saturation))

    def apply(self, img: torch.Tensor, lbl: torch.Tensor, draws: list[Draw]) -> tuple[torch.Tensor, torch.Tensor]:
        """img: uint8 (B,3,H,W); lbl: integer (B,H,W); one draw per sample, on any device.
        Returns float (B,3,*crop) in [0,1] and int64 (B,*crop), void outside the scaled image.

        Scale, crop and flip are one resampling: each output pixel's centre is mapped back to the
        source (the half-pixel convention of bilinear resizing), so a whole batch is two
        grid_sample calls instead of a resize, a pad and a crop per sample."""
        b, _, h, w = img.shape
        ch, cw = self.crop
        dev = img.device
        p = torch.tensor([[d.scale, d.top, d.left, -1.0 if d.flip else 1.0, d.brightness, d.contrast, d.saturation] for d in draws])
        p = to_device(p, dev)
        s, top, left, sign = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
        nh, nw = (h * s).round().clamp(min=1), (w * s).round().clamp(min=1)
        i = torch.arange(ch, device=dev, dtype=torch.float32)
        j = torch.arange(cw, device=dev, dtype=torch.float32)
        j = torch.where(sign[:, None] < 0, cw - 1 - j, j)  # a flipped crop reads its columns backwards
        gy = (2 * (top[:, None] + i) + 1) / nh[:, None] - 1  # (B, ch): normalised source rows
        gx = (2 * (left[:, None] + j) + 1) / nw[:, None] - 1  # (B, cw)
        grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)  # (B, ch, cw, 2) as (x, y)
        inside = ((gx.abs() <= 1)[:, None, :] & (gy.abs() <= 1)[:, :, None])[:, None]
        out = F.grid_sample(img.float().div_(255.0), grid, mode="bilinear", padding_mode="border", align_corners=False)
        out = out * inside
        # Labels are sampled as (class + 1) with zero padding, so pixels outside the image come back as void.
        lab = F.grid_sample(lbl[:, None].float() + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False)[:, 0]
        lab = torch.where(lab > 0, lab - 1, torch.full_like(lab, float(self.ignore_index))).long()
        return self._jitter(out, p[:, 4:5, None, None], p[:, 5:6, None, None], p[:, 6:7, None, None]), lab

    def _jitter(self, img: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor, saturation: torch.Tensor) -> torch.Tensor:
        if self.brightness:
            img = img * brightness
        if self.contrast:
            mean = img.mean(dim=(1, 2, 3), keepdim=True)
            img = (img - mean) * contrast + mean
        if self.saturation:
            grey = 0.299 * img[:, 0:1] + 0.587 * img[:, 1:2] + 0.114 * img[:, 2:3]
            img = (img - grey) * saturation + grey
        return img.clamp_(0.0, 1.0)


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small host tensor on `device`; to a GPU from pinned memory, so the copy is queued
    behind the running kernels instead of waiting for them."""
    return t.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else t.to(device)


def to_tensors(img: np.ndarray, lbl: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB uint8 HxWx3 + uint8 HxW -> float (3,H,W) in [0,1] + int64 (H,W)."""
    return torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).float().div_(255.0), torch.from_numpy(lbl.astype(np.int64))


def normalize(img: torch.Tensor, mean, std) -> torch.Tensor:
    """Normalise a (..., 3, H, W) tensor in [0,1] with per-channel mean/std."""
    m = torch.tensor(mean, dtype=img.dtype, device=img.device).view(3, 1, 1)
    s = torch.tensor(std, dtype=img.dtype, device=img.device).view(3, 1, 1)
    return (img - m) / s


def fit_size(img: torch.Tensor, lbl: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize an evaluation sample to the network input size (label by nearest neighbour)."""
    if tuple(lbl.shape) == tuple(size):
        return img, lbl
    img = F.interpolate(img[None], size=size, mode="bilinear", align_corners=False)[0]
    lbl = F.interpolate(lbl[None, None].float(), size=size, mode="nearest")[0, 0].long()
    return img, lbl


def check_divisible(size: tuple[int, int], divisor: int, model: str) -> None:
    if size[0] % divisor or size[1] % divisor:
        ok = (math.ceil(size[0] / divisor) * divisor, math.ceil(size[1] / divisor) * divisor)
        from edgeseg.errors import InputError

        raise InputError(f"{model} needs height and width divisible by {divisor}; got {size[0]}x{size[1]}, try {ok[0]}x{ok[1]}")
