"""Lecture 11's explorer: a 1-D monotone map reshapes a Gaussian, and the log-det term says how.

z ~ N(0, 1) is pushed through x = f(z) = a + b z + c tanh(z / w) (``dgmlab.models.flow.TanhMap``):

    log p_x(x) = log N(z; 0, 1) - log f'(z),   z = f^{-1}(x).

Three panels: the map f, the density p_x (its area, by quadrature, stays 1 whatever the sliders
say) with the base density for comparison, and the log-det term -log f'(z) against x: where the
map stretches (f' > 1) the density is thinned, where it squeezes it is piled up.

    curves = map_curves(a, b, c, w)      # numbers only (tested headless)
    explore_monotone_map()               # an Explorer: sliders for a, b, c, w
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab import gaussian
from dgmlab.models.flow import TanhMap
from dgmlab.quadrature import simpson_grid
from dgmlab.widgets._view import fill_vertices
from dgmlab.widgets.explorer import Explorer

__all__ = ["MapCurves", "MapPlot", "explore_monotone_map", "map_curves"]

X_RANGE = (-8.0, 8.0)  # where p_x is drawn and integrated
NUM_POINTS = 801


@dataclass(frozen=True)
class MapCurves:
    """The map and its density on grids: z, f(z) (G,); x, p_x(x), -log f'(f^{-1}(x)) (G,)."""

    z: torch.Tensor
    f_z: torch.Tensor
    x: torch.Tensor
    p_x: torch.Tensor
    neg_log_det: torch.Tensor
    area: float  # integral of p_x over X_RANGE, by Simpson's rule


def map_curves(a: float, b: float, c: float, w: float) -> MapCurves:
    """The curves of x = a + b z + c tanh(z / w) and of the density it pushes forward."""
    f = TanhMap(a, b, c, w)
    z = torch.linspace(-3.5, 3.5, 281, dtype=torch.float64)
    grid = simpson_grid(X_RANGE, NUM_POINTS, dtype=torch.float64)
    x = grid.z[:, 0]
    z_of_x = f.inverse(x)
    neg_log_det = -f.log_derivative(z_of_x)
    p_x = (gaussian.log_prob_standard(z_of_x[:, None]) + neg_log_det).exp()
    area = float((grid.log_w.exp() * p_x).sum())
    return MapCurves(z, f(z), x, p_x, neg_log_det, area)


class MapPlot:
    """The map, the density and the log-det term in three panels; ``update`` moves them."""

    def __init__(self, curves: MapCurves, fig: Figure | None = None):
        if fig is None:
            fig = plt.figure(figsize=(11, 3.2), layout="constrained")
        self.fig = fig
        self.ax_map, self.ax_density, self.ax_log_det = fig.subplots(1, 3)
        ax = self.ax_map
        (self.map_line,) = ax.plot(curves.z, curves.f_z, color="tab:blue")
        ax.plot(curves.z, curves.z, color="grey", lw=0.8, ls=":", label="identity")
        ax.set(xlabel="z", ylabel="x = f(z)", title="the map", xlim=(-3.5, 3.5), ylim=X_RANGE)
        ax.legend(loc="upper left", fontsize="small")
        ax = self.ax_density
        base = gaussian.pdf(curves.x, 0.0, 1.0)
        ax.plot(curves.x, base, color="grey", lw=0.8, ls=":", label="N(0, 1)")
        (self.density_line,) = ax.plot(curves.x, curves.p_x, color="tab:green", label="p_x(x)")
        self.density_fill = ax.fill_between(curves.x, curves.p_x, color="tab:green", alpha=0.25)
        self.area_text = ax.text(0.98, 0.95, "", transform=ax.transAxes, ha="right", va="top")
        ax.set(xlabel="x", ylabel="density", title="the density it pushes forward",
               xlim=(-5, 5), ylim=(0, 1.2))  # fmt: skip
        ax.legend(loc="upper left", fontsize="small")
        ax = self.ax_log_det
        ax.axhline(0.0, color="grey", lw=0.8, ls=":")
        (self.log_det_line,) = ax.plot(curves.x, curves.neg_log_det, color="tab:red")
        ax.set(xlabel="x", ylabel="-log f'(z)", title="the log-det term of log p_x(x)",
               xlim=(-5, 5), ylim=(-4, 2))  # fmt: skip
        self.update(curves)

    def moving_artists(self) -> list:
        return [self.map_line, self.density_line, self.density_fill, self.area_text,
                self.log_det_line]  # fmt: skip

    def update(self, curves: MapCurves) -> None:
        self.map_line.set_ydata(curves.f_z.numpy())
        self.density_line.set_ydata(curves.p_x.numpy())
        self.density_fill.set_verts([fill_vertices(curves.x.numpy(), curves.p_x.numpy())])
        self.log_det_line.set_ydata(curves.neg_log_det.numpy())
        self.area_text.set_text(f"area = {curves.area:.4f}")


def explore_monotone_map(a: float = 0.0, b: float = 0.6, c: float = 1.2, w: float = 0.5):
    """Sliders for the map's a, b, c, w; the density and the log-det term follow."""
    import ipywidgets as widgets

    plot = MapPlot(map_curves(a, b, c, w), Figure(figsize=(11, 3.2), layout="constrained"))

    def update(values) -> MapCurves:
        curves = map_curves(values["a"], values["b"], values["c"], values["w"])
        plot.update(curves)
        return curves

    def readout(curves: MapCurves) -> str:
        at_a = curves.neg_log_det[curves.neg_log_det.shape[0] // 2]
        return (
            f"area under p_x: {curves.area:.4f} &nbsp; | &nbsp; -log f'(z) ranges over "
            f"[{float(curves.neg_log_det.min()):.2f}, {float(curves.neg_log_det.max()):.2f}]"
            f" (at x = 0: {float(at_a):.2f})"
        )

    slider = dict(continuous_update=True, readout_format=".2f")
    controls = {
        "a": widgets.FloatSlider(a, min=-2.0, max=2.0, step=0.05, description="shift a", **slider),
        "b": widgets.FloatSlider(b, min=0.1, max=2.0, step=0.05, description="slope b", **slider),
        "c": widgets.FloatSlider(c, min=0.0, max=3.0, step=0.05, description="bump c", **slider),
        "w": widgets.FloatSlider(w, min=0.1, max=2.0, step=0.05, description="width w", **slider),
    }
    return Explorer(plot, controls, update, readout=readout, rows=[["a", "b"], ["c", "w"]])
