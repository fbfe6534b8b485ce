"""Mixtures of product distributions, EM, the exact KL on bars and the Huffman coder (lecture 09).

Oracles: torch.distributions.MixtureSameFamily and a brute-force sum over all 2^D images;
EM's monotonicity checked at every iteration; the bar generator is itself a mixture, so EM
must find its columns; Huffman's bound H <= L < H + 1 on p_data.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as td

from dgmlab.coding import HuffmanCode, binary_index
from dgmlab.data import Bars
from dgmlab.em import e_step, fit_em, log_prior, m_step
from dgmlab.models.mixture import BernoulliMixture, CategoricalMixture
from dgmlab.recipes import all_images, expected_log_likelihood


def _bernoulli(C=3, D=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    pi = torch.rand(C, generator=g, dtype=torch.float64) + 0.2
    theta = torch.rand(C, D, generator=g, dtype=torch.float64) * 0.9 + 0.05
    return BernoulliMixture(pi / pi.sum(), theta)


def _categorical(C=3, D=4, K=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    pi = torch.rand(C, generator=g, dtype=torch.float64) + 0.2
    theta = torch.rand(C, D, K, generator=g, dtype=torch.float64) + 0.1
    return CategoricalMixture(pi / pi.sum(), theta / theta.sum(-1, keepdim=True))


def test_bernoulli_mixture_log_prob_matches_torch_distributions_and_sums_to_one():
    m = _bernoulli()
    x = all_images(5).double()  # every binary image: p(x) must sum to 1
    reference = td.MixtureSameFamily(
        td.Categorical(probs=m.pi), td.Independent(td.Bernoulli(probs=m.theta), 1)
    ).log_prob(x)
    torch.testing.assert_close(m.log_prob(x), reference)
    torch.testing.assert_close(m.log_prob(x).exp().sum(), torch.tensor(1.0, dtype=torch.float64))
    # the posterior is Bayes' rule, column by column (catches a softmax over images)
    joint = m.pi * td.Independent(td.Bernoulli(probs=m.theta), 1).log_prob(x[:, None]).exp()
    torch.testing.assert_close(m.posterior(x), joint / joint.sum(-1, keepdim=True))


def test_categorical_mixture_log_prob_matches_torch_distributions_and_is_stable():
    m = _categorical()
    x = torch.cartesian_prod(*[torch.arange(5)] * 4)  # all 625 images
    reference = td.MixtureSameFamily(
        td.Categorical(probs=m.pi), td.Independent(td.Categorical(probs=m.theta), 1)
    ).log_prob(x)
    torch.testing.assert_close(m.log_prob(x), reference)
    torch.testing.assert_close(m.posterior(x).sum(-1), torch.ones(625, dtype=torch.float64))
    # 2000 pixels: p(x | c) underflows to 0, the logsumexp does not
    big = _categorical(C=2, D=2000, K=3, seed=1)
    log_p = big.log_prob(big.sample(3, torch.Generator().manual_seed(0))[0])
    assert torch.isfinite(log_p).all() and (log_p < -1000).all()


def test_sampling_follows_the_mixture():
    m = _bernoulli(C=2, D=3)
    x, c = m.sample(40000, torch.Generator().manual_seed(0))
    assert x.shape == (40000, 3) and c.shape == (40000,)
    torch.testing.assert_close(c.bincount(minlength=2).double() / 40000.0, m.pi, atol=0.01, rtol=0)
    for k in range(2):
        torch.testing.assert_close(x[c == k].mean(0), m.theta[k], atol=0.015, rtol=0)
    mc = _categorical(C=2, D=2, K=3)
    xc, cc = mc.sample(30000, torch.Generator().manual_seed(1))
    freq = torch.nn.functional.one_hot(xc[cc == 0], 3).double().mean(0)  # (D, K)
    torch.testing.assert_close(freq, mc.theta[0], atol=0.015, rtol=0)


def test_the_bar_generator_is_a_bernoulli_mixture():
    bars = Bars(column_probs=[0.1, 0.2, 0.3, 0.4], flip_prob=0.07)
    t = bars.templates(torch.float64)
    m = BernoulliMixture(bars.pi, t * (1 - 0.07) + (1 - t) * 0.07)
    x = all_images(16)
    torch.testing.assert_close(m.log_prob(x), bars.log_prob(x).double())


def test_mixture_error_messages():
    with pytest.raises(ValueError, match="pi must sum to 1, found sum 0.6"):
        BernoulliMixture(torch.tensor([0.3, 0.3]), torch.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="theta must lie strictly inside"):
        BernoulliMixture(torch.tensor([0.5, 0.5]), torch.tensor([[0.0, 0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"theta must have one row per component \(C = 2"):
        BernoulliMixture(torch.tensor([0.5, 0.5]), torch.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="theta must sum to 1 over its last"):
        CategoricalMixture(torch.tensor([1.0]), torch.full((1, 2, 3), 0.5))
    m = _categorical()
    with pytest.raises(ValueError, match=r"x must hold levels in \{0, ..., 4\}"):
        m.log_prob(torch.tensor([[0, 1, 2, 7]]))
    with pytest.raises(TypeError, match="x must hold integer levels"):
        m.log_prob(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"x must have last dimension 5 \(shape \(B, 5\)\)"):
        _bernoulli().log_prob(torch.zeros(2, 4, dtype=torch.float64))


def test_m_step_is_the_smoothed_weighted_count():
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    r = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], dtype=torch.float64)
    m = m_step(x, r, alpha=0.5)
    # N_c = (1.5, 1.5); pixel 0 on-counts (1.5, 0.5), pixel 1 (0.5, 0.5)
    torch.testing.assert_close(m.pi, torch.tensor([0.5, 0.5], dtype=torch.float64))
    expected = torch.tensor([[2.0, 1.0], [1.0, 1.0]], dtype=torch.float64) / 2.5
    torch.testing.assert_close(m.theta, expected)
    levels = torch.tensor([[2, 0], [1, 1], [2, 2]])
    mc = m_step(levels, r, num_levels=3, alpha=0.5)
    # component 0, pixel 0: counts (0, 0.5, 1) + 0.5 over N_c + K alpha = 3
    torch.testing.assert_close(mc.theta[0, 0], torch.tensor([0.5, 1.0, 1.5]).double() / 3)
    with pytest.raises(ValueError, match="alpha must be positive"):
        m_step(x, r, alpha=0.0)
    with pytest.raises(ValueError, match="x and r must have one row per image"):
        m_step(x[:2], r)
    with pytest.raises(TypeError, match="x must hold integer levels with num_levels"):
        m_step(x, r, num_levels=3)


def test_em_never_decreases_and_recovers_the_bar_columns():
    bars = Bars(column_probs=[0.1, 0.2, 0.3, 0.4])
    x, _ = bars.sample(3000, generator=torch.Generator().manual_seed(0))
    fit = fit_em(x, 4, iterations=30, alpha=0.1, generator=torch.Generator().manual_seed(0))
    assert len(fit.objective) == 31
    for a, b in zip(fit.objective, fit.objective[1:], strict=False):
        assert b >= a - 1e-10  # the MAP objective: guaranteed
    for a, b in zip(fit.log_likelihood, fit.log_likelihood[1:], strict=False):
        assert b >= a - 1e-6  # the log-likelihood itself (alpha is small beside 3000 images)
    assert len(fit.log_likelihood) == 31 and fit.snapshots == []
    # match each learned component to the template it is closest to
    t = bars.templates(torch.float64)
    order = torch.cdist(fit.mixture.theta, t).argmin(1)
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    torch.testing.assert_close(fit.mixture.pi[order.argsort()], bars.pi, atol=0.03, rtol=0)
    truth = t * 0.95 + (1 - t) * 0.05
    torch.testing.assert_close(fit.mixture.theta, truth[order], atol=0.05, rtol=0)
    # the exact KL(p_data || p_theta) over all 2^16 images: small, positive
    kl = -bars.entropy() - expected_log_likelihood(fit.mixture, bars)
    assert 0 < kl < 0.02


def test_e_step_and_categorical_em_on_random_levels():
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 4, (200, 6), generator=g)
    fit = fit_em(x, 3, num_levels=4, iterations=15, generator=g, keep_snapshots=True)
    assert len(fit.snapshots) == 16 and fit.snapshots[-1] is fit.mixture
    for a, b in zip(fit.objective, fit.objective[1:], strict=False):
        assert b >= a - 1e-10
    r, log_p_x = e_step(fit.mixture, x)
    torch.testing.assert_close(r, fit.mixture.posterior(x))
    torch.testing.assert_close(log_p_x.mean().item(), fit.log_likelihood[-1])
    ll = fit.log_likelihood[-1]
    assert fit.objective[-1] == pytest.approx(ll + float(log_prior(fit.mixture)) / 200)
    with pytest.raises(TypeError, match="mixture must be a BernoulliMixture"):
        e_step("mixture", x)


def test_expected_log_likelihood_of_p_data_itself_is_minus_the_entropy():
    bars = Bars(column_probs=[0.4, 0.3, 0.2, 0.1])
    t = bars.templates(torch.float64)
    truth = BernoulliMixture(bars.pi, t * 0.95 + (1 - t) * 0.05)
    # to 1e-6: recipes computes p_data in float32
    assert expected_log_likelihood(truth, bars) == pytest.approx(-bars.entropy(), abs=1e-6)


def test_huffman_code_is_within_one_bit_of_the_entropy_and_round_trips():
    bars = Bars()
    x = all_images(16)
    p = bars.log_prob(x).double().exp()
    p = p / p.sum()
    code = HuffmanCode(p)
    entropy_bits = bars.entropy() / math.log(2)
    assert entropy_bits <= code.expected_length(p) < entropy_bits + 1
    # prefix property: lengths satisfy Kraft's equality for a full binary tree
    assert float((2.0 ** -code.lengths.double()).sum()) == pytest.approx(1.0)
    images, _ = bars.sample(50, generator=torch.Generator().manual_seed(0))
    symbols = binary_index(images.long())
    bits = code.encode(symbols)
    assert len(bits) == int(code.lengths[symbols].sum())
    assert code.decode(bits) == symbols.tolist()
    torch.testing.assert_close(x[symbols], images)  # the index is all_images' order


def test_huffman_small_cases_and_errors():
    code = HuffmanCode(torch.tensor([0.5, 0.25, 0.125, 0.125]))
    assert code.lengths.tolist() == [1, 2, 3, 3]  # dyadic p: l = -log2 p exactly
    assert code.decode(code.encode([3, 0, 2, 1])) == [3, 0, 2, 1]
    with pytest.raises(ValueError, match="p must sum to 1, found sum 0.5"):
        HuffmanCode(torch.tensor([0.25, 0.25]))
    with pytest.raises(ValueError, match="symbols must be in 0..3, found -1"):
        code.encode([0, -1])
    with pytest.raises(ValueError, match="bits end inside a codeword"):
        code.decode("11")
    with pytest.raises(ValueError, match="x must be binary"):
        binary_index(torch.tensor([[0, 2]]))


def test_restarts_keep_the_best_run():
    x, _ = Bars().sample(100, generator=torch.Generator().manual_seed(100))
    g = torch.Generator().manual_seed(7)  # four single runs draw their starts one after another
    singles = [fit_em(x, 4, iterations=20, generator=g).objective[-1] for _ in range(4)]
    best = fit_em(x, 4, iterations=20, generator=torch.Generator().manual_seed(7), restarts=4)
    assert best.objective[-1] == max(singles) and len(set(singles)) > 1
    with pytest.raises(ValueError, match="restarts must be >= 1"):
        fit_em(x, 4, restarts=0)
