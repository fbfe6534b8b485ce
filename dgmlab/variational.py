"""Per-datapoint variational inference: the best Gaussian q(z | x) for each x, by gradient ascent.

An encoder predicts q(z | x) = N(mu(x), sigma(x)^2) for every x at once (amortized
inference). Here each x gets its own (mu, sigma), optimized directly:

    (mu*, sigma*) = argmax_{mu, sigma} ELBO(x; mu, sigma),
    ELBO(x; mu, sigma) = E_{N(z; mu, sigma^2)}[ log p(x | z) ] - KL( N(mu, sigma^2) || p(z) )

by Adam on (mu, log sigma) (log sigma keeps sigma > 0 without a constraint). Since
log p(x) = ELBO + KL(q || p(z | x)), the result is the Gaussian closest to the posterior,
and the ELBO an encoder reaches is at most this one: the difference is the amortization gap.

    best_gaussian     1-D latent: the exact ELBO (quadrature), started at the posterior's
                      mean and standard deviation
    refine_gaussian   any latent: the Monte Carlo ELBO (``bounds.elbo``), started wherever
                      you like: the prior (stochastic variational inference for one image)
                      or an encoder's (mu, sigma) (semi-amortized inference)
    amortization_gaps 1-D latent: log p(x) - ELBO(q_phi) split exactly into the
                      approximation gap and the amortization gap (lecture 07)

Only (mu, sigma) move: the decoder's parameters are neither changed nor given gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from dgmlab import bounds, checks, gaussian
from dgmlab.densities import log_bernoulli
from dgmlab.evidence import Decoder, exact_elbo, log_joint_on_grid
from dgmlab.quadrature import grid_posterior, simpson_grid

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def ascend(
    objective: Objective, mu: torch.Tensor, sigma: torch.Tensor, steps: int, lr: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximize sum_b objective(mu, sigma)_b over (mu, log sigma) with Adam, from (mu, sigma).

    Each row b is its own problem when objective's row b depends on row b of (mu, sigma) only
    (as the ELBO's does), so one optimizer serves a whole batch.

    Args:
        objective: (mu (B, L), sigma (B, L)) -> (B,), differentiable in both.
        mu, sigma: (B, L) the start; sigma > 0.
        steps: Adam steps (0 returns the start).
        lr: Adam's learning rate, in units of mu and of log sigma.

    Returns:
        mu, sigma: (B, L) each, detached.
    """
    gaussian.check(mu, sigma)
    checks.positive_int("steps", steps, minimum=0)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, found {lr!r}")
    mu = mu.detach().clone().requires_grad_(True)
    log_sigma = sigma.detach().log().requires_grad_(True)
    optimizer = torch.optim.Adam([mu, log_sigma], lr=lr)
    for _ in range(steps):
        with torch.enable_grad():
            loss = -objective(mu, log_sigma.exp()).sum()
            # gradients for (mu, log sigma) only: the decoder's .grad stays untouched
            mu.grad, log_sigma.grad = torch.autograd.grad(loss, (mu, log_sigma))
        optimizer.step()
    return mu.detach(), log_sigma.detach().exp()


def posterior_moments(x: torch.Tensor, decoder: Decoder) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact posterior's mean and standard deviation, for a 1-D latent, on the default grid.

        E[z | x] = integral z p(z | x) dz,   std[z | x]^2 = integral (z - E[z | x])^2 p(z | x) dz

    Args:
        x: (B, D) binary images.
        decoder: z (G, 1) -> Bernoulli logits (G, D).

    Returns:
        mean, std: (B, 1) each, detached.
    """
    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    grid = simpson_grid(dtype=x.dtype, device=x.device)
    with torch.no_grad():
        posterior = grid_posterior(log_joint_on_grid(x, decoder, grid), grid)
    return posterior.mean[:, None], posterior.std[:, None]


def best_gaussian(
    x: torch.Tensor, decoder: Decoder, steps: int = 150, lr: float = 0.05
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian q(z | x) with the highest exact ELBO, for each x (1-D latent).

        (mu*, sigma*) = argmax ELBO(x; mu, sigma),   ELBO by quadrature (``evidence.exact_elbo``)

    Starts from the posterior's mean and standard deviation (``steps=0`` returns them), then
    takes ``steps`` Adam steps on (mu, log sigma). No sampling: the objective is exact.

    Args:
        x: (B, D) images.
        decoder: z (G, 1) -> logits (G, D).
        steps: Adam steps.
        lr: Adam's learning rate.

    Returns:
        mu, sigma: (B, 1) each, detached.
    """
    mu, sigma = posterior_moments(x, decoder)  # (B, 1) each
    return ascend(lambda m, s: exact_elbo(x, decoder, m, s).elbo, mu, sigma, steps, lr)


def refine_gaussian(
    x: torch.Tensor,
    decoder: Decoder,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    steps: int = 100,
    lr: float = 0.05,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    log_likelihood: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = log_bernoulli,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raise each x's Monte Carlo ELBO by gradient ascent on its own (mu, sigma), any latent size.

        (mu, sigma) <- (mu, sigma) + Adam( grad ELBO_S(x; mu, sigma) ),
        ELBO_S = (1/S) sum_s log p(x | mu + sigma eps_s) - KL( N(mu, sigma^2) || N(0, I) )

    From the prior (mu = 0, sigma = 1) this is stochastic variational inference for each x;
    from an encoder's (mu(x), sigma(x)) it is semi-amortized inference (a few steps close
    part of the amortization gap).

    Args:
        x: (B, D) data.
        decoder: z (S, B, L) -> the likelihood's parameters (S, B, D).
        mu, sigma: (B, L) the start; sigma > 0 (not log_sigma).
        steps: Adam steps.
        lr: Adam's learning rate.
        num_samples: S, samples of z per step.
        generator: optional ``torch.Generator`` for the samples.
        log_likelihood: as for ``bounds.elbo`` (Bernoulli by default).

    Returns:
        mu, sigma: (B, L) each, detached.
    """
    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    checks.tensor("mu", mu, ndim=2, shape_hint="(B, L)")
    if mu.shape[0] != x.shape[0]:
        raise ValueError(
            f"mu must have shape (B, L) with B = {x.shape[0]} (one row per x), "
            f"found {tuple(mu.shape)}"
        )
    checks.positive_int("num_samples", num_samples)

    def objective(m: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return bounds.elbo(
            x, lambda _: (m, s), decoder, num_samples, generator, log_likelihood=log_likelihood
        )

    return ascend(objective, mu, sigma, steps, lr)


class AmortizationGaps(NamedTuple):
    """An encoder's gap log p(x) - ELBO(q_phi), split in two, exactly (1-D latent), per image.

        log p(x) - ELBO(q_phi) = [log p(x) - ELBO(q*)] + [ELBO(q*) - ELBO(q_phi)]
                               =  approximation gap     +  amortization gap

    q* is the best Gaussian for x alone (found as ``amortization_gaps`` says); every ELBO is
    by quadrature.

    Attributes:
        log_p_x, elbo_best, elbo_encoder: (B,) in nats.
        mu_best, sigma_best: (B, 1) q*'s mean and standard deviation.
    """

    log_p_x: torch.Tensor
    elbo_best: torch.Tensor
    elbo_encoder: torch.Tensor
    mu_best: torch.Tensor
    sigma_best: torch.Tensor

    @property
    def approximation(self) -> torch.Tensor:
        """(B,) log p(x) - ELBO(q*) = KL(q* || p(z | x)): what the Gaussian family lacks."""
        return self.log_p_x - self.elbo_best

    @property
    def amortization(self) -> torch.Tensor:
        """(B,) ELBO(q*) - ELBO(q_phi): what sharing one encoder across all x costs."""
        return self.elbo_best - self.elbo_encoder

    @property
    def total(self) -> torch.Tensor:
        """(B,) log p(x) - ELBO(q_phi) = KL(q_phi || p(z | x)): approximation + amortization."""
        return self.log_p_x - self.elbo_encoder


def amortization_gaps(
    x: torch.Tensor,
    decoder: Decoder,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    steps: int = 100,
    lr: float = 0.05,
) -> AmortizationGaps:
    """Split the gap of an encoder's q_phi(z | x) = N(mu, sigma^2) into its two parts, exactly.

        approximation gap = log p(x) - ELBO(q*),     q* = argmax over Gaussians of ELBO(x; q)
        amortization gap  = ELBO(q*) - ELBO(q_phi)

    log p(x) and both ELBOs come from ``evidence.exact_elbo`` (quadrature, no sampling). q* is
    ``best_gaussian``'s ascent on the exact ELBO, started for each image from the better of the
    posterior's moments and the encoder's own q (so ELBO(q*) >= ELBO(q_phi) up to Adam's
    jitter), ``steps`` Adam steps at ``lr`` then ``steps // 3`` at ``lr / 10``: a constant lr
    leaves q* about 1e-2 nats short on the course's bar decoders, the finer pass about 1e-4.

    Args:
        x: (B, D) binary images.
        decoder: z (G, 1) -> Bernoulli logits (G, D).
        mu, sigma: (B, 1) the encoder's q_phi(z | x) for each image; sigma > 0.
        steps, lr: Adam steps and learning rate of the first pass.

    Returns:
        AmortizationGaps, with ``.approximation``, ``.amortization`` and ``.total``, each (B,).
    """
    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    checks.positive_int("steps", steps, minimum=0)
    with torch.no_grad():
        encoder = exact_elbo(x, decoder, mu, sigma)  # checks mu and sigma: (B, 1), sigma > 0
        mu_start, sigma_start = posterior_moments(x, decoder)  # (B, 1) each
        moments = exact_elbo(x, decoder, mu_start, sigma_start)
    use_encoder = (encoder.elbo > moments.elbo)[:, None]  # (B, 1)
    mu_start = torch.where(use_encoder, mu.to(x.dtype), mu_start)
    sigma_start = torch.where(use_encoder, sigma.to(x.dtype), sigma_start)

    def objective(m: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return exact_elbo(x, decoder, m, s).elbo

    mu_best, sigma_best = ascend(objective, mu_start, sigma_start, steps, lr)
    mu_best, sigma_best = ascend(objective, mu_best, sigma_best, steps // 3, lr / 10)
    with torch.no_grad():
        best = exact_elbo(x, decoder, mu_best, sigma_best)
    return AmortizationGaps(
        log_p_x=encoder.log_p_x,
        elbo_best=best.elbo,
        elbo_encoder=encoder.elbo,
        mu_best=mu_best,
        sigma_best=sigma_best,
    )
