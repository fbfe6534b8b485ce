"""Lecture 08 (importance weighting): K samples of q, their weights, and L_K against log p(x).

For one image x, a Gaussian q(z | x) and a decoder with a 1-D latent:

- left: the exact posterior p(z | x) (green, by quadrature) and q (blue); at each of the K
  samples z_k ~ q a stem whose height is its self-normalized weight
  wt_k = w_k / sum_j w_j,   w_k = p(x, z_k) / q(z_k | x);
- right: the spread of L_K = log (1/K) sum_k w_k over many draws (a histogram), against the
  exact log p(x) and the exact ELBO (= E[L_1]), with this draw's L_K marked.

As K grows the histogram narrows and climbs from the ELBO towards log p(x), never past it on
average. The numbers come from ``importance_numbers`` (plain, tested headless); an update
draws K * (1 + num_draws) samples: milliseconds for K = 1000 with the bar decoders.

    view = ImportanceView(x, encoder, decoder)
    numbers = view.update(K, seed)
    explore_importance_weighting(images, encoder, decoder)   # an Explorer: K, image, draw
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from dgmlab import checks, gaussian
from dgmlab.bounds import log_importance_weights, log_mean_exp
from dgmlab.evidence import exact_elbo, log_joint_on_grid
from dgmlab.quadrature import grid_posterior, simpson_grid
from dgmlab.widgets.explorer import Explorer

__all__ = [
    "ImportanceNumbers",
    "ImportanceView",
    "explore_importance_weighting",
    "importance_numbers",
]

NUM_DRAWS = 300  # draws of L_K behind the histogram, at most
MAX_ROWS = 20_000  # the explorer draws at most this many z per update (K * draws): live
Z_RANGE, NUM_POINTS = (-5.0, 5.0), 1001
BLUE, GREEN, RED = "tab:blue", "tab:green", "tab:red"


class ImportanceNumbers(NamedTuple):
    """One draw of K importance samples for one image, and the spread of L_K over many.

    Attributes:
        z: (K,) the samples z_k ~ q(z | x).
        weights: (K,) their self-normalized weights wt_k (they sum to 1).
        bound: L_K of this draw, log (1/K) sum_k w_k.
        draws: (num_draws,) L_K of independent draws (for the mean and the spread).
        log_p_x: the exact log p(x) (quadrature).
        elbo: the exact ELBO of q (quadrature), E[L_1].
    """

    z: torch.Tensor
    weights: torch.Tensor
    bound: float
    draws: torch.Tensor
    log_p_x: float
    elbo: float


def importance_numbers(
    x: torch.Tensor,
    encoder,
    decoder,
    num_samples: int,
    num_draws: int = NUM_DRAWS,
    seed: int = 0,
    exact: tuple[float, float] | None = None,
) -> ImportanceNumbers:
    """K importance samples for one image x (D,), their weights, and num_draws values of L_K.

        w_k = p(x, z_k) / q(z_k | x),  wt_k = w_k / sum_j w_j,  L_K = log (1/K) sum_k w_k

    The weights are ``bounds.log_importance_weights``'s; the samples z_k are drawn again from
    a generator in the same state, so they are the ones those weights belong to.

    Args:
        x: (D,) one binary image.
        encoder: x (B, D) -> (mu, sigma), each (B, 1).
        decoder: z (..., 1) -> Bernoulli logits (..., D).
        num_samples: K.
        num_draws: independent draws of L_K for the spread (>= 2).
        seed: seeds the one draw shown and, after it, the num_draws others.
        exact: (log p(x), ELBO) if already known (the view caches them per image); else
            computed by quadrature (``evidence.exact_elbo``).
    """
    checks.tensor("x", x, ndim=1, shape_hint="(D,)")
    K = checks.positive_int("num_samples", num_samples)
    R = checks.positive_int("num_draws", num_draws, minimum=2)
    xb = x[None]  # (1, D)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        mu, sigma = encoder(xb)  # (1, 1) each
        z = gaussian._rsample(mu, sigma, K, torch.Generator().manual_seed(seed))[:, 0, 0]  # (K,)
        log_w = log_importance_weights(xb, encoder, decoder, K, generator)[:, 0]  # (K,)
        many = log_importance_weights(xb.expand(R, -1), encoder, decoder, K, generator)  # (K, R)
        if exact is None:
            out = exact_elbo(xb, decoder, mu, sigma)
            exact = (float(out.log_p_x[0]), float(out.elbo[0]))
    return ImportanceNumbers(
        z=z,
        weights=torch.softmax(log_w, dim=0),
        bound=float(log_mean_exp(log_w)),
        draws=log_mean_exp(many, dim=0),
        log_p_x=exact[0],
        elbo=exact[1],
    )


class ImportanceView:
    """Two panels for one image: the samples and their weights, and the spread of L_K."""

    def __init__(self, x: torch.Tensor, encoder, decoder, fig=None):
        self.encoder, self.decoder = encoder, decoder
        if fig is None:
            fig = plt.figure(figsize=(10, 3.6), layout="constrained")
        self.fig = fig
        self.ax_z, self.ax_bound = fig.subplots(1, 2)
        ax = self.ax_z
        (self.posterior_line,) = ax.plot([], [], color=GREEN, ls="--", label="posterior p(z|x)")
        (self.q_line,) = ax.plot([], [], color=BLUE, label="q(z|x)")
        self.weight_ax = ax.twinx()
        self.stems = self.weight_ax.vlines([], [], [], color=RED, lw=1.5, label="weights")
        self.weight_ax.set_ylabel("normalized weight w_k / sum w", color=RED)
        ax.set_xlabel("z")
        ax.set_ylabel("density")
        ax.set_title(" ", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        ax = self.ax_bound
        self.hist = ax.bar(np.zeros(30), np.zeros(30), width=0.1, color=BLUE, alpha=0.5)
        self.log_p_line = ax.axvline(0.0, color=GREEN, lw=2, label="log p(x) (exact)")
        self.elbo_line = ax.axvline(0.0, color=BLUE, ls=":", lw=2, label="ELBO = E[L_1]")
        self.draw_line = ax.axvline(0.0, color=RED, lw=1.5, label="this draw's L_K")
        ax.set_xlabel("L_K (nats)")
        ax.set_ylabel("draws")
        ax.set_title(" ", fontsize="medium")
        ax.legend(loc="upper left", fontsize="small")
        self.set_image(x)

    def set_image(self, x: torch.Tensor) -> None:
        """Show another image x (D,): the posterior, q and the x range of the histogram."""
        checks.tensor("x", x, ndim=1, shape_hint="(D,)")
        self.x = x
        grid = simpson_grid(Z_RANGE, NUM_POINTS, dtype=x.dtype)
        with torch.no_grad():
            log_joint = log_joint_on_grid(x[None], self.decoder, grid)  # (1, G)
            posterior = grid_posterior(log_joint, grid)
            mu, sigma = self.encoder(x[None])
        z = grid.z[:, 0]
        density = (log_joint[0] - posterior.log_normalizer[0]).exp()
        q = gaussian.pdf(z, float(mu[0, 0]), float(sigma[0, 0]))
        self.posterior_line.set_data(z.numpy(), density.numpy())
        self.q_line.set_data(z.numpy(), q.numpy())
        lo = min(
            float(posterior.mean[0]) - 4 * float(posterior.std[0]), float(mu) - 4 * float(sigma)
        )
        hi = max(
            float(posterior.mean[0]) + 4 * float(posterior.std[0]), float(mu) + 4 * float(sigma)
        )
        self.ax_z.set_xlim(max(lo, Z_RANGE[0]), min(hi, Z_RANGE[1]))
        self.ax_z.set_ylim(0, 1.15 * max(float(density.max()), float(q.max())))
        with torch.no_grad():
            out = exact_elbo(x[None], self.decoder, mu, sigma)
        self.exact = (float(out.log_p_x[0]), float(out.elbo[0]))
        self._range = None  # the histogram's x range follows K = 1 for this image

    def update(self, num_samples: int, seed: int = 0) -> ImportanceNumbers:
        """Redraw for K = num_samples, draw number ``seed``; return the numbers."""
        draws = min(NUM_DRAWS, max(20, MAX_ROWS // int(num_samples)))
        out = importance_numbers(
            self.x, self.encoder, self.decoder, num_samples, draws, seed, self.exact
        )
        z, w = out.z.numpy(), out.weights.numpy()
        self.stems.set_segments([[(a, 0.0), (a, b)] for a, b in zip(z, w, strict=True)])
        self.weight_ax.set_ylim(0, 1.05 * max(float(w.max()), 1e-3))
        self.ax_z.title.set_text(
            f"K = {num_samples}: largest weight {w.max():.2f}, effective sample size "
            f"{1.0 / float((out.weights**2).sum()):.1f}"
        )
        if self._range is None:  # wide enough for K = 1's spread, which is the widest
            one = importance_numbers(
                self.x, self.encoder, self.decoder, 1, seed=1, exact=self.exact
            )
            low = float(one.draws.quantile(0.02))
            self._range = (min(low, out.elbo) - 0.2, out.log_p_x + 0.3)
        lo, hi = self._range
        counts, edges = np.histogram(
            out.draws.clamp(lo, hi).numpy(), bins=len(self.hist), range=(lo, hi)
        )
        for rect, c, left in zip(self.hist, counts, edges[:-1], strict=True):
            rect.set_x(left)
            rect.set_width(edges[1] - edges[0])
            rect.set_height(c)
        self.ax_bound.set_xlim(lo, hi)
        self.ax_bound.set_ylim(0, 1.1 * max(int(counts.max()), 1))
        self.log_p_line.set_xdata([out.log_p_x, out.log_p_x])
        self.elbo_line.set_xdata([out.elbo, out.elbo])
        self.draw_line.set_xdata([out.bound, out.bound])
        mean, std = float(out.draws.mean()), float(out.draws.std())
        self.ax_bound.title.set_text(
            f"mean L_K {mean:.3f} (std {std:.3f}) <= log p(x) {out.log_p_x:.3f}"
        )
        return out

    def overlay_artists(self) -> list:
        return [self.ax_z.get_legend(), self.ax_bound.get_legend()]

    def moving_artists(self) -> list:
        return [self.posterior_line, self.q_line, self.stems, *self.hist, self.log_p_line,
                self.elbo_line, self.draw_line,
                *(a for ax in (self.ax_z, self.ax_bound, self.weight_ax)
                  for a in (ax.xaxis, ax.yaxis, ax.title))]  # fmt: skip


def explore_importance_weighting(
    images: torch.Tensor, encoder, decoder, titles: Sequence[str] | None = None
) -> Explorer:
    """A K slider (1 to 1000), a choice of image and a 'draw' counter over an ``ImportanceView``.

    Args:
        images: (N, D) binary images.
        encoder: x (B, D) -> (mu, sigma), each (B, 1).
        decoder: z (..., 1) -> logits (..., D).
        titles: N labels for the image menu.
    """
    import ipywidgets as widgets

    checks.tensor("images", images, ndim=2, shape_hint="(N, D)")
    labels = list(titles) if titles is not None else [f"image {n}" for n in range(len(images))]
    controls = {
        "image": widgets.Dropdown(options=list(zip(labels, range(len(images)), strict=True))),
        "K": widgets.SelectionSlider(options=[1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000],
                                     value=1, description="K"),
        "draw": widgets.IntSlider(value=0, min=0, max=20, description="draw"),
    }  # fmt: skip
    plot = ImportanceView(
        images[0], encoder, decoder, fig=Figure(figsize=(10, 3.6), layout="constrained")
    )
    return Explorer(
        plot,
        controls,
        lambda v: plot.update(v["K"], v["draw"]),
        readout=lambda n: (
            f"L_K = <b>{n.bound:.4f}</b> this draw; mean over {len(n.draws)} draws "
            f"<b>{float(n.draws.mean()):.4f}</b> &le; log p(x) = <b>{n.log_p_x:.4f}</b>; "
            f"ELBO = {n.elbo:.4f}"
        ),
        on_change={"image": lambda n: plot.set_image(images[n])},
    )
