"""Lecture 14's closing table: the record it reads is current and from one run, and
``dgmlab.landscape`` / ``widgets.landscape`` pick, compare and draw the right rows.

Rows here are made by ``benchmarks.common.Result.on_scale``, the code that writes the record.
"""

from __future__ import annotations

import json
import math
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from benchmarks import run, sources  # noqa: E402
from benchmarks.common import Result  # noqa: E402
from course_tools import ROOT  # noqa: E402
from dgmlab import landscape  # noqa: E402
from dgmlab.widgets.landscape import choose, explore_landscape  # noqa: E402

RECORD = ROOT / "benchmarks" / "results" / "full.json"


def _rows() -> list[dict]:
    """A small record: two VAE rows (the bound and the estimate), an autoregressive model, a
    GAN without a likelihood, and the independent-pixels reference."""
    r = Result("x", "x")
    img = {"bars": torch.randint(0, 2, (16, 16)), "digits": torch.randint(0, 17, (16, 64))}
    r.on_scale("VAE", "bound: -ELBO", family="VAE", bars=0.09, digits=95.8, train_s=17,
               params=1000, sample_s=0.005, samples=img)  # fmt: skip
    r.on_scale("VAE", "estimate: IW", family="VAE", digits=93.4, train_s=17, params=1000,
               sample_s=0.005, samples=img)  # fmt: skip
    r.on_scale("PixelCNN", "exact", family="autoregressive", digits=85.6, train_s=60,
               params=150_000, sample_s=1.3, samples={"digits": img["digits"]})  # fmt: skip
    r.on_scale("MADE", "exact", family="autoregressive", bars=0.013, params=26_000,
               sample_s=0.004, samples={"bars": img["bars"]})  # fmt: skip
    r.on_scale("GAN", "none", family="GAN", params=5000, sample_s=0.001, samples=img)
    r.on_scale("independent", "exact", family="baseline", bars=4.85, digits=106.3)
    return r.scale


# ---- the record lecture 14 reads -------------------------------------------------------------


def test_the_closing_tables_record_is_current_and_from_one_run():
    """Every item of the landscape group is in the record, all from one command (the issue's
    "measured in the same run"), each on the code it was measured with: the digest of its
    module and of everything it imports must match today's. A change to a model without a
    rerun fails here, with the command that rewrites the record."""
    report = json.loads(RECORD.read_text())["benchmarks"]
    items = run.GROUPS["landscape"]
    missing = [name for name in items if name not in report]
    assert not missing, f"{missing} are not in {RECORD.name}: rerun `{landscape.COMMAND}`"
    runs = {report[name].get("run_id") for name in items}
    assert len(runs) == 1 and None not in runs, (
        f"the closing table mixes runs {runs}: rerun `{landscape.COMMAND}`"
    )
    stale = [
        name
        for name in items
        if report[name].get("source_digest") != sources.source_digest(run.ITEMS[name])
    ]
    assert not stale, (
        f"{stale} were measured on code that has changed since: rerun `{landscape.COMMAND}`"
    )
    rows = landscape.read_scale(RECORD)
    for data in landscape.DATASETS:
        families = {r["family"] for r in landscape.headline(rows, data)}
        assert {"VAE", "IWAE", "EM mixture", "autoregressive", "flow"} <= families, data


@pytest.fixture
def course_tree(tmp_path, monkeypatch):
    """A root with a benchmark item importing a dgmlab model through the package's re-export."""
    files = {
        "dgmlab/__init__.py": "",
        "dgmlab/models/__init__.py": "from dgmlab.models.net import Net\n",
        "dgmlab/models/net.py": 'def Net():\n    """A net."""\n    return 1\n',
        "dgmlab/models/other.py": "def Other():\n    return 2\n",
        "benchmarks/__init__.py": "",
        "benchmarks/common.py": "X = 1\n",
        "benchmarks/item.py": "from benchmarks.common import X\nfrom dgmlab.models import Net\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(sources, "ROOT", tmp_path)
    return tmp_path


def test_the_digest_follows_the_code_an_item_imports_and_nothing_else(course_tree):
    """Catches a digest of the item's file alone (a changed model would not count), one that
    counts every module of a package (any change would ask for a rerun), and one that counts
    docstrings and comments."""
    assert sources.source_modules("benchmarks.item") == ["benchmarks.item", "dgmlab.models.net"]
    before = sources.source_digest("benchmarks.item")
    net = course_tree / "dgmlab/models/net.py"
    net.write_text('def Net():\n    """Reworded."""\n    # a comment\n    return 1\n')
    (course_tree / "dgmlab/models/other.py").write_text("def Other():\n    return 3\n")
    (course_tree / "benchmarks/common.py").write_text("X = 2\n")
    assert sources.source_digest("benchmarks.item") == before
    net.write_text(textwrap.dedent('def Net():\n    """A net."""\n    return 2\n'))
    assert sources.source_digest("benchmarks.item") != before
    with pytest.raises(ValueError, match="module must be a module of the course, found 'nope'"):
        sources.source_digest("nope")


# ---- dgmlab.landscape ------------------------------------------------------------------------


def test_headline_keeps_each_familys_best_number_best_first_and_a_gan_last():
    """Catches keeping the first row of a family (the VAE's bound 95.8, not its 93.4), listing
    the reference row as a family, sorting the wrong way, or dropping a model with no number."""
    rows = _rows()
    digits = landscape.headline(rows, "digits")
    assert [(r["family"], r["digits: test nats"]) for r in digits] == [
        ("autoregressive", 85.6), ("VAE", 93.4), ("GAN", None)]  # fmt: skip
    bars = landscape.headline(rows, "bars")
    assert [r["model"] for r in bars] == ["MADE", "VAE", "GAN"]
    assert landscape.baseline(rows, "digits") == 106.3
    with pytest.raises(ValueError, match="data must be one of .* found 'mnist'"):
        landscape.headline(rows, "mnist")


def test_tradeoffs_are_computed_from_the_rows():
    """The lecture's sentences come from here: the ratio of the slowest to the fastest sampler
    and which families give which kind of number (catches a ratio taken over every row rather
    than one per family, or a GAN counted as exact)."""
    t = landscape.tradeoffs(_rows(), "digits")
    assert t["best"]["model"] == "PixelCNN"
    assert (t["fastest"]["family"], t["slowest"]["family"]) == ("GAN", "autoregressive")
    assert t["sampling_ratio"] == pytest.approx(1.3 / 0.001)
    assert t["by_kind"] == {"exact": ["autoregressive"], "bound": [], "estimate": ["VAE"],
                            "none": ["GAN"]}  # fmt: skip
    assert t["without_likelihood"] == ["GAN"] and t["above_baseline"] == []
    assert "| autoregressive | PixelCNN | 85.6 | exact |" in landscape.table(_rows(), "digits")
    assert "no likelihood" in landscape.table(_rows(), "digits")


def test_read_scale_names_the_command_for_a_missing_or_old_record(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="python -m benchmarks --mode full --only landscape"
    ):
        landscape.read_scale(tmp_path / "full.json")
    old = {"benchmarks": {"x": {"scale": [{"model": "VAE", "log-likelihood": "exact"}]}}}
    (tmp_path / "full.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="the row for 'VAE' has no .*'family'.*rerun"):
        landscape.read_scale(tmp_path / "full.json")
    with pytest.raises(ValueError, match="starts with none of"):
        landscape.kind({"log-likelihood": "probably", "model": "m"})


def test_the_figures_draw_every_family_and_its_images():
    """One marker per family, at its sampling time and number (a GAN on the top edge), and one
    row of tiles per family with images, the data's own first."""
    rows = _rows()
    fig, ax = plt.subplots()
    artists = landscape.plot_scale(ax, rows, "digits")
    assert set(artists) == {"autoregressive", "VAE", "GAN"}
    assert list(artists["autoregressive"].get_xydata()[0]) == [1.3, 85.6]
    fig = landscape.plot_samples(rows, "bars", real=torch.zeros(8, 16, dtype=torch.long))
    labels = [ax.get_ylabel() for ax in fig.axes[::8]]
    assert labels == ["data", "autoregressive", "VAE", "GAN"]
    plt.close("all")
    with pytest.raises(ValueError, match=r"real must have shape \(N >= 8, 16\)"):
        landscape.plot_samples(rows, "bars", real=torch.zeros(8, 64))
    with pytest.raises(ValueError, match="per_model must be at most 16"):
        landscape.plot_samples(rows, "bars", per_model=17)


# ---- the explorer ----------------------------------------------------------------------------


def test_choose_applies_every_requirement():
    """Catches a likelihood requirement that lets an estimate pass as a bound, a time limit
    that is ignored, and a latent requirement that lets the pixel-by-pixel model through."""
    rows = _rows()
    assert choose(rows, "digits", "none", 10.0, False).best["model"] == "PixelCNN"
    assert choose(rows, "digits", "none", 0.01, False).best["family"] == "VAE"
    # the VAE's best number is an estimate (93.4), but its -ELBO (95.8) is a bound
    bound = choose(rows, "digits", "bound", 0.01, False)
    assert bound.eligible == ("VAE",) and bound.best["digits: test nats"] == 95.8
    assert choose(rows, "digits", "none", 0.002, False).eligible == ("GAN",)
    assert choose(rows, "digits", "none", 0.002, False).best is None
    assert choose(rows, "bars", "exact", 10.0, True).eligible == ()
    assert choose(rows, "bars", "bound", 10.0, True).best["model"] == "VAE"
    with pytest.raises(ValueError, match="likelihood must be one of"):
        choose(rows, "bars", "good", 1.0, False)
    with pytest.raises(ValueError, match="max_sample_s must be a positive number"):
        choose(rows, "bars", "none", 0, False)


def test_the_explorer_dims_what_fails_and_rings_the_best():
    explorer = explore_landscape(_rows())
    before = explorer.view.image.value
    choices = explorer.set(likelihood="exact", log10_seconds=-2.0)
    assert explorer.view.image.value != before
    assert choices["digits"].eligible == () and choices["bars"].best["model"] == "MADE"
    markers = explorer.plot.markers["digits"]
    assert markers["autoregressive"].get_alpha() < 0.5 and markers["VAE"].get_alpha() < 0.5
    assert explorer.plot.markers["bars"]["autoregressive"].get_alpha() == 1.0
    assert list(explorer.plot.limits["digits"].get_xdata()) == [0.01, 0.01]  # the time limit
    ring = explorer.plot.rings["bars"].get_xydata()
    assert list(ring[0]) == [0.004, 0.013]
    assert "best left is <b>autoregressive</b>" in explorer.readout.value
    assert math.isfinite(explorer.plot.rings["bars"].get_xydata()[0][0])
