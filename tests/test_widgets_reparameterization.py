"""Lecture 05's explorer, headless: numbers against the exact gradients and variances."""

import itertools

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.estimators import exact_gradient_moments  # noqa: E402
from dgmlab.widgets.reparameterization import (  # noqa: E402
    COSTS,
    SHIFTED_SQUARE,
    GradientView,
    explore_gradients,
    gradient_numbers,
)


def _gen():
    return torch.Generator().manual_seed(0)


def test_shifted_square_gradient_is_right():
    # finite differences of the closed-form expectation (a sign slip in dE/dmu fails)
    mu, sigma, h = (
        torch.tensor([0.3], dtype=torch.float64),
        torch.tensor([0.8], dtype=torch.float64),
        1e-4,
    )
    e = SHIFTED_SQUARE.expectation
    grad_mu, grad_sigma = SHIFTED_SQUARE.gradient(mu, sigma)
    assert float(grad_mu) == pytest.approx(float(e(mu + h, sigma) - e(mu - h, sigma)) / (2 * h))
    assert float(grad_sigma) == pytest.approx(float(e(mu, sigma + h) - e(mu, sigma - h)) / (2 * h))
    m = exact_gradient_moments("pathwise", SHIFTED_SQUARE.f, mu[None], sigma[None])
    assert float(m.var_mu) == pytest.approx(4 * 0.8**2)  # g_mu = 2 (z - 2): Var = 4 sigma^2


@pytest.mark.parametrize("cost", list(COSTS))
def test_numbers_are_unbiased_with_the_exact_variance_over_s(cost):
    S, R = 5, 2000
    numbers = gradient_numbers(cost, 0.4, 0.9, S, R, _gen())
    assert ("pathwise" in numbers) == (cost != "step 1[z > 0]")
    for n in numbers.values():
        assert n.estimates.shape == (R,)
        # mean within 5 standard errors; sample variance of 2000 within 20% of Var[g] / S
        assert abs(n.estimates.mean().item() - n.exact_gradient) < 5 * (n.exact_var / R) ** 0.5
        assert n.empirical_var == pytest.approx(n.exact_var, rel=0.2)


def test_score_function_is_noisier_than_pathwise_for_a_smooth_cost():
    numbers = gradient_numbers("(z - 2)^2", 0.5, 1.0, 10, generator=_gen())
    assert numbers["score_function"].exact_var > 5 * numbers["pathwise"].exact_var


def test_view_update_draws_histograms_titles_and_the_exact_line():
    view = GradientView()
    numbers = view.update("cos z", 0.5, 1.0, 10, _gen())
    for name, ax in view.axes.items():
        heights = [r.get_height() for r in view.bars[name]]
        assert sum(heights) == 2000  # every estimate lands in a bin (clamped at the edges)
        assert f"{numbers[name].empirical_var:.3g}" in ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()
    view.update("step 1[z > 0]", 0.5, 1.0, 10, _gen())
    assert "does not apply" in view.notes["pathwise"].get_text()
    assert not view.lines["pathwise"].get_visible()


@pytest.mark.parametrize("cost, mu, sigma", [("step 1[z > 0]", -3.0, 0.1), ("z^2", 0.0, 3.98),
                                              ("(z - 2)^2", 0.5, 1.0)])  # fmt: skip
def test_tick_labels_do_not_run_together(cost, mu, sigma):
    # far from the step every estimate is 0 and the window is +-1e-3: written out in full,
    # "-0.00100" "-0.00075" ... overlapped
    view = GradientView()
    view.update(cost, mu, sigma, 10, _gen())
    view.fig.canvas.draw()
    renderer = view.fig.canvas.get_renderer()
    for ax in view.axes.values():
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) >= 3
        for a, b in itertools.pairwise(boxes):
            assert a.x1 < b.x0, [t.get_text() for t in ax.get_xticklabels()]


def test_errors_and_explorer():
    with pytest.raises(ValueError, match="cost must be one of .* found 'z\\^3'"):
        gradient_numbers("z^3", 0.0, 1.0, 1)
    with pytest.raises(ValueError, match="num_repeats must be >= 2, found 1"):
        gradient_numbers("z^2", 0.0, 1.0, 1, num_repeats=1)
    explorer = explore_gradients()
    numbers = explorer.set(cost="step 1[z > 0]", mu=-1.0)
    assert set(numbers) == {"score_function"}  # no pathwise estimator for the step
    assert "does not apply" in explorer.plot.notes["pathwise"].get_text()
    assert "f = step 1[z > 0], q = N(-1.00, 1.00^2)" in explorer.plot.suptitle.get_text()
