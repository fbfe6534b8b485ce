"""dgmlab.testing: the checks the graded test cells call. Each helper passes the right answer
and fails a known wrong one with the message that names it."""

from __future__ import annotations

import re

import nbformat
import pytest
import torch
from course import SOLUTIONS

from dgmlab import testing
from dgmlab.bounds import elbo
from dgmlab.data import Bars
from dgmlab.densities import kl_standard_normal, log_bernoulli
from dgmlab.models import VAE, GenerativeNetwork, InferenceNetwork, count_parameters
from dgmlab.testing import (
    assert_close,
    assert_equal_int,
    check_bar_vae,
    check_elbo_loss,
    check_training_step,
    flat_grad,
    parameter_vector,
    randomize_,
    reference_elbo_loss,
)


def test_a_result_that_several_slips_give_names_them_all_without_guessing():
    with pytest.raises(AssertionError) as error:
        assert_equal_int(152, 160, name="n", mistakes={"slip a": 152, "slip b": 152, "c": 1})
    assert "slip a" in str(error.value) and "slip b" in str(error.value)
    assert "It looks like" not in str(error.value) and "c" not in str(error.value).split(":")[-1]
    with pytest.raises(AssertionError, match="It looks like slip a$"):
        assert_equal_int(152, 160, name="n", mistakes={"slip a": 152, "slip b": 151})
    with pytest.raises(AssertionError, match="one of: a; or b"):
        assert_close(
            torch.ones(2),
            torch.zeros(2),
            name="t",
            mistakes={"a": torch.ones(2), "b": torch.ones(2)},
        )


def _networks(D=9, L=2, H=7, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    encoder = randomize_(InferenceNetwork(D, L, (H,)).to(dtype), g)
    decoder = randomize_(GenerativeNetwork(L, D, (H,)).to(dtype), g)
    x = (torch.rand(5, D, generator=g) < 0.5).to(dtype)
    eps = torch.randn(5, L, generator=g, dtype=dtype)
    return encoder, decoder, x, eps


def test_randomize_draws_every_parameter_from_the_generator():
    a = randomize_(GenerativeNetwork(2, 9, (7,)), torch.Generator().manual_seed(3), scale=0.5)
    b = randomize_(GenerativeNetwork(2, 9, (7,)), torch.Generator().manual_seed(3), scale=0.5)
    assert torch.equal(parameter_vector(a), parameter_vector(b))
    assert parameter_vector(a).shape == (count_parameters(a),)
    assert 0.3 < float(parameter_vector(a).std()) < 0.7  # scale 0.5, not the default init


def test_flat_grad_is_autograd_per_parameter_with_zeros_where_none_arrives():
    encoder, decoder, x, eps = _networks()
    loss = (decoder(torch.ones(3, 2, dtype=torch.float64)) ** 2).sum()
    grads = torch.autograd.grad(loss, list(decoder.parameters()), retain_graph=True)
    expected = torch.cat([p.flatten() for p in grads])
    assert torch.equal(flat_grad(loss, decoder), expected)
    assert not flat_grad(loss, encoder).any()  # the encoder is not in the graph


def test_reference_elbo_loss_against_torch_distributions():
    encoder, decoder, x, eps = _networks()
    mu, sigma = encoder(x)
    rec = torch.distributions.Bernoulli(logits=decoder(mu + sigma * eps)).log_prob(x).sum(-1)
    q = torch.distributions.Normal(mu, sigma)
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(reference_elbo_loss(x, encoder, decoder, eps), -(rec - kl).mean())


def _right_loss(x, encoder, decoder, eps):
    mu, sigma = encoder(x)
    return -(log_bernoulli(x, decoder(mu + sigma * eps)) - kl_standard_normal(mu, sigma)).mean()


def _detached_z(x, encoder, decoder, eps):
    mu, sigma = encoder(x)
    z = (mu + sigma * eps).detach()
    return -(log_bernoulli(x, decoder(z)) - kl_standard_normal(mu, sigma)).mean()


def _no_kl(x, encoder, decoder, eps):
    mu, sigma = encoder(x)
    return -log_bernoulli(x, decoder(mu + sigma * eps)).mean()


def _no_graph(x, encoder, decoder, eps):
    with torch.no_grad():
        return _right_loss(x, encoder, decoder, eps)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_right_loss, None),
        (_no_kl, "left out the KL"),
        (_no_graph, "carries no gradient"),
        (_detached_z, "detach z"),
        (lambda *args: _right_loss(*args)[None], "scalar of shape ()"),
    ],
)
def test_check_elbo_loss(answer, message):
    encoder, decoder, x, eps = _networks()
    if message is None:
        check_elbo_loss(answer, x, encoder, decoder, eps, name="loss", atol=1e-8)
    else:
        with pytest.raises(AssertionError, match=re.escape(message)):
            check_elbo_loss(answer, x, encoder, decoder, eps, name="loss", atol=1e-8)


def _step(encoder, decoder, optimizer, x, generator=None, *, zero=True):
    if zero:
        optimizer.zero_grad()
    loss = -elbo(x, encoder, decoder, generator=generator).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_step, None),
        (lambda *a, **k: _step(*a, **k, zero=False), "did not clear the old gradients"),
        (lambda e, d, o, x, g=None: _step(e, d, o, x), "is not right"),  # ignores the generator
    ],
)
def test_check_training_step(answer, message):
    encoder, decoder, x, _ = _networks(dtype=torch.float32)
    sgd = lambda params: torch.optim.SGD(params, lr=0.1)  # noqa: E731
    run = lambda: check_training_step(answer, encoder, decoder, sgd, x, 5, name="s", lr=0.1)  # noqa: E731
    if message is None:
        run()
    else:
        with pytest.raises(AssertionError, match=re.escape(message)):
            run()


def _bar_vae(steps):
    """A bar VAE after ``steps`` Adam steps at a constant rate (0: untrained)."""
    torch.manual_seed(0)
    x, _ = Bars().sample(5000, generator=torch.Generator().manual_seed(0))
    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    noise = torch.Generator().manual_seed(1)
    g = torch.Generator().manual_seed(2)
    for _ in range(steps):
        batch = x[torch.randint(0, len(x), (500,), generator=g)]
        optimizer.zero_grad()
        (-elbo(batch, vae.encoder, vae.decoder, generator=noise).mean()).backward()
        optimizer.step()
    return vae


@pytest.fixture(scope="module")
def untrained_and_barely_trained():
    """steps -> (the networks, as train_bar_vae returns them; their two gaps to -H)."""
    inf = float("inf")
    models = {}
    for steps in (0, 50):
        vae = _bar_vae(steps)
        pair = (vae.encoder, vae.decoder)
        models[steps] = (
            pair,
            check_bar_vae(lambda seed, p=pair: p, 0, margin=inf, elbo_margin=inf),
        )
    return models


@pytest.mark.parametrize("steps", [0, 50])
def test_a_model_that_did_not_learn_fails_each_bar_vae_check(untrained_and_barely_trained, steps):
    """Untrained, or 50 Adam steps at a constant rate: each check alone fails it, by a margin."""
    pair, (gap, elbo_gap) = untrained_and_barely_trained[steps]
    train = lambda seed: pair  # noqa: E731
    with pytest.raises(AssertionError, match="expected log p"):  # the evidence check alone
        check_bar_vae(train, 0, elbo_margin=float("inf"))
    with pytest.raises(AssertionError, match="expected ELBO"):  # the ELBO check alone
        check_bar_vae(train, 0, margin=float("inf"))
    assert gap > testing.BAR_VAE_MARGIN + 0.2
    assert elbo_gap > testing.BAR_VAE_ELBO_MARGIN + 0.2


def test_check_bar_vae_names_swapped_networks_and_a_wrong_return():
    vae = VAE(data_dim=16, latent_dim=1)
    with pytest.raises(AssertionError, match="Did you return"):
        check_bar_vae(lambda seed: (vae.decoder, vae.encoder), 0)
    with pytest.raises(AssertionError, match="should return a pair"):
        check_bar_vae(lambda seed: vae, 0)


def test_the_assignment_states_the_margins_the_check_uses():
    path = SOLUTIONS / "06_vae_practical" / "06_vae_practical.ipynb"
    text = next(
        c.source
        for c in nbformat.read(path, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "q3_text"
    )
    assert f"**{testing.BAR_VAE_MARGIN} nats**" in text
    assert f"**{testing.BAR_VAE_ELBO_MARGIN} nats**" in text
