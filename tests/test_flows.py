"""Flows (lecture 11): invertibility, log-determinants against autograd, normalization by
quadrature, and the dequantized bound against exact cell probabilities."""

import math

import numpy as np
import pytest
import torch

from dgmlab.data import Bars
from dgmlab.dequantization import dequantized_log_likelihood, dequantized_nll_bound
from dgmlab.models.flow import (
    AffineCoupling,
    CategoricalCDF,
    ElementwiseAffine,
    Flow,
    TanhMap,
    checkerboard_masks,
    real_nvp,
)
from dgmlab.quadrature import simpson_grid
from dgmlab.recipes import all_images
from dgmlab.train import fit

DTYPE = torch.float64


def randomized(flow: Flow, seed: int, scale: float = 0.5) -> Flow:
    """A flow whose couplings are not the identity (their last layers start at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            if p.ndim >= 1 and not isinstance(p, torch.nn.UninitializedParameter):
                p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return flow


def gauss_legendre_cells(levels: int, nodes: int = 24):
    """Nodes and weights for integrating over [0, levels) cell by cell: (levels, n), (n,)."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    u = torch.tensor((t + 1) / 2, dtype=DTYPE)  # in (0, 1)
    return torch.arange(levels, dtype=DTYPE)[:, None] + u, torch.tensor(w / 2, dtype=DTYPE)


# ---- the 1-D monotone map


def test_tanh_map_inverse_derivative_and_density():
    f = TanhMap(a=0.3, b=0.4, c=2.0, w=0.5)  # a bump strong enough to split the density
    z = torch.linspace(-5, 5, 201, dtype=DTYPE)
    torch.testing.assert_close(f.inverse(f(z)), z, atol=1e-10, rtol=0)
    z_grad = z.clone().requires_grad_()
    (dx_dz,) = torch.autograd.grad(f(z_grad).sum(), z_grad)
    torch.testing.assert_close(f.log_derivative(z), dx_dz.log())
    # the pushed-forward density integrates to 1, and its CDF is its running integral
    grid = simpson_grid((-9.0, 9.0), 4001, dtype=DTYPE)
    x = grid.z[:, 0]
    p_x = f.log_prob(x).exp()
    assert abs(float((grid.log_w.exp() * p_x).sum()) - 1.0) < 1e-6
    half = simpson_grid((-9.0, 0.7), 2001, dtype=DTYPE)
    below = float((half.log_w.exp() * f.log_prob(half.z[:, 0]).exp()).sum())
    assert abs(below - float(f.cdf(torch.tensor(0.7, dtype=DTYPE)))) < 1e-6
    # the bump thins the middle: two modes, a dip at f(0) = a (a missing -log f' gives one mode)
    assert float(f.log_prob(torch.tensor(0.3, dtype=DTYPE))) < float(
        f.log_prob(torch.tensor(2.5, dtype=DTYPE))
    )


def test_tanh_map_errors():
    with pytest.raises(ValueError, match="b must be positive"):
        TanhMap(b=0.0)
    with pytest.raises(ValueError, match="c must be >= 0"):
        TanhMap(c=-1.0)
    with pytest.raises(ValueError, match="w must be positive"):
        TanhMap(w=0.0)
    with pytest.raises(TypeError, match="a must be a float, found str"):
        TanhMap(a="1")


# ---- coupling layers and flows


def small_flow(D: int = 4, seed: int = 0, scale: float = 0.5) -> Flow:
    torch.manual_seed(seed)
    masks = [torch.tensor([1, 0] * (D // 2)), torch.tensor([0, 1] * (D // 2))] * 2
    shift = torch.linspace(-1, 1, D, dtype=DTYPE)
    first = [ElementwiseAffine(shift, 0.3 * shift, learnable=True)]
    return randomized(real_nvp(masks, hidden=16, first=first).double(), seed, scale)


def test_coupling_inverse_inverts_in_float32():
    torch.manual_seed(0)
    flow = randomized(real_nvp(checkerboard_masks(4, 4, 6), hidden=32), seed=1, scale=0.2)
    x = torch.randn(64, 16)
    z, _ = flow(x)
    assert (z - x).abs().max() > 0.1  # not the identity
    torch.testing.assert_close(flow.inverse(z), x, atol=1e-5, rtol=0)


def test_log_det_matches_autograd_jacobian():
    flow = small_flow()
    x = torch.randn(3, 4, dtype=DTYPE, generator=torch.Generator().manual_seed(2))
    _, log_det = flow(x)
    for b in range(3):
        J = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[b])  # (D, D)
        torch.testing.assert_close(log_det[b], torch.linalg.slogdet(J).logabsdet)
    coupling = flow.layers[1]
    J = torch.autograd.functional.jacobian(lambda v: coupling(v[None])[0][0], x[0])
    kept = coupling.mask.bool()
    torch.testing.assert_close(J[kept][:, kept], torch.eye(2, dtype=DTYPE))  # pass through
    assert float(J[kept][:, ~kept].abs().max()) == 0.0  # kept pixels ignore the free ones


def test_flow_density_integrates_to_one_in_2d():
    flow = small_flow(D=2, seed=3, scale=0.2)  # random couplings have heavy tails: keep small
    grid = simpson_grid((-20.0, 20.0), 801, dtype=DTYPE)
    v, w = grid.z[:, 0], grid.log_w.exp()
    xx = torch.cartesian_prod(v, v)  # (G^2, 2)
    with torch.no_grad():
        p = flow.log_prob(xx).exp().view(len(v), len(v))
    assert abs(float(w @ p @ w) - 1.0) < 1e-4  # without the log-det: 0.2 off


def test_categorical_cdf_is_the_independent_pixel_model():
    g = torch.Generator().manual_seed(4)
    x = torch.randint(0, 5, (200, 3), generator=g)
    layer = CategoricalCDF.from_counts(x, 5, alpha=0.5)
    probs = (torch.nn.functional.one_hot(x, 5).sum(0).double() + 0.5) / (200 + 2.5)  # (3, 5)
    flow = Flow([layer]).double()
    u = torch.rand(200, 3, generator=g, dtype=DTYPE)
    expected = probs.log().gather(1, x.T).T.sum(-1)  # sum_d log p_{d, x_d}, for every u
    torch.testing.assert_close(flow.log_prob(x.double() + u), expected)
    torch.testing.assert_close(flow.inverse(flow(x.double() + u)[0]), x.double() + u)
    s = flow.sample(4000, generator=torch.Generator().manual_seed(5)).floor().long()
    freq = torch.nn.functional.one_hot(s, 5).double().mean(0)
    assert float((freq - probs).abs().max()) < 0.04


def test_flow_errors():
    with pytest.raises(ValueError, match="mask must hold 0s and 1s with at least one of each"):
        AffineCoupling(torch.tensor([1, 1]))
    with pytest.raises(TypeError, match="mask must be a torch.Tensor"):
        AffineCoupling([1, 0])
    with pytest.raises(ValueError, match=r"x must have shape \(B, D\)"):
        small_flow().log_prob(torch.zeros(4, dtype=DTYPE))
    with pytest.raises(ValueError, match="shift and log_scale must have the same shape"):
        ElementwiseAffine(torch.zeros(2), torch.zeros(3))
    with pytest.raises(TypeError, match="x must be a floating-point"):
        ElementwiseAffine.standardizing(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="x must be a floating-point"):
        small_flow()(torch.zeros(3, 4, dtype=torch.long))


# ---- dequantization: a bound on the discrete NLL


def test_dequantized_bound_below_exact_cell_probability_in_1d():
    # p from a 1-D monotone map; P(k) = F(k + 1) - F(k) exactly from its CDF
    f = TanhMap(a=2.0, b=0.5, c=1.5, w=0.3)
    k = torch.arange(-2, 7, dtype=DTYPE)
    log_P = (f.cdf(k + 1) - f.cdf(k)).log()
    v, w = gauss_legendre_cells(1)
    u = v[0]  # (n,) nodes in (0, 1)
    E_log_p = (f.log_prob(k[:, None] + u) * w).sum(-1)  # E_u[log p(k + u)], u ~ U[0, 1)
    assert bool((E_log_p <= log_P + 1e-12).all())  # Jensen, exactly
    # noise on (0, 1/2] without the -log 2 correction claims more than the cell holds
    E_half = (f.log_prob(k[:, None] + 0.5 * u) * w).sum(-1)
    assert bool((E_half > log_P).any())
    assert bool((E_half - math.log(2) <= log_P + 1e-12).all())  # with it, a bound again
    # the library's estimate, fed the quadrature nodes as noise, reproduces both
    one_cell = lambda t: f.log_prob(t[:, 0])  # noqa: E731
    draws = u[:, None, None].expand(-1, len(k), 1)  # (K, B, 1)
    per_node = torch.stack(
        [dequantized_log_likelihood(one_cell, k[:, None], u=d[None]) for d in draws]
    )  # (n, B)
    torch.testing.assert_close((per_node * w[:, None]).sum(0), E_log_p)
    half = dequantized_log_likelihood(one_cell, k[:, None], u=0.5 * draws[:1], width=0.5)
    torch.testing.assert_close(half, f.log_prob(k + 0.5 * u[0]) - math.log(2))


def test_dequantized_bound_exact_in_2d_and_importance_weighting_closes_the_gap():
    torch.manual_seed(0)
    cdf = CategoricalCDF(torch.randn(2, 3, generator=torch.Generator().manual_seed(6)))
    masks = [torch.tensor([1, 0]), torch.tensor([0, 1])]
    flow = randomized(real_nvp(masks, hidden=8, first=[cdf]).double(), seed=7, scale=0.3)
    v, w = gauss_legendre_cells(3, nodes=32)  # (3, n)
    cells = torch.cartesian_prod(torch.arange(3), torch.arange(3)).double()  # all 9 images
    u = torch.cartesian_prod(v[0], v[0])  # (n^2, 2) in the unit square
    w2 = (w[:, None] * w[None]).flatten()
    with torch.no_grad():
        log_p = torch.stack([flow.log_prob(x + u) for x in cells])  # (9, n^2)
        log_P = (log_p.exp() * w2).sum(-1).log()  # exact cell probabilities
        E_log_p = (log_p * w2).sum(-1)
        L_1 = dequantized_log_likelihood(
            flow.log_prob, cells.repeat(4000, 1), generator=torch.Generator().manual_seed(9)
        ).view(4000, 9)
        L_64 = dequantized_log_likelihood(
            flow.log_prob, cells.repeat(200, 1), K=64, generator=torch.Generator().manual_seed(8)
        )
    assert abs(float(log_P.exp().sum()) - 1.0) < 1e-4  # P is a distribution on the 9 images
    assert bool((E_log_p < log_P).all())
    assert float((log_P - E_log_p).max()) > 0.02  # a real gap for the bound to close
    standard_error = L_1.std(0) / math.sqrt(4000)  # Monte Carlo: within 4 standard errors
    assert bool(((L_1.mean(0) - E_log_p).abs() < 4 * standard_error + 1e-3).all())
    mean_64 = L_64.view(200, 9).mean(0)
    assert bool((mean_64 > E_log_p).all()) and bool((mean_64 <= log_P + 0.01).all())


def test_dequantized_flow_on_bars_sits_above_the_entropy():
    bars = Bars()
    x, _ = bars.sample(2000, generator=torch.Generator().manual_seed(0))
    cdf = CategoricalCDF.from_counts(x.long(), 2, alpha=0.5)
    flow = real_nvp(checkerboard_masks(4, 4, 2), hidden=32, first=[cdf])
    images = all_images(16)
    p_data = bars.log_prob(images.double()).exp()
    # before training the flow is the independent-pixel model: its bound is exact, by counting
    probs = (x.sum(0).double() + 0.5) / (2000 + 1.0)  # (16,) P(pixel on)
    independent = -(p_data * (images.double() * probs.log() + (1 - images.double())
                              * (1 - probs).log()).sum(-1)).sum()  # fmt: skip
    with torch.no_grad():
        start = -(p_data * dequantized_log_likelihood(flow.log_prob, images).double()).sum()
    torch.testing.assert_close(start, independent, atol=1e-4, rtol=0)
    g = torch.Generator().manual_seed(1)
    fit(flow, lambda xb: -dequantized_log_likelihood(flow.log_prob, xb, generator=g).mean(), x,
        epochs=3, batch_size=100, lr=3e-3, progress=False)  # fmt: skip
    with torch.no_grad():
        bound = -(
            p_data
            * dequantized_log_likelihood(
                flow.log_prob, images, generator=torch.Generator().manual_seed(2)
            ).double()
        ).sum()
    # training learned something, and the bound on the cross-entropy stays above H(p_data)
    assert bars.entropy() < float(bound) < float(independent) - 0.3


def test_dequantization_errors():
    lp = lambda v: -v.pow(2).sum(-1)  # noqa: E731
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"width must be in \(0, 1\]"):
        dequantized_log_likelihood(lp, x, width=1.5)
    with pytest.raises(ValueError, match="x must hold integers"):
        dequantized_log_likelihood(lp, x + 0.5)
    with pytest.raises(ValueError, match=r"u must have shape \(K, B, D\) = \(1, 2, 3\)"):
        dequantized_log_likelihood(lp, x, u=torch.zeros(2, 2, 3))
    with pytest.raises(ValueError, match="K must be >= 1"):
        dequantized_log_likelihood(lp, x, K=0)


def test_nll_bound_of_a_histogram_density_is_minus_log_P_exactly():
    # p(v) = prod_d P_d(floor(v_d)) is constant on each unit cell, so for every noise draw
    # p(x + u) / q(u) = P(x) w^D: the bound is exact, -log P(x) - D log w, whatever K and R.
    # Catches a forgotten log K in the log-mean-exp (off by log K), a mean over the wrong axis
    # (images mixed), a missing width term (off by D log 2) and a sign slip.
    levels, D = 3, 4
    log_P_d = torch.log_softmax(torch.randn(D, levels, generator=torch.Generator().manual_seed(0),
                                            dtype=DTYPE), -1)  # fmt: skip

    def histogram(v: torch.Tensor) -> torch.Tensor:  # (b, D) -> (b,)
        return log_P_d.gather(1, v.floor().long().T).sum(0)

    x = torch.cartesian_prod(*[torch.arange(levels)] * D).double()  # (81, D): every image
    log_P = histogram(x)
    assert abs(float(log_P.exp().sum()) - 1.0) < 1e-12  # a distribution on the images
    for K, draws in ((1, 1), (7, 1), (5, 3)):
        torch.testing.assert_close(dequantized_nll_bound(histogram, x, K, draws), -log_P)
    half = dequantized_nll_bound(histogram, x, K=4, width=0.5)
    torch.testing.assert_close(half, -log_P + D * math.log(2))


def test_nll_bound_averages_log_mean_exps_over_draws_by_brute_force():
    # a density that varies inside the cell: against a loop over draws, images and samples
    # in float64. Catches a log-mean-exp across the draws (as if K were K x R), a mean of
    # log p over K instead of the log-mean-exp, one seed for every draw, noise reused between
    # chunks (a generator seeded afresh for each), and a mean over the wrong axis.
    def log_prob(v: torch.Tensor) -> torch.Tensor:  # N(1, 1.5^2) per pixel
        return torch.distributions.Normal(1.0, 1.5).log_prob(v).sum(-1)

    x = torch.tensor([[0, 1, 2], [2, 2, 0], [1, 0, 0], [3, 1, 1], [0, 0, 0]], dtype=DTYPE)
    K, draws, seed = 4, 3, 11
    expected = torch.zeros(len(x), dtype=DTYPE)
    for r in range(draws):
        u = torch.rand(K, *x.shape, generator=torch.Generator().manual_seed(seed + r), dtype=DTYPE)
        for b in range(len(x)):
            log_w = torch.stack([log_prob(x[b : b + 1] + u[k, b : b + 1])[0] for k in range(K)])
            expected[b] -= (torch.logsumexp(log_w, 0) - math.log(K)) / draws
    got = dequantized_nll_bound(log_prob, x, K, draws, seed)
    assert got.shape == (len(x),) and got.dtype == DTYPE
    torch.testing.assert_close(got, expected)
    one_draw = [dequantized_nll_bound(log_prob, x, K, 1, seed + r) for r in range(draws)]
    torch.testing.assert_close(torch.stack(one_draw).mean(0), expected)
    # with K = 1, three chunks draw what one chunk draws: no chunk reuses another's noise
    torch.testing.assert_close(
        dequantized_nll_bound(log_prob, x, 1, draws, seed, chunk_size=2),
        dequantized_nll_bound(log_prob, x, 1, draws, seed),
    )


def test_nll_bound_errors():
    lp = lambda v: -v.pow(2).sum(-1)  # noqa: E731
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="draws must be >= 1, found 0"):
        dequantized_nll_bound(lp, x, draws=0)
    with pytest.raises(ValueError, match="K must be >= 1, found 0"):
        dequantized_nll_bound(lp, x, K=0)
    with pytest.raises(TypeError, match="seed must be an int, found float"):
        dequantized_nll_bound(lp, x, seed=1.0)
    with pytest.raises(ValueError, match="chunk_size must be >= 1, found 0"):
        dequantized_nll_bound(lp, x, chunk_size=0)
    with pytest.raises(ValueError, match=r"width must be in \(0, 1\]"):
        dequantized_nll_bound(lp, x, width=0.0)
    with pytest.raises(ValueError, match=r"x must have shape \(B, D\), found shape \(3,\)"):
        dequantized_nll_bound(lp, torch.zeros(3))
    with pytest.raises(ValueError, match="x must hold integers"):
        dequantized_nll_bound(lp, x + 0.5)
