"""Lecture 01's z explorer, headless: each panel shows its model at z, the picture follows z.

The models are the lecture's: the noise-free bar-drawing rule (the bar in column
c(z) = #{k : t_k < z}, t_k the quartiles of N(0, 1)), the hand-set decoder and an untrained one.
"""

from __future__ import annotations

import ast
import io
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from course import LECTURES  # noqa: E402
from PIL import Image  # noqa: E402

from dgmlab.data import Bars  # noqa: E402
from dgmlab.models import bar_decoder, generative_network  # noqa: E402
from dgmlab.widgets import bar_manifold  # noqa: E402
from dgmlab.widgets._view import FigureView  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
MAX_UPDATE_MS = 1000  # the explorers' target is 50 ms (benchmarks/widgets.py); this bound only
# catches a pathological update (a full re-layout and redraw at every move is ~300 ms)
DATA = Bars()
CUTS = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([0.25, 0.5, 0.75]))  # (3,)


def draw_bar(z: torch.Tensor) -> torch.Tensor:
    """z (B,) -> (B, 16): the bar in column #{k : t_k < z}, no noise (lecture 01's rule)."""
    return DATA.templates()[torch.bucketize(z, CUTS)]


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    untrained = generative_network(latent_dim=1, data_dim=16, hidden_dims=(8,))
    return bar_decoder(sharpness=20.0), untrained


@pytest.fixture
def explorer(nets):
    hand_set, untrained = nets
    models = {
        "rule (no noise)": lambda z: draw_bar(z[:, 0]),
        "hand-set": lambda z: torch.sigmoid(hand_set(z)),
        "untrained": lambda z: torch.sigmoid(untrained(z)),
    }
    yield bar_manifold.explore_decoders(models)
    plt.close("all")


def _panel(explorer, k: int) -> torch.Tensor:
    """(D,) the pixel probabilities panel k shows now."""
    return torch.as_tensor(explorer.plot.tiles[k].get_array()).flatten().float()


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_the_lecture_shows_this_explorer_last():
    # tests/test_browser.py finds a lecture's explorers as cells whose last statement calls
    # explore_*; lecture 01's is its last code cell
    nb = nbformat.read(LECTURES / "01_bar_manifold.ipynb", as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    statement = ast.parse(last.source).body[-1]
    assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
    assert getattr(statement.value.func, "id", None) == "explore_decoders"


def test_it_starts_at_zero_with_a_png_and_a_panel_per_model(explorer):
    assert explorer.controls["z"].value == 0.0
    assert bytes(explorer.view.image.value[:8]) == PNG
    assert [ax.get_title() for ax in explorer.figure.axes[:3]] == [
        "rule (no noise)", "hand-set", "untrained"]  # fmt: skip
    assert explorer.result.shape == (3, 16)


@pytest.mark.parametrize("z_value, column", [(-1.0, 0), (-0.3, 1), (0.3, 2), (1.0, 3)])
def test_each_panel_shows_its_model_at_the_slider_value(explorer, nets, z_value, column):
    # catches panels in the wrong order, z not passed through (every panel frozen at z = 0),
    # logits shown instead of probabilities, and a title that does not follow the slider
    hand_set, untrained = nets
    shown = explorer.set(z=z_value)
    assert torch.equal(_panel(explorer, 0), DATA.templates()[column])
    z = torch.tensor([[z_value]])
    with torch.no_grad():
        for k, net in ((1, hand_set), (2, untrained)):
            expected = torch.sigmoid(net(z))[0]  # (D,)
            assert torch.allclose(_panel(explorer, k), expected), f"panel {k} at z = {z_value}"
            assert torch.allclose(shown[k], expected)
    # the hand-set decoder draws the rule's column (probability 0.95 inside the bar)
    assert torch.equal((_panel(explorer, 1) > 0.5).float(), DATA.templates()[column])
    assert f"{z_value:+.2f}" in explorer.plot.title.get_text()


def test_the_picture_follows_the_slider_and_equals_a_full_redraw(explorer, record_property):
    assert isinstance(explorer.view, FigureView), "the fast renderer, on a tested matplotlib"
    pictures, times = [], []
    for z_value in (-1.0, 0.0, 0.3, 1.2, -2.0):
        renders = explorer.view.renders
        start = time.perf_counter()
        explorer.set(z=z_value)
        times.append(1000 * (time.perf_counter() - start))
        assert explorer.view.renders == renders + 1, "one render per move"
        pictures.append(bytes(explorer.view.image.value))
    assert all(p[:8] == PNG for p in pictures)
    assert len(set(pictures)) == len(pictures), "the picture did not change with z"
    # what blitting drew equals a full redraw of the same state
    shown = _pixels(explorer.view.image.value)
    explorer.view.invalidate()
    explorer.view.refresh()
    assert np.abs(shown - _pixels(explorer.view.image.value)).max() <= 16
    median_ms = statistics.median(times)
    record_property("update_ms", round(median_ms, 1))
    assert median_ms < MAX_UPDATE_MS, f"one update took {median_ms:.0f} ms (median of 5)"


def test_decoder_probabilities_stacks_the_models_at_z():
    # catches rows out of order, a (D,) output not taken as one row, and z not passed on
    models = {"rule": lambda z: draw_bar(z[:, 0]), "flat": lambda z: torch.full((16,), 0.25)}
    p = bar_manifold.decoder_probabilities(models, 0.5)  # t_2 = 0 < 0.5 < t_3 = 0.67
    assert p.shape == (2, 16) and p.dtype == torch.float32
    assert torch.equal(p[0], DATA.templates()[2]) and torch.equal(p[1], torch.full((16,), 0.25))


def test_errors_name_the_argument():
    ok = {"flat": lambda z: torch.full((1, 16), 0.5)}
    cases = [
        ({"models": [lambda z: z]}, TypeError, "models must be a non-empty mapping"),
        ({"models": {}}, TypeError, "models must be a non-empty mapping.*empty"),
        ({"models": {"a": 3}}, TypeError, r"models\['a'\] must be a function"),
        ({"models": {1: ok["flat"]}}, TypeError, "models' keys must be panel titles"),
        ({"models": {"logits": lambda z: torch.full((1, 16), -3.0)}}, ValueError,
         r"models\['logits'\]\(z\) must have every entry in \[0, 1\].*torch.sigmoid"),
        ({"models": {"batch": lambda z: torch.full((2, 16), 0.5)}}, ValueError,
         r"models\['batch'\]\(z\) must have shape \(1, D\) or \(D,\)"),
        ({"models": {"ints": lambda z: torch.ones(1, 16, dtype=torch.long)}}, TypeError,
         r"models\['ints'\]\(z\) must be a floating-point tensor"),
        ({"models": {**ok, "small": lambda z: torch.full((1, 9), 0.5)}}, ValueError,
         "models must all return the same number of pixels D"),
        ({"models": ok, "z": 3.0}, ValueError, "z must lie in z_range"),
        ({"models": ok, "z_range": (1.0, -1.0)}, ValueError, "z_range must be .* low < high"),
        ({"models": ok, "step": 0.0}, ValueError, "step must be positive"),
        ({"models": ok, "size": 3}, ValueError, "size must satisfy size \\* size == D"),
    ]  # fmt: skip
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            bar_manifold.explore_decoders(**kwargs)
    plt.close("all")
