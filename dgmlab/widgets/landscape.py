"""Lecture 14's explorer: say what you need from a model, see which families are left.

Three requirements filter the closing table (``dgmlab.landscape``), on bars and digits at once:
how much of a likelihood (none, an estimate, a guaranteed bound, exact), how many seconds you can
spend to draw 100 images, and whether you need a compact latent code (smaller than the image).
The families that fail are dimmed; the best one left on each data set is ringed; a dotted line
marks the time limit.

    choice = choose(rows, "digits", "bound", 0.1, False)   # numbers only (tested headless)
    explore_landscape(rows)                                # an Explorer over both data sets
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from dgmlab import landscape
from dgmlab.widgets.explorer import Explorer

__all__ = ["COMPACT_LATENT", "Choice", "LandscapePlot", "choose", "explore_landscape"]

# the families whose latent is smaller than the image: a code you can read, edit, interpolate
COMPACT_LATENT = frozenset({"VAE", "IWAE", "EM mixture", "GAN"})
# how much of a likelihood a kind of number gives, least first
LIKELIHOOD_LEVELS = ("none", "estimate", "bound", "exact")


@dataclass(frozen=True)
class Choice:
    """The families that meet the requirements on one data set, and the best of them."""

    data: str
    eligible: tuple[str, ...]
    best: dict | None  # the eligible row with the lowest number (None: none left, or no number)


def choose(
    rows: Sequence[dict], data: str, likelihood: str, max_sample_s: float, compact_latent: bool
) -> Choice:
    """The families with a row on ``data`` that meets every requirement, and the best such row.

    Args:
        rows: from ``landscape.read_scale``.
        data: "bars" or "digits".
        likelihood: the least acceptable kind of number, one of ``LIKELIHOOD_LEVELS``
            ("bound" accepts a bound or an exact number).
        max_sample_s: the most seconds to draw 100 images.
        compact_latent: whether the model must have a latent smaller than the image.

    Returns:
        a ``Choice``.
    """
    if likelihood not in LIKELIHOOD_LEVELS:
        raise ValueError(f"likelihood must be one of {LIKELIHOOD_LEVELS}, found {likelihood!r}")
    if not (isinstance(max_sample_s, int | float) and max_sample_s > 0):
        raise ValueError(
            f"max_sample_s must be a positive number of seconds, found {max_sample_s!r}"
        )
    landscape.headline(rows, data)  # checks data
    column = landscape.DATASETS[data][0]
    need = LIKELIHOOD_LEVELS.index(likelihood)
    meets = [  # every row, not only each family's best: a VAE's -ELBO is a bound, its IW NLL not
        r
        for r in rows
        if LIKELIHOOD_LEVELS.index(landscape.kind(r)) >= need
        and (r["sample_s (100 images)"] or math.inf) <= max_sample_s
        and (not compact_latent or r["family"] in COMPACT_LATENT)
    ]
    eligible = landscape.headline(meets, data)  # each family's best row that meets them all
    numbered = [r for r in eligible if r[column] is not None]
    best = numbered[0] if numbered else None
    return Choice(data, tuple(r["family"] for r in eligible), best)


class LandscapePlot:
    """Quality against sampling time on bars and on digits; ``update`` dims and rings."""

    def __init__(self, rows: Sequence[dict], fig: Figure | None = None):
        self.fig = fig if fig is not None else Figure(figsize=(11, 4), layout="constrained")
        self.rows = rows
        self.markers: dict[str, dict[str, object]] = {}
        self.rings = {}
        self.limits = {}
        for ax, data in zip(self.fig.subplots(1, 2), landscape.DATASETS, strict=True):
            self.markers[data] = landscape.plot_scale(ax, rows, data)
            ax.set_xlim(ax.get_xlim())  # the time limit's line must not stretch the axis
            (self.rings[data],) = ax.plot([], [], "o", ms=22, mfc="none", mec="black", mew=1.5)
            self.limits[data] = ax.axvline(math.inf, color="black", ls=":", lw=1.2)

    def moving_artists(self) -> list:
        return [
            *(a for markers in self.markers.values() for a in markers.values()),
            *self.rings.values(),
            *self.limits.values(),
        ]

    def update(self, choices: dict[str, Choice], max_sample_s: float = math.inf) -> None:
        for data, choice in choices.items():
            self.limits[data].set_xdata([max_sample_s, max_sample_s])  # dotted: the time limit
            column = landscape.DATASETS[data][0]
            for family, artist in self.markers[data].items():
                artist.set_alpha(1.0 if family in choice.eligible else 0.12)
            ring = self.rings[data]
            if choice.best is None:
                ring.set_data([], [])
            else:
                ring.set_data([choice.best["sample_s (100 images)"]], [choice.best[column]])


def _describe(choice: Choice) -> str:
    if choice.best is None:
        left = ", ".join(choice.eligible) or "no family"
        return f"{choice.data}: {left} (nothing with a number)"
    column = landscape.DATASETS[choice.data][0]
    return (
        f"{choice.data}: best left is <b>{choice.best['family']}</b> "
        f"({choice.best[column]:g}, {choice.best['log-likelihood']}) of {len(choice.eligible)}"
    )


def explore_landscape(rows: Sequence[dict]):
    """Controls for the three requirements; both data sets' panels follow."""
    import ipywidgets as widgets

    plot = LandscapePlot(rows)

    def update(values) -> dict[str, Choice]:
        choices = {
            data: choose(
                rows,
                data,
                values["likelihood"],
                10 ** values["log10_seconds"],
                values["compact_latent"],
            )  # fmt: skip
            for data in landscape.DATASETS
        }
        plot.update(choices, 10 ** values["log10_seconds"])
        return choices

    def readout(choices: dict[str, Choice]) -> str:
        return " &nbsp; | &nbsp; ".join(_describe(c) for c in choices.values())

    controls = {
        "likelihood": widgets.Dropdown(
            options=[
                ("any, even none", "none"),
                ("an estimate at least", "estimate"),
                ("a guaranteed bound or exact", "bound"),
                ("exact", "exact"),
            ],
            value="none",
            description="likelihood",
        ),  # fmt: skip
        "log10_seconds": widgets.FloatSlider(
            1.0,
            min=-4.0,
            max=1.0,
            step=0.25,
            description="log10 s / 100",
            continuous_update=True,
            readout_format=".2f",
        ),  # fmt: skip
        "compact_latent": widgets.Checkbox(False, description="needs a compact latent code"),
    }
    return Explorer(plot, controls, update, readout=readout,
                    rows=[["likelihood", "log10_seconds", "compact_latent"]])  # fmt: skip
