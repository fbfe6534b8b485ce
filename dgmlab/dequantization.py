"""Dequantization (lecture 11): a density on R^D measured on integer data, as an honest bound.

A density p(v) on R^D gives integer data x the probability of its unit cell,
P(x) = integral_{[0,1)^D} p(x + u) du. With u drawn from any q(u) on the cell (here uniform on
[0, w)^D, q(u) = w^{-D}), Jensen's inequality gives a lower bound on log P(x),

    log P(x) >= E_q[log p(x + u) - log q(u)] = E_u[log p(x + u)] + D log w,

and with K draws the importance-weighted bound of lecture 08,

    log P(x) >= E[log (1/K) sum_k p(x + u_k) / q(u_k)],   rising to log P(x) as K grows.

So -E[...] is an upper bound on the discrete NLL in nats, comparable with any discrete model's;
``dequantized_nll_bound`` evaluates it, averaged over independent noise draws, as the lecture
and the benchmark report it.
With w = 1 the correction D log w is 0; noise on a narrower cell (w = 1/2, as some published
code uses) without the D log w term overstates log P(x) by D log 2 and is not a bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dgmlab import checks

__all__ = ["dequantized_log_likelihood", "dequantized_nll_bound"]


def _check_width(width: object) -> None:
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1] (noise inside the unit cell), found {width}")


def dequantized_log_likelihood(
    log_prob: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    K: int = 1,
    generator: torch.Generator | None = None,
    width: float = 1.0,
    u: torch.Tensor | None = None,
) -> torch.Tensor:
    """A stochastic lower bound on the discrete log P(x) of a continuous density, per image.

        L_K(x) = log (1/K) sum_k p(x + u_k) / q(u_k),  u_k ~ U[0, w)^D,  E[L_K(x)] <= log P(x)

    Args:
        log_prob: v (B, D) -> log p(v) (B,), a density on R^D (a flow's ``log_prob``).
        x: (B, D) integer-valued data (any dtype; used as floating point).
        K: noise draws per image (K = 1: the plain dequantized log-likelihood).
        generator: for the noise.
        width: w in (0, 1]: the noise's cell; its log-density -D log w is subtracted.
        u: (K, B, D) noise in [0, w) to use instead of drawing it.

    Returns:
        (B,) the bound's one-draw estimate for each image, in nats.
    """
    checks.tensor("x", x, ndim=2, floating=False, shape_hint="(B, D)")
    checks.positive_int("K", K)
    _check_width(width)
    x = x if x.is_floating_point() else x.float()
    if checks.validation_enabled() and bool((x != x.round()).any()):
        raise ValueError("x must hold integers (the quantized data), found fractional entries")
    B, D = x.shape
    if u is None:
        u = width * torch.rand(K, B, D, generator=generator, dtype=x.dtype).to(x.device)
    else:
        checks.tensor("u", u, ndim=3, shape_hint="(K, B, D)")
        if tuple(u.shape) != (K, B, D):
            raise ValueError(f"u must have shape (K, B, D) = {(K, B, D)}, found {tuple(u.shape)}")
    log_p = log_prob((x[None] + u).reshape(K * B, D)).reshape(K, B)  # (K, B)
    log_q = -D * math.log(width)
    return torch.logsumexp(log_p - log_q, dim=0) - math.log(K)  # (B,)


def dequantized_nll_bound(
    log_prob: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    K: int = 1,
    draws: int = 1,
    seed: int = 0,
    width: float = 1.0,
    chunk_size: int = 8192,
) -> torch.Tensor:
    """-L_K(x) per image, averaged over ``draws`` noise draws: an upper bound on -log P(x).

        b(x) = -(1/R) sum_{r=1}^{R} L_K^(r)(x),
        L_K^(r)(x) = log (1/K) sum_{k=1}^{K} p(x + u_rk) / q(u_rk),  u_rk ~ U[0, w)^D,

    so E[b(x)] >= -log P(x). The K draws inside the log tighten the bound; the R draws outside
    it only shrink its noise (they average bounds, they do not raise K). Draw r takes its noise
    from one ``torch.Generator().manual_seed(seed + r)``, chunk after chunk: every image gets
    fresh noise, draw r alone is reproducible, and with K = 1 the numbers do not depend on
    ``chunk_size`` (with K > 1 the noise's layout, (K, chunk, D), does). Evaluation only: no
    gradient.

    Args:
        log_prob: v (b, D) -> log p(v) (b,), a density on R^D (a flow's ``log_prob``).
        x: (B, D) integer-valued data.
        K: noise draws inside the log-mean-exp (K = 1: the plain dequantized bound).
        draws: R, independent bounds averaged per image.
        seed: draw r uses seed + r.
        width: w in (0, 1], the noise's cell (see ``dequantized_log_likelihood``).
        chunk_size: images per call of ``log_prob`` (memory; with K > 1 also the noise's order).

    Returns:
        (B,) float64, nats per image (weight it by p_data(x) or average it over a test split).
    """
    checks.tensor("x", x, ndim=2, floating=False, shape_hint="(B, D)")
    checks.positive_int("K", K)
    checks.positive_int("draws", draws)
    checks.positive_int("seed", seed, minimum=0)
    checks.positive_int("chunk_size", chunk_size)
    _check_width(width)
    x = x if x.is_floating_point() else x.float()
    bounds = []  # one (B,) per draw
    with torch.no_grad():
        for r in range(draws):
            noise = torch.Generator().manual_seed(seed + r)
            parts = [dequantized_log_likelihood(log_prob, c, K, noise, width)
                     for c in x.split(chunk_size)]  # fmt: skip
            bounds.append(torch.cat(parts or [x[:, 0]]).double())
    return -torch.stack(bounds).mean(0)  # (R, B) -> (B,)
