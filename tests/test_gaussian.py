"""dgmlab.gaussian: the diagonal Gaussian's one home, against torch.distributions, and the
number of value checks one ELBO runs (each reads a tensor: a host-device sync on a GPU)."""

import math

import pytest
import torch

from dgmlab import checks, densities, estimators, gaussian
from dgmlab.bounds import elbo, iwae_bound
from dgmlab.models import VAE

F64 = torch.float64


def _normal(mu, sigma):
    return torch.distributions.Independent(torch.distributions.Normal(mu, sigma), 1)


def test_log_prob_and_kl_match_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu_q, mu_p, z = (torch.randn(3, 4, dtype=F64, generator=g) for _ in range(3))
    sigma_q, sigma_p = (torch.rand(3, 4, dtype=F64, generator=g) + 0.2 for _ in range(2))
    torch.testing.assert_close(
        gaussian.log_prob(z, mu_q, sigma_q), _normal(mu_q, sigma_q).log_prob(z)
    )
    torch.testing.assert_close(gaussian.log_prob_standard(z), _normal(0 * z, 1 + 0 * z).log_prob(z))
    q, p = _normal(mu_q, sigma_q), _normal(mu_p, sigma_p)
    torch.testing.assert_close(
        gaussian.kl(mu_q, sigma_q, mu_p, sigma_p), torch.distributions.kl_divergence(q, p)
    )
    standard = _normal(torch.zeros_like(mu_q), torch.ones_like(mu_q))
    torch.testing.assert_close(
        gaussian.kl_standard(mu_q, sigma_q), torch.distributions.kl_divergence(q, standard)
    )


def test_pdf_is_the_density_of_one_coordinate():
    z = torch.linspace(-3, 3, 7, dtype=F64)
    expected = torch.distributions.Normal(0.5, 0.7).log_prob(z).exp()
    torch.testing.assert_close(gaussian.pdf(z, 0.5, 0.7), expected)
    with pytest.raises(ValueError, match="sigma must be positive.*log_sigma"):
        gaussian.pdf(z, 0.0, -1.0)


def test_rsample_is_mu_plus_sigma_eps_and_densities_reexports_the_same_functions():
    mu, sigma = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, 3.0]])
    z = gaussian.rsample(mu, sigma, 4, torch.Generator().manual_seed(1))
    eps = gaussian.standard_normal_noise(4, mu, torch.Generator().manual_seed(1))
    torch.testing.assert_close(z, mu + sigma * eps)
    # one implementation, several names: the lectures' names are the same objects
    assert densities.log_normal is gaussian.log_prob
    assert densities.kl_standard_normal is gaussian.kl_standard
    assert estimators.sample_normal is gaussian.rsample


def test_check_names_the_argument_and_hints_at_log_sigma():
    with pytest.raises(
        ValueError, match=r"^sigma must be positive, found min -0.5; did you pass log_sigma"
    ):
        gaussian.check(torch.zeros(2, 1), torch.full((2, 1), -0.5))
    with pytest.raises(ValueError, match="mu and sigma must have the same shape"):
        gaussian.check(torch.zeros(2, 1), torch.ones(2, 2))
    with pytest.raises(TypeError, match="mu and sigma must share a dtype"):
        gaussian.check(torch.zeros(2, 1), torch.ones(2, 1, dtype=F64))


@pytest.fixture
def value_checks(monkeypatch):
    """Counts the calls of checks' value checks (each reads a tensor's contents)."""
    counts = {"n": 0}
    for name in ("positive", "in_unit_interval", "not_nan"):
        original = getattr(checks, name)

        def counted(*args, _original=original, **kwargs):
            counts["n"] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(checks, name, counted)
    return counts


# measured before dgmlab.gaussian (commit 88ad624): 6 value checks per analytic-KL ELBO
# (sigma 4 times: sample_normal, kl_standard_normal, kl_normal's sigma_q and ones_like > 0),
# 5 per Monte Carlo-KL ELBO. Now: sigma > 0, x in [0, 1], logits not NaN, once each.
CHECKS_PER_ELBO = 3


@pytest.mark.parametrize(
    "bound",
    [
        lambda x, vae: elbo(x, vae.encoder, vae.decoder),
        lambda x, vae: elbo(x, vae.encoder, vae.decoder, 4, analytic_kl=False),
        lambda x, vae: iwae_bound(x, vae.encoder, vae.decoder, 4),
    ],
    ids=["elbo", "elbo-mc-kl", "iwae"],
)
def test_one_bound_checks_each_argument_once(bound, value_checks):
    torch.manual_seed(0)
    vae = VAE()
    x = (torch.rand(8, 16) < 0.5).float()
    bound(x, vae)
    assert value_checks["n"] == CHECKS_PER_ELBO


def test_the_check_counter_sees_a_value_check(value_checks):
    # the counter itself can fail: the public log_prob checks sigma once
    gaussian.log_prob(torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1, 1))
    assert value_checks["n"] == 1
    assert math.isfinite(float(gaussian.kl_standard(torch.zeros(1, 1), torch.ones(1, 1))))
