"""Lecture 02's explorer: prior, likelihood, joint and posterior of one image as curves in z.

For an image x and a decoder with a 1-D latent, four functions of z tell the whole story:

    prior       p(z) = N(z; 0, 1)                       area 1
    likelihood  p(x | z)                                not a density in z: no fixed area
    joint       p(x, z) = p(x | z) p(z)                 area p(x), the evidence
    posterior   p(z | x) = p(x, z) / p(x)               area 1 again

``evidence_curves`` computes them (numbers only), ``EvidencePlot`` draws them in four panels
with each area written on its panel (``draw_evidence_curves`` returns its Figure) and swaps new
curves into the same artists (``update``), which is what a slider needs;
``explore_evidence_curves`` puts the controls on it (an ``Explorer``).

The decoder can be *warped*: the explorer evaluates ``decoder(scale * z + shift)``, which moves
and stretches where each bar sits under the prior without retraining anything.

The explorer uses a coarser grid than ``dgmlab.evidence`` (``WIDGET_NUM_POINTS`` on
``WIDGET_Z_RANGE``) so an update takes milliseconds; for the smooth decoders of the lecture its
log p(x) agrees with the default 2001-point grid to 2e-3 nats
(tests/test_widgets_evidence_curve.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab import checks, evidence
from dgmlab.densities import log_standard_normal
from dgmlab.models import GenerativeNetwork, sample
from dgmlab.widgets._view import fill_vertices
from dgmlab.widgets.explorer import Explorer

WIDGET_NUM_POINTS = 601
WIDGET_Z_RANGE = (-6.0, 6.0)

_COLOURS = {"prior": "tab:blue", "likelihood": "tab:orange", "joint": "tab:green",
            "posterior": "tab:purple"}  # fmt: skip


def nearest_column(x: torch.Tensor, size: int = 4) -> torch.Tensor:
    """(B, D) images -> (B,) the column each image is closest to (most pixels on in it)."""
    checks.tensor("x", x, ndim=2, last_dim=size * size, shape_hint=f"(B, {size * size})")
    return x.view(-1, size, size).sum(1).argmax(-1)  # (B,)


def column_frequencies(x: torch.Tensor, size: int = 4) -> torch.Tensor:
    """(B, D) images -> (size,) the fraction of images closest to each column."""
    counts = torch.bincount(nearest_column(x, size), minlength=size)
    return counts.to(torch.float64) / x.shape[0]


def prior_mass_per_column(
    decoder: GenerativeNetwork, size: int = 4, num_points: int = evidence.DEFAULT_NUM_POINTS
) -> torch.Tensor:
    """How much prior mass the decoder gives to each bar, by quadrature.

        mass_c = integral p(z) [ c = argmax_k mean logit of column k at z ] dz

    Returns:
        (size,) float64, summing to 1 (up to the prior's tails outside the grid).
    """
    grid = evidence.simpson_grid(num_points=num_points, dtype=torch.float64)
    with torch.no_grad():
        logits = decoder(grid.z.to(next(decoder.parameters()).dtype)).double()  # (G, D)
    winner = logits.view(-1, size, size).mean(1).argmax(-1)  # (G,)
    weight = torch.exp(grid.log_w + log_standard_normal(grid.z))  # (G,) w_g p(z_g)
    return torch.zeros(size, dtype=torch.float64).index_add_(0, winner, weight)


def sample_images(
    decoder: GenerativeNetwork, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Ancestral samples z ~ N(0, 1), x_d ~ Bernoulli(sigmoid(decoder(z)_d)). Returns (n, D).

    ``dgmlab.models.sample`` under the name lecture 02 uses (``n`` for ``num_samples``)."""
    checks.positive_int("n", n)
    return sample(decoder, n, generator, latent_dim=1)


class Warped(torch.nn.Module):
    """decoder(scale * z + shift): the same decoder with its latent axis moved and stretched."""

    def __init__(self, decoder: torch.nn.Module, scale: float = 1.0, shift: float = 0.0):
        super().__init__()
        self.decoder, self.scale, self.shift = decoder, float(scale), float(shift)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.scale * z + self.shift)


@dataclass(frozen=True)
class EvidenceCurves:
    """The four curves of one image on a grid, each (G,), and their areas under the grid weights."""

    z: torch.Tensor
    prior: torch.Tensor
    likelihood: torch.Tensor
    joint: torch.Tensor
    posterior: torch.Tensor
    prior_area: float
    evidence: float  # the joint's area, p(x)
    log_evidence: float
    posterior_area: float


def evidence_curves(
    x: torch.Tensor,
    decoder: torch.nn.Module,
    scale: float = 1.0,
    shift: float = 0.0,
    grid: evidence.Grid | None = None,
) -> EvidenceCurves:
    """Prior, likelihood, joint and posterior of one image x (D,) under decoder(scale z + shift).

        log p(x, z_g) = log p(x | z_g) + log p(z_g)        (dgmlab.evidence.log_joint_on_grid)
        p(x) = sum_g w_g p(x, z_g),    p(z_g | x) = p(x, z_g) / p(x)

    Args:
        x: (D,) one binary image.
        decoder: z (G, 1) -> logits (G, D).
        scale, shift: the latent warp (scale != 0).
        grid: quadrature grid; default ``WIDGET_NUM_POINTS`` Simpson points on ``WIDGET_Z_RANGE``.
    """
    checks.tensor("x", x, ndim=1, shape_hint="(D,)")
    if not (math.isfinite(scale) and scale != 0 and math.isfinite(shift)):
        raise ValueError(
            f"scale must be finite and non-zero and shift finite, found {scale}, {shift}"
        )
    if grid is None:
        grid = evidence.simpson_grid(WIDGET_Z_RANGE, WIDGET_NUM_POINTS, dtype=x.dtype)
    warped = Warped(decoder, scale, shift)
    with torch.no_grad():
        log_joint = evidence.log_joint_on_grid(x[None], warped, grid)[0]  # (G,)
        log_prior = log_standard_normal(grid.z).to(x.dtype)  # (G,)
        log_p_x = torch.logsumexp(log_joint + grid.log_w, dim=0)  # ()
        joint = log_joint.exp()
        posterior = (log_joint - log_p_x).exp()
        w = grid.log_w.exp()
        prior = log_prior.exp()
    return EvidenceCurves(
        z=grid.z[:, 0],
        prior=prior,
        likelihood=(log_joint - log_prior).exp(),
        joint=joint,
        posterior=posterior,
        prior_area=float((w * prior).sum()),
        evidence=float(log_p_x.exp()),
        log_evidence=float(log_p_x),
        posterior_area=float((w * posterior).sum()),
    )


_PANELS = ("prior", "likelihood", "joint", "posterior")
_LABELS = {
    "prior": ("prior p(z)", "p(z)"),
    "likelihood": ("likelihood p(x | z)", "p(x | z)"),
    "joint": ("joint p(x, z), x observed", "p(x, z)"),
    "posterior": ("posterior p(z | x) = p(x, z) / p(x)", "p(z | x)"),
}


def _area_text(curves: EvidenceCurves, panel: str) -> str:
    if panel == "prior":
        return f"area = {curves.prior_area:.4f}"
    if panel == "likelihood":
        return f"max = {float(curves.likelihood.max()):.3g}\n(not a density in z)"
    if panel == "joint":
        return f"area = p(x) = {curves.evidence:.3g}\nlog p(x) = {curves.log_evidence:.3f}"
    return f"area = {curves.posterior_area:.4f}"


class EvidencePlot:
    """Four panels (prior, likelihood, joint, posterior) with each area written on its panel.

    Args:
        curves: from ``evidence_curves``.
        image: (D,) the observed image, drawn in a small fifth panel on the left (optional).
        fig: an empty Figure to draw into; a new one if None.

    The artists are made once: ``lines``, ``fills`` (no fill under the likelihood), ``texts``
    and ``axes``, each by panel name, and ``image``; ``update`` swaps new curves into them.
    """

    def __init__(
        self, curves: EvidenceCurves, image: torch.Tensor | None = None, fig: Figure | None = None
    ):
        if fig is None:
            fig = plt.figure(figsize=(13, 2.9), layout="constrained")
        self.fig = fig
        ratios = ([0.55] if image is not None else []) + [1.0] * 4
        axes = fig.subplots(1, len(ratios), width_ratios=ratios)
        self.image = None
        if image is not None:
            side = math.isqrt(image.numel())
            self.image = axes[0].imshow(
                image.detach().cpu().view(side, side).numpy(), cmap="gray", vmin=0, vmax=1
            )
            axes[0].set_xticks([])
            axes[0].set_yticks([])
            axes[0].set_title("observed x", fontsize="small")
            axes = axes[1:]
        self.axes = dict(zip(_PANELS, axes, strict=True))
        self.lines, self.fills, self.texts = {}, {}, {}
        z = curves.z.cpu().numpy()
        for panel, ax in self.axes.items():
            values = getattr(curves, panel).cpu().numpy()
            (self.lines[panel],) = ax.plot(z, values, color=_COLOURS[panel], lw=2)
            if panel != "likelihood":
                self.fills[panel] = ax.fill_between(z, values, color=_COLOURS[panel], alpha=0.2)
            title, ylabel = _LABELS[panel]
            ax.set_title(title, fontsize="medium")
            ax.set_xlabel("z")
            ax.set_ylabel(ylabel)
            ax.set_xlim(float(z[0]), float(z[-1]))
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
            self.texts[panel] = ax.text(
                0.03, 0.96, _area_text(curves, panel), transform=ax.transAxes, va="top",
                fontsize="small", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0},
            )  # fmt: skip
        self._rescale(curves)

    def update(self, curves: EvidenceCurves, image: torch.Tensor | None = None) -> EvidenceCurves:
        """Put new curves (and optionally a new image) into the same artists."""
        z = curves.z.cpu().numpy()
        for panel in _PANELS:
            values = getattr(curves, panel).cpu().numpy()
            self.lines[panel].set_data(z, values)
            self.texts[panel].set_text(_area_text(curves, panel))
            if panel in self.fills:
                self.fills[panel].set_verts([fill_vertices(z, values)])  # the same artist
        if image is not None and self.image is not None:
            side = math.isqrt(image.numel())
            self.image.set_data(image.detach().cpu().view(side, side).numpy())
        self._rescale(curves)
        return curves

    def _rescale(self, curves: EvidenceCurves) -> None:
        for panel, ax in self.axes.items():
            top = float(getattr(curves, panel).max())
            ax.set_ylim(0.0, 1.25 * top if top > 0 else 1.0)

    def moving_artists(self) -> list:
        """What ``update`` changes (the x axes stay: the grid's z range does not change)."""
        return [*([self.image] if self.image is not None else []), *self.fills.values(),
                *(a for panel in _PANELS for a in (self.lines[panel], self.texts[panel])),
                *(ax.yaxis for ax in self.axes.values())]  # fmt: skip


def draw_evidence_curves(
    curves: EvidenceCurves, image: torch.Tensor | None = None, fig: Figure | None = None
) -> Figure:
    """An ``EvidencePlot`` of ``curves`` (and ``image``); returns its Figure."""
    return EvidencePlot(curves, image, fig).fig


def explore_evidence_curves(x: torch.Tensor, decoder: torch.nn.Module) -> Explorer:
    """An ipywidgets explorer: pick an image and warp the decoder's latent; see the four curves.

    Args:
        x: (B, D) example images to choose from.
        decoder: z (G, 1) -> logits (G, D).

    Returns:
        The ``Explorer`` over an ``EvidencePlot`` (display it as a cell's last value).
    """
    import ipywidgets as widgets

    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    controls = {
        "image": widgets.Dropdown(
            options=[(f"image {b}", b) for b in range(x.shape[0])], value=0, description="x"
        ),
        "scale": widgets.FloatSlider(value=1.0, min=0.25, max=3.0, step=0.05, description="scale"),
        "shift": widgets.FloatSlider(value=0.0, min=-2.0, max=2.0, step=0.05, description="shift"),
    }
    plot = EvidencePlot(evidence_curves(x[0], decoder), image=x[0],
                        fig=Figure(figsize=(13, 2.9), layout="constrained"))  # fmt: skip
    for ax in plot.axes.values():  # the layout is kept: leave room above for a "1e-3"
        ax.set_title(ax.get_title(), fontsize="medium", pad=17)

    def update(v: dict) -> EvidenceCurves:
        curves = evidence_curves(x[v["image"]], decoder, v["scale"], v["shift"])
        return plot.update(curves, image=x[v["image"]])

    return Explorer(plot, controls, update)
