"""Quadrature oracles: exact gradient-estimator variances and the exact ELBO gap on bars.

``exact_gradient_moments`` is checked against hand-derived variances, scipy.integrate.quad
(which shares no code with it) and the library's Monte Carlo; ``exact_elbo`` against
``log_evidence``, an independent KL(q || posterior) built from ``posterior_on_grid`` and
torch.distributions, and the Monte Carlo ELBO of ``dgmlab.bounds``.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import integrate

from dgmlab.bounds import elbo
from dgmlab.data import Bars
from dgmlab.estimators import (
    COSINE,
    KNOWN_COSTS,
    SQUARE,
    STEP,
    exact_gradient_moments,
    gradient_variance,
)
from dgmlab.evidence import exact_elbo, log_evidence, posterior_on_grid, simpson_grid
from dgmlab.models import GenerativeNetwork

DTYPE = torch.float64


def _col(*values):
    return torch.tensor(values, dtype=DTYPE)[:, None]  # (B, 1)


# ------------------------------------------------------------ exact_gradient_moments


def test_pathwise_square_matches_hand_derived_variances():
    # f = z^2: g_mu = 2 z, Var = 4 sigma^2; g_sigma = 2 z eps = 2 (mu eps + sigma eps^2),
    # Var = 4 (mu^2 Var eps + sigma^2 Var eps^2) = 4 (mu^2 + 2 sigma^2)
    mu, sigma = _col(0.5, -1.0, 2.0), _col(1.3, 0.4, 0.7)
    m = exact_gradient_moments("pathwise", SQUARE.f, mu, sigma)
    torch.testing.assert_close(m.mean_mu, 2 * mu)
    torch.testing.assert_close(m.mean_sigma, 2 * sigma)
    torch.testing.assert_close(m.var_mu, 4 * sigma**2)  # catches sigma for sigma^2
    torch.testing.assert_close(m.var_sigma, 4 * (mu**2 + 2 * sigma**2))


def test_score_function_square_matches_hand_derived_variance():
    # g_mu = z^2 eps / sigma with z = mu + sigma eps; E[z^4 eps^2] expands by Gaussian moments
    # E eps^2 = 1, E eps^4 = 3, E eps^6 = 15 (odd moments vanish)
    mu, sigma = _col(0.5, -1.0), _col(1.3, 0.4)
    e_z4_eps2 = mu**4 + 6 * mu**2 * sigma**2 * 3 + sigma**4 * 15
    m = exact_gradient_moments("score_function", SQUARE.f, mu, sigma)
    torch.testing.assert_close(m.var_mu, e_z4_eps2 / sigma**2 - (2 * mu) ** 2)


def _quad_moments(estimator, cost, mu, sigma):
    """Mean and variance of g_mu, g_sigma by scipy quad, in plain NumPy (an independent oracle)."""
    f = {"square": lambda z: z**2, "cosine": np.cos, "step": lambda z: float(z > 0)}[cost]
    df = {"square": lambda z: 2 * z, "cosine": lambda z: -np.sin(z)}.get(cost)

    def g(e, which):
        z = mu + sigma * e
        if estimator == "pathwise":
            return df(z) * (1.0 if which == "mu" else e)
        return f(z) * (e if which == "mu" else e**2 - 1) / sigma

    phi = lambda e: math.exp(-0.5 * e * e) / math.sqrt(2 * math.pi)  # noqa: E731
    points = [-mu / sigma] if cost == "step" else None
    out = []
    kw = {"points": points, "limit": 200}
    for which in ("mu", "sigma"):
        m1 = integrate.quad(lambda e, w=which: g(e, w) * phi(e), -14, 14, **kw)[0]
        m2 = integrate.quad(lambda e, w=which: g(e, w) ** 2 * phi(e), -14, 14, **kw)[0]
        out.append((m1, m2 - m1**2))
    return out


@pytest.mark.parametrize(
    ("estimator", "cost", "rtol"),
    [
        ("pathwise", "square", 1e-9),
        ("pathwise", "cosine", 1e-9),
        ("score_function", "square", 1e-9),
        ("score_function", "cosine", 1e-9),
        ("score_function", "step", 3e-3),  # a jump: first-order convergence in the spacing
    ],
)
def test_moments_match_scipy_quad(estimator, cost, rtol):
    for mu, sigma in [(0.3, 1.2), (-1.5, 0.5), (2.0, 2.0)]:
        m = exact_gradient_moments(estimator, KNOWN_COSTS[cost].f, _col(mu), _col(sigma))
        (m_mu, v_mu), (m_sigma, v_sigma) = _quad_moments(estimator, cost, mu, sigma)
        found = [m.mean_mu.item(), m.var_mu.item(), m.mean_sigma.item(), m.var_sigma.item()]
        for a, b in zip(found, [m_mu, v_mu, m_sigma, v_sigma], strict=True):
            assert a == pytest.approx(b, rel=rtol, abs=1e-9), (estimator, cost, mu, sigma)


@given(mu=st.floats(-3, 3), sigma=st.floats(0.2, 3))
def test_mean_is_the_exact_gradient_for_every_known_cost(mu, sigma):
    m_, s_ = _col(mu), _col(sigma)
    for name, cost in KNOWN_COSTS.items():
        grad_mu, grad_sigma = cost.gradient(m_, s_)
        estimators = ["score_function"] if name == "step" else ["pathwise", "score_function"]
        tol = 2e-3 if name == "step" else 1e-8
        for est in estimators:
            m = exact_gradient_moments(est, cost.f, m_, s_)
            torch.testing.assert_close(m.mean_mu, grad_mu, atol=tol, rtol=tol)
            torch.testing.assert_close(m.mean_sigma, grad_sigma, atol=tol, rtol=tol)
            assert bool((m.var_mu >= 0).all() and (m.var_sigma >= 0).all())


@pytest.mark.parametrize(("estimator", "cost"), [("pathwise", SQUARE), ("score_function", COSINE)])
def test_monte_carlo_variance_agrees_with_quadrature(estimator, cost):
    mu, sigma = _col(0.7, -0.4), _col(1.1, 0.6)
    exact = exact_gradient_moments(estimator, cost.f, mu, sigma)
    R = 20000
    curve = gradient_variance(
        estimator, cost.f, mu, sigma, (1, 10), R, torch.Generator().manual_seed(0)
    )
    for k, S in enumerate((1, 10)):
        # a sample variance of R = 20000 light-tailed draws is within a few % (15% is ~5 SE)
        torch.testing.assert_close(curve.var_mu[k], exact.var_mu / S, rtol=0.15, atol=0)
        torch.testing.assert_close(curve.var_sigma[k], exact.var_sigma / S, rtol=0.15, atol=0)


def test_moments_keep_batch_shape_dtype_and_device():
    mu, sigma = torch.zeros(2, 3, 1), torch.ones(2, 3, 1)  # float32, batch (2, 3)
    m = exact_gradient_moments("pathwise", SQUARE.f, mu, sigma, num_points=2001)
    for t in m:
        assert t.shape == (2, 3, 1) and t.dtype == torch.float32


def test_moments_error_messages():
    mu, sigma = _col(0.0), _col(1.0)
    with pytest.raises(ValueError, match="estimator must be one of .* found 'reinforce'"):
        exact_gradient_moments("reinforce", SQUARE.f, mu, sigma)
    with pytest.raises(ValueError, match=r"last dimension L = 1.*found shape \(1, 2\)"):
        exact_gradient_moments("pathwise", SQUARE.f, torch.zeros(1, 2), torch.ones(1, 2))
    with pytest.raises(ValueError, match="f must be differentiable"):
        exact_gradient_moments("pathwise", STEP.f, mu, sigma)
    with pytest.raises(ValueError, match="sigma must be positive.*log_sigma"):
        exact_gradient_moments("pathwise", SQUARE.f, mu, -sigma)
    with pytest.raises(ValueError, match="num_points must be odd"):
        exact_gradient_moments("pathwise", SQUARE.f, mu, sigma, num_points=100)


# ------------------------------------------------------------ exact_elbo


def _decoder():
    torch.manual_seed(0)
    dec = GenerativeNetwork(1, 16, (32,)).double()
    with torch.no_grad():  # steep, so posteriors are narrow and skewed
        dec.net[0].weight.mul_(3.0)
        dec.net[2].weight.mul_(2.0)
    return dec


def _images(n):
    return Bars().sample(n, generator=torch.Generator().manual_seed(1), dtype=DTYPE)[0]


def _kl_to_posterior(x, dec, mu, sigma, num_points=8001):
    """KL(N(mu, sigma^2) || p(z | x)) from posterior_on_grid and torch.distributions."""
    z, density = posterior_on_grid(x, dec, num_points=num_points)  # (G,), (B, G)
    w = simpson_grid(num_points=num_points, dtype=DTYPE).log_w.exp()
    log_q = torch.distributions.Normal(mu, sigma).log_prob(z[None, :])  # (B, G)
    return (w * log_q.exp() * (log_q - density.log())).sum(-1)


def test_exact_elbo_matches_evidence_and_an_independent_kl():
    x, dec = _images(5), _decoder()
    mu, sigma = _col(-1.0, 0.0, 0.5, 1.0, 2.0), _col(0.3, 1.0, 0.5, 0.2, 0.8)
    with torch.no_grad():
        out = exact_elbo(x, dec, mu, sigma)
        torch.testing.assert_close(out.log_p_x, log_evidence(x, dec))
        torch.testing.assert_close(out.kl, _kl_to_posterior(x, dec, mu, sigma), atol=1e-6, rtol=0)
    torch.testing.assert_close(out.elbo + out.kl, out.log_p_x, atol=1e-9, rtol=0)
    assert bool((out.kl > 0.05).all()), "these q are poor: the test needs a visible gap"


def test_exact_elbo_agrees_with_the_monte_carlo_elbo():
    x, dec = _images(3), _decoder()
    mu, sigma = _col(-0.5, 0.2, 1.0), _col(0.4, 0.9, 0.3)
    S = 20000
    with torch.no_grad():
        exact = exact_elbo(x, dec, mu, sigma).elbo
        mc = elbo(x, lambda _: (mu, sigma), dec, S, torch.Generator().manual_seed(0))
    # the per-sample log p(x|z) has a std of a few nats: 5 SE at S = 20000 is < 0.15
    torch.testing.assert_close(mc, exact, atol=0.15, rtol=0)


@given(mu=st.floats(-2.5, 2.5), log_sigma=st.floats(-2.0, 0.7))
def test_exact_elbo_is_below_the_evidence_by_a_nonnegative_kl(mu, log_sigma):
    # only the q that the default grid [-8, 8] resolves: exact_elbo refuses the others (below);
    # mu = 2 with sigma = 1.99 puts 1.3e-3 of q past z = 8
    assume(abs(mu) + 4 * math.exp(log_sigma) <= 8)
    x, dec = _images(2), _decoder()
    m = torch.full((2, 1), mu, dtype=DTYPE)
    s = torch.full((2, 1), math.exp(log_sigma), dtype=DTYPE)
    with torch.no_grad():
        out = exact_elbo(x, dec, m, s)
    assert bool((out.kl >= -1e-9).all())
    assert bool((out.elbo <= out.log_p_x + 1e-9).all())
    torch.testing.assert_close(out.elbo + out.kl, out.log_p_x, atol=1e-9, rtol=0)


def test_exact_elbo_chooses_a_grid_that_resolves_every_q_and_keeps_the_row_order():
    """A q far out (mu 9), a narrow one (sigma 1e-3), a wide one and one the default grid
    resolves, in one batch: each row equals exact_elbo on a grid chosen by hand for it alone,
    and the row that fits the default grid keeps the default grid's numbers."""
    x, dec = _images(4), _decoder()
    mu, sigma = _col(0.5, 9.0, 0.2, -1.0), _col(0.5, 1.0, 1e-3, 3.0)
    by_hand = [  # (num_points, z_range) resolving row b's q: spacing <= sigma / 4, mu +- 8 sigma
        (2001, (-8.0, 8.0)),
        (12001, (-8.0, 17.0)),
        (128001, (-8.0, 8.0)),
        (8001, (-25.0, 23.0)),
    ]
    with torch.no_grad():
        out = exact_elbo(x, dec, mu, sigma)
        for b, (num_points, z_range) in enumerate(by_hand):
            rows = slice(b, b + 1)
            ref = exact_elbo(x[rows], dec, mu[rows], sigma[rows], num_points, z_range)
            for got, want in zip(out, ref, strict=True):
                torch.testing.assert_close(got[b], want[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(out.elbo + out.kl, out.log_p_x, atol=1e-9, rtol=0)
    assert bool((out.kl >= 0).all())


def test_exact_elbo_is_differentiable_in_mu_and_sigma():
    x, dec = _images(2), _decoder()
    mu = _col(0.1, -0.2).requires_grad_(True)
    log_sigma = _col(-0.5, 0.0).requires_grad_(True)
    exact_elbo(x, dec, mu, log_sigma.exp()).elbo.sum().backward()
    assert mu.grad is not None and bool(torch.isfinite(mu.grad).all())
    assert bool((log_sigma.grad != 0).all())


def test_exact_elbo_error_messages():
    x, dec = _images(2), _decoder()
    mu, sigma = _col(0.0, 0.0), _col(1.0, 1.0)
    with pytest.raises(ValueError, match=r"mu must have shape \(B, 1\).*found shape \(2,\)"):
        exact_elbo(x, dec, mu[:, 0], sigma)
    with pytest.raises(ValueError, match=r"sigma must have shape \(B, 1\) with B = 2.*\(3, 1\)"):
        exact_elbo(x, dec, mu, _col(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="sigma must be positive.*log_sigma"):
        exact_elbo(x, dec, mu, -sigma)
    # a grid of the caller's that does not resolve q is refused (exact_elbo's own grid is not)
    with pytest.raises(ValueError, match="the grid must resolve q.*sigma 0.001"):
        exact_elbo(x, dec, mu, _col(1e-3, 1.0), num_points=2001)
    with pytest.raises(ValueError, match="the grid must resolve q.*mu 9"):
        exact_elbo(x, dec, _col(9.0, 0.0), sigma, z_range=(-8.0, 8.0))
    with pytest.raises(TypeError, match="mu must be a torch.Tensor, found float"):
        exact_elbo(x, dec, 0.0, sigma)
