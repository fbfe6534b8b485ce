"""Lecture 03's explorers, headless: Jensen's two sides, the closed forms, update speed."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from dgmlab.widgets import jensen  # noqa: E402

positive = st.floats(1e-6, 1e6)


@given(positive, positive, st.floats(0.0, 1.0))
def test_two_point_gap_is_never_negative(z1, z2, w):
    # catches the gap with the wrong sign, and a chord drawn with w and 1 - w swapped (the
    # identity log_of_mean - mean_of_logs == gap would still hold, the values would not)
    state = jensen.two_point_jensen(z1, z2, w)
    assert state.gap >= -1e-9
    assert state.mean == pytest.approx(w * z1 + (1 - w) * z2)
    assert state.mean_of_logs == pytest.approx(w * math.log(z1) + (1 - w) * math.log(z2), abs=1e-9)


@pytest.mark.parametrize("name", sorted(jensen.FAMILIES))
def test_closed_forms_match_monte_carlo(name):
    # a wrong closed form (e.g. lognormal log E X = mu + sigma^2, exponential E log X = -log r)
    # is off by far more than 6 standard errors of 200000 samples
    a, b = {"lognormal": (0.3, 0.8), "gamma": (2.5, 1.5), "uniform": (0.5, 3.0),
            "exponential": (1.7, 0.0)}[name]  # fmt: skip
    r = jensen.monte_carlo_jensen(name, a, b, 200_000, torch.Generator().manual_seed(0))
    log_x = r.log_samples
    se_log = float(log_x.std()) / math.sqrt(len(log_x))
    x = log_x.exp()
    se_log_mean = float(x.std() / x.mean()) / math.sqrt(len(x))
    assert abs(r.mc_expected_log - r.expected_log) < 6 * se_log
    assert abs(r.mc_log_expected - r.log_expected) < 6 * se_log_mean
    assert r.expected_log <= r.log_expected


def test_gamma_closed_form_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    family = jensen.FAMILIES["gamma"]
    k, rate = 3.2, 0.7
    expected_log = scipy_stats.gamma(k, scale=1 / rate).expect(math.log)
    assert family.expected_log(k, rate) == pytest.approx(expected_log, abs=1e-7)


def test_same_generator_same_samples():
    a = jensen.monte_carlo_jensen("gamma", 2.0, 1.0, 100, torch.Generator().manual_seed(3))
    b = jensen.monte_carlo_jensen("gamma", 2.0, 1.0, 100, torch.Generator().manual_seed(3))
    assert torch.equal(a.log_samples, b.log_samples)


def test_figures_update_in_place():
    plot = jensen.TwoPointPlot()
    lines = list(plot.ax.get_lines())
    for i in range(15):
        state = plot.update(jensen.two_point_jensen(0.5 + 0.5 * i, 8.0, 0.3))
    assert plot.ax.get_lines() == lines  # the same artists, moved: none added
    assert "gap" in plot.text.get_text()
    # the chord joins (z1, log z1) and (z2, log z2); the gap stands at the weighted mean
    assert list(plot.chord.get_xdata()) == [state.z1, state.z2]
    assert list(plot.gap.get_xdata()) == [state.mean, state.mean]
    assert list(plot.gap.get_ydata()) == [state.mean_of_logs, state.log_of_mean]
    plot.fig.canvas.draw()
    plot2 = jensen.MonteCarloPlot()
    for i in range(9):
        plot2.update(jensen.monte_carlo_jensen("lognormal", 0.1 * i, 1.0))
    # speed is measured, not asserted: benchmarks/widgets.py times every explorer
    plot2.fig.canvas.draw()
    plt.close("all")


def test_explorers_follow_their_controls_headless():
    explorer = jensen.explore_two_point()
    state = explorer.set(z1=3.0, w=0.2)
    assert (state.z1, state.z2, state.w) == (3.0, 8.0, 0.2)
    assert f"gap = {state.gap:.3f}" in explorer.plot.text.get_text()
    explorer = jensen.explore_monte_carlo(num_samples=500)
    a = explorer.controls["a"]
    for family in sorted(jensen.FAMILIES):
        explorer.set(name=family)
        assert explorer.result.name == family
        assert (a.value, explorer.controls["b"].value) == jensen.DEFAULTS[family]
        explorer.set(a=a.max)
        assert explorer.plot.ax.get_title().startswith(f"{family}:")
    plt.close("all")


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="z1 and z2 must be positive"):
        jensen.two_point_jensen(-1.0, 2.0, 0.5)
    with pytest.raises(ValueError, match=r"w must be in \[0, 1\]"):
        jensen.two_point_jensen(1.0, 2.0, 1.5)
    with pytest.raises(ValueError, match="name must be one of"):
        jensen.monte_carlo_jensen("cauchy", 0.0, 1.0)
    with pytest.raises(ValueError, match="set names no control: \\['v'\\]"):
        jensen.explore_two_point().set(v=1.0)
    plt.close("all")
