"""Diffusion (lecture 13): the closed-form forward process against composed one-step kernels,
the posterior against Bayes' rule on a grid, the Gaussian bound against the exact marginal of a
linear reverse chain, and the masking bound against brute force over every trajectory."""

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmlab import diffusion
from dgmlab.models.diffusion import EpsMLP, MaskedDenoiser

DTYPE = torch.float64


def _steps(B, t):
    return torch.full((B,), t, dtype=torch.long)


# ---- schedules ----


def test_linear_schedule_endpoints_and_cosine_alpha_bar():
    # catches: linspace off by one step, abar from betas instead of cumprod of 1 - beta
    betas = diffusion.linear_schedule(10, 1e-3, 0.2)
    assert betas.shape == (10,) and betas.dtype == DTYPE
    assert math.isclose(betas[0].item(), 1e-3) and math.isclose(betas[-1].item(), 0.2)
    T, s = 50, 0.008
    abar = diffusion.alpha_bars(diffusion.cosine_schedule(T, s))
    t = torch.arange(1, T + 1, dtype=DTYPE)
    f = (
        torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
        / math.cos(s / (1 + s) * math.pi / 2) ** 2
    )
    ok = f > 1e-3  # where the 0.999 clamp has not acted
    torch.testing.assert_close(abar[ok], f[ok], rtol=1e-10, atol=1e-12)


# ---- the forward process ----


def test_forward_marginal_equals_composed_one_step_kernels():
    # the closed form against t applications of q(x_s | x_{s-1}) = N(sqrt(1 - b) x, b):
    # catches abar_{t-1} for abar_t, sqrt(1 - abar) for 1 - abar, prod(beta) for prod(1 - beta)
    betas = diffusion.linear_schedule(20, 0.01, 0.3)
    x0 = torch.randn(6, 3, dtype=DTYPE)
    mean, var = x0.clone(), torch.zeros(1, dtype=DTYPE)
    for t in range(1, 21):
        b = betas[t - 1]
        mean, var = (1 - b).sqrt() * mean, (1 - b) * var + b
        m, s = diffusion.forward_marginal(x0, _steps(6, t), betas)
        torch.testing.assert_close(m, mean)
        torch.testing.assert_close(s**2, var.expand(6, 1))


def test_forward_sample_uses_its_noise_and_predict_x0_inverts_it():
    betas = diffusion.cosine_schedule(30)
    x0, eps = torch.randn(5, 2, dtype=DTYPE), torch.randn(5, 2, dtype=DTYPE)
    t = torch.tensor([1, 7, 15, 29, 30])
    xt, used = diffusion.forward_sample(x0, t, betas, eps=eps)
    m, s = diffusion.forward_marginal(x0, t, betas)
    assert used is eps
    torch.testing.assert_close(xt, m + s * eps)
    torch.testing.assert_close(diffusion.predict_x0(xt, t, eps, betas), x0)
    # a generator makes the draw reproducible and its moments are the closed form's
    g = torch.Generator().manual_seed(0)
    big = torch.full((40000, 1), 1.5, dtype=DTYPE)
    xt, _ = diffusion.forward_sample(big, _steps(40000, 10), betas, generator=g)
    m, s = diffusion.forward_marginal(big[:1], _steps(1, 10), betas)
    assert abs(xt.mean() - m.item()) < 4 * s.item() / 200
    assert abs(xt.std() - s.item()) < 0.02


def test_posterior_equals_bayes_rule_on_a_grid():
    # q(x_{t-1} | x_t, x_0) ∝ q(x_{t-1} | x_0) q(x_t | x_{t-1}), normalized on a fine grid:
    # catches swapped coefficients of x_0 and x_t, beta_t for beta~_t, abar_t for abar_{t-1}
    betas = diffusion.linear_schedule(12, 0.02, 0.4)
    abar = diffusion.alpha_bars(betas)
    grid = torch.linspace(-12, 12, 200001, dtype=DTYPE)
    dx = grid[1] - grid[0]
    for t, x0, xt in ((2, 0.7, -0.4), (6, -1.3, 0.9), (12, 2.0, 2.5)):
        a_prev, b = abar[t - 2], betas[t - 1]
        log_w = -0.5 * (grid - a_prev.sqrt() * x0) ** 2 / (1 - a_prev)
        log_w = log_w - 0.5 * (xt - (1 - b).sqrt() * grid) ** 2 / b
        w = torch.exp(log_w - log_w.max())
        w = w / (w.sum() * dx)
        mean = (w * grid).sum() * dx
        var = (w * (grid - mean) ** 2).sum() * dx
        m, s = diffusion.posterior(
            torch.tensor([[x0]], dtype=DTYPE),
            torch.tensor([[xt]], dtype=DTYPE),
            _steps(1, t),
            betas,
        )
        assert abs(m.item() - mean.item()) < 1e-7
        assert abs(s.item() ** 2 - var.item()) < 1e-7


def test_posterior_at_step_one_is_x0_and_reverse_mean_is_hos_formula():
    betas = diffusion.linear_schedule(8, 0.05, 0.3)
    x0, xt, eps = (torch.randn(4, 3, dtype=DTYPE) for _ in range(3))
    m, s = diffusion.posterior(x0, xt, _steps(4, 1), betas)
    torch.testing.assert_close(m, x0)
    assert float(s.abs().max()) == 0.0
    t = torch.tensor([1, 3, 5, 8])
    abar, beta = diffusion.alpha_bars(betas)[t - 1][:, None], betas[t - 1][:, None]
    ho = (xt - beta / (1 - abar).sqrt() * eps) / (1 - beta).sqrt()
    torch.testing.assert_close(diffusion.reverse_mean(xt, t, eps, betas), ho)


# ---- the Gaussian bound and sampling, on 1-D Gaussian data with a linear eps model ----


class LinearEps(torch.nn.Module):
    """eps_hat = E[eps | x_t] for data N(mu, s^2): linear in x_t, so the reverse chain is
    linear-Gaussian and its marginal p(x_0) is a Gaussian computed exactly."""

    def __init__(self, betas, mu, s, shrink=1.0):
        super().__init__()
        a = diffusion.alpha_bars(betas)
        self.slope = shrink * (1 - a).sqrt() / (a * s**2 + 1 - a)
        self.offset = -self.slope * a.sqrt() * mu

    def forward(self, xt, t):
        return self.slope.to(xt)[t - 1][:, None] * xt + self.offset.to(xt)[t - 1][:, None]


def _exact_log_marginal(model, betas, x0):
    """log p(x_0) of the reverse chain x_{t-1} = mu_theta(x_t) + sqrt(beta_t) z (1-D)."""
    mean, var = torch.zeros(1, dtype=DTYPE), torch.ones(1, dtype=DTYPE)
    T = betas.shape[0]
    for step in range(T, 0, -1):
        t = _steps(1, step)
        zero = torch.zeros(1, 1, dtype=DTYPE)
        c = diffusion.reverse_mean(zero, t, model(zero, t), betas)[0, 0]
        one = torch.ones(1, 1, dtype=DTYPE)
        slope = diffusion.reverse_mean(one, t, model(one, t), betas)[0, 0] - c
        mean, var = slope * mean + c, slope**2 * var + betas[step - 1]
    return -0.5 * (x0 - mean) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)


def test_gaussian_bound_is_an_upper_bound_equal_to_the_trajectory_elbo():
    # the sum of per-step KLs against E_q[log q(x_{1:T} | x_0) - log p(x_{0:T})] drawn along
    # whole forward trajectories, and both >= -log p(x_0) of the exact linear-Gaussian chain:
    # catches a missing L_T, L_0 or a KL with the wrong variance, and a reverse mean that is off
    betas = diffusion.linear_schedule(4, 0.1, 0.5)
    model = LinearEps(betas, mu=0.5, s=0.8, shrink=0.7)
    x0 = torch.tensor([[-0.6], [0.4], [1.9]], dtype=DTYPE)
    N = 100000
    g = torch.Generator().manual_seed(0)
    rep = x0.repeat_interleave(N, 0)
    bound = diffusion.gaussian_diffusion_bound(model, rep, betas, generator=g)
    per_point = bound["bound"].view(3, N).mean(1)
    assert bound["steps"].shape == (3 * N, 4)
    torch.testing.assert_close(bound["bound"], bound["prior"] + bound["steps"].sum(-1))
    # trajectory ELBO by the definition
    x, log_q, log_p = rep, torch.zeros(3 * N, dtype=DTYPE), torch.zeros(3 * N, dtype=DTYPE)
    path = [rep]
    for t in range(1, 5):
        b = betas[t - 1]
        nxt = (1 - b).sqrt() * x + b.sqrt() * torch.randn(x.shape, generator=g, dtype=DTYPE)
        log_q += (-0.5 * (nxt - (1 - b).sqrt() * x) ** 2 / b - 0.5 * torch.log(2 * math.pi * b))[
            :, 0
        ]
        path.append(nxt)
        x = nxt
    log_p += (-0.5 * x**2 - 0.5 * math.log(2 * math.pi))[:, 0]
    for t in range(4, 0, -1):
        ts = _steps(3 * N, t)
        m = diffusion.reverse_mean(path[t], ts, model(path[t], ts), betas)
        b = betas[t - 1]
        log_p += (-0.5 * (path[t - 1] - m) ** 2 / b - 0.5 * torch.log(2 * math.pi * b))[:, 0]
    trajectory = (log_q - log_p).view(3, N).mean(1)
    torch.testing.assert_close(per_point, trajectory, atol=0.03, rtol=0)
    exact = -_exact_log_marginal(model, betas, x0[:, 0])
    assert bool((per_point >= exact - 0.01).all())
    assert bool((per_point - exact).max() > 0.05)  # a bound, not an identity, for this model


def test_sample_follows_gaussian_data_with_the_optimal_eps():
    betas = diffusion.linear_schedule(200, 1e-4, 0.05)
    model = LinearEps(betas, mu=1.5, s=0.5)
    x = diffusion.sample(model, betas, 20000, 1, torch.Generator().manual_seed(1), dtype=DTYPE)
    assert x.shape == (20000, 1) and x.dtype == DTYPE
    assert abs(x.mean().item() - 1.5) < 0.02 and abs(x.std().item() - 0.5) < 0.02
    # the exact marginal of the same chain agrees
    lp = _exact_log_marginal(model, betas, torch.tensor([1.5], dtype=DTYPE))
    assert abs(lp.item() + 0.5 * math.log(2 * math.pi * 0.25)) < 0.02


def test_noise_prediction_loss_is_the_squared_error_of_the_noise():
    betas = diffusion.cosine_schedule(10)
    model = EpsMLP(2, 10, hidden=16).double()
    x0, eps = torch.randn(7, 2, dtype=DTYPE), torch.randn(7, 2, dtype=DTYPE)
    t = torch.randint(1, 11, (7,))
    xt, _ = diffusion.forward_sample(x0, t, betas, eps=eps)
    loss = diffusion.noise_prediction_loss(model, x0, betas, t=t, eps=eps)
    torch.testing.assert_close(loss, ((eps - model(xt, t)) ** 2).sum(-1))
    drawn = diffusion.noise_prediction_loss(model, x0, betas, torch.Generator().manual_seed(0))
    assert drawn.shape == (7,) and drawn.dtype == DTYPE


# ---- masking diffusion: brute force over every trajectory on a tiny case ----

D, K, T = 2, 3, 3
STATES = list(itertools.product(range(K + 1), repeat=D))  # value K is the mask


class TableModel(torch.nn.Module):
    """Arbitrary logits for every x_t: a table over all (K + 1)^D states."""

    def __init__(self, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randn(len(STATES), D, K, generator=g, dtype=DTYPE)

    def forward(self, xt):
        idx = (xt * torch.tensor([(K + 1) ** (D - 1 - d) for d in range(D)])).sum(-1)
        return self.table[idx]


def _forward_step(prev, nxt, t):
    """q(x_t | x_{t-1}) of the masking chain: an unmasked pixel is masked w.p. 1/(T - t + 1)."""
    p, rate = 1.0, 1 / (T - t + 1)
    for a, b in zip(prev, nxt, strict=True):
        if a == K:
            p *= float(b == K)
        else:
            p *= rate if b == K else (1 - rate) * (b == a)
    return p


def _reverse_step(model, now, prev, t):
    """p(x_{t-1} | x_t): a masked pixel revealed w.p. 1/t to k ~ softmax; others copied."""
    probs = torch.softmax(model(torch.tensor([now])), -1)[0]
    p = 1.0
    for d, (a, b) in enumerate(zip(now, prev, strict=True)):
        if a != K:
            p *= float(b == a)
        else:
            p *= 1 - 1 / t if b == K else probs[d, b].item() / t
    return p


def _brute_force(model, x0):
    """The trajectory ELBO E_q[log q(x_{1:T}|x_0) - log p(x_{0:T})] and log P(x_0), exactly."""
    elbo, marginal = 0.0, 0.0
    for path in itertools.product(STATES, repeat=T):  # x_1 .. x_T
        full = [tuple(x0)] + list(path)
        if full[T] != (K,) * D:
            continue
        q = math.prod(_forward_step(full[t - 1], full[t], t) for t in range(1, T + 1))
        p = math.prod(_reverse_step(model, full[t], full[t - 1], t) for t in range(1, T + 1))
        marginal += p
        if q > 0:
            elbo += q * (math.log(q) - math.log(p))
    return elbo, math.log(marginal)


def _mask_probability(pattern, t):
    return math.prod(t / T if m else 1 - t / T for m in pattern)


def test_masking_bound_equals_the_trajectory_elbo_and_bounds_the_nll():
    # the 1/t-weighted masked cross-entropies are the per-step KLs: catches weights t or T/t,
    # a cross-entropy over all pixels instead of the masked ones, mask probability 1 - t/T
    model = TableModel(0)
    for x0 in ((0, 2), (1, 1)):
        x = torch.tensor([x0])
        exact = 0.0
        for t in range(1, T + 1):
            for pattern in itertools.product((0, 1), repeat=D):
                xt = torch.tensor([[K if m else v for m, v in zip(pattern, x0, strict=True)]])
                logp = torch.log_softmax(model(xt), -1)[0]
                ce = -sum(logp[d, x0[d]].item() for d in range(D) if pattern[d])
                exact += _mask_probability(pattern, t) * ce / t
        elbo, log_marginal = _brute_force(model, x0)
        assert abs(exact - elbo) < 1e-10
        assert exact >= -log_marginal - 1e-12
        mc = diffusion.masking_bound(
            model, x.repeat(40000, 1), T, K, torch.Generator().manual_seed(0)
        )
        assert abs(mc.double().mean().item() - exact) < 0.02


def test_masking_bound_with_one_step_is_the_independent_model():
    model = TableModel(1)
    x = torch.tensor([[0, 2], [2, 1]])
    nll = -torch.log_softmax(model(torch.full((1, D), K)), -1)[0]
    expected = torch.stack([nll[0, x[i, 0]] + nll[1, x[i, 1]] for i in range(2)])
    found = diffusion.masking_bound(model, x, 1, K)
    assert found.dtype == DTYPE  # the logits' dtype
    torch.testing.assert_close(found, expected)


def test_masking_loss_has_the_continuous_time_bound_as_its_mean():
    # E_s[(1/s) CE(x_s)] = sum_m CE(m) B(|m|, D - |m| + 1): catches a missing 1/s
    model = TableModel(2)
    x0 = (1, 0)
    exact = 0.0
    for pattern in itertools.product((0, 1), repeat=D):
        n = sum(pattern)
        if n == 0:
            continue
        xt = torch.tensor([[K if m else v for m, v in zip(pattern, x0, strict=True)]])
        logp = torch.log_softmax(model(xt), -1)[0]
        ce = -sum(logp[d, x0[d]].item() for d in range(D) if pattern[d])
        exact += ce * math.gamma(n) * math.gamma(D - n + 1) / math.gamma(D + 1)
    loss = diffusion.masking_loss(model, torch.tensor([x0]).repeat(200000, 1), K,
                                  torch.Generator().manual_seed(0))  # fmt: skip
    assert abs(loss.double().mean().item() - exact) < 0.03
    many = diffusion.masking_bound(model, torch.tensor([x0]).repeat(20000, 1), 400, K,
                                   torch.Generator().manual_seed(1))  # fmt: skip
    assert abs(many.double().mean().item() - exact) < 0.05


def test_masking_forward_masks_with_probability_t_over_T():
    x0 = torch.randint(0, 5, (4000, 16), generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 3, 7, 10]).repeat_interleave(1000)
    xt = diffusion.masking_forward(x0, t, 10, 5, torch.Generator().manual_seed(1))
    masked = (xt == 5).float().view(4, 1000 * 16).mean(1)
    torch.testing.assert_close(masked, torch.tensor([0.0, 0.3, 0.7, 1.0]), atol=0.015, rtol=0)
    assert bool(((xt == x0) | (xt == 5)).all())


def test_masking_sample_draws_from_the_model():
    # fixed logits: each pixel ends independent with the softmax's probabilities, all revealed
    probs = torch.tensor([0.2, 0.5, 0.3], dtype=DTYPE)

    def model(xt):
        return probs.log().expand(xt.shape[0], xt.shape[1], 3)

    for steps in (1, 4):
        x = diffusion.masking_sample(model, 20000, 2, 3, steps, torch.Generator().manual_seed(0))
        assert x.shape == (20000, 2) and bool((x < 3).all())
        freq = torch.stack([(x == k).double().mean() for k in range(3)])
        torch.testing.assert_close(freq, probs, atol=0.01, rtol=0)


def test_models_shapes_and_dtypes_follow_their_inputs():
    eps = EpsMLP(2, 50, hidden=8).double()
    out = eps(torch.randn(3, 2, dtype=DTYPE), torch.tensor([1, 25, 50]))
    assert out.shape == (3, 2) and out.dtype == DTYPE
    den = MaskedDenoiser(4, 5, hidden=8)
    assert den(torch.tensor([[0, 5, 4, 1]])).shape == (1, 4, 5)


# ---- every error message ----


def test_errors():
    betas = diffusion.linear_schedule(5)
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"beta_T must be in \(0, 1\), found 1.5"):
        diffusion.linear_schedule(5, 1e-4, 1.5)
    with pytest.raises(ValueError, match="s must be a number >= 0, found -1"):
        diffusion.cosine_schedule(5, -1)
    with pytest.raises(ValueError, match=r"betas must lie in \(0, 1\)"):
        diffusion.alpha_bars(torch.tensor([0.1, 1.0]))
    with pytest.raises(ValueError, match=r"betas must have shape \(T,\)"):
        diffusion.alpha_bars(torch.ones(2, 2) * 0.1)
    with pytest.raises(ValueError, match=r"t must hold steps in \{1, ..., T = 5\}, found"):
        diffusion.forward_marginal(x, torch.tensor([0, 5]), betas)
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(2,\), found \(3,\)"):
        diffusion.forward_marginal(x, torch.tensor([1, 2, 3]), betas)
    with pytest.raises(TypeError, match="t must be a torch.Tensor, found list"):
        diffusion.forward_marginal(x, [1, 2], betas)
    with pytest.raises(ValueError, match=r"eps must have x0's shape \(2, 3\), found \(2, 2\)"):
        diffusion.forward_sample(x, torch.tensor([1, 2]), betas, eps=torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"xt must have x0's shape"):
        diffusion.posterior(x, torch.zeros(2, 2), torch.tensor([1, 2]), betas)
    with pytest.raises(ValueError, match=r"eps_hat must have xt's shape"):
        diffusion.predict_x0(x, torch.tensor([1, 2]), torch.zeros(2, 2), betas)
    with pytest.raises(ValueError, match=r"x0 must have shape \(B, D\)"):
        diffusion.noise_prediction_loss(lambda a, b: a, torch.zeros(3), betas)
    with pytest.raises(ValueError, match="n must be >= 1, found 0"):
        diffusion.sample(lambda a, b: a, betas, 0, 2)
    cats = torch.tensor([[0, 1], [2, 3]])
    with pytest.raises(ValueError, match=r"x0 must hold categories in \{0, ..., K - 1 = 2\}"):
        diffusion.masking_forward(cats, torch.tensor([1, 1]), 4, 3)
    with pytest.raises(
        TypeError, match="x0 must be an integer tensor of categories, found dtype torch.float32"
    ):
        diffusion.masking_bound(lambda z: z, cats.float(), 4, 4)
    with pytest.raises(ValueError, match="K must be >= 2, found 1"):
        diffusion.masking_loss(lambda z: z, cats, 1)
    with pytest.raises(ValueError, match=r"t must hold steps in \{0, ..., T = 4\}"):
        diffusion.masking_forward(cats, torch.tensor([1, 5]), 4, 4)
    with pytest.raises(ValueError, match=r"logits_model must return logits of shape \(B, D, K\)"):
        diffusion.masking_bound(lambda z: torch.zeros(2, 2, 3), cats, 2, 4)
    with pytest.raises(ValueError, match="T must be >= 1, found 0"):
        diffusion.masking_sample(lambda z: z, 2, 2, 3, 0)
    with pytest.raises(ValueError, match=r"xt must have last dimension 2"):
        EpsMLP(2, 10)(torch.zeros(3, 3), torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"xt must have shape \(B, 4\)"):
        MaskedDenoiser(4, 3, hidden=8)(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        MaskedDenoiser(4, 3, dropout=1.0)


# ---- properties ----


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    T=st.integers(1, 60),
    beta_T=st.floats(0.01, 0.5),
    seed=st.integers(0, 2**16),
)
def test_properties_of_the_forward_process_and_its_posterior(T, beta_T, seed):
    # for any schedule: predict_x0 inverts the jump; the posterior's variance is below beta_t;
    # the posterior mean from the true noise equals the reverse mean from that noise (so a
    # perfect noise predictor makes every L_{t-1} the variance term alone)
    g = torch.Generator().manual_seed(seed)
    betas = diffusion.linear_schedule(T, min(1e-4, beta_T), beta_T)
    x0, eps = (
        torch.randn(5, 3, generator=g, dtype=DTYPE),
        torch.randn(5, 3, generator=g, dtype=DTYPE),
    )
    t = torch.randint(1, T + 1, (5,), generator=g)
    xt, _ = diffusion.forward_sample(x0, t, betas, eps=eps)
    torch.testing.assert_close(diffusion.predict_x0(xt, t, eps, betas), x0)
    mean, std = diffusion.posterior(x0, xt, t, betas)
    assert bool((std[:, 0] ** 2 <= betas[t - 1] + 1e-15).all())
    torch.testing.assert_close(diffusion.reverse_mean(xt, t, eps, betas), mean)


def test_masking_sample_draws_the_reverse_chains_exact_marginal():
    # the sampler's images against P(x_0) summed over every reverse trajectory (brute force):
    # catches a reveal probability other than 1/t, or values drawn from the wrong image's logits
    model = TableModel(3)
    x = diffusion.masking_sample(model, 40000, D, K, T, torch.Generator().manual_seed(2))
    for x0 in itertools.product(range(K), repeat=D):
        _, log_marginal = _brute_force(model, x0)
        freq = (x == torch.tensor(x0)).all(-1).double().mean().item()
        assert abs(freq - math.exp(log_marginal)) < 0.01, (x0, freq, math.exp(log_marginal))
