"""Lecture 04 (the ELBO): the encoder's blue curve under the joint's green curve, exactly.

For one image x and a decoder with a 1-D latent, the green curve is the joint
p(x, z) (its area is the evidence p(x)) and the blue curve is exp(ELBO) q(z | x)
(its area is exp(ELBO)). Moving q's mu and sigma inflates or deflates the blue
area; it can touch the green one only where q equals the posterior, because

    log p(x) = ELBO(q) + KL( q(z | x) || p(z | x) ).

Every number comes from ``dgmlab.evidence.exact_elbo`` (quadrature, no sampling),
so an update costs one small decoder call on the grid: a few milliseconds.

    view = ElboView(x, decoder)        # figure with both panels
    numbers = view.update(mu, sigma)   # plain function: redraws, returns the numbers
    explore_elbo(images, decoder)      # an Explorer: sliders for mu and sigma
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab import checks, gaussian
from dgmlab.evidence import ExactElbo, exact_elbo, log_joint_on_grid
from dgmlab.quadrature import grid_posterior, simpson_grid
from dgmlab.variational import best_gaussian
from dgmlab.widgets._view import fill_vertices
from dgmlab.widgets.explorer import Explorer

__all__ = ["ElboView", "best_gaussian", "explore_elbo"]

PLOT_RANGE = (-4.0, 4.0)  # the widest z range drawn
NUM_POINTS = 1201  # the curves' grid on [-6, 6]: spacing 0.01
Z_RANGE = (-6.0, 6.0)
BLUE, GREEN = "tab:blue", "tab:green"


class ElboView:
    """Two panels for one image: areas (joint vs exp(ELBO) q) and densities (posterior vs q).

    Args:
        x: (D,) one binary image.
        decoder: z (G, 1) -> logits (G, D), 1-D latent.
        fig: an empty Figure, or None for a new one.

    ``set_image(x)`` moves the same artists to another image (the explorer's image menu).
    """

    def __init__(self, x: torch.Tensor, decoder, fig=None):
        self.decoder = decoder
        if fig is None:
            fig = plt.figure(figsize=(10, 3.6), layout="constrained")
        self.fig = fig
        self.ax_area, self.ax_density = fig.subplots(1, 2)
        ax = self.ax_area
        self.green_fill = ax.fill_between([0.0, 1.0], [0.0, 0.0], color=GREEN, alpha=0.25)
        (self.green_line,) = ax.plot([], [], color=GREEN, label="p(x, z): area p(x)")
        (self.blue_line,) = ax.plot([], [], color=BLUE, label="exp(ELBO) q(z|x)")
        self.blue_fill = ax.fill_between([0.0, 1.0], [0.0, 0.0], color=BLUE, alpha=0.3)
        ax.set_xlabel("z")
        ax.set_ylabel("unnormalized density")
        ax.set_title(" ", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        ax = self.ax_density
        (self.posterior_line,) = ax.plot([], [], color=GREEN, ls="--", label="posterior p(z|x)")
        (self.q_line,) = ax.plot([], [], color=BLUE, label="q(z|x)")
        ax.set_xlabel("z")
        ax.set_ylabel("density")
        ax.set_title(" ", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        self.set_image(x)

    def set_image(self, x: torch.Tensor) -> None:
        """Show another image x (D,): the joint, the posterior and the z range drawn."""
        checks.tensor("x", x, ndim=1, shape_hint="(D,)")
        self.x = x[None, :].to(torch.float64)  # (1, D)
        grid = simpson_grid(Z_RANGE, NUM_POINTS, dtype=torch.float64)
        with torch.no_grad():
            log_joint = log_joint_on_grid(self.x, self.decoder, grid)  # (1, G)
            posterior = grid_posterior(log_joint, grid)
        self.log_joint, self.log_p_x = log_joint[0], posterior.log_normalizer[0]  # (G,), ()
        self.z = grid.z[:, 0]  # (G,)
        # show where the posterior lives: its mean +- 5 standard deviations, and some margin
        mean, std = float(posterior.mean[0]), float(posterior.std[0])
        low = max(PLOT_RANGE[0], mean - 5 * std - 0.5)
        high = min(PLOT_RANGE[1], mean + 5 * std + 0.5)
        keep = (self.z >= low) & (self.z <= high)
        self.zp = self.z[keep].numpy()
        self._keep = keep
        joint = self.log_joint.exp()[keep].numpy()
        posterior = (self.log_joint - self.log_p_x).exp()[keep].numpy()
        self.joint_max = float(joint.max())
        self.posterior_max = float(posterior.max())
        self.green_line.set_data(self.zp, joint)
        self.green_fill.set_verts([fill_vertices(self.zp, joint)])
        self.posterior_line.set_data(self.zp, posterior)
        margin = 0.05 * float(self.zp[-1] - self.zp[0])  # matplotlib's default x margin
        for ax in (self.ax_area, self.ax_density):
            ax.set_xlim(float(self.zp[0]) - margin, float(self.zp[-1]) + margin)
        self.ax_area.set_ylim(0, 1.15 * self.joint_max)  # until update draws q
        self.ax_density.set_ylim(0, 1.15 * self.posterior_max)

    def numbers(self, mu: float, sigma: float) -> ExactElbo:
        """ELBO, log p(x) and KL(q || posterior) for q = N(mu, sigma^2): each a float tensor."""
        m = torch.tensor([[float(mu)]], dtype=torch.float64)
        s = torch.tensor([[float(sigma)]], dtype=torch.float64)
        with torch.no_grad():  # exact_elbo picks a grid that resolves q wherever it is
            out = exact_elbo(self.x, self.decoder, m, s)
        return ExactElbo(*(v[0] for v in out))

    def update(self, mu: float, sigma: float) -> ExactElbo:
        """Redraw both panels for q = N(mu, sigma^2) and return the exact numbers."""
        out = self.numbers(mu, sigma)
        z = torch.as_tensor(self.zp)
        q = gaussian.pdf(z, mu, sigma)  # (G,) N(z; mu, sigma^2)
        blue = (out.elbo.exp() * q).numpy()
        self.blue_line.set_data(self.zp, blue)
        self.blue_fill.set_verts([fill_vertices(self.zp, blue)])
        self.ax_area.set_ylim(0, 1.15 * max(self.joint_max, float(blue.max())))
        self.q_line.set_data(self.zp, q.numpy())
        self.ax_density.set_ylim(0, 1.15 * max(self.posterior_max, float(q.max())))
        self.ax_area.title.set_text(
            f"area under green p(x) = {self.log_p_x.exp():.3g},  "
            f"under blue exp(ELBO) = {out.elbo.exp():.3g}"
        )
        self.ax_density.title.set_text(
            f"log p(x) = {out.log_p_x:.3f} = ELBO {out.elbo:.3f} + KL {out.kl:.3f}"
        )
        return out

    def overlay_artists(self) -> list:
        """The legends, over the moving curves. For ``FigureView``'s ``overlay``."""
        return [self.ax_area.get_legend(), self.ax_density.get_legend()]

    def moving_artists(self) -> list:
        """What ``update`` and ``set_image`` change: the curves, the fills, the titles and the
        axes (the y limits follow q, the x limits the image). For ``FigureView``'s ``dynamic``."""
        return [self.green_fill, self.green_line, self.blue_fill, self.blue_line,
                self.posterior_line, self.q_line,
                *(a for ax in (self.ax_area, self.ax_density)
                  for a in (ax.xaxis, ax.yaxis, ax.title))]  # fmt: skip


def explore_elbo(images: torch.Tensor, decoder, titles: Sequence[str] | None = None) -> Explorer:
    """Sliders for q's mu and sigma (and a choice of image) over an ``ElboView``.

    Args:
        images: (N, D) binary images to choose from.
        decoder: z (G, 1) -> logits (G, D).
        titles: N labels for the image menu.

    Returns:
        The ``Explorer`` (display it as a cell's last value); its readout gives the exact
        ELBO, log p(x) and KL of the sliders' q.
    """
    import ipywidgets as widgets

    checks.tensor("images", images, ndim=2, shape_hint="(N, D)")
    labels = list(titles) if titles is not None else [f"image {n}" for n in range(len(images))]
    controls = {
        "image": widgets.Dropdown(options=list(zip(labels, range(len(images)), strict=True))),
        "mu": widgets.FloatSlider(value=0.0, min=-2.5, max=2.5, step=0.01, description="mu"),
        "sigma": widgets.FloatLogSlider(
            value=1.0, base=10, min=-1.2, max=0.4, step=0.01, description="sigma"
        ),
    }
    plot = ElboView(images[0], decoder, fig=Figure(figsize=(10, 3.6), layout="constrained"))
    return Explorer(
        plot,
        controls,
        lambda v: plot.update(v["mu"], v["sigma"]),
        readout=lambda numbers: (
            f"ELBO = <b>{numbers.elbo:.4f}</b> &le; log p(x) = <b>{numbers.log_p_x:.4f}</b>; "
            f"gap = KL(q || posterior) = <b>{numbers.kl:.4f}</b> nats"
        ),
        on_change={"image": lambda n: plot.set_image(images[n])},
    )
