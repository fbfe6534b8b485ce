"""Log-densities and closed-form KL divergences.

Every function sums over the last (event) dimension and broadcasts over the
leading ones, so ``x`` of shape ``(B, D)`` against ``logits`` of shape ``(S, B, D)``
gives ``(S, B)``. Results keep their inputs' dtype and device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dgmlab import checks

LOG_2PI = math.log(2.0 * math.pi)

_SIGMA_HINT = "did you pass log_sigma or log_var where sigma belongs?"


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


def log_normal(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(sigma^2)), summed over the last dimension.

        log N(z; mu, sigma) =
            sum_l [ -0.5 log(2 pi) - log sigma_l - 0.5 ((z_l - mu_l) / sigma_l)^2 ]

    Args:
        z: (..., L)
        mu: (..., L) means, broadcastable against z.
        sigma: (..., L) standard deviations (not variances, not logs), > 0.

    Returns:
        (...,)
    """
    for name, value in (("z", z), ("mu", mu), ("sigma", sigma)):
        checks.tensor(name, value, min_ndim=1, shape_hint="(..., L)")
    checks.same_device(z=z, mu=mu, sigma=sigma)
    checks.broadcastable(z=z, mu=mu, sigma=sigma)
    checks.positive("sigma", sigma, hint=_SIGMA_HINT)
    standardized = (z - mu) / sigma
    return (-0.5 * LOG_2PI - torch.log(sigma) - 0.5 * standardized**2).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension: the prior log p(z).

        log p(z) = sum_l [ -0.5 log(2 pi) - 0.5 z_l^2 ]

    Args:
        z: (..., L)

    Returns:
        (...,)
    """
    checks.tensor("z", z, min_ndim=1, shape_hint="(..., L)")
    return log_normal(z, torch.zeros_like(z), torch.ones_like(z))


def kl_normal(
    mu_q: torch.Tensor, sigma_q: torch.Tensor, mu_p: torch.Tensor, sigma_p: torch.Tensor
) -> torch.Tensor:
    """KL( N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2) ) for diagonal Gaussians, summed over L.

        KL = sum_l [ log(sigma_p / sigma_q) + (sigma_q^2 + (mu_q - mu_p)^2) / (2 sigma_p^2) - 1/2 ]

    Always >= 0, and 0 exactly when the two Gaussians coincide.

    Args:
        mu_q, sigma_q: (..., L) the first distribution (sigma, not log_sigma).
        mu_p, sigma_p: (..., L) the second, broadcastable against the first.

    Returns:
        (...,)
    """
    named = {"mu_q": mu_q, "sigma_q": sigma_q, "mu_p": mu_p, "sigma_p": sigma_p}
    for name, value in named.items():
        checks.tensor(name, value, min_ndim=1, shape_hint="(..., L)")
    checks.same_device(**named)
    checks.broadcastable(**named)
    checks.positive("sigma_q", sigma_q, hint=_SIGMA_HINT)
    checks.positive("sigma_p", sigma_p, hint=_SIGMA_HINT)
    variance_ratio = (sigma_q / sigma_p) ** 2
    mean_term = ((mu_q - mu_p) / sigma_p) ** 2
    # log(sigma_p / sigma_q) = -0.5 log(variance_ratio)
    return 0.5 * (variance_ratio + mean_term - 1.0 - torch.log(variance_ratio)).sum(-1)


def kl_standard_normal(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, sigma^2) || N(0, I) ), the ELBO's regulariser, summed over L.

        KL = sum_l 0.5 [ sigma_l^2 + mu_l^2 - 1 - log sigma_l^2 ]

    Args:
        mu: (..., L)
        sigma: (..., L) standard deviations, > 0.

    Returns:
        (...,)
    """
    # check under the caller's names, so messages say sigma rather than sigma_q
    checks.tensor("mu", mu, min_ndim=1, shape_hint="(..., L)")
    checks.tensor("sigma", sigma, min_ndim=1, shape_hint="(..., L)")
    checks.same_device(mu=mu, sigma=sigma)
    checks.broadcastable(mu=mu, sigma=sigma)
    checks.positive("sigma", sigma, hint=_SIGMA_HINT)
    return kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(mu))


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
