"""Lecture 05 (reparameterization): pathwise vs score-function gradients, side by side.

For a cost f and q = N(mu, sigma^2) we want dJ/dmu of J = E_q[f(z)]. Each estimator
averages S per-sample estimates; repeating that R times shows its spread, next to the
exact variance Var[g] / S from quadrature (``dgmlab.estimators.exact_gradient_moments``).

    numbers = gradient_numbers("(z - 2)^2", mu=0.5, sigma=1.0, num_samples=10)
    view = GradientView(); view.update("cos z", 0.5, 1.0, 10)   # plain function, headless
    explore_gradients()                                        # an Explorer
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from dgmlab import checks
from dgmlab.estimators import (
    COSINE,
    SQUARE,
    STEP,
    KnownCost,
    exact_gradient_moments,
    pathwise_gradient,
    score_function_gradient,
)
from dgmlab.widgets.explorer import Explorer

# f(z) = (z - 2)^2:  E = (mu - 2)^2 + sigma^2,  dE/dmu = 2 (mu - 2),  dE/dsigma = 2 sigma
SHIFTED_SQUARE = KnownCost(
    "shifted square",
    f=lambda z: ((z - 2.0) ** 2).sum(-1),
    expectation=lambda mu, sigma: ((mu - 2.0) ** 2 + sigma**2).sum(-1),
    gradient=lambda mu, sigma: (2.0 * (mu - 2.0), 2.0 * sigma),
)

COSTS: dict[str, KnownCost] = {
    "(z - 2)^2": SHIFTED_SQUARE,
    "z^2": SQUARE,
    "cos z": COSINE,
    "step 1[z > 0]": STEP,
}
DIFFERENTIABLE = {"(z - 2)^2", "z^2", "cos z"}
NUM_REPEATS = 2000
ESTIMATORS = {"pathwise": pathwise_gradient, "score_function": score_function_gradient}
COLORS = {"pathwise": "tab:blue", "score_function": "tab:orange"}


@dataclass(frozen=True)
class EstimatorNumbers:
    """One estimator's R estimates of dJ/dmu (each an S-sample mean) and their variances."""

    estimates: torch.Tensor  # (R,)
    empirical_var: float
    exact_var: float  # Var[g] / S, by quadrature
    exact_gradient: float


def gradient_numbers(
    cost: str,
    mu: float,
    sigma: float,
    num_samples: int,
    num_repeats: int = NUM_REPEATS,
    generator: torch.Generator | None = None,
) -> dict[str, EstimatorNumbers]:
    """R estimates of dJ/dmu from each estimator that applies to ``cost``, with variances.

    The pathwise estimator needs f'(z), so it is left out for the step cost.

    Args:
        cost: a key of ``COSTS``.
        mu, sigma: q = N(mu, sigma^2), sigma > 0.
        num_samples: S, samples per estimate.
        num_repeats: R, estimates per estimator.
        generator: optional ``torch.Generator``.

    Returns:
        {"pathwise": ..., "score_function": ...} (pathwise only for differentiable costs).
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {sorted(COSTS)}, found {cost!r}")
    S = checks.positive_int("num_samples", num_samples)
    R = checks.positive_int("num_repeats", num_repeats, minimum=2)
    m = torch.tensor([float(mu)], dtype=torch.float64)  # (L,) = (1,)
    s = torch.tensor([float(sigma)], dtype=torch.float64)
    f = COSTS[cost].f
    exact_gradient = float(COSTS[cost].gradient(m, s)[0][0])
    names = ["pathwise", "score_function"] if cost in DIFFERENTIABLE else ["score_function"]
    out = {}
    for name in names:
        g = ESTIMATORS[name](f, m, s, R * S, generator).grad_mu  # (R * S, 1)
        estimates = g.reshape(R, S).mean(1)  # (R,)
        exact_var = float(exact_gradient_moments(name, f, m[None], s[None]).var_mu) / S
        out[name] = EstimatorNumbers(estimates, float(estimates.var()), exact_var, exact_gradient)
    return out


class GradientView:
    """Histograms of both estimators' R estimates of dJ/dmu, with the exact gradient.

    The bars, lines and titles are made once; ``update`` only moves them (no ``ax.clear``),
    so a slider step costs the estimates plus one redraw.
    """

    BINS = 50

    def __init__(self, fig: Figure | None = None):
        if fig is None:
            fig = plt.figure(figsize=(10, 3.4), layout="constrained")
        self.fig = fig
        self.axes = dict(zip(ESTIMATORS, fig.subplots(1, 2, sharex=True), strict=True))
        self.bars, self.lines, self.notes = {}, {}, {}
        for name, ax in self.axes.items():
            self.bars[name] = ax.bar(
                np.arange(self.BINS),
                np.zeros(self.BINS),
                width=1.0,
                align="edge",
                color=COLORS[name],
                alpha=0.7,
            )
            self.lines[name] = ax.axvline(0.0, color="k", ls="--", label="exact gradient")
            self.notes[name] = ax.text(
                0.5, 0.5, "", ha="center", va="center", transform=ax.transAxes
            )
            ax.set_xlabel("estimate of dJ/dmu")
            # "-1.00 ... 1.00" and "1e-3" at the end, not "-0.00100" (labels run together)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.set_ylabel("count")
            ax.set_title(" ", fontsize="medium")
            ax.legend(loc="upper right", fontsize="small")
        self.suptitle = fig.suptitle(" ", fontsize="medium")

    def update(
        self,
        cost: str,
        mu: float,
        sigma: float,
        num_samples: int,
        generator: torch.Generator | None = None,
    ) -> dict[str, EstimatorNumbers]:
        """Redraw both panels; return the numbers (see ``gradient_numbers``)."""
        numbers = gradient_numbers(cost, mu, sigma, num_samples, generator=generator)
        spread = max(n.exact_var for n in numbers.values()) ** 0.5
        centre = next(iter(numbers.values())).exact_gradient
        low, high = centre - 4 * spread - 1e-3, centre + 4 * spread + 1e-3
        edges = np.linspace(low, high, self.BINS + 1)
        for name, ax in self.axes.items():
            n = numbers.get(name)
            counts = (
                np.histogram(n.estimates.clamp(low, high).numpy(), bins=edges)[0]
                if n is not None
                else np.zeros(self.BINS)
            )
            for rect, left, count in zip(self.bars[name], edges[:-1], counts, strict=True):
                rect.set_x(left)
                rect.set_width(edges[1] - edges[0])
                rect.set_height(count)
            self.lines[name].set_xdata([centre, centre])
            self.lines[name].set_visible(n is not None)
            ax.set_xlim(low, high)
            ax.set_ylim(0, 1.1 * max(counts.max(), 1))
            if n is None:
                self.notes[name].set_text("f'(z) = 0 almost everywhere:\npathwise does not apply")
                ax.title.set_text("pathwise: f has no useful derivative")
            else:
                self.notes[name].set_text("")
                ax.title.set_text(
                    f"{name}: variance {n.empirical_var:.3g} (exact {n.exact_var:.3g})"
                )
        self.suptitle.set_text(
            f"{NUM_REPEATS} estimates of dJ/dmu, each from S = {num_samples} samples,"
            f" f = {cost}, q = N({mu:.2f}, {sigma:.2f}^2)"
        )
        return numbers

    def overlay_artists(self) -> list:
        """The legends, over the moving bars. For ``FigureView``'s ``overlay``."""
        return [ax.get_legend() for ax in self.axes.values()]

    def moving_artists(self) -> list:
        """What ``update`` changes: bars, lines, notes, titles and every axis (the limits follow
        the estimates). For ``FigureView``'s ``dynamic``."""
        return [*(a for name, ax in self.axes.items()
                  for a in (*self.bars[name], self.lines[name], self.notes[name], ax.title,
                            ax.xaxis, ax.yaxis)),
                self.suptitle]  # fmt: skip


def explore_gradients() -> Explorer:
    """Choose the cost, mu, sigma and S; see both estimators' histograms and variances.

    Returns the ``Explorer`` over a ``GradientView``.
    """
    import ipywidgets as widgets

    controls = {
        "cost": widgets.Dropdown(options=list(COSTS), description="cost f"),
        "mu": widgets.FloatSlider(value=0.5, min=-3, max=3, step=0.05, description="mu"),
        "sigma": widgets.FloatLogSlider(
            value=1.0, base=10, min=-1, max=0.6, step=0.02, description="sigma"
        ),
        "num_samples": widgets.SelectionSlider(
            options=[1, 2, 5, 10, 20, 50, 100], value=10, description="S"
        ),
    }
    plot = GradientView(Figure(figsize=(10, 3.4), layout="constrained"))
    return Explorer(plot, controls, lambda v: plot.update(**v),
                    rows=[["cost", "mu"], ["sigma", "num_samples"]])  # fmt: skip
