"""Lecture 03's explorers: Jensen's inequality for two points, and by Monte Carlo.

The log is concave, so for positive z_1, z_2 and a weight w in [0, 1]

    log(w z_1 + (1 - w) z_2)  >=  w log z_1 + (1 - w) log z_2,

and, for any positive random variable X,  E[log X] <= log E[X].

``two_point_jensen`` and ``monte_carlo_jensen`` compute the numbers; ``TwoPointPlot`` and
``MonteCarloPlot`` draw them (``update`` moves their artists); ``explore_two_point`` and
``explore_monte_carlo`` put sliders on them (``dgmlab.widgets.explorer.Explorer``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from dgmlab.widgets.explorer import Explorer

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class TwoPoint:
    """Jensen for two points: the weighted mean, the log of it, the mean of the logs, the gap."""

    z1: float
    z2: float
    w: float
    mean: float
    log_of_mean: float
    mean_of_logs: float
    gap: float


def two_point_jensen(z1: float, z2: float, w: float) -> TwoPoint:
    """log(w z1 + (1 - w) z2) - [w log z1 + (1 - w) log z2] >= 0, for z1, z2 > 0, w in [0, 1]."""
    if not (z1 > 0 and z2 > 0):
        raise ValueError(f"z1 and z2 must be positive, found z1={z1!r}, z2={z2!r}")
    if not 0 <= w <= 1:
        raise ValueError(f"w must be in [0, 1], found {w!r}")
    mean = w * z1 + (1 - w) * z2
    mean_of_logs = w * math.log(z1) + (1 - w) * math.log(z2)
    return TwoPoint(z1, z2, w, mean, math.log(mean), mean_of_logs, math.log(mean) - mean_of_logs)


class TwoPointPlot:
    """The log curve, the chord between (z1, log z1) and (z2, log z2), and the gap at the mean.

    The artists are made once; ``update`` moves them to a new ``TwoPoint``.
    """

    def __init__(self, z_max: float = 10.0, fig: Figure | None = None):
        if fig is None:
            fig = plt.figure(figsize=(6.5, 4), layout="constrained")
        self.fig = fig
        self.ax = ax = fig.add_subplot()
        z = np.linspace(0.05, z_max, 400)
        ax.plot(z, np.log(z), color="k", lw=1.5, label="log z (concave)")
        (self.chord,) = ax.plot([], [], color="tab:blue", lw=1, ls="--", label="chord")
        (self.points,) = ax.plot([], [], "o", color="tab:blue")
        (self.on_curve,) = ax.plot([], [], "o", color="tab:green", label="log of the mean")
        (self.on_chord,) = ax.plot([], [], "s", color="tab:red", label="mean of the logs")
        (self.gap,) = ax.plot([], [], color="tab:purple", lw=3, label="gap")
        self.text = ax.text(0.98, 0.04, "", transform=ax.transAxes, ha="right", va="bottom",
                            bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})  # fmt: skip
        ax.set(xlabel="z", ylabel="log z", xlim=(0, z_max),
               ylim=(math.log(0.05), math.log(z_max) + 0.3),
               title="Jensen: log(w z1 + (1-w) z2) >= w log z1 + (1-w) log z2")  # fmt: skip
        self.legend = ax.legend(loc="upper left", fontsize="small")

    def update(self, state: TwoPoint) -> TwoPoint:
        """Move the chord, the two marked values and the gap to ``state``."""
        lz1, lz2 = math.log(state.z1), math.log(state.z2)
        self.chord.set_data([state.z1, state.z2], [lz1, lz2])
        self.points.set_data([state.z1, state.z2], [lz1, lz2])
        self.on_curve.set_data([state.mean], [state.log_of_mean])
        self.on_chord.set_data([state.mean], [state.mean_of_logs])
        self.gap.set_data([state.mean, state.mean], [state.mean_of_logs, state.log_of_mean])
        self.text.set_text(
            f"log of mean = {state.log_of_mean:.3f}\nmean of logs = {state.mean_of_logs:.3f}\n"
            f"gap = {max(state.gap, 0.0):.3f} >= 0"  # z1 = z2: 0 up to rounding, never "-0.000"
        )
        return state

    def moving_artists(self) -> list:
        return [self.chord, self.points, self.on_curve, self.on_chord, self.gap, self.text]

    def overlay_artists(self) -> list:
        return [self.legend]


def explore_two_point(
    z1: float = 1.0, z2: float = 8.0, w: float = 0.5, z_max: float = 10.0
) -> Explorer:
    """Sliders for z1, z2 and w over a ``TwoPointPlot``; returns the ``Explorer``."""
    import ipywidgets as widgets

    controls = {
        "z1": widgets.FloatSlider(value=z1, min=0.1, max=z_max, step=0.1, description="z1"),
        "z2": widgets.FloatSlider(value=z2, min=0.1, max=z_max, step=0.1, description="z2"),
        "w": widgets.FloatSlider(value=w, min=0.0, max=1.0, step=0.01, description="w"),
    }
    plot = TwoPointPlot(z_max, Figure(figsize=(6.5, 4), layout="constrained"))
    return Explorer(plot, controls, lambda v: plot.update(two_point_jensen(**v)))


@dataclass(frozen=True)
class Family:
    """A positive distribution with two parameters and, in closed form, E[log X] and log E[X]."""

    make: Callable[[float, float], torch.distributions.Distribution]
    expected_log: Callable[[float, float], float]
    log_expected: Callable[[float, float], float]
    parameters: tuple[str, str]


FAMILIES = {
    # X = exp(N(mu, sigma^2)):  E log X = mu,  log E X = mu + sigma^2 / 2
    "lognormal": Family(
        lambda mu, sigma: torch.distributions.LogNormal(mu, sigma),
        lambda mu, sigma: mu,
        lambda mu, sigma: mu + sigma**2 / 2,
        ("mu", "sigma"),
    ),
    # Gamma(shape k, rate r):  E log X = digamma(k) - log r,  log E X = log(k / r)
    "gamma": Family(
        lambda k, r: torch.distributions.Gamma(k, r),
        lambda k, r: (
            float(torch.special.digamma(torch.tensor(k, dtype=torch.float64))) - math.log(r)
        ),
        lambda k, r: math.log(k / r),
        ("shape k", "rate r"),
    ),
    # Uniform(a, b), 0 <= a < b:  E log X = (b log b - a log a) / (b - a) - 1,
    #                             log E X = log((a + b) / 2)
    "uniform": Family(
        lambda a, b: torch.distributions.Uniform(a, b),
        lambda a, b: (b * math.log(b) - (a * math.log(a) if a > 0 else 0.0)) / (b - a) - 1,
        lambda a, b: math.log((a + b) / 2),
        ("low a", "high b"),
    ),
    # Exponential(rate r), second parameter unused:  E log X = -gamma - log r,  log E X = -log r
    "exponential": Family(
        lambda r, _: torch.distributions.Exponential(r),
        lambda r, _: -EULER_GAMMA - math.log(r),
        lambda r, _: -math.log(r),
        ("rate r", "(unused)"),
    ),
}

DEFAULTS = {"lognormal": (0.0, 1.0), "gamma": (2.0, 1.0), "uniform": (0.0, 4.0),
            "exponential": (1.0, 0.0)}  # fmt: skip


@dataclass(frozen=True)
class MonteCarlo:
    """E[log X] and log E[X]: Monte Carlo from samples, and exact (closed form)."""

    name: str
    log_samples: torch.Tensor  # (S,) log x_s
    mc_expected_log: float
    mc_log_expected: float
    expected_log: float
    log_expected: float


def monte_carlo_jensen(
    name: str,
    a: float,
    b: float,
    num_samples: int = 5_000,
    generator: torch.Generator | None = None,
) -> MonteCarlo:
    """Draw S samples of X from FAMILIES[name](a, b) and compare the two sides of Jensen.

    E[log X] ~= (1/S) sum_s log x_s    <=    log E[X] ~= log (1/S) sum_s x_s
    """
    if name not in FAMILIES:
        raise ValueError(f"name must be one of {sorted(FAMILIES)}, found {name!r}")
    family = FAMILIES[name]
    # float64: a float32 uniform is exactly 0 once in 2^24 draws, and log 0 = -inf
    distribution = family.make(*(torch.tensor(float(v), dtype=torch.float64) for v in (a, b)))
    if generator is None:
        x = distribution.sample((num_samples,))  # (S,)
    else:  # torch.distributions samples from the global stream: seed a private copy of it
        seed = int(torch.randint(2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            x = distribution.sample((num_samples,))  # (S,)
    log_x = torch.log(x.double())  # (S,)
    return MonteCarlo(
        name=name,
        log_samples=log_x,
        mc_expected_log=float(log_x.mean()),
        mc_log_expected=float(torch.logsumexp(log_x, 0) - math.log(num_samples)),
        expected_log=float(family.expected_log(float(a), float(b))),
        log_expected=float(family.log_expected(float(a), float(b))),
    )


class MonteCarloPlot:
    """A histogram of log x_s with both sides of Jensen marked, Monte Carlo and exact.

    The artists are made once; ``update`` moves them to a new ``MonteCarlo``.
    """

    MARKS = ("mc_expected_log", "expected_log", "mc_log_expected", "log_expected")

    def __init__(self, fig: Figure | None = None):
        if fig is None:
            fig = plt.figure(figsize=(7, 3.6), layout="constrained")
        self.fig = fig
        self.ax = ax = fig.add_subplot()
        self.hist = ax.stairs([0.0], [0.0, 1.0], fill=True, color="0.75")
        self.marks = {
            "mc_expected_log": ax.axvline(0, color="tab:red", lw=2, label="E[log X], Monte Carlo"),
            "expected_log": ax.axvline(0, color="tab:red", ls=":", lw=2, label="E[log X], exact"),
            "mc_log_expected": ax.axvline(0, color="tab:green", lw=2,
                                          label="log E[X], Monte Carlo"),
            "log_expected": ax.axvline(0, color="tab:green", ls=":", lw=2, label="log E[X], exact"),
        }  # fmt: skip
        ax.set(xlabel="log x", ylabel="density of log X")
        ax.set_title(" ")
        self.legend = ax.legend(fontsize="small", loc="upper left")

    def update(self, result: MonteCarlo) -> MonteCarlo:
        """Move the histogram, the four marks, the limits and the title to ``result``.

        The histogram covers the 0.1% to 99.9% quantiles of log x_s in 60 bins (density).
        """
        ax = self.ax
        log_x = result.log_samples.numpy()
        low, high = np.quantile(log_x, [0.001, 0.999])
        density, edges = np.histogram(log_x, bins=60, range=(low, high), density=True)
        self.hist.set_data(density, edges)
        marks = [getattr(result, key) for key in self.MARKS]
        for key, value in zip(self.MARKS, marks, strict=True):
            self.marks[key].set_xdata([value, value])
        left, right = min(edges[0], *marks), max(edges[-1], *marks)
        margin = 0.05 * (right - left) if right > left else 0.5
        ax.set_xlim(left - margin, right + margin)
        ax.set_ylim(0.0, 1.05 * float(density.max()) if density.max() > 0 else 1.0)
        gap = result.mc_log_expected - result.mc_expected_log
        ax.title.set_text(
            f"{result.name}: E[log X] <= log E[X], gap {gap:.3f} "
            f"(exact {result.log_expected - result.expected_log:.3f})"
        )
        return result

    def moving_artists(self) -> list:
        return [self.hist, *self.marks.values(), self.ax.xaxis, self.ax.yaxis, self.ax.title]

    def overlay_artists(self) -> list:
        return [self.legend]


# each family's slider ranges: (a_low, a_high), (b_low, b_high)
RANGES = {"lognormal": ((-2, 4), (0.05, 2.5)), "gamma": ((0.2, 10), (0.1, 5)),
          "uniform": ((0, 5), (0.1, 10)), "exponential": ((0.1, 5), (0, 0))}  # fmt: skip


def explore_monte_carlo(num_samples: int = 5_000) -> Explorer:
    """A dropdown over FAMILIES and two parameter sliders; returns the ``Explorer``.

    Each change draws new samples and redraws the figure once (a family change too: it
    moves both sliders to the family's defaults and ranges, then updates once).
    """
    import ipywidgets as widgets

    name = widgets.Dropdown(options=sorted(FAMILIES), value="lognormal", description="X ~")
    a = widgets.FloatSlider(value=0.0, min=-2.0, max=4.0, step=0.05, description="mu")
    b = widgets.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.05, description="sigma")
    plot = MonteCarloPlot(Figure(figsize=(7, 3.6), layout="constrained"))

    def new_family(family: str) -> None:
        for slider, (low, high), default, label in zip(
            (a, b), RANGES[family], DEFAULTS[family], FAMILIES[family].parameters, strict=True
        ):
            with slider.hold_trait_notifications():
                slider.min, slider.max, slider.value = -100, 100, default
                slider.min, slider.max = low, high
            slider.description = label

    def update(v: dict) -> MonteCarlo:
        b_value = max(v["b"], v["a"] + 0.1) if v["name"] == "uniform" else v["b"]
        return plot.update(monte_carlo_jensen(v["name"], v["a"], b_value, num_samples))

    return Explorer(plot, {"name": name, "a": a, "b": b}, update, on_change={"name": new_family})
