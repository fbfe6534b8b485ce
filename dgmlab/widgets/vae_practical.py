"""Lecture 06 (the VAE practical): training curves, the learned latent space, an explorer.

After minibatch stochastic gradient ascent on the ELBO the lecture asks two questions
of a trained VAE, and these figures answer them:

- did training work? ``plot_training_curves`` draws the ELBO and log p(x) tracked
  during training against the ceiling -H(p_data) that no model can pass;
- what did the latent space learn? ``plot_encoder_means`` (1-D: where the encoder puts
  each bar column), ``plot_latent_map`` (2-D: encoder means coloured by label) and
  ``latent_mosaic`` (the decoder's images over a grid of the latent plane).

``LatentExplorer.update(z)`` is the plain function behind the slider explorer: it
decodes one latent point and updates one image and one marker (about a millisecond);
``explore_latent`` puts one slider per latent coordinate on it (an ``Explorer``).

    view = LatentExplorer(decoder, size=8, mu=mu, labels=y)   # figure
    probs = view.update([0.5, -1.0])                          # plain function
    explore_latent(decoder, size=8, mu=mu, labels=y)          # ipywidgets sliders
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dgmlab import checks
from dgmlab.plots import image_side
from dgmlab.widgets.explorer import Explorer

Z_LIMIT = 3.0  # latent values drawn: [-Z_LIMIT, Z_LIMIT], where the N(0, I) prior lives


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, found {type(ax).__name__}")
    return ax


def plot_training_curves(
    eval_step: Sequence[int],
    metrics: Mapping[str, Sequence[float]],
    neg_entropy: float | None = None,
    ax: Axes | None = None,
    title: str = "Training: bounds on the mean log-likelihood",
) -> Axes:
    """Draw each tracked metric (nats per image) against the optimizer step.

        ELBO(x) <= log p(x),   E_{p_data}[log p(x)] <= -H(p_data)

    Args:
        eval_step: (T,) the step after which each evaluation ran (``History.eval_step``).
        metrics: name -> (T,) values (``History.metrics``), e.g. {"ELBO": ..., "log p(x)": ...}.
        neg_entropy: -H(p_data), drawn as a dashed horizontal line, or None.
        ax: the Axes to draw into; a new figure if None.
        title: the Axes title.

    Returns:
        The Axes.
    """
    steps = list(eval_step)
    if not metrics:
        raise ValueError("metrics must hold at least one curve, found none")
    for name, values in metrics.items():
        if len(values) != len(steps):
            raise ValueError(
                f"metrics[{name!r}] must have one value per eval_step ({len(steps)}), "
                f"found {len(values)}"
            )
    ax = _new_axes(ax, (6.0, 3.6))
    for name, values in metrics.items():
        ax.plot(steps, list(values), marker=".", label=name)
    if neg_entropy is not None:
        ax.axhline(neg_entropy, color="black", linestyle="--", label="$-H(p_{data})$ (ceiling)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("nats per image")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax


def plot_encoder_means(
    mu: torch.Tensor,
    column: torch.Tensor,
    ax: Axes | None = None,
    seed: int = 0,
) -> Axes:
    """A strip plot of the encoder's mean mu(x) for images of each bar column (1-D latent).

    Args:
        mu: (B, 1) or (B,) encoder means.
        column: (B,) int, the column each image was drawn from.
        ax: the Axes to draw into; a new figure if None.
        seed: seeds the vertical jitter that keeps points apart.

    Returns:
        The Axes.
    """
    checks.tensor("mu", mu, ndim=(1, 2), shape_hint="(B, 1) or (B,)")
    checks.tensor("column", column, ndim=1, floating=False, shape_hint="(B,)")
    if mu.dim() == 2 and mu.shape[1] != 1:
        raise ValueError(f"mu must have one latent dimension, found shape {tuple(mu.shape)}")
    m = mu.detach().reshape(-1).to("cpu", torch.float64).numpy()
    c = column.detach().to("cpu").numpy()
    if m.shape[0] != c.shape[0]:
        raise ValueError(
            f"mu and column must have one entry per image, found {len(m)} and {len(c)}"
        )
    ax = _new_axes(ax, (6.0, 2.6))
    jitter = np.random.default_rng(seed).uniform(-0.25, 0.25, size=len(c))
    for k in np.unique(c):
        keep = c == k
        ax.scatter(m[keep], k + jitter[keep], s=8, alpha=0.6, label=f"column {k}")
    ax.set_yticks(np.unique(c))
    ax.set_xlabel(r"encoder mean $\mu(x)$")
    ax.set_ylabel("bar column of x")
    ax.set_title("Where the encoder puts each column")
    ax.grid(alpha=0.3, axis="x")
    return ax


def plot_latent_map(
    mu: torch.Tensor,
    labels: torch.Tensor,
    ax: Axes | None = None,
    title: str = "Encoder means of test images",
) -> Axes:
    """Scatter the encoder's 2-D means, one colour per label (e.g. the digit).

    Args:
        mu: (B, 2) encoder means.
        labels: (B,) int labels.
        ax: the Axes to draw into; a new figure if None.
        title: the Axes title.

    Returns:
        The Axes.
    """
    checks.tensor("mu", mu, ndim=2, last_dim=2, shape_hint="(B, 2)")
    checks.tensor("labels", labels, ndim=1, floating=False, shape_hint="(B,)")
    if mu.shape[0] != labels.shape[0]:
        raise ValueError(
            f"mu and labels must have one row per image, found {mu.shape[0]} and {labels.shape[0]}"
        )
    m = mu.detach().to("cpu", torch.float64).numpy()
    y = labels.detach().to("cpu").numpy()
    ax = _new_axes(ax, (5.0, 4.5))
    cmap = plt.get_cmap("tab10")
    for k in np.unique(y):
        keep = y == k
        ax.scatter(m[keep, 0], m[keep, 1], s=10, color=cmap(int(k) % 10), label=str(k))
        centre = m[keep].mean(0)
        ax.annotate(str(k), centre, fontsize=13, weight="bold", ha="center", va="center")
    ax.set_xlabel(r"$\mu_1(x)$")
    ax.set_ylabel(r"$\mu_2(x)$")
    ax.set_title(title)
    ax.legend(title="label", fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(alpha=0.3)
    return ax


def latent_mosaic(
    decoder, num: int = 15, z_limit: float = Z_LIMIT, size: int | None = None, gap: int = 1
) -> torch.Tensor:
    """The decoder's mean images sigmoid(logits(z)) over a num x num grid of the latent plane.

        tile (i, j) = sigmoid(decoder(z)),  z = (z_1[j], z_2[num - 1 - i]),  z_k in [-lim, lim]

    so z_1 grows to the right and z_2 upwards, as in ``plot_latent_map``.

    Args:
        decoder: z (..., 2) -> logits (..., D).
        num: tiles per side.
        z_limit: the grid spans [-z_limit, z_limit] in each latent dimension.
        size: the image side (D = size * size); inferred if None.
        gap: pixels of mid-grey (0.5) between neighbouring tiles, so they read as separate.

    Returns:
        (num * (size + gap) - gap,) * 2: one image of all the tiles, values in [0, 1].
    """
    checks.positive_int("num", num)
    checks.positive_int("gap", gap, minimum=0)
    if not z_limit > 0:
        raise ValueError(f"z_limit must be positive, found {z_limit!r}")
    param = next(decoder.parameters())
    ticks = torch.linspace(-z_limit, z_limit, num, dtype=param.dtype, device=param.device)
    z1, z2 = torch.meshgrid(ticks, ticks.flip(0), indexing="xy")  # (num, num) each
    z = torch.stack([z1, z2], dim=-1)  # (num, num, 2): row i, column j
    with torch.no_grad():
        probs = torch.sigmoid(decoder(z)).to("cpu", torch.float32)  # (num, num, D)
    side = image_side(probs.shape[-1], size, name="decoder(z)")
    tiles = probs.view(num, num, side, side)  # (row, col, y, x)
    step = side + gap
    tiles = torch.nn.functional.pad(tiles, (0, gap, 0, gap), value=0.5)  # (row, col, step, step)
    mosaic = tiles.permute(0, 2, 1, 3).reshape(num * step, num * step)  # (row y, col x)
    return mosaic[: num * step - gap, : num * step - gap]


def show_latent_mosaic(
    decoder, num: int = 12, z_limit: float = Z_LIMIT, ax: Axes | None = None
) -> Axes:
    """Draw ``latent_mosaic`` with the latent coordinates on the axes."""
    mosaic = latent_mosaic(decoder, num, z_limit)
    ax = _new_axes(ax, (5.0, 5.0))
    ax.imshow(
        mosaic.numpy(), cmap="gray", vmin=0, vmax=1, extent=(-z_limit, z_limit, -z_limit, z_limit)
    )
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(r"Decoder means $\sigma(\mathrm{logits}(z))$ over the latent plane")
    return ax


class LatentExplorer:
    """One decoded image for a latent point, next to a map of the latent space.

    Args:
        decoder: z (..., L) -> logits (..., D), L = 1 or 2.
        size: the image side; inferred from D if None.
        mu: optional encoder means (B, L) to draw as context (coloured by ``labels``).
        labels: optional (B,) int labels for ``mu``.
        fig: an empty Figure, or None for a new one.
    """

    def __init__(self, decoder, size=None, mu=None, labels=None, fig: Figure | None = None):
        param = next(decoder.parameters())
        self.decoder, self.dtype, self.device = decoder, param.dtype, param.device
        self.latent_dim = int(decoder.latent_dim)
        if self.latent_dim not in (1, 2):
            raise ValueError(f"decoder must have latent_dim 1 or 2, found {self.latent_dim}")
        D = int(decoder.data_dim)
        self.size = image_side(D, size, name="decoder(z)")
        if fig is None:
            fig = plt.figure(figsize=(8.0, 3.6), layout="constrained")
        elif fig.axes:
            raise ValueError(f"fig must be an empty Figure, found one with {len(fig.axes)} Axes")
        self.fig = fig
        self.ax_map, self.ax_image = fig.subplots(1, 2, width_ratios=(1.6, 1))
        if mu is not None and labels is not None and self.latent_dim == 2:
            plot_latent_map(mu, labels, ax=self.ax_map)
        elif mu is not None and labels is not None:
            plot_encoder_means(mu, labels, ax=self.ax_map)
        if self.latent_dim == 1:
            self.ax_map.set_xlim(-Z_LIMIT, Z_LIMIT)
            self.ax_map.set_xlabel("z")
        else:
            self.ax_map.set_xlim(-Z_LIMIT, Z_LIMIT)
            self.ax_map.set_ylim(-Z_LIMIT, Z_LIMIT)
        self.ax_map.set_title("latent space")
        (self.marker,) = self.ax_map.plot([0.0], [0.0], "kX", markersize=14, zorder=5)
        self.image = self.ax_image.imshow(
            np.zeros((self.size, self.size)), cmap="gray", vmin=0.0, vmax=1.0
        )
        self.ax_image.set_xticks([])
        self.ax_image.set_yticks([])
        self.ax_image.set_title(" ")
        fig.colorbar(self.image, ax=self.ax_image, shrink=0.8, label="$p(x_d = 1 | z)$")
        self.update([0.0] * self.latent_dim)

    def update(self, z: Sequence[float]) -> np.ndarray:
        """Decode the point z and redraw the image and the marker.

        Args:
            z: L numbers, the latent point.

        Returns:
            (size, size) p(x_d = 1 | z), the image drawn.
        """
        values = [float(v) for v in z]
        if len(values) != self.latent_dim:
            raise ValueError(f"z must have {self.latent_dim} entries, found {len(values)}")
        point = torch.tensor(values, dtype=self.dtype, device=self.device)[None]  # (1, L)
        with torch.no_grad():
            probs = torch.sigmoid(self.decoder(point))[0].to("cpu", torch.float32)  # (D,)
        image = probs.view(self.size, self.size).numpy()
        self.image.set_data(image)
        if self.latent_dim == 1:
            low, high = self.ax_map.get_ylim()
            self.marker.set_data([values[0]], [0.5 * (low + high)])
        else:
            self.marker.set_data([values[0]], [values[1]])
        self.ax_image.title.set_text("z = (" + ", ".join(f"{v:+.2f}" for v in values) + ")")
        return image  # the caller renders the figure (``explore_latent``: a ``FigureView``)

    def moving_artists(self) -> list:
        """What ``update`` changes: the image, the marker, the title. For ``FigureView``."""
        return [self.image, self.marker, self.ax_image.title]


def explore_latent(decoder, size=None, mu=None, labels=None) -> Explorer:
    """An ipywidgets explorer: one slider per latent coordinate drives ``LatentExplorer.update``.

    Args: as for ``LatentExplorer``.

    Returns:
        The ``Explorer`` (display it as a cell's last value).
    """
    import ipywidgets as widgets

    plot = LatentExplorer(decoder, size=size, mu=mu, labels=labels,
                          fig=Figure(figsize=(8.0, 3.6), layout="constrained"))  # fmt: skip
    names = [f"z{k + 1}" for k in range(plot.latent_dim)]
    controls = {
        name: widgets.FloatSlider(value=0.0, min=-Z_LIMIT, max=Z_LIMIT, step=0.05, description=name)
        for name in names
    }
    return Explorer(plot, controls, lambda v: plot.update([v[name] for name in names]))
