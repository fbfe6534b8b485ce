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
    fig = jensen.draw_two_point(jensen.two_point_jensen(1.0, 8.0, 0.5))
    for i in range(15):
        jensen.update_two_point(fig, jensen.two_point_jensen(0.5 + 0.5 * i, 8.0, 0.3))
    assert "gap" in fig.jensen_artists["text"].get_text()
    fig.canvas.draw()
    fig2 = jensen.draw_monte_carlo(jensen.monte_carlo_jensen("lognormal", 0.0, 1.0))
    for i in range(9):
        jensen.update_monte_carlo(fig2, jensen.monte_carlo_jensen("lognormal", 0.1 * i, 1.0))
    # speed is measured, not asserted: benchmarks/widgets.py times every explorer
    fig2.canvas.draw()
    plt.close("all")


def test_explorers_build_headless():
    box = jensen.explore_two_point()
    z1, z2, w = box.children[0].children
    z1.value, w.value = 3.0, 0.2
    box = jensen.explore_monte_carlo(num_samples=500)
    name, a, b = box.children[0].children
    for family in sorted(jensen.FAMILIES):
        name.value = family
        a.value = a.max
    plt.close("all")


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="z1 and z2 must be positive"):
        jensen.two_point_jensen(-1.0, 2.0, 0.5)
    with pytest.raises(ValueError, match=r"w must be in \[0, 1\]"):
        jensen.two_point_jensen(1.0, 2.0, 1.5)
    with pytest.raises(ValueError, match="name must be one of"):
        jensen.monte_carlo_jensen("cauchy", 0.0, 1.0)
    with pytest.raises(ValueError, match="fig must come from draw_two_point"):
        jensen.update_two_point(plt.figure(), jensen.two_point_jensen(1.0, 2.0, 0.5))
    with pytest.raises(ValueError, match="fig must come from draw_monte_carlo"):
        jensen.update_monte_carlo(plt.figure(), jensen.monte_carlo_jensen("gamma", 2.0, 1.0, 10))
    plt.close("all")
