"""Figures the lectures draw: images as grids of small grey tiles.

A batch of images is a ``(B, D)`` tensor, each row one image flattened row by row
(as ``dgmlab.data.bars`` makes them), with ``D = size * size``. Pixels are drawn
on a fixed grey scale, 0 black and 1 white, so a tile of probabilities
``sigmoid(logits)`` reads like the image it expects:

    fig = show_images(x, titles=[f"column {c}" for c in column])
    fig = show_probabilities(decoder(z))      # sigmoid(logits), with a colour bar

Tensors may live on any device; they are copied to the CPU to be drawn.
Functions return the Figure (or AxesImage) they drew and never call
``plt.show()``: a notebook shows a new figure at the end of the cell.

matplotlib is an optional dependency (``pip install dgmlab[course]``), so this
module is imported on its own: ``from dgmlab import plots``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from dgmlab import checks

CMAP = "gray"  # 0 -> black, 1 -> white
TILE_INCHES = 0.9  # the side of one image tile in a grid


def image_side(num_pixels: int, size: int | None = None, name: str = "x") -> int:
    """The side of a square image with ``num_pixels`` pixels: ``size`` if given, else sqrt(D).

    Args:
        num_pixels: D, the number of pixels per image.
        size: the side the caller expects, or None to infer it.
        name: the argument the pixels came from, for error messages.

    Returns:
        size, with ``size * size == num_pixels``.
    """
    if size is not None:
        checks.positive_int("size", size)
        if size * size != num_pixels:
            raise ValueError(
                f"size must satisfy size * size == D, the number of pixels in {name}; "
                f"found size={size} (size * size = {size * size}) and D={num_pixels}"
            )
        return size
    side = math.isqrt(num_pixels)
    if side * side != num_pixels:
        raise ValueError(
            f"{name} must have a square number of pixels D = size * size in its last "
            f"dimension, found D={num_pixels}; pass size= for non-square data"
        )
    return side


def _as_pixels(name: str, x: object, ndim: int, hint: str) -> torch.Tensor:
    """Validate images ``x`` (values in [0, 1]) and return them as a CPU float tensor."""
    checks.tensor(name, x, ndim=ndim, floating=False, shape_hint=hint)
    pixels = x.detach().to("cpu", torch.float32)
    checks.not_nan(name, pixels)
    checks.in_unit_interval(
        name, pixels, hint="pixels are drawn on [0, 1]; for logits use show_probabilities"
    )
    return pixels


def _check_titles(titles: Sequence[str] | None, count: int) -> list[str] | None:
    if titles is None:
        return None
    if isinstance(titles, str) or not isinstance(titles, Sequence):
        raise TypeError(
            f"titles must be a sequence of {count} strings, found {type(titles).__name__}"
        )
    if len(titles) != count:
        raise ValueError(f"titles must have one entry per image ({count}), found {len(titles)}")
    return [str(t) for t in titles]


def _grid_figure(
    nrows: int, ncols: int, tile_inches: float, titled: bool, suptitled: bool, extra: float = 0.0
) -> Figure:
    """A new figure sized for an nrows x ncols grid of tiles (plus ``extra`` inches of width)."""
    height = nrows * tile_inches * (1.35 if titled else 1.0) + (0.4 if suptitled else 0.0)
    width = max(ncols * tile_inches + extra, 1.5)
    return plt.figure(figsize=(width, height + 0.1), layout="constrained")


def show_image(
    x: torch.Tensor,
    ax: Axes | None = None,
    size: int | None = None,
    title: str | None = None,
    cmap: str = CMAP,
) -> AxesImage:
    """Draw one image as a square of grey pixels, without ticks.

    Args:
        x: (D,) pixels in [0, 1], flattened row by row; D = size * size.
        ax: the Axes to draw into; a new figure with one Axes if None.
        size: the image side; inferred from D if None.
        title: a title over the image.
        cmap: a matplotlib colormap name (0 maps to its low end, 1 to its high end).

    Returns:
        The AxesImage; its ``get_array()`` is the (size, size) image.
    """
    pixels = _as_pixels("x", x, ndim=1, hint="(D,)")
    side = image_side(pixels.shape[0], size)
    if ax is None:
        _, ax = plt.subplots(figsize=(2 * TILE_INCHES, 2 * TILE_INCHES))
    image = ax.imshow(pixels.view(side, side).numpy(), cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize="small")
    return image


def show_images(
    x: torch.Tensor,
    size: int | None = None,
    ncols: int = 8,
    titles: Sequence[str] | None = None,
    fig: Figure | None = None,
    suptitle: str | None = None,
    cmap: str = CMAP,
    tile_inches: float = TILE_INCHES,
) -> Figure:
    """Draw a batch of images as a grid of tiles, one Axes per image, row by row.

    Args:
        x: (B, D) pixels in [0, 1], each row an image flattened row by row.
        size: the image side (D = size * size); inferred from D if None.
        ncols: the most tiles per row of the grid.
        titles: B strings, one over each tile (e.g. labels), or None.
        fig: an empty Figure to draw into; a new one sized to the grid if None.
        suptitle: a title over the whole grid.
        cmap: a matplotlib colormap name.
        tile_inches: the side of one tile in a new figure, in inches.

    Returns:
        The Figure; ``fig.axes[b]`` holds image b.
    """
    pixels = _as_pixels("x", x, ndim=2, hint="(B, D)")
    B, D = pixels.shape
    if B == 0:
        raise ValueError("x must hold at least one image, found shape (0, D)")
    side = image_side(D, size)
    checks.positive_int("ncols", ncols)
    labels = _check_titles(titles, B)
    ncols = min(ncols, B)
    nrows = math.ceil(B / ncols)
    if fig is None:
        fig = _grid_figure(nrows, ncols, tile_inches, labels is not None, suptitle is not None)
    elif fig.axes:
        raise ValueError(f"fig must be an empty Figure, found one with {len(fig.axes)} Axes")
    for b in range(B):
        ax = fig.add_subplot(nrows, ncols, b + 1)
        show_image(pixels[b], ax=ax, size=side, title=labels[b] if labels else None, cmap=cmap)
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


def show_probabilities(
    logits: torch.Tensor,
    size: int | None = None,
    ncols: int = 8,
    titles: Sequence[str] | None = None,
    fig: Figure | None = None,
    suptitle: str | None = None,
    colorbar: bool = True,
    tile_inches: float = TILE_INCHES,
) -> Figure:
    """Draw each pixel's Bernoulli mean sigmoid(logits) as a grey image, with a shared scale.

        p(x_d = 1 | z) = sigmoid(l_d) = 1 / (1 + exp(-l_d))

    Args:
        logits: (B, D) or (D,) Bernoulli logits, e.g. a decoder's output.
        size: the image side (D = size * size); inferred from D if None.
        ncols: the most tiles per row of the grid.
        titles: one string per image, or None.
        fig: an empty Figure to draw into; a new one if None.
        suptitle: a title over the whole grid.
        colorbar: add a colour bar labelled p(x_d = 1).
        tile_inches: the side of one tile in a new figure, in inches.

    Returns:
        The Figure; ``fig.axes[b]`` holds image b (the colour bar's Axes comes last).
    """
    checks.tensor("logits", logits, ndim=(1, 2), shape_hint="(B, D) or (D,)")
    checks.not_nan("logits", logits)
    probs = torch.sigmoid(logits.detach().to("cpu", torch.float32))
    probs = probs.unsqueeze(0) if probs.dim() == 1 else probs  # (B, D)
    image_side(probs.shape[1], size, name="logits")
    if fig is None and probs.shape[0] > 0:
        checks.positive_int("ncols", ncols)
        cols = min(ncols, probs.shape[0])
        rows = math.ceil(probs.shape[0] / cols)
        extra = 1.0 if colorbar else 0.0  # room for the colour bar and its label
        fig = _grid_figure(rows, cols, tile_inches, titles is not None, suptitle is not None, extra)
    fig = show_images(
        probs, size, ncols, titles, fig=fig, suptitle=suptitle, tile_inches=tile_inches
    )
    if colorbar:
        image_axes = list(fig.axes)
        bar = fig.colorbar(image_axes[0].images[0], ax=image_axes, shrink=0.9)
        bar.set_label(r"$p(x_d = 1)$")
    return fig


def set_image(image: AxesImage, x: torch.Tensor) -> AxesImage:
    """Replace the pixels an AxesImage shows, keeping its scale: fast enough for a slider.

    Args:
        image: an AxesImage drawn by ``show_image`` (or ``fig.axes[b].images[0]``).
        x: (D,) new pixels in [0, 1], with D equal to the image's pixel count.

    Returns:
        ``image``, updated.
    """
    if not isinstance(image, AxesImage):
        raise TypeError(f"image must be a matplotlib AxesImage, found {type(image).__name__}")
    pixels = _as_pixels("x", x, ndim=1, hint="(D,)")
    rows, cols = image.get_array().shape[:2]
    if pixels.shape[0] != rows * cols:
        raise ValueError(
            f"x must have {rows * cols} pixels to fill a {rows}x{cols} image, "
            f"found {pixels.shape[0]}"
        )
    image.set_data(pixels.view(rows, cols).numpy())
    return image
