"""Log-densities of the pixels: Bernoulli and categorical (and the Gaussian's, re-exported).

The diagonal Gaussian lives in ``dgmlab.gaussian``; its log-density and KLs are re-exported
here under the names the lectures use (``log_normal``, ``log_standard_normal``, ``kl_normal``,
``kl_standard_normal``). Every function sums over the last (event) dimension and broadcasts over the
leading ones, so ``x`` of shape ``(B, D)`` against ``logits`` of shape ``(S, B, D)``
gives ``(S, B)``. Results keep their inputs' dtype and device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dgmlab import checks
from dgmlab.gaussian import kl as kl_normal
from dgmlab.gaussian import kl_standard as kl_standard_normal
from dgmlab.gaussian import log_prob as log_normal
from dgmlab.gaussian import log_prob_standard as log_standard_normal

__all__ = [
    "kl_normal",
    "kl_standard_normal",
    "log_bernoulli",
    "log_bernoulli_pairwise",
    "log_categorical",
    "log_normal",
    "log_standard_normal",
]


def log_bernoulli(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) for independent Bernoulli pixels, summed over pixels.

        log p(x) = sum_d [ x_d * l_d - log(1 + exp(l_d)) ]

    computed as ``x log sigmoid(l) + (1 - x) log sigmoid(-l)`` with ``logsigmoid``,
    which never forms ``sigmoid(l)`` and never subtracts two large numbers, so it
    stays exact (to relative precision) for |l| up to 1e4 and beyond.

    Args:
        x: (..., D) values in [0, 1] (binary pixels, or probabilities).
        logits: (..., D) Bernoulli logits l, broadcastable against x.

    Returns:
        (...,) the log-probability of each x, summed over its D pixels.
    """
    checks.tensor("x", x, min_ndim=1, shape_hint="(..., D)")
    checks.tensor("logits", logits, min_ndim=1, shape_hint="(..., D)")
    checks.same_device(x=x, logits=logits)
    checks.broadcastable(x=x, logits=logits)
    if x.shape[-1] != logits.shape[-1]:
        raise ValueError(
            f"x and logits must have the same last (pixel) dimension, found x {tuple(x.shape)} "
            f"and logits {tuple(logits.shape)}"
        )
    checks.in_unit_interval("x", x, hint="Bernoulli data must be pixels in [0, 1]")
    checks.not_nan("logits", logits)
    # x l - log(1 + e^l) = x log sigmoid(l) + (1 - x) log sigmoid(-l); no cancellation
    return (x * F.logsigmoid(logits) + (1.0 - x) * F.logsigmoid(-logits)).sum(-1)


def log_bernoulli_pairwise(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x_b | logits_g) for every pair (b, g), without a (B, G, D) tensor.

    The sum in ``log_bernoulli`` splits into two matrix products:

        log p(x_b | l_g) = x_b . log sigmoid(l_g) + (1 - x_b) . log sigmoid(-l_g)

    (every term is <= 0, so nothing cancels and float32 keeps relative precision).

    This is what exact evidence on a grid of G latent values needs.

    Args:
        x: (B, D) values in [0, 1].
        logits: (G, D) logits, one row per latent value.

    Returns:
        (B, G)
    """
    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    checks.tensor("logits", logits, ndim=2, shape_hint="(G, D)")
    checks.same_device(x=x, logits=logits)
    if x.shape[1] != logits.shape[1]:
        raise ValueError(
            f"x and logits must have the same number of pixels D, found x {tuple(x.shape)} "
            f"and logits {tuple(logits.shape)}"
        )
    if x.dtype != logits.dtype:
        raise TypeError(f"x and logits must share a dtype, found {x.dtype} and {logits.dtype}")
    checks.in_unit_interval("x", x, hint="Bernoulli data must be pixels in [0, 1]")
    checks.not_nan("logits", logits)
    return x @ F.logsigmoid(logits).T + (1.0 - x) @ F.logsigmoid(-logits).T  # (B, G)


def log_categorical(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) for independent K-way categorical pixels, summed over pixels.

        log p(x) = sum_d log softmax(l_d)[x_d] = sum_d [ l_{d, x_d} - logsumexp_k l_{d, k} ]

    Args:
        x: (..., D) categories in {0, ..., K-1}: an integer tensor, or a floating one
            holding whole numbers (the bounds pass data to the encoder as floats).
        logits: (..., D, K) unnormalized log-probabilities; the leading dimensions
            broadcast against x's, so x (B, D) with logits (S, B, D, K) gives (S, B).

    Returns:
        (...,) the log-probability of each x, summed over its D pixels.
    """
    checks.tensor("x", x, min_ndim=1, floating=False, shape_hint="(..., D)")
    checks.tensor("logits", logits, min_ndim=2, shape_hint="(..., D, K)")
    checks.same_device(x=x, logits=logits)
    K = logits.shape[-1]
    if x.shape[-1] != logits.shape[-2]:
        raise ValueError(
            f"logits must have shape (..., D, K) with D = x.shape[-1] = {x.shape[-1]}, found "
            f"x {tuple(x.shape)} and logits {tuple(logits.shape)}"
        )
    shape = checks.broadcastable(x=x, logits=logits[..., 0])  # (..., D)
    if x.dtype == torch.bool:
        raise TypeError("x must hold category indices as integers or floats, found dtype bool")
    if checks.validation_enabled() and x.numel() > 0:
        bad = (x < 0) | (x > K - 1)
        if x.is_floating_point():
            bad = bad | (x != x.round())  # NaN != NaN: caught here too
        if bool(bad.any()):
            found = x[bad].flatten()[0].item()
            raise ValueError(
                f"x must hold whole numbers in {{0, ..., {K - 1}}} (K = {K} categories, from "
                f"logits.shape[-1]), found {found!r}"
            )
    checks.not_nan("logits", logits)
    index = x.long().expand(shape).unsqueeze(-1)  # (..., D, 1)
    # log softmax(l_d)[x_d] = l_{d, x_d} - logsumexp_k l_{d, k}
    log_probs = torch.log_softmax(logits, dim=-1).expand(*shape, K)  # (..., D, K)
    return log_probs.gather(-1, index).squeeze(-1).sum(-1)  # (...,)
