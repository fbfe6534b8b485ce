"""Dequantization (lecture 11): a density on R^D measured on integer data, as an honest bound.

A density p(v) on R^D gives integer data x the probability of its unit cell,
P(x) = integral_{[0,1)^D} p(x + u) du. With u drawn from any q(u) on the cell (here uniform on
[0, w)^D, q(u) = w^{-D}), Jensen's inequality gives a lower bound on log P(x),

    log P(x) >= E_q[log p(x + u) - log q(u)] = E_u[log p(x + u)] + D log w,

and with K draws the importance-weighted bound of lecture 08,

    log P(x) >= E[log (1/K) sum_k p(x + u_k) / q(u_k)],   rising to log P(x) as K grows.

So -E[...] is an upper bound on the discrete NLL in nats, comparable with any discrete model's.
With w = 1 the correction D log w is 0; noise on a narrower cell (w = 1/2, as some published
code uses) without the D log w term overstates log P(x) by D log 2 and is not a bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dgmlab import checks

__all__ = ["dequantized_log_likelihood"]


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
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1] (noise inside the unit cell), found {width}")
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
