"""Lecture 12's explorer: a classifier between samples of p and q estimates log p / q.

p = N(0, 1) and q = N(mu, s^2): n samples of each train a logistic regression on the features
(1, x, x^2) (``dgmlab.adversarial.fit_logistic``), whose logit is the estimated log-ratio

    log p(x) / q(x) ~= logit D(x) - log(n_p / n_q),   with n_p = n_q = n here.

Two panels: the densities with the optimal discriminator D* = p / (p + q), and the true
log-ratio against the classifier's, with the RMS error over fresh samples of p.

    curves = ratio_curves(mu, s, n, seed)     # numbers only (tested headless)
    explore_density_ratio()                  # an Explorer: sliders for mu, s, n, seed
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab.adversarial import (
    fit_logistic,
    log_ratio_from_logits,
    optimal_discriminator,
    quadratic_features,
)
from dgmlab.widgets.explorer import Explorer

__all__ = ["RatioCurves", "RatioPlot", "explore_density_ratio", "ratio_curves"]

X_RANGE = (-4.0, 5.0)


@dataclass(frozen=True)
class RatioCurves:
    """On a grid x (G,): p, q, D*, the true and the estimated log p/q; the RMS error on p."""

    x: torch.Tensor
    p: torch.Tensor
    q: torch.Tensor
    d_star: torch.Tensor
    true_log_ratio: torch.Tensor
    estimate: torch.Tensor
    rms_error: float


def ratio_curves(mu: float, s: float, n: int, seed: int = 0) -> RatioCurves:
    """Fit the classifier on n samples of N(0, 1) and n of N(mu, s^2); curves on a grid."""
    p_dist = torch.distributions.Normal(torch.tensor(0.0).double(), torch.tensor(1.0).double())
    q_dist = torch.distributions.Normal(
        torch.tensor(float(mu)).double(), torch.tensor(float(s)).double()
    )
    g = torch.Generator().manual_seed(seed)
    x_p = torch.randn(n, 1, generator=g, dtype=torch.float64)
    x_q = mu + s * torch.randn(n, 1, generator=g, dtype=torch.float64)
    labels = torch.cat([torch.ones(n), torch.zeros(n)]).double()
    w = fit_logistic(quadratic_features(torch.cat([x_p, x_q])), labels)
    x = torch.linspace(*X_RANGE, 301, dtype=torch.float64)
    log_p, log_q = p_dist.log_prob(x), q_dist.log_prob(x)
    estimate = log_ratio_from_logits(quadratic_features(x[:, None]) @ w, n, n)
    test = torch.randn(2000, 1, generator=g, dtype=torch.float64)
    truth = p_dist.log_prob(test[:, 0]) - q_dist.log_prob(test[:, 0])
    error = (log_ratio_from_logits(quadratic_features(test) @ w, n, n) - truth).pow(2).mean()
    return RatioCurves(x, log_p.exp(), log_q.exp(), optimal_discriminator(log_p, log_q),
                       log_p - log_q, estimate, float(error.sqrt()))  # fmt: skip


class RatioPlot:
    """Densities with D*, and the log-ratio true vs estimated; ``update`` moves them."""

    def __init__(self, curves: RatioCurves, fig: Figure | None = None):
        if fig is None:
            fig = plt.figure(figsize=(10, 3.2), layout="constrained")
        self.fig = fig
        self.ax_density, self.ax_ratio = fig.subplots(1, 2)
        ax = self.ax_density
        (self.p_line,) = ax.plot(curves.x, curves.p, color="k", label="p = N(0, 1)")
        (self.q_line,) = ax.plot(curves.x, curves.q, color="tab:orange", label="q")
        (self.d_line,) = ax.plot(curves.x, curves.d_star, color="tab:blue", ls="--",
                                 label="D* = p / (p + q)")  # fmt: skip
        ax.set(xlabel="x", title="densities and the optimal discriminator", xlim=X_RANGE,
               ylim=(0, 1.05))  # fmt: skip
        ax.legend(loc="upper right", fontsize="small")
        ax = self.ax_ratio
        (self.true_line,) = ax.plot(curves.x, curves.true_log_ratio, color="k", lw=3,
                                    label="true log p/q")  # fmt: skip
        (self.estimate_line,) = ax.plot(curves.x, curves.estimate, color="tab:red",
                                        label="classifier's estimate")  # fmt: skip
        self.error_text = ax.text(0.02, 0.04, "", transform=ax.transAxes, ha="left", va="bottom")
        ax.set(xlabel="x", title="the log density ratio", xlim=X_RANGE, ylim=(-12, 6))
        ax.legend(loc="upper right", fontsize="small")
        self.update(curves)

    def moving_artists(self) -> list:
        return [self.q_line, self.d_line, self.true_line, self.estimate_line, self.error_text]

    def update(self, curves: RatioCurves) -> None:
        self.q_line.set_ydata(curves.q.numpy())
        self.d_line.set_ydata(curves.d_star.numpy())
        self.true_line.set_ydata(curves.true_log_ratio.numpy())
        self.estimate_line.set_ydata(curves.estimate.numpy())
        self.error_text.set_text(f"RMS error on p: {curves.rms_error:.3f} nats")


def explore_density_ratio(mu: float = 1.0, s: float = 1.5, n: int = 100, seed: int = 0):
    """Sliders for q's mean and spread, the samples per class and the seed."""
    import ipywidgets as widgets

    plot = RatioPlot(ratio_curves(mu, s, n, seed), Figure(figsize=(10, 3.2), layout="constrained"))

    def update(values) -> RatioCurves:
        curves = ratio_curves(values["mu"], values["s"], values["n"], values["seed"])
        plot.update(curves)
        return curves

    def readout(curves: RatioCurves) -> str:
        return f"RMS error of the estimated log p/q on samples of p: {curves.rms_error:.3f} nats"

    slider = dict(continuous_update=True, readout_format=".2f")
    controls = {
        "mu": widgets.FloatSlider(
            mu, min=-2.0, max=3.0, step=0.1, description="q's mean", **slider
        ),  # fmt: skip
        "s": widgets.FloatSlider(s, min=0.5, max=2.5, step=0.05, description="q's std", **slider),
        "n": widgets.IntSlider(
            n, min=10, max=3000, step=10, description="n per class", continuous_update=True
        ),  # fmt: skip
        "seed": widgets.IntSlider(seed, min=0, max=20, description="seed", continuous_update=True),
    }
    return Explorer(plot, controls, update, readout=readout, rows=[["mu", "s"], ["n", "seed"]])
