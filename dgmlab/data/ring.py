"""A ring of Gaussians (lecture 12): K equal modes on a circle, the classic test of mode coverage.

p(x) = (1/K) sum_k N(x; c_k, sigma^2 I),  c_k = r (cos 2 pi k / K, sin 2 pi k / K)
"""

from __future__ import annotations

import math

import torch

from dgmlab import checks

__all__ = ["ring_centers", "ring_of_gaussians"]


def ring_centers(modes: int = 8, radius: float = 2.0, dtype=torch.float32, device=None):
    """(modes, 2): the centers c_k = r (cos 2 pi k / K, sin 2 pi k / K)."""
    checks.positive_int("modes", modes)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise ValueError(f"radius must be a positive number, found {radius!r}")
    angle = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    centers = radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    return centers.to(device=device, dtype=dtype)


def ring_of_gaussians(
    n: int,
    modes: int = 8,
    radius: float = 2.0,
    sigma: float = 0.05,
    generator: torch.Generator | None = None,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n points from the ring: a mode k uniformly, then c_k + sigma * eps.

    Returns:
        x: (n, 2) float32 points; mode: (n,) int64, the mode each was drawn from.
    """
    checks.positive_int("n", n, minimum=0)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number, found {sigma!r}")
    centers = ring_centers(modes, radius, dtype=torch.float64)
    mode = torch.randint(modes, (n,), generator=generator)
    eps = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    x = centers[mode] + sigma * eps
    return x.to(device=device, dtype=torch.float32), mode.to(device)
