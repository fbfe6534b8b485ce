"""dgmlab.variational.amortization_gaps: log p(x) - ELBO(q_phi) = approximation + amortization.

Oracles: a one-pixel likelihood chosen so that log p(x | z) is a parabola in z, whose posterior
is Gaussian in closed form (so the approximation gap is 0 and the amortization gap is the
closed-form KL(q_phi || posterior)); and on the hand-set bar decoder, a brute-force search over
a grid of (mu, log sigma) that must not beat q*.
"""

import math

import pytest
import torch

from dgmlab import gaussian
from dgmlab.data import Bars
from dgmlab.evidence import exact_elbo
from dgmlab.models import bar_decoder
from dgmlab.variational import amortization_gaps

F64 = torch.float64
A, C, OFFSET, OTHER_LOGIT = 1.5, 0.8, 0.3, -0.7  # p(x_1 = 1 | z) = exp(-A (z - C)^2 - OFFSET)


def parabola_decoder(z):
    """z (G, 1) -> logits (G, 2): log p(x_1 = 1 | z) = -A (z - C)^2 - OFFSET, x_2's is constant."""
    log_p = -A * (z[:, 0] - C) ** 2 - OFFSET  # (G,) <= -OFFSET < 0
    logit = log_p - torch.log(-torch.expm1(log_p))  # log p - log(1 - p)
    return torch.stack([logit, torch.full_like(logit, OTHER_LOGIT)], dim=-1)


def test_a_gaussian_posterior_leaves_no_approximation_gap():
    # x_1 = 1: p(x | z) p(z) is Gaussian in z; x_2 only adds a constant
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]], dtype=F64)
    mu = torch.tensor([[0.0], [1.2], [-0.5]], dtype=F64)  # the "encoder's" q_phi, one per x
    sigma = torch.tensor([[1.0], [0.3], [0.6]], dtype=F64)
    gaps = amortization_gaps(x, parabola_decoder, mu, sigma, steps=40)
    precision = 1.0 + 2.0 * A  # of the posterior N(2 A C / precision, 1 / precision)
    post_mu = torch.full((3, 1), 2.0 * A * C / precision, dtype=F64)
    post_sigma = torch.full((3, 1), precision**-0.5, dtype=F64)
    log_p_x2 = torch.where(
        x[:, 1] > 0,
        torch.tensor(-math.log1p(math.exp(-OTHER_LOGIT)), dtype=F64),
        torch.tensor(-math.log1p(math.exp(OTHER_LOGIT)), dtype=F64),
    )  # (3,) log p(x_2), the same for every z
    log_p_x = -OFFSET - 0.5 * math.log(precision) - A * C**2 / precision + log_p_x2
    torch.testing.assert_close(gaps.log_p_x, log_p_x, atol=1e-6, rtol=0)
    # Adam moves about lr / 10 a step even at the optimum: q* jitters around it by ~1e-3
    torch.testing.assert_close(gaps.mu_best, post_mu, atol=3e-3, rtol=0)
    torch.testing.assert_close(gaps.sigma_best, post_sigma, atol=3e-3, rtol=0)
    assert float(gaps.approximation.abs().max()) < 1e-5  # a jitter of 1e-3 costs ~1e-6 nats
    # all of the encoder's gap is amortization: KL(q_phi || posterior), in closed form
    kl = gaussian.kl(mu, sigma, post_mu, post_sigma)  # (3,)
    torch.testing.assert_close(gaps.amortization, kl, atol=1e-5, rtol=0)
    torch.testing.assert_close(gaps.total, gaps.approximation + gaps.amortization)


def test_the_gaps_add_up_and_q_star_beats_a_brute_force_search_on_bars():
    decoder = bar_decoder(sharpness=6.0).double()
    x, _ = Bars().sample(3, generator=torch.Generator().manual_seed(3), dtype=F64)
    x = torch.cat([x, Bars().templates(F64)[:1]])  # (4, D), a clean bar among noisy ones
    mu = torch.tensor([[0.0], [1.0], [-1.0], [0.5]], dtype=F64)
    sigma = torch.tensor([[1.0], [0.5], [0.3], [0.2]], dtype=F64)
    gaps = amortization_gaps(x, decoder, mu, sigma)
    with torch.no_grad():
        exact = exact_elbo(x, decoder, mu, sigma)
        best = exact_elbo(x, decoder, gaps.mu_best, gaps.sigma_best)
    torch.testing.assert_close(gaps.total, exact.kl, atol=1e-6, rtol=0)
    torch.testing.assert_close(gaps.approximation, best.kl, atol=1e-6, rtol=0)
    torch.testing.assert_close(gaps.approximation + gaps.amortization, gaps.total)
    assert bool((gaps.approximation > 0).all()), "a bar's posterior is not Gaussian"
    assert bool((gaps.amortization > 1e-3).all()), "these q_phi are far from q*"
    # brute force: no (mu, sigma) on a fine grid around q* has a higher exact ELBO
    offsets = torch.linspace(-0.2, 0.2, 21, dtype=F64)
    for b in range(x.shape[0]):
        m, log_s = torch.meshgrid(
            gaps.mu_best[b, 0] + offsets, gaps.sigma_best[b, 0].log() + offsets, indexing="ij"
        )
        rows = x[b : b + 1].expand(m.numel(), -1)
        with torch.no_grad():
            searched = exact_elbo(rows, decoder, m.reshape(-1, 1), log_s.exp().reshape(-1, 1))
        assert float(searched.elbo.max()) <= float(gaps.elbo_best[b]) + 1e-4


def test_an_encoder_that_is_already_q_star_has_no_amortization_gap():
    decoder = bar_decoder(sharpness=6.0).double()
    x = Bars().templates(F64)[1:3]  # (2, D)
    first = amortization_gaps(x, decoder, torch.zeros(2, 1, dtype=F64), torch.ones(2, 1, dtype=F64))
    again = amortization_gaps(x, decoder, first.mu_best, first.sigma_best, steps=30)
    assert float(again.amortization.abs().max()) < 1e-4
    torch.testing.assert_close(again.approximation, first.approximation, atol=1e-4, rtol=0)


def test_amortization_gaps_error_messages():
    decoder = bar_decoder().double()
    x = Bars().templates(F64)[:2]
    with pytest.raises(ValueError, match=r"mu must have shape \(B, 1\) with B = 2"):
        amortization_gaps(x, decoder, torch.zeros(3, 1, dtype=F64), torch.ones(3, 1, dtype=F64))
    with pytest.raises(ValueError, match="sigma must be positive"):
        amortization_gaps(x, decoder, torch.zeros(2, 1, dtype=F64), torch.zeros(2, 1, dtype=F64))
    with pytest.raises(ValueError, match="steps"):
        amortization_gaps(x, decoder, torch.zeros(2, 1, dtype=F64), torch.ones(2, 1, dtype=F64), -1)
