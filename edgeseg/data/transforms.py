"""Training augmentation and normalisation on torch tensors (no cv2 needed).

Augmentation works per sample: random scale, random crop (label padded with the ignore
index), horizontal flip, colour jitter. Normalisation matches edgeseg.preprocess so a trained
model sees at deployment exactly what it saw in training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Augment:
    crop: tuple[int, int]
    scale: tuple[float, float] = (0.5, 2.0)
    hflip: bool = True
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    ignore_index: int = 255

    def __call__(self, img: torch.Tensor, lbl: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """img: float (3,H,W) in [0,1]; lbl: int64 (H,W). Returns a crop of size `self.crop`."""
        h, w = lbl.shape
        s = self.scale[0] + (self.scale[1] - self.scale[0]) * torch.rand((), generator=g).item()
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", align_corners=False)[0]
        lbl = F.interpolate(lbl[None, None].float(), size=(nh, nw), mode="nearest")[0, 0].long()
        ch, cw = self.crop
        ph, pw = max(0, ch - nh), max(0, cw - nw)
        if ph or pw:
            img = F.pad(img, [0, pw, 0, ph], value=0.0)
            lbl = F.pad(lbl, [0, pw, 0, ph], value=self.ignore_index)
        y0 = int(torch.randint(0, img.shape[1] - ch + 1, (), generator=g))
        x0 = int(torch.randint(0, img.shape[2] - cw + 1, (), generator=g))
        img, lbl = img[:, y0 : y0 + ch, x0 : x0 + cw], lbl[y0 : y0 + ch, x0 : x0 + cw]
        if self.hflip and torch.rand((), generator=g).item() < 0.5:
            img, lbl = img.flip(-1), lbl.flip(-1)
        return self._jitter(img, g), lbl

    def _jitter(self, img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        def factor(amount: float) -> float:
            return 1.0 + amount * (2 * torch.rand((), generator=g).item() - 1)

        if self.brightness:
            img = img * factor(self.brightness)
        if self.contrast:
            img = (img - img.mean()) * factor(self.contrast) + img.mean()
        if self.saturation:
            grey = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2])[None]
            img = (img - grey) * factor(self.saturation) + grey
        return img.clamp_(0.0, 1.0)


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
