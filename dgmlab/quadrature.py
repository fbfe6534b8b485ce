"""Quadrature in one latent dimension: the Simpson grid, the choice of grid, the grid posterior.

An integral over z is a weighted sum over grid nodes z_1 < ... < z_G,

    integral f(z) dz ~= sum_g w_g f(z_g),    log of it = logsumexp_g [ log w_g + log f(z_g) ],

with Simpson's weights, whose error shrinks like h^4 for a smooth f. The default grid, 2001
points on [-8, 8] (spacing 0.008), holds all but 6e-16 of the prior N(0, 1). A Gaussian
q(z | x) = N(mu, sigma^2), or a posterior, is *resolved* by a grid that reaches
mu +- ``WIDTHS`` sigma and spaces its nodes at most sigma / ``NODES_PER_SIGMA`` apart;
``grids_covering`` picks such grids, the default one wherever it already resolves q.
``grid_posterior`` normalizes a density on a grid and gives its mean and standard deviation.

This module knows no model: it integrates whatever log f it is given on a ``Grid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from dgmlab import checks

DEFAULT_NUM_POINTS = 2001
DEFAULT_Z_RANGE = (-8.0, 8.0)
WIDTHS = 8.0  # a grid covers q when it reaches mu +- 8 sigma (all but 1e-15 of q)
NODES_PER_SIGMA = 4.0  # ... and resolves it when its spacing is at most sigma / 4


@dataclass(frozen=True)
class Grid:
    """Quadrature nodes z (G, 1) and log-weights log_w (G,) on an interval."""

    z: torch.Tensor
    log_w: torch.Tensor


def simpson_grid(
    z_range: tuple[float, float] = DEFAULT_Z_RANGE,
    num_points: int = DEFAULT_NUM_POINTS,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Grid:
    """Simpson's rule on ``num_points`` evenly spaced z in ``z_range`` (num_points odd).

        integral f(z) dz ~= sum_g w_g f(z_g),  w = h/3 * (1, 4, 2, 4, ..., 2, 4, 1)

    Returns:
        Grid with z: (G, 1) and log_w: (G,).
    """
    checks.positive_int("num_points", num_points, minimum=3)
    if num_points % 2 == 0:
        raise ValueError(f"num_points must be odd for Simpson's rule, found {num_points}")
    try:
        low, high = (float(v) for v in z_range)
    except (TypeError, ValueError):
        low = high = math.nan  # not a pair of numbers: reported below
    # an infinite end would make every node NaN, silently
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"z_range must be (low, high) with finite low < high, found {z_range!r}")
    z = torch.linspace(low, high, num_points, dtype=torch.float64)
    h = (high - low) / (num_points - 1)
    w = torch.full((num_points,), 2.0, dtype=torch.float64)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    w = w * (h / 3.0)
    return Grid(
        z=z[:, None].to(device=device, dtype=dtype), log_w=w.log().to(device=device, dtype=dtype)
    )


DEFAULT_SPACING = (DEFAULT_Z_RANGE[1] - DEFAULT_Z_RANGE[0]) / (DEFAULT_NUM_POINTS - 1)


def _odd_at_least(n: float) -> int:
    n = int(math.ceil(n))
    return n if n % 2 == 1 else n + 1


def covering_grid(
    low: float,
    high: float,
    spacing: float = DEFAULT_SPACING,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Grid:
    """The default grid stretched to reach [low, high], with nodes at most ``spacing`` apart.

        z_range = [min(-8, low), max(8, high)],   G = the odd number >= range / spacing + 1

    With low, high inside [-8, 8] and the default spacing, it is the default grid itself.
    """
    z_range = (min(DEFAULT_Z_RANGE[0], low), max(DEFAULT_Z_RANGE[1], high))
    if z_range == DEFAULT_Z_RANGE and spacing >= DEFAULT_SPACING:
        return simpson_grid(dtype=dtype, device=device)
    num_points = _odd_at_least((z_range[1] - z_range[0]) / spacing + 1)
    return simpson_grid(z_range, num_points, dtype=dtype, device=device)


def grids_covering(
    low: torch.Tensor, high: torch.Tensor, scale: torch.Tensor
) -> list[tuple[torch.Tensor, Grid]]:
    """Grids that reach [low_b, high_b] and resolve width scale_b, for every row b.

    Rows with [low, high] inside [-8, 8] and scale >= 4 default spacings share the default
    grid; the other wide rows share one grid stretched to reach all of them; each row
    narrower than 4 default spacings gets a grid of its own, spaced scale / 4. For
    q = N(mu, sigma^2): low, high = mu -+ 8 sigma and scale = sigma (or less, to resolve a
    narrower posterior as well).

    Args:
        low, high: (B,) the interval each row's grid must reach.
        scale: (B,) the smallest width each row's grid must resolve (> 0).

    Returns:
        [(rows, grid)]: rows a (b,) int64 index tensor; grid in low's dtype and device.
        Together the rows are 0..B-1, each once.
    """
    narrow = scale < NODES_PER_SIGMA * DEFAULT_SPACING  # (B,)
    fits = (low >= DEFAULT_Z_RANGE[0]) & (high <= DEFAULT_Z_RANGE[1]) & ~narrow
    wide = ~fits & ~narrow
    like = {"dtype": low.dtype, "device": low.device}
    out = []
    if bool(fits.any()):
        out.append((fits.nonzero()[:, 0], simpson_grid(**like)))
    if bool(wide.any()):
        grid = covering_grid(float(low[wide].min()), float(high[wide].max()), **like)
        out.append((wide.nonzero()[:, 0], grid))
    for i in narrow.nonzero()[:, 0].tolist():
        spacing = float(scale[i]) / NODES_PER_SIGMA
        grid = covering_grid(float(low[i]), float(high[i]), spacing, **like)
        out.append((torch.tensor([i], device=low.device), grid))
    return out


class GridPosterior(NamedTuple):
    """A density known up to its normalizer, integrated on a grid; each row one density.

    Attributes:
        log_normalizer: (B,) log integral f(z) dz (for f = p(x, z): log p(x)).
        mass: (B, G) the normalized density's mass at each node, w_g f(z_g) / integral f;
            each row sums to 1.
        mean: (B,) integral z f(z) dz / integral f.
        std: (B,) the standard deviation, the same way.
    """

    log_normalizer: torch.Tensor
    mass: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor


def grid_posterior(log_f: torch.Tensor, grid: Grid) -> GridPosterior:
    """Normalize f on the grid and take its mean and standard deviation.

        log Z = logsumexp_g [ log w_g + log f(z_g) ],   mass_g = w_g f(z_g) / Z
        mean = sum_g mass_g z_g,   std^2 = sum_g mass_g z_g^2 - mean^2

    Args:
        log_f: (B, G) log f(z_g), e.g. the log joint log p(x_b, z_g).
        grid: the G nodes and their weights.

    Returns:
        GridPosterior with log_normalizer (B,), mass (B, G), mean (B,), std (B,).
    """
    checks.tensor("log_f", log_f, ndim=2, shape_hint="(B, G)")
    G = grid.z.shape[0]
    if log_f.shape[1] != G:
        raise ValueError(
            f"log_f must have shape (B, G) with G = {G} grid nodes, found {tuple(log_f.shape)}"
        )
    z = grid.z[:, 0].to(log_f.dtype)  # (G,)
    log_weighted = log_f + grid.log_w.to(log_f.dtype)  # (B, G)
    log_normalizer = torch.logsumexp(log_weighted, dim=-1)  # (B,)
    mass = torch.exp(log_weighted - log_normalizer[:, None])  # (B, G)
    mean = mass @ z  # (B,)
    # E[z^2] - mean^2 by two matrix-vector products (no second (B, G) pass); exact to rounding
    # of z^2 ~ 64, far below the widths a grid is chosen by
    std = (mass @ z**2 - mean**2).clamp_min(0).sqrt()  # (B,)
    return GridPosterior(log_normalizer, mass, mean, std)
