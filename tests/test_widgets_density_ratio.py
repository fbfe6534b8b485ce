"""Lecture 12's explorer, headless: the classifier's estimate approaches the true log-ratio as n
grows, D* is p / (p + q), and the controls move the plot."""

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from dgmlab.widgets.density_ratio import explore_density_ratio, ratio_curves  # noqa: E402


def test_estimate_approaches_the_truth_as_n_grows():
    # catches a log-ratio without the features' x^2 term or with a sign flip (no convergence)
    small, large = ratio_curves(1.0, 1.5, 30), ratio_curves(1.0, 1.5, 3000)
    assert large.rms_error < small.rms_error and large.rms_error < 0.1
    inside = (large.x > -2) & (large.x < 2)
    assert float((large.estimate - large.true_log_ratio)[inside].abs().max()) < 0.3


def test_d_star_and_truth_in_closed_form():
    c = ratio_curves(0.5, 1.0, 50)
    torch.testing.assert_close(c.true_log_ratio, 0.125 - 0.5 * c.x)  # equal variances: linear
    torch.testing.assert_close(c.d_star, c.p / (c.p + c.q))


def test_explorer_moves_q_and_reports_the_error():
    explorer = explore_density_ratio()
    before = explorer.view.image.value
    curves = explorer.set(mu=0.0, s=1.0)
    assert explorer.view.image.value != before
    torch.testing.assert_close(curves.true_log_ratio, torch.zeros_like(curves.x))
    assert f"{curves.rms_error:.3f} nats" in explorer.readout.value
