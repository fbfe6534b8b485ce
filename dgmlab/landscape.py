"""The closing table (lecture 14): every model of the course on one scale, from one record.

The benchmarks (``python -m benchmarks --mode full --only landscape``) train every family of
the course in one run and record, per model, what ``benchmarks.common.Result.on_scale`` keeps:

    family, log-likelihood (exact | bound | estimate | none), bars: nats above -H(p_data),
    digits: test nats, params, train_s, sample_s (100 images), 16 sampled images per data set

This module reads that record and lays it out: the best row of each family per data set
(``headline``), what kind of number each is (``kind``), the trade-offs read off the rows
(``tradeoffs``), the scatter of quality against sampling time (``plot_scale``) and the samples
side by side (``plot_samples``). ``widgets.landscape`` lets a reader filter the families by
what they need.

    rows = read_scale("../benchmarks/results/full.json")
    table = headline(rows, "digits")              # one row per family, best number first
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dgmlab import checks, plots

# the families in the order the course met them
FAMILIES = ("VAE", "IWAE", "EM mixture", "autoregressive", "flow", "diffusion", "GAN")
# what stands between the noise and the image: a structural fact of each family
LATENT = {
    "VAE": "z (continuous, small)",
    "IWAE": "z (continuous, small)",
    "EM mixture": "c (one of C components)",
    "autoregressive": "none: pixels one by one",
    "flow": "z, the size of x (invertible)",
    "diffusion": "x_1 ... x_T, each the size of x",
    "GAN": "z (continuous, small)",
}
# per data set: the record's column, pixels per image, side, levels per pixel
DATASETS = {
    "bars": ("bars: nats above -H", 16, 4, 2),
    "digits": ("digits: test nats", 64, 8, 17),
}
KINDS = ("exact", "bound", "estimate", "none")
COMMAND = "python -m benchmarks --mode full --only landscape --update"
# the record in the course's repository, found from this file (dgmlab is installed from the
# repository in editable mode), so a notebook finds it from whatever folder it runs in
RECORD = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "full.json"
_COLUMNS = ("model", "family", "log-likelihood", "params", "train_s", "sample_s (100 images)")


def _check_data(data: object) -> str:
    if data not in DATASETS:
        raise ValueError(f"data must be one of {sorted(DATASETS)}, found {data!r}")
    return data


def read_scale(path: str | Path = RECORD) -> list[dict]:
    """Every model row of a benchmark record (``benchmarks/results/full.json``), images included.

    Args:
        path: the record ``python -m benchmarks --mode full`` writes (default: the
            repository's, ``RECORD``).

    Returns:
        the rows of every benchmark's "one scale" list, each a dict with the columns above and
        ``samples``: {"bars": (16, 16) ints, "digits": (16, 64) ints} for the data sets the model
        was measured on. Reference rows (family "baseline", e.g. independent pixels) included.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no benchmark record at {path}: write it with `{COMMAND}`")
    report = json.loads(path.read_text())
    rows = [row for item in report.get("benchmarks", {}).values() for row in item.get("scale", [])]
    for row in rows:
        missing = [c for c in (*_COLUMNS, *(c for c, *_ in DATASETS.values())) if c not in row]
        if missing:
            raise ValueError(
                f"{path}: the row for {row.get('model')!r} has no {missing}: it was written by "
                f"an older benchmark; rerun `{COMMAND}`"
            )
    return rows


def kind(row: dict) -> str:
    """What a row's number is: 'exact', 'bound' (never below the true NLL), 'estimate' or
    'none' (a model that only samples), from its log-likelihood column."""
    text = str(row["log-likelihood"])
    for k in KINDS:
        if text.startswith(k):
            return k
    raise ValueError(f"log-likelihood {text!r} of {row.get('model')!r} starts with none of {KINDS}")


def measured_on(row: dict, data: str) -> bool:
    """Whether the row has a number or images for ``data``."""
    column = DATASETS[_check_data(data)][0]
    return row[column] is not None or data in row.get("samples", {})


def headline(rows: Sequence[dict], data: str) -> list[dict]:
    """One row per family measured on ``data``: its best (lowest) number, best first, then the
    families with no number (a GAN).

    Args:
        rows: from ``read_scale``.
        data: "bars" or "digits".

    Returns:
        the chosen rows (the same dicts), sorted by the data set's column, None last.
    """
    column = DATASETS[_check_data(data)][0]
    best: dict[str, dict] = {}
    for row in rows:
        family = row["family"]
        if family not in FAMILIES or not measured_on(row, data):
            continue
        here = row[column]
        kept = best.get(family)
        if kept is None or (here is not None and (kept[column] is None or here < kept[column])):
            best[family] = row
    return sorted(best.values(), key=lambda r: (r[column] is None, r[column] or 0.0))


def baseline(rows: Sequence[dict], data: str) -> float | None:
    """The reference number on ``data`` (independent pixels), or None if the record has none."""
    column = DATASETS[_check_data(data)][0]
    values = [r[column] for r in rows if r["family"] == "baseline" and r[column] is not None]
    return min(values) if values else None


def table(rows: Sequence[dict], data: str) -> str:
    """``headline(rows, data)`` as a Markdown table, with each family's latent."""
    column = DATASETS[_check_data(data)][0]
    lines = [
        f"| family | model | {column} | log-likelihood | latent | params | train s | "
        "s to draw 100 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in headline(rows, data):
        number = "no likelihood" if r[column] is None else f"{r[column]:g}"
        params = "" if r["params"] is None else f"{r['params']:,}"
        lines.append(
            f"| {r['family']} | {r['model']} | {number} | {r['log-likelihood']} | "
            f"{LATENT[r['family']]} | {params} | {_fmt(r['train_s'])} | "
            f"{_fmt(r['sample_s (100 images)'])} |"
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def tradeoffs(rows: Sequence[dict], data: str) -> dict:
    """The trade-offs of ``headline(rows, data)`` computed, not asserted.

    Returns:
        a dict: ``best`` (the row with the lowest number), ``fastest`` and ``slowest`` samplers,
        ``sampling_ratio`` (slowest / fastest seconds), ``by_kind`` (kind -> families),
        ``without_likelihood`` (families with no number), ``above_baseline`` (families whose
        number is worse than independent pixels, if the record has that reference).
    """
    column = DATASETS[_check_data(data)][0]
    chosen = headline(rows, data)
    if not chosen:
        raise ValueError(f"the record has no model measured on {data}: rerun `{COMMAND}`")
    numbered = [r for r in chosen if r[column] is not None]
    timed = [r for r in chosen if r["sample_s (100 images)"]]
    fastest = min(timed, key=lambda r: r["sample_s (100 images)"], default=None)
    slowest = max(timed, key=lambda r: r["sample_s (100 images)"], default=None)
    by_kind: dict[str, list[str]] = {k: [] for k in KINDS}
    for r in chosen:
        by_kind[kind(r)].append(r["family"])
    reference = baseline(rows, data)
    return {
        "best": numbered[0] if numbered else None,
        "fastest": fastest,
        "slowest": slowest,
        "sampling_ratio": (
            slowest["sample_s (100 images)"] / fastest["sample_s (100 images)"]
            if fastest is not None
            else math.nan
        ),
        "by_kind": by_kind,
        "without_likelihood": [r["family"] for r in chosen if r[column] is None],
        "above_baseline": [
            r["family"] for r in numbered if reference is not None and r[column] > reference
        ],
    }


_MARKERS = {"exact": "o", "bound": "^", "estimate": "D", "none": "x"}
_COLORS = dict(zip(FAMILIES, plt.get_cmap("tab10").colors, strict=False))


def plot_scale(ax: Axes, rows: Sequence[dict], data: str) -> dict[str, object]:
    """Quality against sampling time: one marker per family (``headline``), its shape the kind
    of number (o exact, ^ bound, D estimate); a model without a likelihood sits on the top edge
    (x). Bars are drawn on a log scale of nats above -H(p_data); digits in test nats, with the
    independent-pixels reference as a dashed line.

    Returns:
        family -> its marker artist (the explorer dims and highlights them).
    """
    column = DATASETS[_check_data(data)][0]
    chosen = headline(rows, data)
    artists: dict[str, object] = {}
    top = ax.get_xaxis_transform()  # x in data units, y in axes units
    for r in chosen:
        x = r["sample_s (100 images)"] or math.nan
        color = _COLORS[r["family"]]
        if r[column] is None:
            (artists[r["family"]],) = ax.plot(
                [x], [0.95], "x", ms=11, mew=2.5, color=color, transform=top, label=r["family"]
            )
            ax.annotate("no likelihood", (x, 0.95), xycoords=top, xytext=(6, -4),
                        textcoords="offset points", fontsize="small")  # fmt: skip
            continue
        (artists[r["family"]],) = ax.plot(
            [x], [r[column]], _MARKERS[kind(r)], ms=10, color=color, label=r["family"]
        )
    reference = baseline(rows, data)
    if reference is not None:
        ax.axhline(reference, color="grey", ls="--", lw=1)
        ax.annotate("independent pixels", (0.01, reference), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize="small",
                    color="grey")  # fmt: skip
    ax.set_xscale("log")
    if data == "bars":
        ax.set_yscale("log")
        ax.set_ylabel("nats above -H(p_data) (0 is perfect)")
    else:
        ax.set_ylabel("test nats per image (lower is better)")
    values = [r[column] for r in chosen if r[column] is not None]
    if values:
        low, high = min(values), max([*values, reference or -math.inf])
        if data == "bars":
            ax.set_ylim(low / 2, high * 4)
        else:
            ax.set_ylim(low - 3, high + 6)
    ax.set_xlabel("seconds to draw 100 images (CPU, log scale)")
    ax.set_title(f"{data}: quality against sampling time")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the points
    return artists


def plot_samples(
    rows: Sequence[dict], data: str, real: torch.Tensor | None = None, per_model: int = 8
) -> Figure:
    """Each family's images side by side (``headline`` order), the data's own on top.

    Args:
        rows: from ``read_scale``.
        data: "bars" or "digits".
        real: optional (N >= per_model, D) images of the data set, drawn as the first row.
        per_model: how many of each model's 16 images to draw (1..16).

    Returns:
        the Figure: one row of tiles per model, its family on the left.
    """
    _, D, side, levels = DATASETS[_check_data(data)]
    per_model = checks.positive_int("per_model", per_model)
    if per_model > 16:
        raise ValueError(f"per_model must be at most 16 (the record keeps 16), found {per_model}")
    lines: list[tuple[str, torch.Tensor]] = []
    if real is not None:
        checks.tensor("real", real, ndim=2, floating=False, shape_hint=f"(N, {D})")
        if real.shape[1] != D or real.shape[0] < per_model:
            raise ValueError(
                f"real must have shape (N >= {per_model}, {D}), found {tuple(real.shape)}"
            )
        lines.append(("data", real[:per_model]))
    for r in headline(rows, data):
        if data in r["samples"]:
            lines.append((r["family"], torch.tensor(r["samples"][data][:per_model])))
    if not lines:
        raise ValueError(f"the record holds no {data} images: rerun `{COMMAND}`")
    size = 0.62
    fig, axes = plt.subplots(
        len(lines), per_model, figsize=(per_model * size + 1.4, len(lines) * size + 0.3),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    for (name, images), row in zip(lines, axes, strict=True):
        for i, ax in enumerate(row):
            pixels = (images[i].to(torch.float64).cpu().view(side, side) / (levels - 1)).numpy()
            ax.imshow(pixels, cmap=plots.CMAP, vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize="small")
    return fig
