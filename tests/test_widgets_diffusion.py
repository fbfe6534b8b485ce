"""Lecture 13's explorer, headless: the cloud it draws is the closed form of the forward
process, its schedule is the library's, and the controls move it."""

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from dgmlab import diffusion  # noqa: E402
from dgmlab.widgets.diffusion import explore_forward_process, forward_state  # noqa: E402


def test_cloud_is_the_closed_form_and_ends_near_a_standard_normal():
    # catches sqrt(abar) and sqrt(1 - abar) swapped, or abar_{t-1} for abar_t
    g = torch.Generator().manual_seed(0)
    x0 = 2 + torch.randn(4000, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(4000, 2, generator=g, dtype=torch.float64)
    state = forward_state(x0, eps, 37, 100, 0.1)
    abar = diffusion.alpha_bars(diffusion.linear_schedule(100, 1e-4, 0.1))[36]
    torch.testing.assert_close(state.xt, abar.sqrt() * x0 + (1 - abar).sqrt() * eps)
    assert state.abar_t == float(abar)
    end = forward_state(x0, eps, 100, 100, 0.3)
    assert end.xt.mean().abs() < 0.05 and abs(end.xt.std() - 1) < 0.05
    assert end.prior_kl < forward_state(x0, eps, 100, 100, 0.02).prior_kl
    torch.testing.assert_close(forward_state(x0, eps, 0, 100, 0.1).xt, x0)


def test_explorer_moves_the_cloud_and_reports_the_prior_term():
    explorer = explore_forward_process(torch.randn(200, 2), T=50)
    before = explorer.view.image.value
    state = explorer.set(t=50)
    assert explorer.view.image.value != before
    assert state.t == 50 and "prior term L_T" in explorer.readout.value
