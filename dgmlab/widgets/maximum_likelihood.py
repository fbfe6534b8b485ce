"""Lecture 09's explorer: step through EM's iterations and watch components and responsibilities.

EM is computed once (``dgmlab.em.fit_em(..., keep_snapshots=True)``); the slider only picks an
iteration t, so a move costs a few array copies:

    top row     each component's mean image E[x | c] (theta_c for binary pixels,
                sum_k k theta_ck / (K - 1) for K levels) and its weight pi_c
    bottom      the responsibilities p(c | x) of a few images (rows) for each component
                (columns), next to the training log-likelihood per iteration and -H(p_data)

    plot = EMPlot(fit, x_show, neg_entropy=-bars.entropy())
    plot.update(3)                        # plain function: numbers for iteration 3
    explore_em(x_show, fit, neg_entropy)  # the same on an ipywidgets slider
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from dgmlab import checks
from dgmlab.em import EMResult, fit_em
from dgmlab.models.mixture import BernoulliMixture
from dgmlab.plots import image_side
from dgmlab.widgets.explorer import Explorer


def mean_images(mixture) -> torch.Tensor:
    """E[x_d | c] for every component, scaled to [0, 1]: (C, D).

    theta (C, D) for binary pixels; sum_k k theta_cdk / (K - 1) for K levels.
    """
    theta = mixture.theta.detach().to("cpu", torch.float64)
    if isinstance(mixture, BernoulliMixture):
        return theta
    K = theta.shape[-1]
    return theta @ torch.arange(K, dtype=torch.float64) / (K - 1)


class EMPlot:
    """Components, weights, responsibilities and the log-likelihood curve at one EM iteration.

    Args:
        fit: an ``EMResult`` with snapshots (``fit_em(..., keep_snapshots=True)``).
        x_show: (B, D) a few images whose responsibilities are shown (B <= 12).
        neg_entropy: -H(p_data), drawn under the log-likelihood curve, or None.
        fig: an empty Figure, or None for a new one.
    """

    def __init__(self, fit: EMResult, x_show: torch.Tensor, neg_entropy=None, fig=None):
        if not isinstance(fit, EMResult) or not fit.snapshots:
            raise ValueError("fit must be an EMResult with snapshots (keep_snapshots=True)")
        checks.tensor("x_show", x_show, ndim=2, floating=False, shape_hint="(B, D)")
        if not 1 <= x_show.shape[0] <= 12:
            raise ValueError(f"x_show must hold 1 to 12 images, found {x_show.shape[0]}")
        self.fit = fit
        first = fit.snapshots[0]
        C = first.num_components
        self.side = image_side(first.num_pixels, name="theta")
        # everything the slider can show, computed once
        self.images = [mean_images(m).numpy() for m in fit.snapshots]  # T x (C, D)
        self.weights = [m.pi.detach().to("cpu", torch.float64).numpy() for m in fit.snapshots]
        self.resp = [m.posterior(x_show).detach().to("cpu").numpy() for m in fit.snapshots]
        self.fig = fig if fig is not None else Figure(figsize=(8.0, 4.6), layout="constrained")
        grid = self.fig.add_gridspec(2, C, height_ratios=(1, 1.4))
        self.component_axes, self.component_images = [], []
        for c in range(C):
            ax = self.fig.add_subplot(grid[0, c])
            image = ax.imshow(np.zeros((self.side, self.side)), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(" ", fontsize=9)
            self.component_axes.append(ax)
            self.component_images.append(image)
        half = max(1, C // 2)
        self.ax_resp = self.fig.add_subplot(grid[1, :half])
        self.resp_image = self.ax_resp.imshow(
            self.resp[0], cmap="viridis", vmin=0, vmax=1, aspect="auto"
        )
        self.ax_resp.set_xlabel("component c")
        self.ax_resp.set_ylabel("image")
        self.ax_resp.set_title("responsibilities p(c | x)", fontsize=9)
        self.ax_curve = self.fig.add_subplot(grid[1, half:] if C > 1 else grid[1, :])
        steps = np.arange(len(fit.log_likelihood))
        self.ax_curve.plot(steps, fit.log_likelihood, ".-", label="mean log p(x)")
        if neg_entropy is not None:
            self.ax_curve.axhline(neg_entropy, color="black", ls="--", label="$-H(p_{data})$")
        (self.marker,) = self.ax_curve.plot([0], [fit.log_likelihood[0]], "ro", ms=8)
        self.ax_curve.set_xlabel("EM iteration")
        self.ax_curve.set_ylabel("nats per image")
        self.ax_curve.legend(loc="lower right", fontsize=8)
        self.ax_curve.grid(alpha=0.3)
        self.update(0)

    def update(self, t: int) -> dict:
        """Show iteration t; returns its numbers.

        Returns:
            {"iteration": t, "log_likelihood": float, "pi": (C,), "responsibilities": (B, C)}.
        """
        checks.positive_int("t", t, minimum=0)
        if t >= len(self.images):
            raise ValueError(f"t must be < {len(self.images)} (the snapshots kept), found {t}")
        for c, image in enumerate(self.component_images):
            image.set_data(self.images[t][c].reshape(self.side, self.side))
            self.component_axes[c].title.set_text(f"c={c}  pi={self.weights[t][c]:.2f}")
        self.resp_image.set_data(self.resp[t])
        ll = self.fit.log_likelihood[t]
        self.marker.set_data([t], [ll])
        return {
            "iteration": t,
            "log_likelihood": ll,
            "pi": self.weights[t],
            "responsibilities": self.resp[t],
        }

    def moving_artists(self) -> list:
        """What ``update`` changes (for ``FigureView``)."""
        titles = [ax.title for ax in self.component_axes]
        return [*self.component_images, *titles, self.resp_image, self.marker]


def explore_em(
    x: torch.Tensor,
    fit: EMResult | None = None,
    neg_entropy: float | None = None,
    num_components: int = 4,
) -> Explorer:
    """An ipywidgets explorer: a slider over EM's iterations drives ``EMPlot.update``.

    Args:
        x: (B, D) the images whose responsibilities are shown (B <= 12).
        fit: an ``EMResult`` with snapshots; None fits ``num_components`` to x itself
            (20 iterations, seed 0), for a quick look.
        neg_entropy: -H(p_data), drawn under the log-likelihood curve, or None.
    """
    import ipywidgets as widgets

    if fit is None:
        fit = fit_em(x, num_components, iterations=20, keep_snapshots=True,
                     generator=torch.Generator().manual_seed(0))  # fmt: skip
    plot = EMPlot(fit, x, neg_entropy)
    last = len(fit.snapshots) - 1
    slider = widgets.IntSlider(value=0, min=0, max=last, step=1, description="iteration")

    def readout(result: dict) -> str:
        return (
            f"iteration {result['iteration']}: mean log p(x) = {result['log_likelihood']:.4f} nats"
        )

    return Explorer(plot, {"iteration": slider}, lambda v: plot.update(v["iteration"]),
                    readout=readout)  # fmt: skip
