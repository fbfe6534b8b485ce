"""Lecture 01's explorer: what several models of the bar images make of one latent value z.

Each model maps a latent value to per-pixel Bernoulli means,

    z (1, 1)  ->  p(x_d = 1 | z),  d = 1 .. D          (shape (1, D) or (D,), values in [0, 1])

(a decoder is ``lambda z: torch.sigmoid(decoder(z))``; the noise-free bar-drawing rule returns
its 0/1 image). ``decoder_probabilities`` evaluates them all at one z; ``DecoderPlot`` draws
one grey tile per model on a shared [0, 1] scale (the tiles' pixels and the title move, nothing
else); ``explore_decoders`` puts a z slider on it (``dgmlab.widgets.explorer.Explorer``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch
from matplotlib.figure import Figure

from dgmlab import checks, plots
from dgmlab.widgets.explorer import Explorer

Model = Callable[[torch.Tensor], torch.Tensor]  # z (1, 1) -> p(x_d = 1 | z), (1, D) or (D,)


def _check_models(models: object) -> dict[str, Model]:
    if not isinstance(models, Mapping) or not models:
        found = type(models).__name__ if not isinstance(models, Mapping) else "an empty mapping"
        raise TypeError(
            "models must be a non-empty mapping from a panel title to a function "
            f"z (1, 1) -> p(x_d = 1 | z) (1, D), found {found}"
        )
    for title, model in models.items():
        if not isinstance(title, str):
            raise TypeError(f"models' keys must be panel titles (str), found {title!r}")
        if not callable(model):
            raise TypeError(
                f"models[{title!r}] must be a function z (1, 1) -> p(x_d = 1 | z) (1, D), "
                f"found {type(model).__name__}"
            )
    return dict(models)


def decoder_probabilities(
    models: Mapping[str, Model], z: float, device: torch.device | str | None = None
) -> torch.Tensor:
    """Every model's per-pixel probabilities at one latent value, stacked.

    Args:
        models: panel title -> function z (1, 1) -> p(x_d = 1 | z), (1, D) or (D,), in [0, 1].
        z: the latent value.
        device: where z is made (the models' device); the CPU if None.

    Returns:
        (M, D) float32 on the CPU: row m is ``models``' m-th function at z (no gradients).
    """
    models = _check_models(models)
    z_tensor = torch.tensor([[float(z)]], device=device)  # (1, 1)
    rows = []
    with torch.no_grad():
        for title, model in models.items():
            name = f"models[{title!r}](z)"
            p = checks.tensor(name, model(z_tensor), ndim=(1, 2), shape_hint="(1, D) or (D,)")
            if p.dim() == 2 and p.shape[0] != 1:
                raise ValueError(
                    f"{name} must have shape (1, D) or (D,) for z of shape (1, 1), "
                    f"found shape {tuple(p.shape)}"
                )
            p = p.reshape(-1)  # (D,)
            checks.in_unit_interval(
                name, p, hint="return probabilities: torch.sigmoid(decoder(z)), not logits"
            )
            rows.append(p.detach().to("cpu", torch.float32))
    sizes = {title: len(p) for title, p in zip(models, rows, strict=True)}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"models must all return the same number of pixels D, found {sizes}")
    return torch.stack(rows)  # (M, D)


class DecoderPlot:
    """One grey tile of p(x_d = 1 | z) per model, a shared colour bar, z in the title.

    The tiles are made once (``plots.show_probabilities``, one row); ``update`` replaces their
    pixels and the title.
    """

    def __init__(
        self,
        titles: Sequence[str],
        num_pixels: int,
        size: int | None = None,
        fig: Figure | None = None,
        tile_inches: float = 1.5,
    ):
        count = len(titles)
        if fig is None:  # sized as plots' grids are: tiles, titles, a title line, a colour bar
            fig = Figure(figsize=(count * tile_inches + 1.0, tile_inches * 1.35 + 0.5),
                         layout="constrained")  # fmt: skip
        self.fig = fig
        # sigmoid(0) = 1/2 everywhere until the first update
        plots.show_probabilities(torch.zeros(count, num_pixels), size, ncols=count,
                                 titles=list(titles), fig=fig, suptitle=" ")  # fmt: skip
        self.tiles = [ax.images[0] for ax in fig.axes[:count]]  # the colour bar's Axes is last
        self.title = fig.suptitle(" ")

    def update(self, z: float, probabilities: torch.Tensor) -> torch.Tensor:
        """Show (M, D) ``probabilities`` (row m in tile m) at latent value ``z``."""
        for tile, p in zip(self.tiles, probabilities, strict=True):
            plots.set_image(tile, p)
        self.title.set_text(rf"$p(x_d = 1 \mid z = {z:+.2f})$")
        return probabilities

    def moving_artists(self) -> list:
        return [*self.tiles, self.title]


def explore_decoders(
    models: Mapping[str, Model],
    z: float = 0.0,
    z_range: tuple[float, float] = (-2.5, 2.5),
    step: float = 0.05,
    size: int | None = None,
    device: torch.device | str | None = None,
) -> Explorer:
    """A z slider over one tile of p(x_d = 1 | z) per model; returns the ``Explorer``.

    Args:
        models: panel title -> function z (1, 1) -> p(x_d = 1 | z), (1, D) or (D,), in [0, 1];
            a panel per entry, in order.
        z: the slider's first value, inside ``z_range``.
        z_range: (low, high) of the slider, low < high.
        step: the slider's step, > 0.
        size: the image side (D = size * size); sqrt(D) if None.
        device: where z is made for the models (their device); the CPU if None.

    ``explorer.result`` is the (M, D) probabilities shown (``decoder_probabilities``).
    """
    import ipywidgets as widgets

    models = _check_models(models)
    low, high = (float(v) for v in z_range)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"z_range must be (low, high) with low < high, found {z_range!r}")
    if not low <= z <= high:
        raise ValueError(f"z must lie in z_range {z_range!r}, found {z!r}")
    if not step > 0:
        raise ValueError(f"step must be positive, found {step!r}")
    first = decoder_probabilities(models, z, device)  # (M, D): checks the models' outputs
    plots.image_side(first.shape[1], size, name="the models' outputs")
    plot = DecoderPlot(list(models), first.shape[1], size)
    slider = widgets.FloatSlider(value=z, min=low, max=high, step=step, description="z")

    def update(values: dict) -> torch.Tensor:
        return plot.update(values["z"], decoder_probabilities(models, values["z"], device))

    return Explorer(plot, {"z": slider}, update)
