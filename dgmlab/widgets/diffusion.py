"""Lecture 13's explorer: the forward process noises two moons into a Gaussian, step by step.

With a linear schedule beta_1 = 1e-4 .. beta_T, the closed form of the forward process,

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   abar_t = prod_{s <= t} (1 - beta_s),

moves fixed points x_0 with fixed noise eps as t slides: the signal shrinks by sqrt(abar_t), the
noise grows to unit variance. Two panels: the cloud x_t against the unit circles of N(0, I),
and abar_t against t with the current step marked. The readout gives the prior term
L_T = KL(q(x_T | x_0) || N(0, I)) averaged over the points: how far the last step is from the
reverse process's starting point.

    state = forward_state(x0, eps, t, T, beta_T)   # numbers only (tested headless)
    explore_forward_process()                      # an Explorer: sliders for t and beta_T
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab import diffusion, gaussian
from dgmlab.widgets.explorer import Explorer

__all__ = ["ForwardPlot", "ForwardState", "explore_forward_process", "forward_state"]


@dataclass(frozen=True)
class ForwardState:
    """x_t (N, 2); abar (T,) over the schedule; abar_t; mean L_T over the points (nats)."""

    xt: torch.Tensor
    abar: torch.Tensor
    t: int
    abar_t: float
    prior_kl: float


def forward_state(x0: torch.Tensor, eps: torch.Tensor, t: int, T: int, beta_T: float):
    """x_t of every point at step t (t = 0: the data), and the schedule's abar and L_T."""
    betas = diffusion.linear_schedule(T, 1e-4, beta_T, dtype=x0.dtype)
    abar = diffusion.alpha_bars(betas)
    if t == 0:
        xt, abar_t = x0, 1.0
    else:
        steps = torch.full((x0.shape[0],), t, dtype=torch.long)
        xt, _ = diffusion.forward_sample(x0, steps, betas, eps=eps)
        abar_t = float(abar[t - 1])
    a_T = abar[-1]
    prior = gaussian.kl_standard(a_T.sqrt() * x0, (1 - a_T).sqrt().expand_as(x0))
    return ForwardState(xt, abar, t, abar_t, float(prior.mean()))


class ForwardPlot:
    """The cloud x_t and the curve abar_t; ``update`` moves them."""

    def __init__(self, state: ForwardState, fig: Figure | None = None):
        if fig is None:
            fig = plt.figure(figsize=(10, 3.6), layout="constrained")
        self.fig = fig
        self.ax_cloud, self.ax_abar = fig.subplots(1, 2)
        ax = self.ax_cloud
        angle = torch.linspace(0, 2 * math.pi, 200)
        for r in (1, 2):
            ax.plot(r * angle.cos(), r * angle.sin(), color="grey", lw=0.8, ls=":")
        (self.cloud,) = ax.plot(*state.xt.T, ".", ms=2, color="tab:blue")  # markers: cheap
        ax.set(xlabel="x_t[0]", ylabel="x_t[1]", xlim=(-3.2, 3.2), ylim=(-3.2, 3.2),
               aspect="equal", title="x_t (dotted: 1 and 2 sd of N(0, I))")  # fmt: skip
        ax = self.ax_abar
        steps = torch.arange(1, state.abar.shape[0] + 1)
        (self.abar_line,) = ax.plot(steps, state.abar, color="tab:green", label="abar_t")
        (self.noise_line,) = ax.plot(steps, 1 - state.abar, color="tab:red",
                                     label="1 - abar_t (noise variance)")  # fmt: skip
        self.marker = ax.axvline(max(state.t, 1), color="black", lw=1)
        ax.set(xlabel="t", ylim=(0, 1.02), title="the schedule")
        ax.legend(loc="center right", fontsize="small")
        self.update(state)

    def moving_artists(self) -> list:
        return [self.cloud, self.abar_line, self.noise_line, self.marker]

    def update(self, state: ForwardState) -> None:
        self.cloud.set_data(state.xt[:, 0].numpy(), state.xt[:, 1].numpy())
        steps = torch.arange(1, state.abar.shape[0] + 1).numpy()
        self.abar_line.set_data(steps, state.abar.numpy())
        self.noise_line.set_data(steps, (1 - state.abar).numpy())
        self.marker.set_xdata([state.t, state.t])
        if self.ax_abar.get_xlim() != (0, state.abar.shape[0]):  # only a new T moves the axis:
            self.ax_abar.set_xlim(0, state.abar.shape[0])  # setting it anew redraws the figure


def explore_forward_process(
    x0: torch.Tensor | None = None, T: int = 100, beta_T: float = 0.1, seed: int = 0
):
    """Sliders for the step t and the last variance beta_T; the cloud x_t follows.

    x0: (N, 2) points to noise (default: 500 points of two moons, noise 0.1, random_state 0).
    """
    import ipywidgets as widgets

    if x0 is None:
        from sklearn.datasets import make_moons

        x0 = torch.tensor(make_moons(500, noise=0.1, random_state=0)[0])
    x0 = x0.double()
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed), dtype=x0.dtype)
    plot = ForwardPlot(forward_state(x0, eps, 0, T, beta_T),
                       Figure(figsize=(10, 3.6), layout="constrained"))  # fmt: skip

    def update(values) -> ForwardState:
        state = forward_state(x0, eps, values["t"], T, values["beta_T"])
        plot.update(state)
        return state

    def readout(state: ForwardState) -> str:
        return (
            f"t = {state.t}: sqrt(abar_t) = {math.sqrt(state.abar_t):.3f}, noise sd "
            f"{math.sqrt(1 - state.abar_t):.3f} &nbsp; | &nbsp; prior term L_T = "
            f"{state.prior_kl:.4f} nats per point"
        )

    controls = {
        "t": widgets.IntSlider(0, min=0, max=T, step=1, description="step t",
                               continuous_update=True),
        "beta_T": widgets.FloatSlider(beta_T, min=0.005, max=0.3, step=0.005,
                                      description="beta_T", readout_format=".3f",
                                      continuous_update=True),
    }  # fmt: skip
    return Explorer(plot, controls, update, readout=readout, rows=[["t", "beta_T"]])
