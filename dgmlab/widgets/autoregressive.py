"""Lecture 10's explorer: one bar image drawn pixel by pixel, in the ordering of your choice.

The same uniforms u (one per pixel) drive every ordering, so switching the ordering shows a
different chain of conditionals, not different luck. After t pixels are drawn, the next pixel
o_{t+1} is on with probability p(x_{o_{t+1}} = 1 | x_{o_1..o_t}), one network pass:

    x_{o_d} = [u_{o_d} >= p(x_{o_d} = 0 | x_{<d})]   (inverse CDF: ``sample_categorical``)

    state = sampling_state(model, u, t)   # plain function: the partial image and the next pixel
    explore_sampling({"raster": made_r, "column": made_c})   # an Explorer: ordering and t
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
from matplotlib.figure import Figure

from dgmlab import checks
from dgmlab.chain_rule import column_order
from dgmlab.models import MADE
from dgmlab.widgets.explorer import Explorer

__all__ = ["SamplingPlot", "SamplingState", "explore_sampling", "sampling_state"]


class SamplingState(NamedTuple):
    """Where sequential sampling stands after ``drawn`` pixels.

    Attributes:
        partial: (D,) float64: the drawn pixels' values, NaN where not drawn yet.
        next_pixel: the index of the pixel drawn next (-1 when all are drawn).
        p_next_on: p(x_next = 1 | pixels drawn so far) (nan when all are drawn).
        conditionals: (D,) p(x_i = x_i | x_<i) of the finished image, pixel by pixel.
        log_p_x: log p(x) of the finished image (the sum of the log conditionals).
    """

    partial: torch.Tensor
    next_pixel: int
    p_next_on: float
    conditionals: torch.Tensor
    log_p_x: float


def sampling_state(model, u: torch.Tensor, drawn: int) -> SamplingState:
    """The image after ``drawn`` pixels of ``model.sample(1, u=u)``, and the next conditional.

    Args:
        model: a binary autoregressive model (``MADE`` or ``PixelCNN`` with K = 2).
        u: (D,) uniforms in [0, 1), one per pixel.
        drawn: t, how many pixels (in the model's ordering) are drawn, 0 <= t <= D.
    """
    D = model.data_dim
    checks.tensor("u", u, ndim=1, last_dim=D, shape_hint=f"({D},)")
    checks.positive_int("drawn", drawn, minimum=0)
    if drawn > D:
        raise ValueError(f"drawn must be <= D = {D}, found {drawn}")
    x = model.sample(1, u=u[None])  # (1, D): the finished image
    with torch.no_grad():
        probs = torch.softmax(model(x).double(), -1)[0]  # (D, K)
    conditionals = probs.gather(-1, x[0, :, None]).squeeze(-1)  # (D,)
    order = model.order.tolist()
    partial = torch.full((D,), float("nan"), dtype=torch.float64)
    partial[order[:drawn]] = x[0, order[:drawn]].double()
    if drawn == D:
        return SamplingState(
            partial, -1, float("nan"), conditionals, float(conditionals.log().sum())
        )
    nxt = order[drawn]
    # the next conditional sees only pixels before it, so the finished image gives it too
    return SamplingState(partial, nxt, float(probs[nxt, 1]), conditionals,
                         float(conditionals.log().sum()))  # fmt: skip


class SamplingPlot:
    """Two panels: the partial image with the next pixel outlined, and each pixel's conditional."""

    def __init__(self, size: int, fig: Figure | None = None):
        self.size = size
        self.fig = fig if fig is not None else Figure(figsize=(6.4, 3.0), layout="constrained")
        self.ax_image, self.ax_cond = self.fig.subplots(1, 2)
        blank = torch.zeros(size, size).numpy()
        self.image = self.ax_image.imshow(blank, cmap="Greys", vmin=-0.25, vmax=1.0)
        (self.marker,) = self.ax_image.plot([], [], "s", ms=22, mfc="none", mec="tab:red", mew=2)
        self.cond = self.ax_cond.imshow(blank, cmap="viridis", vmin=0.0, vmax=1.0)
        self.fig.colorbar(self.cond, ax=self.ax_cond, shrink=0.8)
        self.ax_image.set_title("drawn so far (grey: not yet)", fontsize="medium")
        self.ax_cond.set_title("p(x_i | x_<i) of the finished image", fontsize="medium")
        for ax in (self.ax_image, self.ax_cond):
            ax.set_xticks([])
            ax.set_yticks([])

    def moving_artists(self):
        return [self.image, self.marker, self.cond]

    def update(self, state: SamplingState) -> None:
        shown = torch.nan_to_num(state.partial, nan=-0.25).view(self.size, self.size)
        self.image.set_data(shown.numpy())
        if state.next_pixel >= 0:
            r, c = divmod(state.next_pixel, self.size)
            self.marker.set_data([c], [r])
        else:
            self.marker.set_data([], [])
        self.cond.set_data(state.conditionals.view(self.size, self.size).numpy())


def explore_sampling(
    models: Mapping[str, torch.nn.Module] | None = None, seed: int = 0
) -> Explorer:
    """An ipywidgets explorer: the ordering (a model per ordering) and how many pixels are drawn.

    Args:
        models: name -> a trained binary autoregressive model on square images (same D);
            None: two small untrained MADEs on 4x4 images, raster and column order (a quick look).
        seed: seeds the uniforms u shared by every ordering.
    """
    import ipywidgets as widgets

    if models is None:
        torch.manual_seed(seed)
        models = {"raster": MADE(16, 2, (16,)), "column": MADE(16, 2, (16,), order=column_order(4))}

    first = next(iter(models.values()))
    D = first.data_dim
    size = int(round(D**0.5))
    u = torch.rand(D, generator=torch.Generator().manual_seed(seed))
    plot = SamplingPlot(size)
    controls = {
        "ordering": widgets.Dropdown(options=list(models), description="ordering"),
        "drawn": widgets.IntSlider(value=0, min=0, max=D, step=1, description="pixels drawn"),
    }

    def update(values: dict) -> SamplingState:
        state = sampling_state(models[values["ordering"]], u, values["drawn"])
        plot.update(state)
        return state

    def readout(state: SamplingState) -> str:
        head = f"log p(x) of the finished image = {state.log_p_x:.3f} nats"
        if state.next_pixel < 0:
            return head + "; every pixel drawn"
        r, c = divmod(state.next_pixel, size)
        return (
            head
            + f"; next pixel (row {r}, column {c}) is on with probability {state.p_next_on:.3f}"
        )

    return Explorer(plot, controls, update, readout=readout)
