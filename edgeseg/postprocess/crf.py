"""Fully connected CRF post-processing (Krähenbühl & Koltun, "Efficient Inference in Fully
Connected CRFs with Gaussian Edge Potentials", NIPS 2011), as DeepLab v1/v2 apply it to the
network's class probabilities.

Energy: unary -log P(l) per pixel; pairwise Potts over all pixel pairs with two Gaussian
kernels, an appearance (bilateral) kernel exp(-|p_i-p_j|^2 / 2 sxy_b^2 - |I_i-I_j|^2 / 2 srgb^2)
and a smoothness kernel exp(-|p_i-p_j|^2 / 2 sxy_g^2). Mean-field inference: each iteration
filters the current marginals Q with both kernels and sets Q_i(l) ∝ P_i(l) exp(sum_k w_k m_k,i(l)).

The O(N^2) filtering is done with a permutohedral lattice (Adams, Baek, Davis, Eurographics
2010), as in the paper: features are lifted onto the lattice (splat, barycentric weights),
blurred with [1/2 1 1/2] along each of the d+1 lattice directions, and read back (slice):
O(N d^2) per filtering, exact up to the lattice's approximation of the Gaussian. Kernels are
normalised (each message is a kernel-weighted average of the other pixels' marginals, the pixel
itself included), so the weights do not depend on image size. Written with torch tensor ops,
on the CPU or wherever the inputs are.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch


class PermutohedralLattice:
    """Gaussian filtering of N values with d-dimensional features (already divided by their std)."""

    def __init__(self, features: torch.Tensor) -> None:
        n, d = features.shape
        self.d = d
        dev = features.device
        # Lift onto the hyperplane sum(x) = 0 of R^(d+1), scaled so that the blur below is a
        # Gaussian of unit std in feature units (Adams et al. 2010, section 3.1).
        i = torch.arange(1, d + 1, device=dev, dtype=features.dtype)
        cf = features * ((d + 1) * math.sqrt(2.0 / 3.0) / torch.sqrt(i * (i + 1)))
        tail = cf.flip(1).cumsum(1).flip(1)  # tail[:, j] = sum of cf[:, j:]
        elevated = torch.cat([tail[:, :1], torch.cat([tail[:, 1:], torch.zeros_like(tail[:, :1])], 1) - i * cf], 1)

        # Nearest remainder-0 lattice point, then the simplex containing the point.
        down = torch.floor(elevated / (d + 1)) * (d + 1)
        up = down + (d + 1)
        rem0 = torch.where(up - elevated < elevated - down, up, down)
        total = (rem0.sum(1, keepdim=True) / (d + 1)).round().long()
        diff = elevated - rem0
        rank = torch.argsort(torch.argsort(-diff, dim=1, stable=True), dim=1)
        too_far = (total > 0) & (rank >= d + 1 - total)
        too_near = (total < 0) & (rank < -total)
        rank = rank + total - (d + 1) * too_far.long() + (d + 1) * too_near.long()
        rem0 = rem0 - (d + 1) * too_far.to(rem0.dtype) + (d + 1) * too_near.to(rem0.dtype)

        # Barycentric weights of the d+1 vertices.
        v = (elevated - rem0) / (d + 1)
        bary = torch.zeros(n, d + 2, device=dev, dtype=features.dtype)
        bary.scatter_add_(1, d - rank, v)
        bary.scatter_add_(1, d + 1 - rank, -v)
        bary[:, 0] += 1 + bary[:, d + 1]
        self.weights = bary[:, : d + 1]

        # Vertex k of the simplex is rem0 + the k-th canonical offset, permuted by rank.
        k = torch.arange(d + 1, device=dev)
        canonical = torch.where(k[None, :] <= d - k[:, None], k[:, None], k[:, None] - d - 1)  # [k, r]
        keys = rem0.long()[:, None, :d] + canonical[k[None, :, None], rank[:, None, :d]]  # (N, d+1, d)

        # Hash the vertices: pack each key into one int64, keep the distinct ones.
        self._lo = int(keys.min()) - (d + 1)
        self._span = int(keys.max()) + (d + 1) - self._lo + 1
        if self._span ** d >= 2**62:
            raise ValueError("lattice too large to hash: increase the kernel widths")
        codes, self.index = torch.unique(self._pack(keys), return_inverse=True)  # index: (N, d+1)
        self.size = codes.numel()

        # Blur neighbours along each lattice direction (index `size` = a zero row for absent ones).
        lattice_keys = self._unpack(codes)
        self.neighbours = []
        for j in range(d + 1):
            step = torch.full((d,), -1, device=dev, dtype=torch.long)
            if j < d:
                step[j] = d
            self.neighbours.append((self._find(codes, lattice_keys + step), self._find(codes, lattice_keys - step)))

        # Splat and slice as sparse matrices (lattice x points and its transpose): several times
        # faster than scatter/gather through an (N, d+1, C) temporary.
        flat, w = self.index.reshape(-1), self.weights.reshape(-1)
        point = torch.arange(n, device=dev).repeat_interleave(d + 1)
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=self.size + 1)
        crow = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        cols, order_in_row = torch.sort(self.index, dim=1)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            self._splat = torch.sparse_csr_tensor(crow, point[order], w[order], (self.size + 1, n), check_invariants=False)
            self._slice = torch.sparse_csr_tensor(
                torch.arange(0, n * (d + 1) + 1, d + 1, device=dev), cols.reshape(-1),
                self.weights.gather(1, order_in_row).reshape(-1), (n, self.size + 1), check_invariants=False,
            )

    def _pack(self, keys: torch.Tensor) -> torch.Tensor:
        code = torch.zeros(keys.shape[:-1], dtype=torch.long, device=keys.device)
        for j in range(self.d):
            code = code * self._span + (keys[..., j] - self._lo)
        return code

    def _unpack(self, codes: torch.Tensor) -> torch.Tensor:
        cols = []
        for _ in range(self.d):
            cols.append(codes % self._span + self._lo)
            codes = torch.div(codes, self._span, rounding_mode="floor")
        return torch.stack(cols[::-1], dim=1)

    def _find(self, codes: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        wanted = self._pack(keys)
        pos = torch.searchsorted(codes, wanted).clamp(max=codes.numel() - 1)
        found = torch.where(codes[pos] == wanted, pos, torch.full_like(pos, codes.numel()))
        return torch.cat([found, found.new_tensor([codes.numel()])])  # the zero row's neighbours: itself

    def filter(self, values: torch.Tensor) -> torch.Tensor:
        """(N, C) -> (N, C): sum over all points j of exp(-|f_i - f_j|^2 / 2) values_j, approximately."""
        lattice = self._splat @ values
        for minus, plus in self.neighbours:
            lattice = lattice + 0.5 * (lattice[minus] + lattice[plus])
            lattice[self.size] = 0
        return self._slice @ lattice


def _normalised_filter(lattice: PermutohedralLattice, norm: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return lattice.filter(q) / norm


def dense_crf(
    image_rgb: np.ndarray,
    probs: np.ndarray,
    iterations: int = 5,
    w_bilateral: float = 4.0,
    sxy_bilateral: float = 60.0,
    srgb: float = 10.0,
    w_gauss: float = 3.0,
    sxy_gauss: float = 3.0,
) -> np.ndarray:
    """Refine class probabilities `probs` (C, H, W) of `image_rgb` (H, W, 3 uint8); returns (C, H, W) float32.

    Default weights and widths lie in the ranges DeepLab cross-validated (weights 3-5, spatial
    std 3 for smoothness, 50-120 for appearance, colour std 3-10); tune them per dataset.
    """
    c, h, w = probs.shape
    if image_rgb.shape[:2] != (h, w):
        raise ValueError(f"image is {image_rgb.shape[:2]} but probabilities are {(h, w)}")
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    pos = torch.stack([yy.reshape(-1), xx.reshape(-1)], dim=1)
    rgb = torch.from_numpy(np.ascontiguousarray(image_rgb, dtype=np.float32).reshape(-1, 3))
    kernels = []
    if w_bilateral > 0:
        kernels.append((w_bilateral, PermutohedralLattice(torch.cat([pos / sxy_bilateral, rgb / srgb], dim=1))))
    if w_gauss > 0:
        kernels.append((w_gauss, PermutohedralLattice(pos / sxy_gauss)))
    ones = torch.ones(h * w, 1)
    norms = [lattice.filter(ones) for _, lattice in kernels]

    p = torch.from_numpy(np.ascontiguousarray(probs, dtype=np.float32)).reshape(c, -1).t().contiguous()
    log_p = torch.log(p.clamp_min(1e-8))
    q = torch.softmax(log_p, dim=1)
    for _ in range(iterations):
        # Potts: the energy of label l falls by the (weighted) support for l among similar pixels.
        message = sum(wk * _normalised_filter(lattice, norm, q) for (wk, lattice), norm in zip(kernels, norms))
        q = torch.softmax(log_p + message, dim=1)
    return q.t().reshape(c, h, w).numpy().astype(np.float32)
