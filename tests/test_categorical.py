"""densities.log_categorical and models.categorical: oracle, properties, the bounds, every error.

Each test names, in its docstring, a wrong implementation it catches.
"""

import pytest
import torch
import torch.distributions as td
from hypothesis import given
from hypothesis import strategies as st

from dgmlab import checks
from dgmlab.bounds import elbo, iwae_bound
from dgmlab.chain_rule import sample_categorical
from dgmlab.densities import log_bernoulli, log_categorical
from dgmlab.models import CategoricalGenerativeNetwork, InferenceNetwork

F64 = torch.float64
S, B, D, K = 3, 5, 6, 17


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _levels(*shape: int, k: int = K, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, k, shape, generator=_gen(seed))


def _logits(*shape: int, seed: int = 0, scale: float = 3.0) -> torch.Tensor:
    return scale * torch.randn(shape, generator=_gen(seed), dtype=F64)


def _oracle(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return td.Independent(td.Categorical(logits=logits), 1).log_prob(x)


@pytest.mark.parametrize(
    ("x_shape", "logits_shape"),
    [
        ((B, D), (B, D, K)),
        ((B, D), (S, B, D, K)),
        ((S, B, D), (B, D, K)),
        ((D,), (B, D, K)),
        ((B, 1, D), (S, D, K)),
    ],
)
def test_log_categorical_matches_torch_distributions(x_shape, logits_shape):
    """Catches mean instead of sum over pixels, a missing logsumexp, gathering along the wrong
    axis, and broadcasting mistakes (x (B, D) against logits (S, B, D, K))."""
    x = _levels(*x_shape, seed=1)
    logits = _logits(*logits_shape, seed=2)
    found = log_categorical(x, logits)
    expected = _oracle(x, logits)
    assert found.shape == expected.shape
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=1e-12)


def test_log_categorical_takes_whole_floats_like_integers():
    """The bounds pass data as floats; catches code that rejects them or truncates 2.0 to 1."""
    x = _levels(B, D, seed=3)
    logits = _logits(S, B, D, K, seed=4)
    torch.testing.assert_close(log_categorical(x.double(), logits), log_categorical(x, logits))


def test_log_categorical_two_levels_is_bernoulli():
    """K = 2 with logits (0, l) is a Bernoulli with logit l; catches swapping the categories."""
    x = _levels(B, D, k=2, seed=5)
    l = _logits(B, D, seed=6)
    two = torch.stack([torch.zeros_like(l), l], dim=-1)  # (B, D, 2)
    torch.testing.assert_close(log_categorical(x, two), log_bernoulli(x.double(), l))


def test_log_categorical_huge_logits_stay_finite():
    """Catches log(softmax(l)), which underflows to -inf for a logit gap of 1000."""
    logits = torch.zeros(1, 2, 3, dtype=torch.float32)
    logits[..., 0] = 1000.0
    found = log_categorical(torch.tensor([[0, 1]]), logits)
    # pixel 0 takes the dominant level (log p = 0), pixel 1 a level 1000 nats below it
    torch.testing.assert_close(found, torch.tensor([-1000.0]))
    assert log_categorical(torch.tensor([[1, 1]]), logits).item() == -2000.0


@given(st.integers(1, 6), st.integers(2, 9), st.integers(0, 2**31 - 1))
def test_log_categorical_sums_to_one_over_all_images(num_pixels, num_levels, seed):
    """sum_x p(x) = 1 over all K^D images: catches an unnormalized softmax or a shifted index."""
    if num_levels**num_pixels > 5000:
        num_pixels = 2
    logits = _logits(num_pixels, num_levels, seed=seed)
    grids = torch.meshgrid(*[torch.arange(num_levels)] * num_pixels, indexing="ij")
    images = torch.stack([g.flatten() for g in grids], dim=-1)  # (K^D, D)
    total = torch.logsumexp(log_categorical(images, logits), dim=0)
    assert abs(float(total)) < 1e-10


def test_log_categorical_gradient_matches_oracle():
    """d/dl log p = onehot(x) - softmax(l); catches a detached or wrongly scaled result."""
    x = _levels(B, D, seed=7)
    logits = _logits(B, D, K, seed=8).requires_grad_()
    (grad,) = torch.autograd.grad(log_categorical(x, logits).sum(), logits)
    expected = torch.nn.functional.one_hot(x, K).double() - logits.detach().softmax(-1)
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize(
    ("x", "logits", "exc", "match"),
    [
        ([[0, 1]], torch.zeros(1, 2, 3), TypeError, r"x must be a torch.Tensor, found list"),
        (torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, 3, dtype=torch.long), TypeError,
         r"logits must be a floating-point tensor, found dtype torch.int64"),
        (torch.zeros(1, 2, dtype=torch.long), torch.zeros(6), ValueError,
         r"logits must have shape \(\.\.\., D, K\), found shape \(6,\)"),
        (torch.zeros((), dtype=torch.long), torch.zeros(2, 3), ValueError,
         r"x must have shape \(\.\.\., D\), found shape \(\)"),
        (torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 4, 3), ValueError,
         r"logits must have shape \(\.\.\., D, K\) with D = x.shape\[-1\] = 2, found x \(1, 2\) "
         r"and logits \(1, 4, 3\)"),
        (torch.zeros(2, 2, dtype=torch.long), torch.zeros(3, 2, 3), ValueError,
         r"x, logits must have broadcastable shapes, found x \(2, 2\), logits \(3, 2\)"),
        (torch.zeros(1, 2, dtype=torch.bool), torch.zeros(1, 2, 3), TypeError,
         r"x must hold category indices as integers or floats, found dtype bool"),
        (torch.tensor([[0, 3]]), torch.zeros(1, 2, 3), ValueError,
         r"x must hold whole numbers in \{0, \.\.\., 2\} \(K = 3 categories, from "
         r"logits.shape\[-1\]\), found 3"),
        (torch.tensor([[-1, 0]]), torch.zeros(1, 2, 3), ValueError, r"found -1"),
        (torch.tensor([[0.5, 0.0]]), torch.zeros(1, 2, 3), ValueError, r"found 0.5"),
        (torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 2, 3), ValueError, r"found nan"),
        (torch.zeros(1, 2, dtype=torch.long), torch.full((1, 2, 3), float("nan")), ValueError,
         r"logits must not contain NaN, found 6 NaN entries"),
    ],
)  # fmt: skip
def test_log_categorical_errors(x, logits, exc, match):
    """Every message names the argument, what was expected and what was found."""
    with pytest.raises(exc, match=match):
        log_categorical(x, logits)


def test_log_categorical_device_mismatch_is_reported(monkeypatch):
    """Catches a missing device check (the message names both tensors' devices)."""
    x, logits = torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, 3)
    monkeypatch.setattr(type(logits), "device", property(lambda t: torch.device("meta")
                        if t is logits else torch.device("cpu")))  # fmt: skip
    with pytest.raises(ValueError, match=r"x on cpu, logits on meta"):
        log_categorical(x, logits)


def test_log_categorical_range_check_follows_set_validation():
    """Value checks are skippable for speed; shape checks are not."""
    checks.set_validation(False)
    try:
        log_categorical(torch.tensor([[0.5, 0.0]]), torch.zeros(1, 2, 3))  # no value check
        with pytest.raises(ValueError, match="D = x.shape"):
            log_categorical(torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 4, 3))
    finally:
        checks.set_validation(True)


# --- the decoder, and the bounds with a categorical likelihood --------------------------------


def test_categorical_decoder_shapes_and_parameter_count():
    """z (..., L) -> (..., D, K); catches a (..., D * K) output or K and D swapped."""
    decoder = CategoricalGenerativeNetwork(latent_dim=2, data_dim=D, num_categories=K,
                                           hidden_dims=(8,))  # fmt: skip
    assert decoder(torch.zeros(B, 2)).shape == (B, D, K)
    assert decoder(torch.zeros(S, B, 2)).shape == (S, B, D, K)
    assert sum(p.numel() for p in decoder.parameters()) == (2 * 8 + 8) + (8 * D * K + D * K)
    # pixel d's K logits are the d-th block of K outputs of the last layer
    flat = decoder.net(torch.ones(1, 2))  # (1, D * K)
    torch.testing.assert_close(decoder(torch.ones(1, 2))[0, 1], flat[0, K : 2 * K])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"num_categories": 1}, ValueError, r"num_categories must be >= 2, found 1"),
        ({"latent_dim": 0}, ValueError, r"latent_dim must be >= 1, found 0"),
        ({"data_dim": 2.0}, TypeError, r"data_dim must be an int, found float"),
        ({"activation": "gelu"}, ValueError, r"activation must be one of"),
    ],
)
def test_categorical_decoder_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        CategoricalGenerativeNetwork(**kwargs)


def test_categorical_decoder_checks_its_input():
    decoder = CategoricalGenerativeNetwork(latent_dim=2)
    message = r"z must have last dimension 2 \(shape \(\.\.\., 2\)\), found shape \(3, 4\)"
    with pytest.raises(ValueError, match=message):
        decoder(torch.zeros(3, 4))


def _categorical_vae(seed: int = 0):
    torch.manual_seed(seed)
    encoder = InferenceNetwork(data_dim=D, latent_dim=2, hidden_dims=(8,)).double()
    decoder = CategoricalGenerativeNetwork(2, D, K, hidden_dims=(8,)).double()
    return encoder, decoder


def test_bounds_accept_the_categorical_likelihood():
    """The ELBO with log_categorical equals the hand-written one with torch.distributions;
    catches a bound that ignores its log_likelihood argument (Bernoulli would reject x > 1)."""
    encoder, decoder = _categorical_vae()
    x = _levels(B, D, seed=9).double()
    found = elbo(x, encoder, decoder, num_samples=4, generator=_gen(1),
                 log_likelihood=log_categorical)  # fmt: skip
    mu, sigma = encoder(x)
    z = mu + sigma * torch.randn(4, B, 2, generator=_gen(1), dtype=F64)  # (S, B, L)
    rec = _oracle(x.long(), decoder(z)).mean(0)  # (B,)
    kl = td.kl_divergence(td.Normal(mu, sigma), td.Normal(0.0, 1.0)).sum(-1)  # (B,)
    torch.testing.assert_close(found, rec - kl)


def test_iwae_bound_with_categorical_likelihood_is_between_elbo_and_evidence_order():
    """E[L_K] is non-decreasing in K: catches a bound that drops log K or averages log w."""
    encoder, decoder = _categorical_vae(1)
    x = _levels(B, D, seed=10).double()
    with torch.no_grad():
        bounds = [
            iwae_bound(x, encoder, decoder, k, _gen(2), log_categorical).mean()
            for k in (1, 10, 300)
        ]
    assert bounds[0] <= bounds[1] + 0.05 and bounds[1] <= bounds[2] + 0.05
    assert bounds[2] > bounds[0]


def test_categorical_decoder_samples_follow_its_categoricals():
    """With the last layer's weights zeroed, p(x_d | z) = softmax(bias_d) for every z, so the
    sample frequencies must match it (catches drawing the argmax, sampling the wrong axis or
    mixing up pixels)."""
    torch.manual_seed(0)
    decoder = CategoricalGenerativeNetwork(2, 3, 4, (8,)).double()
    last = decoder.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.randn(12, generator=_gen(1), dtype=F64))
    x = decoder.sample(40_000, generator=_gen(2))
    assert x.dtype == torch.int64 and x.shape == (40_000, 3)
    p = last.bias.detach().view(3, 4).softmax(-1)
    freq = torch.nn.functional.one_hot(x, 4).double().mean(0)
    assert torch.allclose(freq, p, atol=0.01), (freq, p)


def test_categorical_decoder_samples_are_ancestral_draws():
    """The images are the inverse-CDF draws of the categoricals at z ~ N(0, I), z and the
    uniforms taken from the generator in that order (catches a z drawn but never used, or the
    prior's z replaced by zeros), and the same generator gives the same images."""
    torch.manual_seed(0)
    decoder = CategoricalGenerativeNetwork(2, 16, 17, (32,))
    x = decoder.sample(50, _gen(3))
    assert torch.equal(x, decoder.sample(50, _gen(3)))
    g = _gen(3)
    z = torch.randn(50, 2, generator=g)
    u = torch.rand(50, 16, generator=g)
    with torch.no_grad():
        assert torch.equal(x, sample_categorical(decoder(z), u))
        at_zero = sample_categorical(decoder(torch.zeros(50, 2)), u)
    assert not torch.equal(x, at_zero)
    with pytest.raises(ValueError, match="num_samples"):
        decoder.sample(0)
