"""Pathwise and score-function gradient estimators: unbiased, their variances, the sampler.

Statistical tests use fixed seeds and a tolerance of 5 standard errors, computed
from the same samples (a false alarm has probability < 1e-6 per comparison).
"""

import math

import pytest
import torch

from dgmlab.estimators import (
    COSINE,
    KNOWN_COSTS,
    LINEAR,
    SQUARE,
    STEP,
    GradientSamples,
    gradient_variance,
    pathwise_gradient,
    sample_normal,
    score_function_gradient,
    standard_normal_noise,
)

DTYPE = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _mu_sigma():
    # (B, L) = (2, 3); sigma != 1 everywhere, so sigma vs sigma^2 mistakes show
    mu = torch.tensor([[0.7, -1.2, 0.0], [2.0, 0.3, -0.5]], dtype=DTYPE)
    sigma = torch.tensor([[1.3, 0.4, 2.0], [0.6, 1.7, 0.9]], dtype=DTYPE)
    return mu, sigma


def _assert_unbiased(samples: torch.Tensor, exact: torch.Tensor, what: str) -> None:
    """|mean - exact| <= 5 standard errors (+1e-12 for zero-variance estimates)."""
    S = samples.shape[0]
    mean = samples.mean(0)
    se = samples.std(0) / math.sqrt(S)
    err = (mean - exact).abs()
    assert bool((err <= 5 * se + 1e-12).all()), (
        f"{what}: mean {mean.tolist()} vs exact {exact.tolist()}, 5 SE = {(5 * se).tolist()}"
    )


# ---------------------------------------------------------------- sample_normal


def test_sample_normal_shape_and_reparameterized_formula():
    mu, sigma = _mu_sigma()
    z = sample_normal(mu, sigma, num_samples=4, generator=_gen(3))
    assert z.shape == (4, 2, 3)
    eps = torch.randn((4, 2, 3), generator=_gen(3), dtype=DTYPE)
    torch.testing.assert_close(z, mu + sigma * eps)  # sigma, not log_sigma or sigma^2


def test_sample_normal_moments_match_mu_and_sigma():
    mu, sigma = _mu_sigma()
    z = sample_normal(mu, sigma, num_samples=40_000, generator=_gen(1))  # (S, B, L)
    # mean: SE = sigma / 200; std: SE ~ sigma / sqrt(2 S) = sigma / 283
    assert torch.allclose(z.mean(0), mu, atol=float(5 * sigma.max() / 200))
    assert torch.allclose(z.std(0), sigma, rtol=5 / 283)


def test_sample_normal_gradient_flows_to_mu_and_sigma_but_not_eps():
    mu, sigma = _mu_sigma()
    mu.requires_grad_(True)
    sigma.requires_grad_(True)
    z = sample_normal(mu, sigma, num_samples=5, generator=_gen(0))
    z.sum().backward()
    eps = torch.randn((5, 2, 3), generator=_gen(0), dtype=DTYPE)
    torch.testing.assert_close(mu.grad, torch.full_like(mu, 5.0))  # dz/dmu = 1 per sample
    torch.testing.assert_close(sigma.grad, eps.sum(0))  # dz/dsigma = eps


def test_sample_normal_is_reproducible_with_a_generator():
    mu, sigma = _mu_sigma()
    a = sample_normal(mu, sigma, 3, _gen(7))
    b = sample_normal(mu, sigma, 3, _gen(7))
    c = sample_normal(mu, sigma, 3, _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_noise_follows_dtype_and_ignores_graph():
    like = torch.zeros(2, 1, dtype=torch.float32, requires_grad=True)
    eps = standard_normal_noise(3, like, _gen(0))
    assert eps.shape == (3, 2, 1) and eps.dtype == torch.float32 and not eps.requires_grad


def test_sample_normal_errors():
    mu, sigma = _mu_sigma()
    with pytest.raises(ValueError, match="sigma must be positive.*log_sigma"):
        sample_normal(mu, -sigma, 2)
    with pytest.raises(ValueError, match="mu and sigma must have the same shape"):
        sample_normal(mu, sigma[:, :2], 2)
    with pytest.raises(ValueError, match="num_samples must be >= 1, found 0"):
        sample_normal(mu, sigma, 0)
    with pytest.raises(TypeError, match="mu must be a torch.Tensor"):
        sample_normal([0.0], sigma, 1)
    with pytest.raises(TypeError, match="share a dtype"):
        sample_normal(mu.float(), sigma, 1)


# ---------------------------------------------------------------- unbiasedness


@pytest.mark.parametrize("cost", [SQUARE, COSINE, LINEAR], ids=lambda c: c.name)
@pytest.mark.parametrize("estimator", [pathwise_gradient, score_function_gradient])
def test_estimators_are_unbiased(cost, estimator):
    mu, sigma = _mu_sigma()
    g = estimator(cost.f, mu, sigma, 50_000, _gen(11))
    assert isinstance(g, GradientSamples)
    assert g.grad_mu.shape == g.grad_sigma.shape == (50_000, 2, 3)
    exact_mu, exact_sigma = cost.gradient(mu, sigma)
    _assert_unbiased(g.grad_mu, exact_mu, f"{estimator.__name__} d/dmu {cost.name}")
    _assert_unbiased(g.grad_sigma, exact_sigma, f"{estimator.__name__} d/dsigma {cost.name}")


def test_square_cost_exact_gradient_is_2mu_2sigma():
    mu, sigma = _mu_sigma()
    grad_mu, grad_sigma = SQUARE.gradient(mu, sigma)
    torch.testing.assert_close(grad_mu, 2 * mu)
    torch.testing.assert_close(grad_sigma, 2 * sigma)


@pytest.mark.parametrize("cost", list(KNOWN_COSTS.values()), ids=lambda c: c.name)
def test_known_gradients_match_autograd_of_known_expectation(cost):
    mu, sigma = _mu_sigma()
    mu.requires_grad_(True)
    sigma.requires_grad_(True)
    expected_mu, expected_sigma = torch.autograd.grad(
        cost.expectation(mu, sigma).sum(), (mu, sigma), materialize_grads=True
    )
    grad_mu, grad_sigma = cost.gradient(mu.detach(), sigma.detach())
    torch.testing.assert_close(grad_mu, expected_mu)
    torch.testing.assert_close(grad_sigma, expected_sigma)


@pytest.mark.parametrize("cost", list(KNOWN_COSTS.values()), ids=lambda c: c.name)
def test_known_expectations_match_monte_carlo(cost):
    mu, sigma = _mu_sigma()
    values = cost.f(sample_normal(mu, sigma, 50_000, _gen(5)))  # (S, B)
    _assert_unbiased(values, cost.expectation(mu, sigma), f"E[{cost.name}]")


def test_score_function_handles_a_non_differentiable_cost_and_pathwise_refuses():
    mu, sigma = _mu_sigma()
    g = score_function_gradient(STEP.f, mu, sigma, 50_000, _gen(2))
    exact_mu, exact_sigma = STEP.gradient(mu, sigma)
    _assert_unbiased(g.grad_mu, exact_mu, "score d/dmu step")
    _assert_unbiased(g.grad_sigma, exact_sigma, "score d/dsigma step")
    with pytest.raises(ValueError, match="f must be differentiable.*score_function_gradient"):
        pathwise_gradient(STEP.f, mu, sigma, 10, _gen(2))


def test_a_baseline_keeps_the_score_function_unbiased_and_lowers_its_variance():
    mu = torch.tensor([2.0], dtype=DTYPE)
    sigma = torch.tensor([0.5], dtype=DTYPE)
    plain = score_function_gradient(SQUARE.f, mu, sigma, 50_000, _gen(4))
    # b = E[f] = mu^2 + sigma^2 is the classic baseline
    based = score_function_gradient(SQUARE.f, mu, sigma, 50_000, _gen(4), baseline=4.25)
    _assert_unbiased(based.grad_mu, 2 * mu, "baseline d/dmu")
    _assert_unbiased(based.grad_sigma, 2 * sigma, "baseline d/dsigma")
    # per-sample variance 124 without, 34 with the baseline (measured); ask for < half
    assert based.grad_mu.var() < 0.5 * plain.grad_mu.var()


def test_estimates_carry_no_graph():
    mu, sigma = _mu_sigma()
    mu.requires_grad_(True)
    for estimator in (pathwise_gradient, score_function_gradient):
        g = estimator(SQUARE.f, mu, sigma, 3, _gen(0))
        assert not g.grad_mu.requires_grad and not g.grad_sigma.requires_grad


# ---------------------------------------------------------------- variance


def test_pathwise_per_sample_variance_matches_closed_form_for_square():
    # g_mu = 2 z:  Var = 4 sigma^2
    # g_sigma = 2 z eps = 2 mu eps + 2 sigma eps^2:  Var = 4 mu^2 + 8 sigma^2
    mu, sigma = _mu_sigma()
    g = pathwise_gradient(SQUARE.f, mu, sigma, 50_000, _gen(9))
    torch.testing.assert_close(g.grad_mu.var(0), 4 * sigma**2, rtol=0.03, atol=0)
    torch.testing.assert_close(g.grad_sigma.var(0), 4 * mu**2 + 8 * sigma**2, rtol=0.05, atol=0)


def test_score_function_has_higher_variance_than_pathwise_for_square():
    mu = torch.tensor([[0.5], [1.5]], dtype=DTYPE)
    sigma = torch.tensor([[1.0], [0.7]], dtype=DTYPE)
    kwargs = dict(num_samples=(1, 10, 100), num_repeats=2000, generator=_gen(6))
    path = gradient_variance("pathwise", SQUARE.f, mu, sigma, **kwargs)
    score = gradient_variance("score_function", SQUARE.f, mu, sigma, **kwargs)
    assert path.var_mu.shape == (3, 2, 1)
    assert torch.equal(path.num_samples, torch.tensor([1, 10, 100]))
    # at least 3x higher at every S, for both parameters (true ratios are 5x to 30x here)
    assert bool((score.var_mu > 3 * path.var_mu).all())
    assert bool((score.var_sigma > 3 * path.var_sigma).all())


def test_variance_of_the_mean_falls_like_one_over_s():
    mu = torch.tensor([0.5], dtype=DTYPE)
    sigma = torch.tensor([1.2], dtype=DTYPE)
    curve = gradient_variance(
        pathwise_gradient, SQUARE.f, mu, sigma, (1, 4, 16), num_repeats=4000, generator=_gen(8)
    )
    # Var[mean of S] = 4 sigma^2 / S; the relative SE of a variance from R = 4000 is ~2.2%
    expected = 4 * sigma**2 / curve.num_samples.to(DTYPE)[:, None]
    torch.testing.assert_close(curve.var_mu, expected, rtol=0.12, atol=0)


def test_linear_cost_pathwise_mu_gradient_has_zero_variance():
    mu, sigma = _mu_sigma()
    g = pathwise_gradient(LINEAR.f, mu, sigma, 100, _gen(0))
    assert torch.equal(g.grad_mu, torch.ones(100, 2, 3, dtype=DTYPE))


# ---------------------------------------------------------------- errors


def test_estimator_errors():
    mu, sigma = _mu_sigma()
    with pytest.raises(ValueError, match=r"f must map z of shape \(4, 2, 3\).*found \(4, 2, 3\)"):
        pathwise_gradient(lambda z: z**2, mu, sigma, 4)
    with pytest.raises(TypeError, match="f must return a tensor"):
        score_function_gradient(lambda z: 1.0, mu, sigma, 4)
    with pytest.raises(TypeError, match="f must be callable"):
        score_function_gradient("square", mu, sigma, 4)
    with pytest.raises(ValueError, match="sigma must be positive"):
        score_function_gradient(SQUARE.f, mu, sigma.log(), 4)
    with pytest.raises(ValueError, match="estimator must be one of"):
        gradient_variance("reinforce", SQUARE.f, mu, sigma)
    with pytest.raises(ValueError, match="num_repeats must be >= 2, found 1"):
        gradient_variance("pathwise", SQUARE.f, mu, sigma, num_repeats=1)
    with pytest.raises(ValueError, match="num_samples must be a non-empty sequence"):
        gradient_variance("pathwise", SQUARE.f, mu, sigma, num_samples=10)
