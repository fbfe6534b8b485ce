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
    explore_elbo(images, decoder)      # ipywidgets: sliders for mu and sigma
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab import checks
from dgmlab.evidence import ExactElbo, exact_elbo, log_joint_on_grid, simpson_grid

PLOT_RANGE = (-4.0, 4.0)  # the widest z range drawn
NUM_POINTS = 1201  # Simpson grid on [-6, 6]: spacing 0.01, enough for sigma >= 0.05
Z_RANGE = (-6.0, 6.0)
BLUE, GREEN = "tab:blue", "tab:green"


def best_gaussian(
    x: torch.Tensor, decoder, steps: int = 150, lr: float = 0.05
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian q(z | x) with the highest exact ELBO, by gradient ascent on (mu, log sigma).

    Starts from the posterior's mean and standard deviation (on the grid).

    Args:
        x: (B, D) images.
        decoder: z (G, 1) -> logits (G, D).

    Returns:
        mu, sigma: (B, 1) each, detached.
    """
    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    grid = simpson_grid(Z_RANGE, NUM_POINTS, dtype=x.dtype, device=x.device)
    z = grid.z[:, 0]
    with torch.no_grad():
        log_joint = log_joint_on_grid(x, decoder, grid)  # (B, G)
        post_w = torch.softmax(log_joint + grid.log_w, dim=-1)  # posterior mass per node
        mean = (post_w * z).sum(-1, keepdim=True)  # (B, 1)
        std = (post_w * (z - mean) ** 2).sum(-1, keepdim=True).sqrt()
    mu = mean.clone().requires_grad_(True)
    log_sigma = std.log().clone().requires_grad_(True)
    opt = torch.optim.Adam([mu, log_sigma], lr=lr)
    for _ in range(steps):
        loss = -exact_elbo(x, decoder, mu, log_sigma.exp(), NUM_POINTS, Z_RANGE).elbo.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mu.detach(), log_sigma.exp().detach()


class ElboView:
    """Two panels for one image: areas (joint vs exp(ELBO) q) and densities (posterior vs q).

    Args:
        x: (D,) one binary image.
        decoder: z (G, 1) -> logits (G, D), 1-D latent.
        fig: an empty Figure, or None for a new one.
    """

    def __init__(self, x: torch.Tensor, decoder, fig=None):
        checks.tensor("x", x, ndim=1, shape_hint="(D,)")
        self.x = x[None, :].to(torch.float64)  # (1, D)
        self.decoder = decoder
        grid = simpson_grid(Z_RANGE, NUM_POINTS, dtype=torch.float64)
        with torch.no_grad():
            self.log_joint = log_joint_on_grid(self.x, decoder, grid)[0]  # (G,)
            self.log_p_x = torch.logsumexp(self.log_joint + grid.log_w, dim=-1)
        self.z = grid.z[:, 0]  # (G,)
        # show where the posterior lives: its mean +- 5 standard deviations, and some margin
        post_w = torch.softmax(self.log_joint + grid.log_w, dim=-1)
        mean = float((post_w * self.z).sum())
        std = float((post_w * (self.z - mean) ** 2).sum().sqrt())
        low = max(PLOT_RANGE[0], mean - 5 * std - 0.5)
        high = min(PLOT_RANGE[1], mean + 5 * std + 0.5)
        keep = (self.z >= low) & (self.z <= high)
        self.zp = self.z[keep].numpy()
        self._keep = keep
        joint = self.log_joint.exp()[keep].numpy()
        posterior = (self.log_joint - self.log_p_x).exp()[keep].numpy()
        if fig is None:
            fig = plt.figure(figsize=(10, 3.6), layout="constrained")
        self.fig = fig
        self.ax_area, self.ax_density = fig.subplots(1, 2)
        ax = self.ax_area
        ax.fill_between(self.zp, joint, color=GREEN, alpha=0.25)
        ax.plot(self.zp, joint, color=GREEN, label="p(x, z): area p(x)")
        (self.blue_line,) = ax.plot(self.zp, joint * 0, color=BLUE, label="exp(ELBO) q(z|x)")
        self.blue_fill = None
        self.joint_max = float(joint.max())
        ax.set_xlabel("z")
        ax.set_ylabel("unnormalized density")
        ax.legend(loc="upper left", fontsize="small")
        ax = self.ax_density
        ax.plot(self.zp, posterior, color=GREEN, ls="--", label="posterior p(z|x)")
        (self.q_line,) = ax.plot(self.zp, posterior * 0, color=BLUE, label="q(z|x)")
        self.posterior_max = float(posterior.max())
        ax.set_xlabel("z")
        ax.set_ylabel("density")
        ax.legend(loc="upper left", fontsize="small")

    def numbers(self, mu: float, sigma: float) -> ExactElbo:
        """ELBO, log p(x) and KL(q || posterior) for q = N(mu, sigma^2): each a float tensor."""
        m = torch.tensor([[float(mu)]], dtype=torch.float64)
        s = torch.tensor([[float(sigma)]], dtype=torch.float64)
        with torch.no_grad():
            out = exact_elbo(self.x, self.decoder, m, s, NUM_POINTS, Z_RANGE)
        return ExactElbo(*(v[0] for v in out))

    def update(self, mu: float, sigma: float) -> ExactElbo:
        """Redraw both panels for q = N(mu, sigma^2) and return the exact numbers."""
        out = self.numbers(mu, sigma)
        z = torch.as_tensor(self.zp)
        q = torch.exp(-0.5 * ((z - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        blue = (out.elbo.exp() * q).numpy()
        self.blue_line.set_ydata(blue)
        if self.blue_fill is not None:
            self.blue_fill.remove()
        self.blue_fill = self.ax_area.fill_between(self.zp, blue, color=BLUE, alpha=0.3)
        self.ax_area.set_ylim(0, 1.15 * max(self.joint_max, float(blue.max())))
        self.q_line.set_ydata(q.numpy())
        self.ax_density.set_ylim(0, 1.15 * max(self.posterior_max, float(q.max())))
        self.ax_area.set_title(
            f"area under green p(x) = {self.log_p_x.exp():.3g},  "
            f"under blue exp(ELBO) = {out.elbo.exp():.3g}",
            fontsize="medium",
        )
        self.ax_density.set_title(
            f"log p(x) = {out.log_p_x:.3f} = ELBO {out.elbo:.3f} + KL {out.kl:.3f}",
            fontsize="medium",
        )
        return out


def explore_elbo(images: torch.Tensor, decoder, titles: Sequence[str] | None = None):
    """Sliders for q's mu and sigma (and a choice of image) over an ``ElboView``.

    Args:
        images: (N, D) binary images to choose from.
        decoder: z (G, 1) -> logits (G, D).
        titles: N labels for the image menu.

    Returns:
        The ipywidgets box (display it as a cell's last line).
    """
    import ipywidgets as widgets
    from IPython.display import display

    checks.tensor("images", images, ndim=2, shape_hint="(N, D)")
    labels = list(titles) if titles is not None else [f"image {n}" for n in range(len(images))]
    out = widgets.Output()
    state = {}
    image = widgets.Dropdown(options=list(zip(labels, range(len(images)), strict=True)))
    mu = widgets.FloatSlider(value=0.0, min=-2.5, max=2.5, step=0.01, description="mu")
    sigma = widgets.FloatLogSlider(
        value=1.0, base=10, min=-1.2, max=0.4, step=0.01, description="sigma"
    )
    readout = widgets.HTML()

    def redraw(*_):
        view = state["view"]
        numbers = view.update(mu.value, sigma.value)
        readout.value = (
            f"ELBO = <b>{numbers.elbo:.4f}</b> &le; log p(x) = <b>{numbers.log_p_x:.4f}</b>; "
            f"gap = KL(q || posterior) = <b>{numbers.kl:.4f}</b> nats"
        )
        view.fig.canvas.draw_idle()
        with out:
            out.clear_output(wait=True)
            display(view.fig)

    def new_image(*_):
        # a Figure outside pyplot: shown only through the Output widget, never twice
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        state["view"] = ElboView(images[image.value], decoder, fig=fig)
        redraw()

    image.observe(new_image, "value")
    mu.observe(redraw, "value")
    sigma.observe(redraw, "value")
    new_image()
    return widgets.VBox([widgets.HBox([image, mu, sigma]), readout, out])
