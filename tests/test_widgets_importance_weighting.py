"""Lecture 08's explorer, headless: the weights belong to the samples shown, L_K's spread
climbs towards the exact log p(x) as K grows, and the explorer redraws for every control."""

import math

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from dgmlab.data import Bars  # noqa: E402
from dgmlab.densities import log_bernoulli  # noqa: E402
from dgmlab.models import bar_decoder  # noqa: E402
from dgmlab.widgets.importance_weighting import (  # noqa: E402
    ImportanceView,
    explore_importance_weighting,
    importance_numbers,
)

DTYPE = torch.float64


def _model():
    decoder = bar_decoder(sharpness=6.0).double()

    def encoder(x):  # a poor q: too wide and off-centre for every image
        return torch.full((len(x), 1), 0.3, dtype=DTYPE), torch.full((len(x), 1), 1.2, dtype=DTYPE)

    return encoder, decoder


def test_weights_are_those_of_the_samples_and_the_bound_their_log_mean():
    encoder, decoder = _model()
    x = Bars().templates(DTYPE)[1]
    out = importance_numbers(x, encoder, decoder, 7, num_draws=2, seed=3)
    z = out.z[:, None]  # (K, 1)
    with torch.no_grad():  # log w_k by hand from the z shown
        log_w = (
            log_bernoulli(x, decoder(z))
            + torch.distributions.Normal(0.0, 1.0).log_prob(z[:, 0])
            - torch.distributions.Normal(0.3, 1.2).log_prob(z[:, 0])
        )
    torch.testing.assert_close(out.weights, torch.softmax(log_w, 0))
    assert math.isclose(out.bound, float(torch.log(log_w.exp().mean())), rel_tol=1e-6)


def test_spread_of_the_bound_climbs_to_log_p_x_and_narrows():
    encoder, decoder = _model()
    x = Bars().templates(DTYPE)[2]
    means, stds = [], []
    for K in (1, 10, 300):
        out = importance_numbers(x, encoder, decoder, K, num_draws=400, seed=K)
        means.append(float(out.draws.mean()))
        stds.append(float(out.draws.std()))
    se = [s / 20 for s in stds]
    assert abs(means[0] - out.elbo) < 5 * se[0]  # E[L_1] is the ELBO
    assert means[0] < means[1] < means[2] <= out.log_p_x + 5 * se[2]
    assert out.log_p_x - means[2] < 0.1 * (out.log_p_x - out.elbo)
    assert stds[2] < stds[1] < stds[0]


def test_explorer_updates_for_every_control():
    encoder, decoder = _model()
    images = Bars().templates(DTYPE)
    explorer = explore_importance_weighting(images, encoder, decoder)
    first = explorer.set(K=1)
    assert len(first.z) == 1 and float(first.weights[0]) == 1.0
    out = explorer.set(K=100, draw=2)
    assert out is explorer.result and len(out.z) == 100
    explorer.set(image=3)
    assert explorer.result.elbo != out.elbo  # the same q, another posterior
    view = ImportanceView(images[0], encoder, decoder)
    view.update(50, 0)
    assert "<= log p(x)" in view.ax_bound.get_title()
