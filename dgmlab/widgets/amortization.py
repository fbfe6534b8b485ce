"""Lecture 07 (amortized inference): an image's posterior, its best Gaussian q*, the encoder's q.

For an image x and a VAE with a 1-D latent, three densities over z, all exact:

    p(z | x)    the posterior, by quadrature (dashed green)
    q*(z)       the best Gaussian for this x alone (``variational.amortization_gaps``, orange)
    q_phi(z|x)  the encoder's Gaussian (blue), and q_phi refined by a few steps of stochastic
                variational inference from where the encoder put it (``refine_gaussian``, red)

and the split of the encoder's gap, log p(x) - ELBO(q_phi) = approximation + amortization.
Everything is computed for all the images when the view is made (batched), so the image menu
and the refinement slider only pick precomputed numbers: they move in milliseconds.

    view = AmortizationView(images, vae)    # figure, image 0 shown
    view.set_image(n); view.update(steps)   # plain functions: redraw, return the numbers
    explore_amortization(images, vae)       # an Explorer: image menu, refinement steps
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from dgmlab import checks, gaussian
from dgmlab.evidence import exact_elbo, posterior_on_grid
from dgmlab.variational import amortization_gaps, refine_gaussian
from dgmlab.widgets.explorer import Explorer

__all__ = ["REFINE_STEPS", "AmortizationView", "GapNumbers", "explore_amortization"]

REFINE_STEPS = (0, 5, 10, 20, 50)  # the slider's stops: SVI steps from the encoder's q
REFINE_LR = 0.02
GAP_STEPS = 60  # amortization_gaps' ascent to q*, from the encoder's q or the posterior's moments
REFINE_SAMPLES = 16  # samples of z per refinement step
COLORS = {"posterior": "tab:green", "best": "tab:orange", "encoder": "tab:blue", "refined": "red"}


class GapNumbers(NamedTuple):
    """One image's exact numbers (floats, nats): log p(x), the three ELBOs and the two gaps."""

    log_p_x: float
    elbo_best: float
    elbo_encoder: float
    elbo_refined: float
    approximation: float
    amortization: float
    steps: int


class AmortizationView:
    """One panel for one image at a time: the posterior, q*, the encoder's q and its refinement.

    Everything is computed for all the images at once when the view is made (one batched
    ascent to q*, one batched refinement per number of steps), so changing the image or the
    steps only redraws.

    Args:
        images: (N, D) binary images.
        vae: a VAE with a 1-D latent (``.encoder`` x -> (mu, sigma), ``.decoder`` z -> logits).
        fig: an empty Figure, or None for a new one.
    """

    def __init__(self, images: torch.Tensor, vae, fig: Figure | None = None):
        checks.tensor("images", images, ndim=2, shape_hint="(N, D)")
        vae = copy.deepcopy(vae).to(torch.float64)  # quadrature in float64
        x = images.to(torch.float64)  # (N, D)
        with torch.no_grad():
            mu, sigma = vae.encoder(x)  # (N, 1) each
            self.z, self.posterior = posterior_on_grid(x, vae.decoder)  # (G,), (N, G)
        self.gaps = amortization_gaps(x, vae.decoder, mu, sigma, steps=GAP_STEPS)
        self.q = {"encoder": (mu, sigma), "best": (self.gaps.mu_best, self.gaps.sigma_best)}
        self.refined = {}  # steps -> (mu (N, 1), sigma (N, 1), exact ELBO (N,))
        for steps in REFINE_STEPS:
            m, s = refine_gaussian(
                x, vae.decoder, mu, sigma, steps, REFINE_LR, REFINE_SAMPLES,
                torch.Generator().manual_seed(0),
            )  # fmt: skip
            with torch.no_grad():
                self.refined[steps] = (m, s, exact_elbo(x, vae.decoder, m, s).elbo)
        if fig is None:
            fig = plt.figure(figsize=(8, 3.6), layout="constrained")
        self.fig = fig
        self.ax = ax = fig.subplots()
        (self.posterior_line,) = ax.plot(
            [], [], "--", color=COLORS["posterior"], label="posterior p(z|x)"
        )
        (self.best_line,) = ax.plot([], [], color=COLORS["best"], label="q* (best Gaussian)")
        (self.encoder_line,) = ax.plot([], [], color=COLORS["encoder"], label="q_phi (encoder)")
        (self.refined_line,) = ax.plot(
            [], [], ":", color=COLORS["refined"], lw=2, label="q_phi refined"
        )
        ax.set_xlabel("z")
        ax.set_ylabel("density")
        ax.set_title(" ", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        self.set_image(0)

    def set_image(self, n: int) -> None:
        """Show image n: its posterior, q* and q_phi, on the z range where they live."""
        self.n = n
        posterior = self.posterior[n]  # (G,)
        centers = [float(m[n, 0]) for m, _ in self.q.values()]
        widths = [float(s[n, 0]) for _, s in self.q.values()]
        mass = self.z[posterior > 1e-3 * float(posterior.max())]
        low = min(float(mass.min()), *(c - 4 * w for c, w in zip(centers, widths, strict=True)))
        high = max(float(mass.max()), *(c + 4 * w for c, w in zip(centers, widths, strict=True)))
        keep = (self.z >= low - 0.2) & (self.z <= high + 0.2)
        self.zp = self.z[keep]
        self.posterior_line.set_data(self.zp.numpy(), posterior[keep].numpy())
        self.top = float(posterior.max())
        for name, line in (("best", self.best_line), ("encoder", self.encoder_line)):
            m, s = self.q[name]
            density = gaussian.pdf(self.zp, float(m[n, 0]), float(s[n, 0]))
            line.set_data(self.zp.numpy(), density.numpy())
            self.top = max(self.top, float(density.max()))
        self.ax.set_xlim(float(self.zp[0]), float(self.zp[-1]))

    def update(self, steps: int) -> GapNumbers:
        """Draw q_phi after ``steps`` refinement steps (one of REFINE_STEPS); the numbers."""
        if steps not in self.refined:
            raise ValueError(f"steps must be one of {REFINE_STEPS}, found {steps!r}")
        n = self.n
        m, s, elbo_refined = self.refined[steps]
        refined = gaussian.pdf(self.zp, float(m[n, 0]), float(s[n, 0]))
        self.refined_line.set_data(self.zp.numpy(), refined.numpy())
        self.ax.set_ylim(0, 1.15 * max(self.top, float(refined.max())))
        g = self.gaps
        numbers = GapNumbers(
            log_p_x=float(g.log_p_x[n]),
            elbo_best=float(g.elbo_best[n]),
            elbo_encoder=float(g.elbo_encoder[n]),
            elbo_refined=float(elbo_refined[n]),
            approximation=float(g.approximation[n]),
            amortization=float(g.amortization[n]),
            steps=steps,
        )
        self.ax.title.set_text(
            f"log p(x) - ELBO(q_phi) = {float(g.total[n]):.3f} = approximation "
            f"{numbers.approximation:.3f} + amortization {numbers.amortization:.3f}"
        )
        return numbers

    def overlay_artists(self) -> list:
        """The legend, over the moving curves. For ``FigureView``'s ``overlay``."""
        return [self.ax.get_legend()]

    def moving_artists(self) -> list:
        """What ``update`` and ``set_image`` change. For ``FigureView``'s ``dynamic``."""
        return [self.posterior_line, self.best_line, self.encoder_line, self.refined_line,
                self.ax.xaxis, self.ax.yaxis, self.ax.title]  # fmt: skip


def explore_amortization(
    images: torch.Tensor, vae, titles: Sequence[str] | None = None
) -> Explorer:
    """An image menu and a refinement slider over an ``AmortizationView``.

    Args:
        images: (N, D) binary images to choose from.
        vae: a VAE with a 1-D latent.
        titles: N labels for the image menu.

    Returns:
        The ``Explorer`` (display it as a cell's last value); its readout gives the exact
        log p(x), the three ELBOs and the two gaps.
    """
    import ipywidgets as widgets

    checks.tensor("images", images, ndim=2, shape_hint="(N, D)")
    labels = list(titles) if titles is not None else [f"image {n}" for n in range(len(images))]
    controls = {
        "image": widgets.Dropdown(options=list(zip(labels, range(len(images)), strict=True))),
        "steps": widgets.SelectionSlider(
            options=list(REFINE_STEPS), value=0, description="SVI steps"
        ),
    }
    plot = AmortizationView(images, vae, fig=Figure(figsize=(8, 3.6), layout="constrained"))
    return Explorer(
        plot,
        controls,
        lambda v: plot.update(v["steps"]),
        readout=lambda n: (
            f"log p(x) = <b>{n.log_p_x:.4f}</b>; ELBO: q* <b>{n.elbo_best:.4f}</b>, "
            f"encoder <b>{n.elbo_encoder:.4f}</b>, refined ({n.steps} steps) "
            f"<b>{n.elbo_refined:.4f}</b>; approximation gap <b>{n.approximation:.4f}</b>, "
            f"amortization gap <b>{n.amortization:.4f}</b> nats"
        ),
        on_change={"image": plot.set_image},
    )
