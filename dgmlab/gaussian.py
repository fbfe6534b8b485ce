"""The diagonal Gaussian N(mu, diag(sigma^2)): its one home in dgmlab.

Everything the course does with a Gaussian q(z | x) or the prior p(z) = N(0, I) is here:

    check          mu, sigma valid (sigma > 0, "did you pass log_sigma?")
    rsample        z = mu + sigma * eps, eps ~ N(0, I)  (gradients reach mu and sigma)
    log_prob       log N(z; mu, sigma^2)
    kl             KL( N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2) ), closed form
    kl_standard    KL( N(mu, sigma^2) || N(0, I) ), the ELBO's regulariser
    pdf            N(z; mu, sigma^2), one dimension, for curves

Each public function checks its arguments once, then calls a private kernel (``_log_prob``,
``_kl``, ...) that does not. Other dgmlab modules check (mu, sigma) once at their own public
entry and call the kernels, so one ELBO reads sigma's values once (a value check reads a
tensor: on a GPU, a host-device synchronisation).

Every function sums over the last (event) dimension L and broadcasts over the leading ones,
like ``torch.distributions.Normal(mu, sigma).log_prob(z).sum(-1)``.
"""

from __future__ import annotations

import math

import torch

from dgmlab import checks

LOG_2PI = math.log(2.0 * math.pi)

SIGMA_HINT = "did you pass log_sigma or log_var where sigma belongs?"


# ---- checks: the one place the Gaussian's arguments are validated ----


def check(mu: object, sigma: object) -> None:
    """mu and sigma: tensors (..., L) of one shape, dtype and device, every sigma > 0.

    Raises TypeError / ValueError naming mu or sigma, with the log_sigma hint.
    """
    checks.tensor("mu", mu, min_ndim=1, shape_hint="(..., L)")
    checks.tensor("sigma", sigma, min_ndim=1, shape_hint="(..., L)")
    checks.same_device(mu=mu, sigma=sigma)
    if mu.shape != sigma.shape:
        raise ValueError(
            f"mu and sigma must have the same shape (..., L), found mu {tuple(mu.shape)} "
            f"and sigma {tuple(sigma.shape)}"
        )
    if mu.dtype != sigma.dtype:
        raise TypeError(f"mu and sigma must share a dtype, found {mu.dtype} and {sigma.dtype}")
    checks.positive("sigma", sigma, hint=SIGMA_HINT)


def _check_broadcasting(sigmas: tuple[str, ...], **named: torch.Tensor) -> None:
    """Tensors (..., L) that broadcast together on one device; the named sigmas > 0."""
    for name, value in named.items():
        checks.tensor(name, value, min_ndim=1, shape_hint="(..., L)")
    checks.same_device(**named)
    checks.broadcastable(**named)
    for name in sigmas:
        checks.positive(name, named[name], hint=SIGMA_HINT)


# ---- sampling ----


def standard_normal_noise(
    num_samples: int,
    like: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """eps ~ N(0, I) of shape (S, *like.shape), on like's device and dtype, outside any graph.

    The draw happens on the generator's device (so a CPU generator gives the same
    numbers whatever ``like``'s device) and is then moved to ``like``'s device.

    Args:
        num_samples: S.
        like: (..., L) a tensor whose shape, dtype and device the noise follows.
        generator: optional ``torch.Generator`` for reproducible draws.

    Returns:
        (S, ..., L)
    """
    checks.positive_int("num_samples", num_samples)
    draw_device = generator.device if generator is not None else like.device
    eps = torch.randn(
        (num_samples, *like.shape), generator=generator, dtype=like.dtype, device=draw_device
    )
    return eps.to(like.device)


def _rsample(
    mu: torch.Tensor, sigma: torch.Tensor, num_samples: int, generator: torch.Generator | None
) -> torch.Tensor:
    eps = standard_normal_noise(num_samples, mu, generator)  # (S, ..., L)
    return mu + sigma * eps  # (S, ..., L)


def rsample(
    mu: torch.Tensor,
    sigma: torch.Tensor,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Reparameterized samples z = mu + sigma * eps, eps ~ N(0, I) drawn outside the graph.

        z_s = mu + sigma * eps_s,   eps_s ~ N(0, I),   s = 1..S

    Gradients flow from z to mu and sigma (the pathwise / reparameterization
    trick); eps itself carries no gradient.

    Args:
        mu: (B, L) means (any (..., L) works).
        sigma: (B, L) standard deviations (not log_sigma, not log_var), > 0.
        num_samples: S, how many samples per (mu, sigma).
        generator: optional ``torch.Generator`` for reproducible draws.

    Returns:
        z: (S, B, L)
    """
    check(mu, sigma)
    return _rsample(mu, sigma, num_samples, generator)


# ---- densities ----


def _log_density(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    # -0.5 log(2 pi) - log sigma - 0.5 ((z - mu) / sigma)^2, elementwise (no sum over L)
    standardized = (z - mu) / sigma
    return -0.5 * LOG_2PI - torch.log(sigma) - 0.5 * standardized**2


def _log_prob(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    # sum_l [ -0.5 log(2 pi) - log sigma_l - 0.5 ((z_l - mu_l) / sigma_l)^2 ]
    return _log_density(z, mu, sigma).sum(-1)


def _log_prob_standard(z: torch.Tensor) -> torch.Tensor:
    # sum_l [ -0.5 log(2 pi) - 0.5 z_l^2 ]: _log_prob with mu = 0, sigma = 1
    return _log_prob(z, torch.zeros_like(z), torch.ones_like(z))


def log_prob(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
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
    _check_broadcasting(("sigma",), z=z, mu=mu, sigma=sigma)
    return _log_prob(z, mu, sigma)


def log_prob_standard(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension: the prior log p(z).

        log p(z) = sum_l [ -0.5 log(2 pi) - 0.5 z_l^2 ]

    Args:
        z: (..., L)

    Returns:
        (...,)
    """
    checks.tensor("z", z, min_ndim=1, shape_hint="(..., L)")
    return _log_prob_standard(z)


def pdf(z: torch.Tensor, mu: float | torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """N(z; mu, sigma^2) for a one-dimensional z, elementwise (for drawing a curve).

        N(z; mu, sigma^2) = exp( -0.5 ((z - mu) / sigma)^2 ) / (sigma sqrt(2 pi))

    Args:
        z: (...) points, any shape (no event dimension is summed).
        mu, sigma: numbers or tensors broadcastable against z; sigma > 0.

    Returns:
        (...) the density at each z, in z's dtype.
    """
    checks.tensor("z", z, shape_hint="(...)")
    mu = torch.as_tensor(mu, dtype=z.dtype, device=z.device)
    sigma = torch.as_tensor(sigma, dtype=z.dtype, device=z.device)
    checks.positive("sigma", sigma, hint=SIGMA_HINT)
    return torch.exp(_log_density(z, mu, sigma))


# ---- KL divergences ----


def _kl(
    mu_q: torch.Tensor, sigma_q: torch.Tensor, mu_p: torch.Tensor, sigma_p: torch.Tensor
) -> torch.Tensor:
    variance_ratio = (sigma_q / sigma_p) ** 2
    mean_term = ((mu_q - mu_p) / sigma_p) ** 2
    # log(sigma_p / sigma_q) = -0.5 log(variance_ratio)
    return 0.5 * (variance_ratio + mean_term - 1.0 - torch.log(variance_ratio)).sum(-1)


def _kl_standard(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    # sum_l 0.5 [ sigma_l^2 + mu_l^2 - 1 - log sigma_l^2 ]: _kl with mu_p = 0, sigma_p = 1
    return _kl(mu, sigma, torch.zeros_like(mu), torch.ones_like(mu))


def kl(
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
    _check_broadcasting(
        ("sigma_q", "sigma_p"), mu_q=mu_q, sigma_q=sigma_q, mu_p=mu_p, sigma_p=sigma_p
    )
    return _kl(mu_q, sigma_q, mu_p, sigma_p)


def kl_standard(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, sigma^2) || N(0, I) ), the ELBO's regulariser, summed over L.

        KL = sum_l 0.5 [ sigma_l^2 + mu_l^2 - 1 - log sigma_l^2 ]

    Args:
        mu: (..., L)
        sigma: (..., L) standard deviations, > 0.

    Returns:
        (...,)
    """
    _check_broadcasting(("sigma",), mu=mu, sigma=sigma)
    return _kl_standard(mu, sigma)
