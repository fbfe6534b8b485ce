"""The ELBO and the importance-weighted bound, against hand-written oracles and exact log p(x).

The bar model has a 1-D latent, so log p(x) and the posterior p(z | x) are exact
(quadrature, ``dgmlab.evidence``). Monte Carlo comparisons use fixed seeds and a
tolerance of 5 standard errors computed from the same samples, plus 1e-3 nats for
the quadrature and float rounding.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmlab.bounds import (
    CHUNK_ELEMENTS,
    ElboTerms,
    elbo,
    elbo_terms,
    importance_sampled_log_p_x,
    iwae_bound,
)
from dgmlab.data import Bars
from dgmlab.evidence import log_evidence, posterior_on_grid, simpson_grid
from dgmlab.models import VAE, GenerativeNetwork, InferenceNetwork

DTYPE = torch.float64
HYPOTHESIS = settings(max_examples=8, deadline=None, derandomize=True, database=None)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _decoder(seed: int = 0) -> GenerativeNetwork:
    """A random bar decoder, made steep so posteriors are narrow and skewed (not Gaussian)."""
    torch.manual_seed(seed)
    dec = GenerativeNetwork(1, 16, (32,)).double()
    with torch.no_grad():
        dec.net[0].weight.mul_(3.0)
        dec.net[2].weight.mul_(2.0)
    return dec


def _images(n: int, seed: int = 1) -> torch.Tensor:
    return Bars().sample(n, generator=_gen(seed), dtype=DTYPE)[0]


def _posterior_moments(x, dec):
    """mu, sigma (B, 1) of the exact posterior p(z | x), from the quadrature grid."""
    z, density = posterior_on_grid(x, dec, num_points=4001)  # (G,), (B, G)
    w = simpson_grid(num_points=4001, dtype=DTYPE).log_w.exp()  # (G,)
    mean = (density * w * z).sum(-1)  # (B,)
    var = (density * w * (z - mean[:, None]) ** 2).sum(-1)
    return mean[:, None], var.sqrt()[:, None]


def _fixed_encoder(mu, sigma):
    """An 'encoder' that ignores x and returns given (B, L) parameters."""
    return lambda x: (mu, sigma)


def _kl_q_to_posterior(x, dec, mu, sigma):
    """KL( N(mu, sigma^2) || p(z | x) ) by quadrature on a fine grid, (B,)."""
    z, density = posterior_on_grid(x, dec, num_points=8001)  # (G,), (B, G)
    grid = simpson_grid(num_points=8001, dtype=DTYPE)
    log_q = torch.distributions.Normal(mu, sigma).log_prob(z[None, :])  # (B, G)
    integrand = log_q.exp() * (log_q - density.log())
    return (integrand * grid.log_w.exp()).sum(-1)


def _hand_elbo_samples(x, mu, sigma, dec, S, seed, analytic_kl):
    """Per-sample ELBO terms written out with torch.distributions: (S, B)."""
    eps = torch.randn((S, *mu.shape), generator=_gen(seed), dtype=DTYPE)  # (S, B, L)
    z = mu + sigma * eps
    log_p_x_given_z = torch.distributions.Bernoulli(logits=dec(z)).log_prob(x).sum(-1)  # (S, B)
    q = torch.distributions.Normal(mu, sigma)
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(sigma))
    if analytic_kl:
        kl = torch.distributions.kl_divergence(q, p).sum(-1)  # (B,)
        return log_p_x_given_z - kl
    return log_p_x_given_z + p.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)


def _mc_tolerance(samples: torch.Tensor) -> torch.Tensor:
    """5 standard errors of a mean over the first dimension, + 1e-3 nats."""
    return 5 * samples.std(0) / math.sqrt(samples.shape[0]) + 1e-3


# ---------------------------------------------------------------- oracle


@pytest.mark.parametrize("analytic_kl", [True, False])
def test_elbo_matches_hand_written_oracle_values_and_gradients(analytic_kl):
    x = _images(5)
    dec = _decoder()
    enc = InferenceNetwork(16, 1, (16,)).double()
    value = elbo(x, enc, dec, num_samples=3, generator=_gen(4), analytic_kl=analytic_kl)
    assert value.shape == (5,)
    value.sum().backward()
    grads = [p.grad.clone() for p in (*enc.parameters(), *dec.parameters())]
    for p in (*enc.parameters(), *dec.parameters()):
        p.grad = None

    mu, sigma = enc(x)
    oracle = _hand_elbo_samples(x, mu, sigma, dec, 3, 4, analytic_kl).mean(0)  # (B,)
    oracle.sum().backward()
    oracle_grads = [p.grad for p in (*enc.parameters(), *dec.parameters())]
    torch.testing.assert_close(value, oracle.detach())
    for g, o in zip(grads, oracle_grads, strict=True):
        torch.testing.assert_close(g, o)


def test_elbo_terms_add_up_and_kl_is_the_closed_form():
    x = _images(4)
    mu = torch.tensor([[0.3], [-1.0], [2.0], [0.0]], dtype=DTYPE)
    sigma = torch.tensor([[0.5], [1.5], [0.2], [1.0]], dtype=DTYPE)
    terms = elbo_terms(x, _fixed_encoder(mu, sigma), _decoder(), 2, _gen(0))
    assert isinstance(terms, ElboTerms)
    torch.testing.assert_close(terms.elbo, terms.expected_log_p_x_given_z - terms.kl)
    expected_kl = 0.5 * (sigma**2 + mu**2 - 1 - torch.log(sigma**2)).sum(-1)
    torch.testing.assert_close(terms.kl, expected_kl)
    assert terms.kl[3] == 0 and bool((terms.kl >= 0).all())


def test_iwae_bound_matches_hand_written_logsumexp():
    x = _images(3)
    mu = torch.tensor([[0.3], [-1.0], [0.8]], dtype=DTYPE)
    sigma = torch.tensor([[0.5], [1.5], [0.3]], dtype=DTYPE)
    dec = _decoder()
    K = 7
    log_w = _hand_elbo_samples(x, mu, sigma, dec, K, 2, analytic_kl=False)  # (K, B)
    expected = torch.log(torch.exp(log_w).mean(0))  # log (1/K) sum_k w_k, directly
    value = iwae_bound(x, _fixed_encoder(mu, sigma), dec, K, _gen(2))
    torch.testing.assert_close(value, expected)


def test_iwae_with_one_sample_is_the_monte_carlo_kl_elbo_on_the_same_draw():
    x = _images(6)
    enc = InferenceNetwork(16, 1, (16,)).double()
    dec = _decoder()
    one = iwae_bound(x, enc, dec, 1, _gen(3))
    mc = elbo(x, enc, dec, 1, _gen(3), analytic_kl=False)
    torch.testing.assert_close(one, mc)


def test_iwae_with_one_sample_equals_the_analytic_elbo_in_expectation():
    x = _images(3).repeat(20_000, 1)  # (60000, 16): 20000 draws per image
    mu = torch.tensor([[0.3], [-1.0], [0.8]], dtype=DTYPE).repeat(20_000, 1)
    sigma = torch.tensor([[0.5], [1.5], [0.3]], dtype=DTYPE).repeat(20_000, 1)
    enc, dec = _fixed_encoder(mu, sigma), _decoder()
    with torch.no_grad():
        l1 = iwae_bound(x, enc, dec, 1, _gen(5)).view(20_000, 3)
        e = elbo(x, enc, dec, 1, _gen(6)).view(20_000, 3)
    diff = l1.mean(0) - e.mean(0)
    tol = 5 * torch.sqrt(l1.var(0) / 20_000 + e.var(0) / 20_000)
    assert bool((diff.abs() < tol).all()), (diff, tol)


# ---------------------------------------------------------------- against exact log p(x)


def test_elbo_gap_is_kl_to_the_exact_posterior():
    # log p(x) - ELBO = KL(q || p(z | x)), with q a deliberately imperfect Gaussian
    x = _images(6)
    dec = _decoder()
    post_mu, post_sigma = _posterior_moments(x, dec)
    mu, sigma = post_mu + 0.3 * post_sigma, 1.4 * post_sigma
    S = 20_000
    with torch.no_grad():
        value = elbo(x, _fixed_encoder(mu, sigma), dec, S, _gen(8))
        per_sample = _hand_elbo_samples(x, mu, sigma, dec, S, 8, analytic_kl=True)  # (S, B)
        log_p_x = log_evidence(x, dec, num_points=8001)
    kl = _kl_q_to_posterior(x, dec, mu, sigma)
    assert bool((kl > 0.05).all()), "the test needs a visible gap"
    err = (log_p_x - value) - kl
    assert bool((err.abs() < _mc_tolerance(per_sample)).all()), (err, kl)


@HYPOTHESIS
@given(
    mu=st.floats(-2.5, 2.5),
    log_sigma=st.floats(-2.5, 0.7),
    seed=st.integers(0, 2**16),
)
def test_elbo_never_exceeds_exact_log_evidence(mu, log_sigma, seed):
    x = _images(4, seed=seed)
    dec = _decoder(seed % 5)
    mu_t = torch.full((4, 1), mu, dtype=DTYPE)
    sigma_t = torch.full((4, 1), math.exp(log_sigma), dtype=DTYPE)
    S = 2000
    with torch.no_grad():
        value = elbo(x, _fixed_encoder(mu_t, sigma_t), dec, S, _gen(seed))
        per_sample = _hand_elbo_samples(x, mu_t, sigma_t, dec, S, seed, analytic_kl=True)
        log_p_x = log_evidence(x, dec)
    assert bool((value <= log_p_x + _mc_tolerance(per_sample)).all()), (value, log_p_x)


def _mean_iwae(x, enc_mu, enc_sigma, dec, K, R, seed):
    """E[L_K] estimated from R independent draws per image, and its standard error."""
    B = x.shape[0]
    with torch.no_grad():
        values = iwae_bound(
            x.repeat(R, 1),
            _fixed_encoder(enc_mu.repeat(R, 1), enc_sigma.repeat(R, 1)),
            dec,
            K,
            _gen(seed),
        ).view(R, B)
    return values.mean(0), values.std(0) / math.sqrt(R)


@HYPOTHESIS
@given(shift=st.floats(-1.0, 1.0), scale=st.floats(0.5, 2.5), seed=st.integers(0, 2**16))
def test_iwae_bound_is_non_decreasing_in_k_in_expectation(shift, scale, seed):
    x = _images(2, seed=seed)
    dec = _decoder(seed % 3)
    post_mu, post_sigma = _posterior_moments(x, dec)
    mu, sigma = post_mu + shift * post_sigma, scale * post_sigma
    previous, previous_se = None, None
    for K in (1, 3, 10, 30):
        mean, se = _mean_iwae(x, mu, sigma, dec, K, R=3000 // K + 30, seed=seed + K)
        if previous is not None:
            slack = 5 * torch.sqrt(se**2 + previous_se**2)
            assert bool((mean >= previous - slack).all()), (K, mean, previous, slack)
        previous, previous_se = mean, se
    log_p_x = log_evidence(x, dec)
    assert bool((previous <= log_p_x + 5 * previous_se + 1e-3).all())


def test_iwae_bound_converges_to_log_evidence():
    x = _images(8)
    dec = _decoder()
    post_mu, post_sigma = _posterior_moments(x, dec)
    mu, sigma = post_mu + 0.7 * post_sigma, 1.8 * post_sigma  # a poor q
    elbo_gap = _kl_q_to_posterior(x, dec, mu, sigma)  # log p(x) - E[L_1]
    assert bool((elbo_gap > 0.1).all()), "q must be poor for the test to mean anything"
    with torch.no_grad():
        log_p_x = log_evidence(x, dec, num_points=8001)
        gap = (log_p_x - iwae_bound(x, _fixed_encoder(mu, sigma), dec, 5000, _gen(0))).abs()
    # measured max |gap| at K = 5000 is 0.017 nats, against ELBO gaps of 0.58 to 0.90
    assert bool((gap < 0.03).all()), (gap, elbo_gap)


def test_iwae_bound_memory_safe_for_k_5000_on_b_500():
    # the decoder must only ever see chunks of about CHUNK_ELEMENTS (sample, example, pixel)
    # entries, never the (5000, 500, 16) block at once
    torch.manual_seed(0)
    net = GenerativeNetwork(1, 16, (8,))
    seen = []

    def dec(z):
        seen.append(z.shape[0])
        return net(z)

    x = Bars().sample(500, generator=_gen(1))[0]
    enc = _fixed_encoder(*(t.float() for t in _posterior_moments(x.double(), net.double())))
    net.float()
    with torch.no_grad():
        estimate = importance_sampled_log_p_x(x, enc, dec, num_samples=5000, generator=_gen(0))
        exact = log_evidence(x, net)
    assert estimate.shape == (500,) and not estimate.requires_grad
    assert sum(seen) == 5000 and max(seen) * 500 * 16 <= CHUNK_ELEMENTS, seen
    # K = 5000 with a moment-matched q: measured mean |error| ~ 1e-3 nats
    assert float((exact - estimate).abs().mean()) < 0.01


def test_iwae_bound_does_not_depend_on_chunk_size():
    x = _images(5)
    enc = InferenceNetwork(16, 1, (16,)).double()
    dec = _decoder()
    whole = iwae_bound(x, enc, dec, 50, _gen(1), chunk_size=50)
    chunked = iwae_bound(x, enc, dec, 50, _gen(1), chunk_size=7)
    torch.testing.assert_close(whole, chunked)


# ---------------------------------------------------------------- gradients and the VAE module


@pytest.mark.parametrize("bound", ["elbo", "iwae"])
def test_gradients_reach_every_encoder_and_decoder_parameter(bound):
    torch.manual_seed(0)
    vae = VAE(hidden_dims=(8,)).double()
    x = _images(16)
    value = vae.elbo(x, 2, _gen(0)) if bound == "elbo" else vae.iwae_bound(x, 4, _gen(0))
    (-value.mean()).backward()
    for name, p in vae.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_decoder_term_drives_the_encoder_mean_through_the_samples():
    # d/dmu E_q[log p(x | z)] exists only if z = mu + sigma * eps keeps its graph;
    # the KL term alone would give d/dmu = mu, which is 0 here.
    x = _images(4)
    mu = torch.zeros(4, 1, dtype=DTYPE, requires_grad=True)
    sigma = torch.ones(4, 1, dtype=DTYPE)
    elbo(x, _fixed_encoder(mu, sigma), _decoder(), 64, _gen(0)).sum().backward()
    assert bool((mu.grad.abs() > 1e-3).all()), mu.grad


def test_vae_module_methods_match_the_functions():
    torch.manual_seed(1)
    vae = VAE(decoder_hidden_dims=(16, 16), encoder_hidden_dims=(8,))
    x = Bars().sample(6, generator=_gen(0))[0]
    torch.testing.assert_close(
        vae.elbo(x, 3, _gen(2)), elbo(x, vae.encoder, vae.decoder, 3, _gen(2))
    )
    torch.testing.assert_close(
        vae.iwae_bound(x, 3, _gen(2)), iwae_bound(x, vae.encoder, vae.decoder, 3, _gen(2))
    )
    assert len(vae.decoder.net) == 5 and len(vae.encoder.net) == 3


# ---------------------------------------------------------------- errors


def test_bound_errors():
    x = _images(3)
    dec = _decoder()
    mu, sigma = torch.zeros(3, 1, dtype=DTYPE), torch.ones(3, 1, dtype=DTYPE)
    with pytest.raises(ValueError, match=r"x must have shape \(B, D\)"):
        elbo(x[0], _fixed_encoder(mu, sigma), dec)
    with pytest.raises(TypeError, match=r"encoder must return a pair \(mu, sigma\)"):
        elbo(x, lambda x: mu, dec)
    with pytest.raises(ValueError, match=r"encoder's mu must have shape \(B, L\) with B = 3"):
        elbo(x, _fixed_encoder(mu[:2], sigma[:2]), dec)
    with pytest.raises(ValueError, match="sigma must be positive.*log_sigma"):
        iwae_bound(x, _fixed_encoder(mu, torch.log(sigma)), dec, 2)
    with pytest.raises(ValueError, match="num_samples must be >= 1, found 0"):
        iwae_bound(x, _fixed_encoder(mu, sigma), dec, 0)
    with pytest.raises(ValueError, match=r"must have shape \(S, B\) = \(2, 3\)"):
        elbo(x, _fixed_encoder(mu, sigma), dec, 2, log_likelihood=lambda x, logits: logits)
    with pytest.raises(TypeError, match="analytic_kl must be a bool"):
        elbo(x, _fixed_encoder(mu, sigma), dec, analytic_kl="yes")
    with pytest.raises(TypeError, match="decoder must be callable"):
        elbo(x, _fixed_encoder(mu, sigma), "decoder")
