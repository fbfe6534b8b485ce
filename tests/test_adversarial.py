"""Lecture 12: the density-ratio trick against the true ratio, the GAN's losses against their
definitions, the exact p_G of a bar generator against brute force over all 2^16 images."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmlab.adversarial import (
    discrete_divergences,
    discriminator_loss,
    fit_logistic,
    generator_loss,
    log_ratio_from_logits,
    mode_coverage,
    optimal_discriminator,
    quadratic_features,
)
from dgmlab.data import Bars, ring_centers, ring_of_gaussians
from dgmlab.gan_training import fit_gan
from dgmlab.models.gan import BarGenerator, Discriminator, PointGenerator, straight_through
from dgmlab.quadrature import simpson_grid
from dgmlab.recipes import all_images

DTYPE = torch.float64


def gaussian_log_density(x, mean, cov):
    return torch.distributions.MultivariateNormal(mean, cov).log_prob(x)


# ---- the density-ratio trick


@pytest.mark.parametrize("n_p, n_q", [(4000, 4000), (6000, 2000)])
def test_classifier_recovers_the_true_log_ratio_of_two_gaussians(n_p, n_q):
    # catches: forgetting the prior odds log(n_p / n_q) (the unequal case), a sign flip
    g = torch.Generator().manual_seed(0)
    mp, cp = (
        torch.tensor([0.0, 0.0], dtype=DTYPE),
        torch.tensor([[1.0, 0.3], [0.3, 1.0]], dtype=DTYPE),
    )
    mq, cq = (
        torch.tensor([0.7, -0.4], dtype=DTYPE),
        torch.tensor([[1.5, 0.0], [0.0, 0.8]], dtype=DTYPE),
    )
    xp = mp + torch.randn(n_p, 2, generator=g, dtype=DTYPE) @ torch.linalg.cholesky(cp).T
    xq = mq + torch.randn(n_q, 2, generator=g, dtype=DTYPE) @ torch.linalg.cholesky(cq).T
    x = torch.cat([xp, xq])
    y = torch.cat([torch.ones(n_p, dtype=DTYPE), torch.zeros(n_q, dtype=DTYPE)])
    w = fit_logistic(quadratic_features(x), y)
    test = torch.randn(500, 2, generator=g, dtype=DTYPE)
    estimate = log_ratio_from_logits(quadratic_features(test) @ w, n_p, n_q)
    truth = gaussian_log_density(test, mp, cp) - gaussian_log_density(test, mq, cq)
    assert float((estimate - truth).abs().mean()) < 0.1
    wrong = quadratic_features(test) @ w  # the logit itself: off by the prior odds
    if n_p != n_q:
        assert float((wrong - truth).abs().mean()) > 0.5


def test_fit_logistic_is_the_maximum_likelihood_solution():
    # catches: a wrong gradient or Hessian in the Newton step (the gradient would not vanish)
    g = torch.Generator().manual_seed(1)
    phi = torch.cat(
        [torch.ones(300, 1, dtype=DTYPE), torch.randn(300, 3, generator=g, dtype=DTYPE)], 1
    )
    y = (
        torch.rand(300, generator=g, dtype=DTYPE)
        < torch.sigmoid(phi @ torch.tensor([0.2, 1.0, -0.5, 0.3], dtype=DTYPE))
    ).double()
    w = fit_logistic(phi, y, l2=1e-6).requires_grad_()
    objective = (y * (phi @ w) - torch.nn.functional.softplus(phi @ w)).sum() - 0.5e-6 * (w @ w)
    (grad,) = torch.autograd.grad(objective, w)
    assert float(grad.abs().max()) < 1e-8


def test_quadratic_features_make_a_gaussian_log_ratio_linear():
    # catches: a missing cross term x_1 x_2 (the least-squares fit would leave a residual)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(50, 2, generator=g, dtype=DTYPE)
    cov = torch.tensor([[1.0, 0.6], [0.6, 2.0]], dtype=DTYPE)
    target = gaussian_log_density(x, torch.zeros(2, dtype=DTYPE), cov)
    phi = quadratic_features(x)
    assert phi.shape == (50, 6)
    coef = torch.linalg.lstsq(phi, target[:, None]).solution
    assert float((phi @ coef - target[:, None]).abs().max()) < 1e-10


@settings(max_examples=30, deadline=None)
@given(st.floats(-30, 30), st.floats(-30, 30))
def test_optimal_discriminator_is_p_over_p_plus_q(log_p, log_q):
    # catches: q / (p + q) (the labels swapped), and overflow of exp for large log-densities
    d = optimal_discriminator(
        torch.tensor([log_p], dtype=DTYPE), torch.tensor([log_q], dtype=DTYPE)
    )
    p, q = math.exp(log_p), math.exp(log_q)
    assert abs(float(d) - p / (p + q)) < 1e-12


def test_the_value_at_the_optimal_discriminator_is_twice_js_minus_log_4():
    # V(D*, G) = 2 JS(p || q) - log 4, by quadrature for two 1-D Gaussians
    grid = simpson_grid((-12.0, 12.0), 4001, dtype=DTYPE)
    z = grid.z[:, 0]
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    log_q = torch.distributions.Normal(1.5, 0.7).log_prob(z)
    d = optimal_discriminator(log_p, log_q)
    w = grid.log_w.exp()
    log_d = torch.nn.functional.logsigmoid(log_p - log_q)  # log D*, without log(0) in the tails
    log_1md = torch.nn.functional.logsigmoid(log_q - log_p)
    torch.testing.assert_close(log_d.exp(), d)
    value = float((w * (log_p.exp() * log_d + log_q.exp() * log_1md)).sum())
    log_m = torch.logaddexp(log_p, log_q) - math.log(2)
    js = 0.5 * float((w * log_p.exp() * (log_p - log_m)).sum()) + 0.5 * float(
        (w * log_q.exp() * (log_q - log_m)).sum()
    )
    assert abs(value - (2 * js - math.log(4))) < 1e-8
    # and on a finite set, discrete_divergences' JS satisfies the same identity
    lp = torch.log_softmax(torch.tensor([0.1, 2.0, -1.0, 0.5], dtype=DTYPE), 0)
    lq = torch.log_softmax(torch.tensor([1.0, -0.5, 0.3, 0.0], dtype=DTYPE), 0)
    d = optimal_discriminator(lp, lq)
    value = float((lp.exp() * d.log() + lq.exp() * (1 - d).log()).sum())
    assert abs(value - (2 * discrete_divergences(lp, lq).js - math.log(4))) < 1e-12


# ---- losses


def test_losses_against_their_definitions():
    # catches: swapped softplus signs, sums instead of means, the saturating form for the other
    real = torch.tensor([2.0, -1.0, 0.5], dtype=DTYPE)
    fake = torch.tensor([-3.0, 0.2], dtype=DTYPE)
    dr, df = torch.sigmoid(real), torch.sigmoid(fake)
    expected = -dr.log().mean() - (1 - df).log().mean()
    assert abs(float(discriminator_loss(real, fake) - expected)) < 1e-12
    assert abs(float(generator_loss(fake) - (-df.log().mean()))) < 1e-12
    assert abs(float(generator_loss(fake, saturating=True) - (1 - df).log().mean())) < 1e-12


def test_the_saturating_loss_vanishes_where_the_discriminator_rejects():
    # the reason for the non-saturating loss: d loss / d logit at logit = -10
    logit = torch.tensor([-10.0], dtype=DTYPE, requires_grad=True)
    (sat,) = torch.autograd.grad(generator_loss(logit, saturating=True), logit)
    (non,) = torch.autograd.grad(generator_loss(logit), logit)
    assert abs(float(sat)) < 1e-4 and abs(float(non) + 1) < 1e-4


# ---- divergences and coverage


def test_discrete_divergences_against_direct_sums():
    # catches: KL the wrong way round, TV without the 1/2, 0 log 0 taken as NaN
    p = torch.tensor([0.5, 0.3, 0.2, 0.0], dtype=DTYPE)
    q = torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=DTYPE)
    d = discrete_divergences(p.log(), q.log())
    nz = p > 0
    assert abs(d.kl_pq - float((p[nz] * (p[nz] / q[nz]).log()).sum())) < 1e-12
    assert abs(d.kl_qp - float((q * (q / p).log()).sum())) < 1e-12 or math.isinf(d.kl_qp)
    assert math.isinf(d.kl_qp)  # q has mass where p has none
    assert abs(d.tv - 0.5 * float((p - q).abs().sum())) < 1e-12
    assert 0 <= d.js <= math.log(2)
    assert discrete_divergences(q.log(), q.log()) == (0.0, 0.0, 0.0, 0.0)


def test_mode_coverage_counts_by_hand():
    centers = ring_centers(4, 1.0, dtype=DTYPE)
    samples = torch.tensor([[1.0, 0.0], [1.02, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=DTYPE)
    mc = mode_coverage(samples, centers, sigma=0.01, min_count=1)
    assert mc.counts.tolist() == [2, 1, 0, 0] and mc.modes_hit == 2 and mc.good_fraction == 0.75
    assert mode_coverage(samples, centers, 0.01, min_count=2).modes_hit == 1
    x, mode = ring_of_gaussians(2000, generator=torch.Generator().manual_seed(0))
    mc = mode_coverage(x, ring_centers(), 0.05, min_count=20)
    assert mc.modes_hit == 8 and mc.good_fraction > 0.98  # the data itself: 3 sigma holds 98.9%
    assert bool((mc.counts <= torch.bincount(mode, minlength=8)).all())  # only its own mode's


# ---- the bar generator's exact distribution


def test_bar_generator_log_prob_sums_to_one_and_matches_sampling():
    # brute force over all 2^16 images: p_G sums to 1; a million samples agree per column
    torch.manual_seed(0)
    gen = BarGenerator(hidden_dims=(16,))
    images = all_images(16)
    with torch.no_grad():
        log_q = gen.log_prob(images).double()
    assert abs(float(log_q.exp().sum()) - 1.0) < 1e-6
    bars = Bars()
    mass = (log_q.exp()[:, None] * bars.column_posterior(images).double()).sum(0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        x = gen.sample(200_000, g)
    empirical = bars.column_posterior(x).double().mean(0)
    assert float((empirical - mass).abs().max()) < 0.01
    with pytest.raises(ValueError, match="log_prob needs latent_dim 1"):
        BarGenerator(latent_dim=2).log_prob(images[:2])


def test_column_posterior_against_bayes_rule_by_hand():
    bars = Bars(column_probs=[0.1, 0.2, 0.3, 0.4], flip_prob=0.1)
    x, _ = bars.sample(5, generator=torch.Generator().manual_seed(0), dtype=DTYPE)
    t = bars.templates(DTYPE)
    d = (x[:, None, :] != t[None]).sum(-1).double()  # (5, 4)
    joint = bars.pi * 0.1**d * 0.9 ** (16 - d)
    torch.testing.assert_close(bars.column_posterior(x), joint / joint.sum(1, keepdim=True))
    images = all_images(16, None).double()
    p = bars.log_prob(images).exp()
    torch.testing.assert_close((p[:, None] * bars.column_posterior(images)).sum(0), bars.pi)


def test_straight_through_is_hard_forward_and_identity_backward():
    probs = torch.tensor([[0.0, 1.0, 0.3, 0.9]], dtype=DTYPE, requires_grad=True)
    x = straight_through(probs, torch.Generator().manual_seed(0))
    assert set(x.detach().flatten().tolist()) <= {0.0, 1.0}
    assert x[0, 0] == 0 and x[0, 1] == 1
    (grad,) = torch.autograd.grad((x * torch.arange(4.0, dtype=DTYPE)).sum(), probs)
    torch.testing.assert_close(grad, torch.arange(4.0, dtype=DTYPE)[None])


def test_discriminator_minibatch_std_sees_the_batch():
    torch.manual_seed(0)
    d = Discriminator(data_dim=3, minibatch_std=True)
    x = torch.randn(6, 3)
    same = d(x)[:2]
    other = d(torch.cat([x[:2], torch.zeros(4, 3)]))[:2]  # same rows, a different batch
    assert not torch.allclose(same, other)
    plain = Discriminator(data_dim=3)
    torch.testing.assert_close(plain(x)[:2], plain(x[:2]))


def test_fit_gan_moves_a_point_generator_toward_the_ring():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x, _ = ring_of_gaussians(2000, generator=g)
    gen, disc = PointGenerator(hidden_dims=(32, 32)), Discriminator(2, (32, 32))

    def off_ring():  # mean distance of the samples from the circle of radius 2
        return float((gen.sample(1000, g).detach().norm(dim=1) - 2).abs().mean())

    before = off_ring()
    history = fit_gan(gen, disc, x, steps=300, batch_size=64, generator_rng=g)
    assert len(history.d_loss) == len(history.g_loss) == 300
    assert off_ring() < before / 1.4  # a generator step of the wrong sign moves away


# ---- error messages


def test_error_messages():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"labels must have one entry per row of features \(3\)"):
        fit_logistic(x, torch.zeros(2))
    with pytest.raises(ValueError, match="labels must be 0"):
        fit_logistic(x, torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="l2 must be a positive number"):
        fit_logistic(x, torch.zeros(3), l2=0)
    with pytest.raises(ValueError, match="n_q must be >= 1"):
        log_ratio_from_logits(torch.zeros(3), 1, 0)
    with pytest.raises(ValueError, match="log_p and log_q must have the same shape"):
        optimal_discriminator(torch.zeros(3), torch.zeros(2))
    with pytest.raises(TypeError, match="saturating must be a bool"):
        generator_loss(torch.zeros(3), saturating=1)
    with pytest.raises(ValueError, match="real_logits must have shape"):
        discriminator_loss(torch.zeros(3, 1), torch.zeros(3))
    with pytest.raises(ValueError, match="log_q must sum to 1 in probability"):
        discrete_divergences(torch.zeros(1), torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        mode_coverage(x, x, sigma=0)
    with pytest.raises(ValueError, match="centers must have last dimension 2"):
        mode_coverage(x, torch.zeros(3, 3), sigma=1.0)
    with pytest.raises(ValueError, match="radius must be a positive number"):
        ring_centers(8, radius=-1)
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        ring_of_gaussians(3, sigma=0)
    with pytest.raises(TypeError, match="minibatch_std must be a bool"):
        Discriminator(minibatch_std=1)
    with pytest.raises(ValueError, match="at least 2 rows for minibatch_std"):
        Discriminator(data_dim=2, minibatch_std=True)(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="x must have last dimension 16"):
        Bars().column_posterior(torch.zeros(2, 3))


def test_network_and_training_error_messages():
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\)"):
        Discriminator(data_dim=2)(torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="x must have last dimension 2"):
        Discriminator(data_dim=2)(torch.zeros(4, 3))
    with pytest.raises(TypeError, match="probs must be a torch.Tensor"):
        straight_through([0.5])
    with pytest.raises(ValueError, match="data must have shape"):
        fit_gan(PointGenerator(), Discriminator(2), torch.zeros(5), steps=1)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        fit_gan(PointGenerator(), Discriminator(2), torch.zeros(5, 2), steps=1, batch_size=1)
    with pytest.raises(ValueError, match="x must have shape"):
        quadratic_features(torch.zeros(3))


def test_tensors_follow_their_inputs_dtype():
    # float64 in, float64 out: the generators sample in their parameters' dtype
    gen = BarGenerator(hidden_dims=(8,)).double()
    assert gen.sample(4, torch.Generator().manual_seed(0)).dtype == torch.float64
    x = torch.randn(10, 2, dtype=torch.float64)
    w = fit_logistic(quadratic_features(x), (x[:, 0] > 0).double())
    assert w.dtype == torch.float64
    assert optimal_discriminator(x[:, 0].float(), x[:, 1].float()).dtype == torch.float32
