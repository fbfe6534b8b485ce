"""Every explorer shows its figure as a PNG in an ipywidgets.Image that follows its controls.

``dgmlab.widgets._view.FigureView`` renders the figure (layout frozen after the first draw,
blitting, cached text) into the Image; these tests check what a student would see: a PNG
there, a new one at every move, one render per move, the picture a full redraw would give,
and, for the Monte Carlo explorer, the histogram of the samples it just drew. No timing is
asserted (benchmarks/widgets.py measures it).
"""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

import dgmlab.widgets  # noqa: E402
from dgmlab import landscape  # noqa: E402
from dgmlab.data import Bars  # noqa: E402
from dgmlab.models import VAE, bar_decoder  # noqa: E402
from dgmlab.widgets import jensen  # noqa: E402
from dgmlab.widgets._view import FigureView, encode_png  # noqa: E402
from dgmlab.widgets.explorer import Explorer  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _explorers():
    """Every explore_* function of every dgmlab/widgets/<slug>.py, found at run time."""
    found = []
    for module_info in pkgutil.iter_modules(dgmlab.widgets.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"dgmlab.widgets.{module_info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("explore_") and fn.__module__ == module.__name__:
                found.append(pytest.param(fn, id=f"{module_info.name}.{name}"))
    return found


def _build(fn):
    """Call an explorer with the lecture's fixtures for its required arguments."""
    x, _ = Bars().sample(4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    hand_set = bar_decoder()
    torch.manual_seed(0)
    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(8,))
    vae.decoder = bar_decoder()  # the hand-set decoder under an untrained encoder (lecture 07)
    fixtures = {"images": x, "x": x, "decoder": bar_decoder().double(),
                "models": {"hand-set": lambda z: torch.sigmoid(hand_set(z))},
                "vae": vae.double(), "encoder": vae.encoder,
                "rows": landscape.read_scale()}  # lecture 14: the benchmark record  # fmt: skip
    kwargs = {
        p.name: fixtures[p.name]
        for p in inspect.signature(fn).parameters.values()
        if p.default is inspect.Parameter.empty
    }
    return fn(**kwargs)


def _find(widget, kind) -> list:
    found = [widget] if isinstance(widget, kind) else []
    for child in getattr(widget, "children", ()):
        found += _find(child, kind)
    return found


def _controls(box) -> list:
    kinds = (widgets.Dropdown, widgets.SelectionSlider, widgets.FloatSlider, widgets.IntSlider,
             widgets.FloatLogSlider)  # fmt: skip
    return [c for c in _find(box, kinds) if not _stuck(c)]


def _stuck(control) -> bool:
    if hasattr(control, "options"):
        return len(control.options) < 2
    return not control.max > control.min


def _move(control) -> None:
    """Move a control to another setting, as a student would: the next option, or a slider
    from one side of its range to the other (30% <-> 70%: the ELBO explorer's quadrature grid
    does not resolve q at the corners of its sliders)."""
    if hasattr(control, "options"):
        control.index = (control.index + 1) % len(control.options)
        return
    low, high = control.min, control.max  # a log slider's are exponents
    log = isinstance(control, widgets.FloatLogSlider)
    position = np.log(control.value) / np.log(control.base) if log else control.value
    fraction = 0.7 if position < low + 0.5 * (high - low) else 0.3
    target = low + fraction * (high - low)
    control.value = control.base**target if log else target


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _shown_and_redrawn(view) -> tuple[np.ndarray, np.ndarray]:
    """(the pixels the view shows now, the pixels of a full redraw of the same state)."""
    shown = _pixels(view.image.value)
    view.invalidate()
    view.refresh()
    return shown, _pixels(view.image.value)


def test_every_module_has_an_explorer_to_check():
    assert len(_explorers()) >= 6


@pytest.mark.parametrize("explore", _explorers())
def test_explorer_shows_a_png_image_that_follows_every_control(explore):
    figures_before = plt.get_fignums()
    explorer = _build(explore)
    box = explorer.widget
    # the figure lives in an Image, not an Output (no display(fig), no inline re-render)
    images = _find(box, widgets.Image)
    assert len(images) == 1 and not _find(box, widgets.Output)
    assert images[0] is explorer.view.image
    image = images[0]
    assert image.format == "png" and bytes(image.value[:8]) == PNG
    assert plt.get_fignums() == figures_before, "the explorer's figure must stay out of pyplot"
    assert isinstance(explorer.view, FigureView), "the fast renderer, on a tested matplotlib"
    view = explorer.view
    controls = _controls(box)
    assert controls
    for control in controls:
        before, renders = bytes(image.value), view.renders
        _move(control)
        assert view.renders == renders + 1, f"{control.description}: one render per move"
        assert bytes(image.value[:8]) == PNG
        assert bytes(image.value) != before, f"{control.description}: the picture did not change"
    # what blitting and cached text drew equals a full redraw of the same state
    blitted, redrawn = _shown_and_redrawn(view)
    assert np.abs(blitted - redrawn).max() <= 16


def _reference_attributes() -> tuple[set, set, set]:
    """The attributes matplotlib and ipywidgets themselves give a Figure shown by a
    FigureView, its Axes (a colorbar's too), and a box: anything more on an explorer's is
    state hung on them."""
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [0, 1], label="l")
    ax.legend()
    fig.colorbar(ax.imshow(np.eye(2)), ax=ax)  # a colorbar's Axes: matplotlib's own extras
    view = FigureView(fig, dynamic=lambda: [line, ax.xaxis, ax.yaxis, ax.title])
    view.refresh()
    ax.set_ylim(0, 0.001)
    view.refresh()
    box = widgets.VBox([widgets.HBox([widgets.FloatSlider()]), widgets.HTML(), view.image])
    return set(vars(fig)), set().union(*(vars(a) for a in fig.axes)), set(vars(box))


@pytest.mark.parametrize("explore", _explorers())
def test_explorers_keep_their_state_on_themselves(explore):
    # catches ``box.view = view`` and ``fig.jensen_artists = {...}``: an explorer is an
    # Explorer that owns its figure, view, controls and readout; the figure, its Axes and
    # the widget box carry nothing matplotlib or ipywidgets did not put there
    explorer = _build(explore)
    assert isinstance(explorer, Explorer)
    assert explorer.figure is explorer.plot.fig is explorer.view.fig
    assert explorer.widget.children[-1] is explorer.view.image
    for control in _controls(explorer.widget):
        _move(control)
    fig_attributes, axes_attributes, box_attributes = _reference_attributes()
    assert set(vars(explorer.figure)) <= fig_attributes
    for ax in explorer.figure.axes:
        assert set(vars(ax)) <= axes_attributes, set(vars(ax)) - axes_attributes
    assert set(vars(explorer.widget)) <= box_attributes
    assert set(explorer.controls.values()) == set(_find(explorer.widget, widgets.ValueWidget)) - {
        explorer.readout, explorer.view.image} - {None}  # fmt: skip
    plt.close("all")


def test_widget_modules_assign_no_attributes_onto_figures_or_boxes():
    # the same, read from the source: ``fig.x = ...`` / ``box.x = ...`` where x is not an
    # attribute matplotlib's Figure or ipywidgets' Box already has
    import ast
    from pathlib import Path

    owners = {"fig": Figure, "figure": Figure, "box": widgets.Box, "widget": widgets.Box}
    found = []
    for path in Path(dgmlab.widgets.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            targets += [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if not isinstance(t, ast.Attribute) or not isinstance(t.value, ast.Name):
                        continue
                    owner = owners.get(t.value.id)
                    if owner is not None and not hasattr(owner, t.attr):
                        found.append(f"{path.name}:{t.lineno} {t.value.id}.{t.attr}")
    assert not found, found


@pytest.mark.parametrize("explore", _explorers())
def test_control_moves_blit_instead_of_redrawing_the_figure(explore):
    # what changes is drawn over a cached background; redrawing the whole figure at every
    # move (a dynamic list that misses a changing artist) would be correct but slow
    explorer = _build(explore)
    view = explorer.view
    full_draws, layouts = view.full_draws, view.layouts
    for control in _controls(explorer.widget):
        for _ in range(2):
            _move(control)
    # a full draw may lay the figure out again to make room for wider tick labels, but only
    # for that (test_labels_narrowing_and_widening_again_do_not_relayout_each_time)
    assert view.full_draws - view.layouts == full_draws - layouts, (
        "a control move redrew the whole figure"
    )


def test_monte_carlo_family_change_renders_once_and_shows_the_new_family(monkeypatch):
    drawn = []

    def recording(*args, **kwargs):
        drawn.append(original(*args, **kwargs))
        return drawn[-1]

    original = jensen.monte_carlo_jensen
    monkeypatch.setattr(jensen, "monte_carlo_jensen", recording)
    explorer = jensen.explore_monte_carlo(num_samples=2000)
    view = explorer.view
    refreshes = []
    refresh = view.refresh
    view.refresh = lambda: refreshes.append(1) or refresh()
    name, a, b = explorer.controls.values()
    before = bytes(view.image.value)
    drawn.clear()
    name.value = "gamma"
    assert len(refreshes) == 1, f"a family change rendered {len(refreshes)} times"
    assert len(drawn) == 1, "a family change drew samples more than once"
    result = drawn[0]
    assert result.name == "gamma" and (a.value, b.value) == jensen.DEFAULTS["gamma"]
    assert (a.description, b.description) == jensen.FAMILIES["gamma"].parameters
    plot = explorer.plot
    assert explorer.result is result, "the explorer keeps what its update returned"
    log_x = result.log_samples.numpy()
    low, high = np.quantile(log_x, [0.001, 0.999])
    density, edges = np.histogram(log_x, bins=60, range=(low, high), density=True)
    shown = plot.hist.get_data()
    np.testing.assert_allclose(shown.values, density)
    np.testing.assert_allclose(shown.edges, edges)
    assert plot.marks["expected_log"].get_xdata()[0] == pytest.approx(result.expected_log)
    assert plot.marks["log_expected"].get_xdata()[0] == pytest.approx(result.log_expected)
    assert plot.marks["mc_expected_log"].get_xdata()[0] == pytest.approx(result.mc_expected_log)
    left, right = plot.ax.get_xlim()
    assert left <= min(edges[0], result.expected_log) and right >= edges[-1]
    assert plot.ax.get_ylim()[1] >= density.max()
    assert plot.ax.get_title().startswith("gamma:")
    assert bytes(view.image.value) != before
    # a slider move is one render too
    a.value = a.min + 0.5 * (a.max - a.min)
    assert len(refreshes) == 2 and drawn[-1].name == "gamma"


def test_monte_carlo_plot_moves_the_same_artists():
    plot = jensen.MonteCarloPlot()
    plot.update(jensen.monte_carlo_jensen("lognormal", 0.0, 1.0, 500))
    hist, ax = plot.hist, plot.ax
    result = jensen.monte_carlo_jensen("uniform", 1.0, 3.0, 500, torch.Generator().manual_seed(1))
    plot.update(result)
    assert plot.hist is hist and len(ax.patches) == 1  # no new bars
    values = hist.get_data().values
    width = np.diff(hist.get_data().edges)
    assert float((values * width).sum()) == pytest.approx(1.0)  # a density over its range
    plt.close(plot.fig)


def _figure():
    """A line that moves, one that stays (data coordinates), a legend, a note in axes
    coordinates, a title."""
    fig = Figure(figsize=(4, 3), layout="constrained")
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [0, 1], label="moving")
    (still,) = ax.plot([0, 1], [1, 0], label="still")
    ax.legend(loc="upper left")
    note = ax.text(0.5, 0.1, "note", transform=ax.transAxes)
    ax.set_title("t")
    return fig, ax, line, still, note


def test_view_freezes_the_layout_and_blits_only_what_moves():
    fig, ax, line, still, note = _figure()
    dynamic = [line, still, ax.yaxis, ax.title]
    view = FigureView(fig, dynamic=lambda: dynamic, overlay=[ax.get_legend()])
    first = view.refresh()
    assert first[:8] == PNG and bytes(view.image.value) == first
    assert view.renders == 1 and view.full_draws == 1
    position = ax.get_position(original=True).bounds
    line.set_ydata([0.5, 0.2])
    ax.set_ylim(0, 5)  # the y axis is dynamic: new ticks, still no full redraw
    ax.title.set_text("a much longer title than before")
    moved = view.refresh()
    assert view.full_draws == 1 and view.renders == 2 and moved != first
    assert ax.get_position(original=True).bounds == position  # no layout again
    # a change to an artist that is not dynamic makes the view redraw everything
    note.set_color("red")
    view.refresh()
    assert view.full_draws == 2
    assert (np.abs(_pixels(view.image.value) - [255, 0, 0]).sum(-1) < 60).any()


def test_blitted_picture_equals_a_full_redraw():
    fig, ax, line, still, note = _figure()
    view = FigureView(
        fig, dynamic=lambda: [line, still, ax.yaxis, ax.title], overlay=[ax.get_legend()]
    )
    ax.set_ylim(-5, 6)  # tick labels "-4" .. "6": as wide as the ones below (no new layout)
    view.refresh()
    for k in range(5):
        line.set_ydata([0.1 * k, 1 - 0.2 * k])
        ax.set_ylim(-5 + k, 6 + k)
        ax.title.set_text(f"step {k}")
        view.refresh()
    assert view.full_draws == 1
    np.testing.assert_array_equal(*_shown_and_redrawn(view))


def test_limits_moving_under_a_static_data_artist_redraw_the_background():
    # "still" is drawn in data coordinates but not dynamic: when the y limits move, the
    # background holding it is out of date, and the view must notice
    fig, ax, line, still, note = _figure()
    view = FigureView(fig, dynamic=lambda: [line, ax.yaxis], overlay=[ax.get_legend()])
    view.refresh()
    ax.set_ylim(-3, 4)
    view.refresh()
    assert view.full_draws == 2
    np.testing.assert_array_equal(*_shown_and_redrawn(view))


def test_view_without_dynamic_artists_draws_everything_each_time():
    fig, ax, line, _, _ = _figure()
    view = FigureView(fig)
    view.refresh()
    line.set_ydata([1, 1])
    view.refresh()
    assert view.full_draws == 2 and view.renders == 2


def _two_panels():
    """Two Axes side by side, each with a y label and narrow tick labels ("0.0" .. "1.0")."""
    fig = Figure(figsize=(6, 2.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    lines = []
    for ax, name in ((left, "left"), (right, "right")):
        lines += ax.plot([0, 1], [0, 1])
        ax.set_ylabel(f"{name} label")
        ax.set_ylim(0, 1)
    return fig, left, right, lines


def _label_box(ax):
    return ax.yaxis.label.get_window_extent(ax.figure.canvas.get_renderer())


def test_widened_y_tick_labels_get_room_instead_of_crowding_the_next_panel():
    fig, left, right, lines = _two_panels()
    view = FigureView(fig, dynamic=lambda: [*lines, left.yaxis, right.yaxis])
    view.refresh()
    assert _label_box(right).x0 > left.bbox.x1  # laid out with room
    # "0.0000" .. "0.0125": the labels widen, and would push each y label out of its room
    for ax in (left, right):
        ax.set_ylim(0, 0.0125)
    view.refresh()
    assert view.full_draws == view.layouts == 2  # laid out again, once
    assert _label_box(right).x0 > left.bbox.x1, "the right panel's label runs into the left one"
    assert _label_box(left).x0 >= 0, "the left panel's label is pushed off the figure"
    np.testing.assert_array_equal(*_shown_and_redrawn(view))


def test_labels_narrowing_and_widening_again_do_not_relayout_each_time():
    # a layout made while a y axis' labels are narrow still leaves it room for its widest
    fig, left, right, lines = _two_panels()
    view = FigureView(fig, dynamic=lambda: [*lines, left.yaxis, right.yaxis])
    view.refresh()
    right.set_ylim(0, 0.0125)  # the right labels widen: laid out again
    view.refresh()
    right.set_ylim(0, 1)
    left.set_ylim(0, 0.0125)  # the left labels widen while the right ones are narrow
    view.refresh()
    layouts, position = view.layouts, right.get_position(original=True).bounds
    assert layouts == 3
    for _ in range(3):  # each panel wide in turn: all fits already
        right.set_ylim(0, 0.0125)
        left.set_ylim(0, 1)
        view.refresh()
        assert _label_box(right).x0 > left.bbox.x1, "the right panel's label runs into the left"
        right.set_ylim(0, 1)
        left.set_ylim(0, 0.0125)
        view.refresh()
        assert _label_box(left).x0 >= 0, "the left panel's label is pushed off the figure"
    assert view.layouts == layouts and view.full_draws == layouts
    assert right.get_position(original=True).bounds == position


@pytest.mark.parametrize("channels", [3, 4])
def test_encode_png_round_trips(channels):
    pixels = np.random.default_rng(0).integers(0, 256, (17, 29, channels), dtype=np.uint8)
    png = encode_png(pixels)
    assert png[:8] == PNG
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), pixels)
