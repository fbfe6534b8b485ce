"""dgmlab.densities against torch.distributions (float64 oracles), edge cases, and properties.

Each test names, in its docstring, a wrong implementation it catches.
"""

import math

import numpy as np
import pytest
import torch
import torch.distributions as td
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dgmlab.densities import (
    kl_normal,
    kl_standard_normal,
    log_bernoulli,
    log_bernoulli_pairwise,
    log_normal,
    log_standard_normal,
)

F64 = torch.float64
S, B, D, L = 3, 5, 16, 4


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _binary(*shape: int, seed: int = 0, dtype=F64) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=_gen(seed)).to(dtype)


def _randn(*shape: int, seed: int = 0, scale: float = 1.0, dtype=F64) -> torch.Tensor:
    return scale * torch.randn(shape, generator=_gen(seed), dtype=dtype)


def _sigma(*shape: int, seed: int = 0, dtype=F64) -> torch.Tensor:
    """Standard deviations spread over [0.05, 20], far from 1 so sigma vs variance differ."""
    return torch.exp(3.0 * torch.rand(shape, generator=_gen(seed), dtype=dtype) - 3.0) * 20.0


def _bernoulli_oracle(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    # validate_args=False: torch's Bernoulli also scores fractional x (binary cross-entropy)
    return td.Bernoulli(logits=logits, validate_args=False).log_prob(x).sum(-1)


def _normal(mu: torch.Tensor, sigma: torch.Tensor) -> td.Distribution:
    return td.Independent(td.Normal(mu, sigma), 1)


# --- oracle tests in float64 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_shape", "logits_shape"),
    [
        ((B, D), (B, D)),
        ((B, D), (S, B, D)),
        ((S, B, D), (B, D)),
        ((D,), (B, D)),
        ((B, 1, D), (S, D)),
    ],
)
def test_log_bernoulli_matches_torch_distributions(x_shape, logits_shape):
    """Catches mean instead of sum over pixels, a sign error, and broadcasting mistakes."""
    x = _binary(*x_shape, seed=1)
    logits = _randn(*logits_shape, seed=2, scale=4.0)
    found = log_bernoulli(x, logits)
    expected = _bernoulli_oracle(x, logits)
    assert found.shape == expected.shape
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=1e-12)


def test_log_bernoulli_fractional_x_matches_cross_entropy():
    """x in [0, 1] (probabilities) is the binary cross-entropy; catches code that rounds x."""
    x = torch.rand(B, D, generator=_gen(3), dtype=F64)
    logits = _randn(B, D, seed=4, scale=3.0)
    torch.testing.assert_close(
        log_bernoulli(x, logits), _bernoulli_oracle(x, logits), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_log_bernoulli_keeps_relative_precision_for_confident_logits(dtype):
    """|l| in 10..60, one pixel: log p is tiny and must be right to relative precision.

    Catches x*l - softplus(l) (cancellation: float32 gives 0 for log p(x=1 | l=20), the truth
    is -2.06e-9) and F.softplus's threshold (drops log1p(exp(-l)) for l > 20 in float64).
    """
    l64 = torch.tensor([10.0, 17.0, 20.5, 25.0, 30.0, 36.0, 45.0, 60.0], dtype=F64)
    for sign in (1.0, -1.0):
        x = torch.full_like(l64, 1.0 if sign > 0 else 0.0)[:, None]  # (8, 1), the likely value
        logits = (sign * l64)[:, None]
        expected = -torch.log1p(torch.exp(-l64))  # log sigmoid(|l|), exact in float64
        found = log_bernoulli(x.to(dtype), logits.to(dtype))
        rtol = 1e-6 if dtype == torch.float32 else 1e-13
        torch.testing.assert_close(found.to(F64), expected, rtol=rtol, atol=0.0)


@pytest.mark.parametrize(
    ("G", "D_"),
    [(1, 1), (7, 16), (33, 3)],
)
def test_log_bernoulli_pairwise_matches_broadcast_and_oracle(G, D_):
    """Catches a transposed result (G, B), a wrong matmul orientation, or forgetting 1 - x."""
    x = _binary(B, D_, seed=5)
    logits = _randn(G, D_, seed=6, scale=5.0)
    found = log_bernoulli_pairwise(x, logits)  # (B, G)
    assert found.shape == (B, G)
    broadcast = log_bernoulli(x[:, None, :], logits[None, :, :])  # (B, G)
    torch.testing.assert_close(found, broadcast, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        found, _bernoulli_oracle(x[:, None, :], logits[None]), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("z_shape", "mu_shape", "sigma_shape"),
    [
        ((B, L), (B, L), (B, L)),
        ((S, B, L), (B, L), (B, L)),
        ((S, B, L), (S, B, L), (1, L)),
        ((B, L), (L,), (L,)),
        ((1,), (1,), (1,)),
    ],
)
def test_log_normal_matches_torch_distributions(z_shape, mu_shape, sigma_shape):
    """Catches sigma used as a variance, log(sigma) missing or doubled, a missing 0.5."""
    z = _randn(*z_shape, seed=7, scale=3.0)
    mu = _randn(*mu_shape, seed=8)
    sigma = _sigma(*sigma_shape, seed=9)
    shape = torch.broadcast_shapes(z.shape, mu.shape, sigma.shape)
    expected = _normal(mu.expand(shape), sigma.expand(shape)).log_prob(z)
    found = log_normal(z, mu, sigma)
    assert found.shape == expected.shape == shape[:-1]
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(L,), (B, L), (S, B, L), (B, 1)])
def test_log_standard_normal_matches_torch_distributions(shape):
    """Catches a missing -0.5 log(2 pi) per dimension (added once instead of L times)."""
    z = _randn(*shape, seed=10, scale=2.0)
    expected = _normal(torch.zeros_like(z), torch.ones_like(z)).log_prob(z)
    torch.testing.assert_close(log_standard_normal(z), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("q_shape", "p_shape"),
    [((B, L), (B, L)), ((S, B, L), (B, L)), ((B, L), (L,)), ((B, 1), (B, 1))],
)
def test_kl_normal_matches_torch_distributions(q_shape, p_shape):
    """Catches KL(p||q) instead of KL(q||p), a flipped sign, sigma vs variance, missing 0.5."""
    mu_q, sigma_q = _randn(*q_shape, seed=11, scale=2.0), _sigma(*q_shape, seed=12)
    mu_p, sigma_p = _randn(*p_shape, seed=13, scale=2.0), _sigma(*p_shape, seed=14)
    shape = torch.broadcast_shapes(mu_q.shape, mu_p.shape)
    expected = td.kl_divergence(
        _normal(mu_q.expand(shape), sigma_q.expand(shape)),
        _normal(mu_p.expand(shape), sigma_p.expand(shape)),
    )
    found = kl_normal(mu_q, sigma_q, mu_p, sigma_p)
    assert found.shape == expected.shape == shape[:-1]
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(L,), (B, L), (S, B, L)])
def test_kl_standard_normal_matches_torch_distributions(shape):
    """Catches sigma^2 + mu^2 - 1 - log sigma (log sigma instead of log sigma^2)."""
    mu, sigma = _randn(*shape, seed=15, scale=2.0), _sigma(*shape, seed=16)
    prior = _normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = td.kl_divergence(_normal(mu, sigma), prior)
    torch.testing.assert_close(kl_standard_normal(mu, sigma), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_results_keep_input_dtype_and_device(dtype):
    """Catches a hard-coded float32 (or float64) constant tensor created inside a function."""
    x, logits = _binary(B, D, dtype=dtype), _randn(B, D, dtype=dtype)
    z, mu, sigma = _randn(B, L, dtype=dtype), _randn(B, L, dtype=dtype), _sigma(B, L, dtype=dtype)
    outputs = [
        log_bernoulli(x, logits),
        log_bernoulli_pairwise(x, logits),
        log_normal(z, mu, sigma),
        log_standard_normal(z),
        kl_normal(mu, sigma, z, sigma.flip(0)),
        kl_standard_normal(mu, sigma),
    ]
    for out in outputs:
        assert out.dtype == dtype
        assert out.device == x.device


# --- stability ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize(
    ("x", "logit", "expected"),
    [
        (1.0, 1e4, 0.0),
        (0.0, 1e4, -1e4),
        (1.0, -1e4, -1e4),
        (0.0, -1e4, 0.0),
        (1.0, 1e3, 0.0),
        (0.0, -1e3, 0.0),
        (0.0, 1e3, -1e3),
        (0.5, 1e4, -5e3),
        (1.0, 0.0, -math.log(2.0)),
    ],
)
def test_log_bernoulli_exact_for_huge_logits(dtype, x, logit, expected):
    """Catches log(sigmoid(l)) (-inf at l = -1e4, log 0) and log(1 + exp(l)) (inf at 1e4)."""
    found = log_bernoulli(torch.tensor([x], dtype=dtype), torch.tensor([logit], dtype=dtype))
    assert torch.isfinite(found).all()
    assert found.item() == pytest.approx(expected, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_log_bernoulli_gradient_is_x_minus_sigmoid_even_for_huge_logits(dtype):
    """d/dl log p = x - sigmoid(l); catches NaN/inf gradients from log(sigmoid(l))."""
    x = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    logits = torch.tensor([1e4, 1e4, -1e4, -1e4, 0.0, 2.0], dtype=dtype, requires_grad=True)
    log_bernoulli(x, logits).backward()
    expected = x - torch.sigmoid(logits.detach())
    torch.testing.assert_close(logits.grad, expected, rtol=1e-6, atol=1e-6)


def test_log_normal_finite_for_tiny_and_huge_sigma():
    """sigma from 1e-200 to 1e200 in float64; catches log(sigma**2), which under/overflows."""
    sigma = torch.tensor([1e-200, 1e-10, 1.0, 1e10, 1e200], dtype=F64)
    z = torch.zeros_like(sigma)
    found = log_normal(z[:, None], z[:, None], sigma[:, None])
    expected = -0.5 * math.log(2 * math.pi) - torch.log(sigma)
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=0.0)


# --- Monte Carlo check of the closed-form KL -------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_kl_normal_matches_monte_carlo_estimate(seed):
    """KL = E_q[log q(z) - log p(z)], estimated with N = 200,000 draws from q (fixed seed).

    Tolerance: 5 standard errors of the Monte Carlo mean (sample std / sqrt(N)), so a correct
    KL fails with probability ~6e-7 for a random seed, and these seeds are fixed. Catches any
    closed-form term that is off (missing 0.5, sign, sigma vs variance) by more than ~1%.
    """
    g = _gen(100 + seed)
    mu_q, mu_p = torch.randn(L, generator=g, dtype=F64), torch.randn(L, generator=g, dtype=F64)
    sigma_q = 0.5 + torch.rand(L, generator=g, dtype=F64)
    sigma_p = 0.5 + torch.rand(L, generator=g, dtype=F64)
    N = 200_000
    z = mu_q + sigma_q * torch.randn(N, L, generator=g, dtype=F64)  # (N, L)
    log_ratio = log_normal(z, mu_q, sigma_q) - log_normal(z, mu_p, sigma_p)  # (N,)
    estimate, std_error = log_ratio.mean().item(), log_ratio.std().item() / math.sqrt(N)
    closed_form = kl_normal(mu_q, sigma_q, mu_p, sigma_p).item()
    assert abs(closed_form - estimate) < 5 * std_error, (closed_form, estimate, std_error)
    assert std_error < 0.01 * closed_form  # the check is sharp enough to mean something


# --- properties ------------------------------------------------------------------------------

_means = arrays(np.float64, (3, L), elements=st.floats(-50, 50))
_sigmas = arrays(np.float64, (3, L), elements=st.floats(1e-3, 1e3))
_logits = arrays(np.float64, (3, D), elements=st.floats(-1e4, 1e4))
_binary_images = arrays(np.float64, (3, D), elements=st.sampled_from([0.0, 1.0]))
_unit = arrays(np.float64, (3, D), elements=st.floats(0.0, 1.0))


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


@given(_means, _sigmas, _means, _sigmas)
def test_kl_is_nonnegative(mu_q, sigma_q, mu_p, sigma_p):
    """KL >= 0 (Gibbs); catches a flipped sign or a missing -1 / -log term."""
    kl = kl_normal(_t(mu_q), _t(sigma_q), _t(mu_p), _t(sigma_p))
    assert (kl >= -1e-9 * (1 + kl.abs())).all(), kl
    assert (kl_standard_normal(_t(mu_q), _t(sigma_q)) >= -1e-12).all()


@given(_means, _sigmas)
def test_kl_of_a_distribution_with_itself_is_zero(mu, sigma):
    """KL(q || q) = 0; catches a constant offset (e.g. -1 without the 0.5)."""
    kl = kl_normal(_t(mu), _t(sigma), _t(mu), _t(sigma))
    torch.testing.assert_close(kl, torch.zeros(3, dtype=F64), rtol=0, atol=1e-12)


@given(_means, _sigmas)
def test_kl_standard_normal_is_kl_normal_against_the_prior(mu, sigma):
    """The two KLs agree; catches drift between two copies of the formula."""
    mu, sigma = _t(mu), _t(sigma)
    expected = kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma))
    torch.testing.assert_close(kl_standard_normal(mu, sigma), expected, rtol=1e-12, atol=1e-12)


@given(_means, _sigmas, _means, _sigmas)
def test_kl_sums_over_dimensions(mu_q, sigma_q, mu_p, sigma_p):
    """KL of a diagonal Gaussian is the sum of per-dimension KLs; catches mean over L."""
    args = [_t(a) for a in (mu_q, sigma_q, mu_p, sigma_p)]
    whole = kl_normal(*args)  # (3,)
    per_dim = torch.stack([kl_normal(*(a[:, l : l + 1] for a in args)) for l in range(L)], -1)
    torch.testing.assert_close(whole, per_dim.sum(-1), rtol=1e-9, atol=1e-9)


@given(_binary_images, _logits)
def test_log_bernoulli_of_binary_x_is_at_most_zero(x, logits):
    """A probability is <= 1; catches + softplus instead of - softplus."""
    assert (log_bernoulli(_t(x), _t(logits)) <= 0).all()


@given(_unit, _logits)
def test_log_bernoulli_flip_symmetry(x, logits):
    """log p(1 - x | -l) = log p(x | l): swapping the pixel's meaning changes nothing."""
    x, logits = _t(x), _t(logits)
    torch.testing.assert_close(
        log_bernoulli(1.0 - x, -logits), log_bernoulli(x, logits), rtol=1e-12, atol=1e-9
    )
    assert (log_bernoulli(x, logits) <= 0).all()


@given(_binary_images, arrays(np.float64, (4, D), elements=st.floats(-40, 40)))
def test_log_bernoulli_pairwise_matches_broadcast_property(x, logits):
    """Pairwise and broadcast agree for any binary batch; catches a missing (1 - x) term."""
    x, logits = _t(x), _t(logits)
    broadcast = log_bernoulli(x[:, None, :], logits[None, :, :])  # (3, 4)
    torch.testing.assert_close(log_bernoulli_pairwise(x, logits), broadcast, rtol=1e-10, atol=1e-12)


@given(_binary_images)
def test_log_bernoulli_at_zero_logits_is_minus_d_log_2(x):
    """Every pixel is a fair coin: log p = -D log 2 for every image."""
    found = log_bernoulli(_t(x), torch.zeros(D, dtype=F64))
    torch.testing.assert_close(found, torch.full((3,), -D * math.log(2.0), dtype=F64))


@given(_means, _means, _sigmas, st.floats(-100, 100), st.floats(1e-2, 1e2))
def test_log_normal_under_shift_and_scale(z, mu, sigma, shift, scale):
    """log N(a z + c; a mu + c, a sigma) = log N(z; mu, sigma) - L log a.

    The change of variables; catches a missing or doubled log sigma term.
    """
    z, mu, sigma = _t(z), _t(mu), _t(sigma)
    moved = log_normal(scale * z + shift, scale * mu + shift, scale * sigma)
    expected = log_normal(z, mu, sigma) - L * math.log(scale)
    torch.testing.assert_close(moved, expected, rtol=1e-9, atol=1e-6)


@given(st.floats(-3, 3), st.floats(0.2, 3))
def test_log_normal_integrates_to_one(mu, sigma):
    """exp(log N) integrates to 1 over z (fine trapezoid grid, +-12 sigma); catches constants."""
    z = torch.linspace(mu - 12 * sigma, mu + 12 * sigma, 20001, dtype=F64)[:, None]
    density = log_normal(z, torch.tensor([mu], dtype=F64), torch.tensor([sigma], dtype=F64)).exp()
    assert torch.trapezoid(density, z[:, 0]).item() == pytest.approx(1.0, abs=1e-9)
