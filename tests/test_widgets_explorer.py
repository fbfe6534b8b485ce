"""The Explorer abstraction: controls -> one update with every value -> the picture and readout,
headless; and the plain-rendering fallback for a matplotlib the fast renderer is not tested with.
"""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from dgmlab.widgets import _view, explorer  # noqa: E402
from dgmlab.widgets._view import FigureView, PlainView  # noqa: E402
from dgmlab.widgets.explorer import Explorer  # noqa: E402

Z = np.linspace(-3, 3, 200)


class BellPlot:
    """A Gaussian bump whose centre and width follow the controls, with a title."""

    def __init__(self):
        self.fig = Figure(figsize=(4, 3), layout="constrained")
        self.ax = self.fig.add_subplot()
        (self.line,) = self.ax.plot(Z, 0 * Z, label="bump")
        self.ax.set_ylim(0, 1.1)
        self.legend = self.ax.legend(loc="upper left")

    def update(self, values: dict) -> float:
        mu, sigma = values["mu"], values["sigma"]
        self.line.set_ydata(np.exp(-0.5 * ((Z - mu) / sigma) ** 2))
        self.line.set_color(values["colour"])
        self.ax.title.set_text(f"mu = {mu:.2f}")
        return mu / sigma

    def moving_artists(self) -> list:
        return [self.line, self.ax.title]

    def overlay_artists(self) -> list:
        return [self.legend]


def _controls():
    return {
        "mu": widgets.FloatSlider(value=0.0, min=-2, max=2, step=0.1),
        "sigma": widgets.FloatSlider(value=1.0, min=0.2, max=2, step=0.1),
        "colour": widgets.Dropdown(options=["tab:blue", "tab:red"]),
    }


def _bell(**kwargs):
    plot, calls = BellPlot(), []

    def update(values):
        calls.append(dict(values))
        return plot.update(values)

    return Explorer(plot, _controls(), update, **kwargs), plot, calls


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _savefig(fig) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return _pixels(buffer.getvalue())


def test_each_control_change_is_one_update_with_every_value():
    # catches an update called with the changed value only, or once per control of a set()
    bell, plot, calls = _bell()
    assert calls == [{"mu": 0.0, "sigma": 1.0, "colour": "tab:blue"}]  # drawn when built
    bell.controls["mu"].value = 0.5
    assert calls[-1] == {"mu": 0.5, "sigma": 1.0, "colour": "tab:blue"} and len(calls) == 2
    assert bell.set(sigma=0.5, colour="tab:red") == pytest.approx(1.0) == bell.result
    assert calls[-1] == {"mu": 0.5, "sigma": 0.5, "colour": "tab:red"} and len(calls) == 3
    bell.set(mu=0.5)  # no change: no update, no render
    assert len(calls) == 3 and bell.view.renders == 3
    assert bell.values == calls[-1]
    np.testing.assert_allclose(plot.line.get_ydata(), np.exp(-0.5 * ((Z - 0.5) / 0.5) ** 2))


def test_the_picture_follows_the_controls_and_equals_a_full_redraw():
    bell, plot, _ = _bell()
    assert isinstance(bell.view, FigureView) and bell.figure is plot.fig
    before = bytes(bell.view.image.value)
    bell.set(mu=1.5, colour="tab:red")
    after = bytes(bell.view.image.value)
    assert after != before
    shown = _pixels(after)
    red = (np.abs(shown - [214, 39, 40]).sum(-1) < 30).any(axis=0)  # tab:red columns
    assert red.any() and np.flatnonzero(red).mean() > shown.shape[1] / 2  # the bump moved right
    bell.view.invalidate()
    bell.view.refresh()
    np.testing.assert_array_equal(shown, _pixels(bell.view.image.value))
    assert bell.view.full_draws == 2  # the moves blitted; only the forced redraw drew it all


def test_readout_shows_the_formatted_result_and_sits_in_the_box():
    bell, _, _ = _bell(readout=lambda ratio: f"mu / sigma = <b>{ratio:.2f}</b>", rows=[
        ["mu", "sigma"], ["colour"]])  # fmt: skip
    bell.set(mu=1.0, sigma=0.4)
    assert bell.readout.value == "mu / sigma = <b>2.50</b>"
    rows = bell.widget.children
    assert [list(r.children) for r in rows[:2]] == [
        [bell.controls["mu"], bell.controls["sigma"]],
        [bell.controls["colour"]],
    ]
    assert rows[2] is bell.readout and rows[3] is bell.view.image
    assert bell._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]["model_id"] == (
        bell.widget.model_id
    )


def test_on_change_runs_before_the_one_update_and_its_changes_do_not_update():
    # a menu that moves another slider (Jensen's family menu): one update, with both values
    seen = []
    bell, _, calls = _bell(on_change={"colour": lambda c: seen.append(c) or bell.set(mu=-1.0)})
    bell.controls["colour"].value = "tab:red"
    assert seen == ["tab:red"]
    assert calls[1:] == [{"mu": -1.0, "sigma": 1.0, "colour": "tab:red"}]
    assert bell.view.renders == 2


def test_wrong_wiring_is_refused_with_the_names():
    with pytest.raises(ValueError, match="rows must place every control once"):
        _bell(rows=[["mu", "sigma"]])
    with pytest.raises(ValueError, match=r"on_change names no control: \['size'\]"):
        _bell(on_change={"size": print})
    bell, _, _ = _bell()
    with pytest.raises(ValueError, match=r"set names no control: \['nu'\]"):
        bell.set(nu=1.0)


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(explorer, "_WARNED", set())


@pytest.mark.parametrize("version", ["3.99.0", "3.10.8", "4.0.0rc1", "unknown"])
def test_an_untested_matplotlib_renders_plainly_and_the_sliders_still_work(
    monkeypatch, fresh_warnings, version
):
    # catches a version check that lets an untested matplotlib through, and a fallback that
    # breaks the sliders or shows a stale picture
    monkeypatch.setattr(matplotlib, "__version__", version)
    assert not _view.fast_rendering_supported()
    with pytest.warns(RuntimeWarning, match=f"matplotlib {version} is outside"):
        bell, plot, _ = _bell()
    assert isinstance(bell.view, PlainView) and bell.widget.children[-1] is bell.view.image
    for values in ({"mu": 1.2}, {"colour": "tab:red"}, {"sigma": 0.4}):
        before = bytes(bell.view.image.value)
        bell.set(**values)
        after = bytes(bell.view.image.value)
        assert after != before, f"{values}: the picture did not change"
        np.testing.assert_array_equal(_pixels(after), _savefig(plot.fig))
    # the same picture as a plot that never saw an explorer
    alone = BellPlot()
    alone.update(bell.values)
    np.testing.assert_array_equal(_pixels(bytes(bell.view.image.value)), _savefig(alone.fig))
    with warnings.catch_warnings(record=True) as record:  # once per process, not per explorer
        warnings.simplefilter("always")
        _bell()
    assert record == []


def test_tested_versions_use_the_fast_renderer():
    assert _view.fast_rendering_supported("3.11.2")
    assert not _view.fast_rendering_supported("3.12.0")
    assert not _view.fast_rendering_supported("3.10.8")
    assert _view.fast_rendering_supported(matplotlib.__version__), (
        "the installed matplotlib is outside pyproject.toml's pin"
    )


def test_a_failing_fast_renderer_falls_back_to_plain_rendering(monkeypatch, fresh_warnings):
    # the fast path fails after it marked the moving artists animated (left out of a full
    # draw): the plain picture must still show them, and the sliders keep working
    bell, plot, _ = _bell()
    reference = BellPlot()

    def broken(self, dynamic, overlay):
        raise AttributeError("'RendererAgg' object has no attribute '_text_cache'")

    monkeypatch.setattr(FigureView, "_draw_layers", broken)
    image = bell.view.image
    with pytest.warns(RuntimeWarning, match="fast figure rendering failed"):
        bell.set(mu=-1.0, colour="tab:red")
    assert isinstance(bell.view, PlainView) and bell.view.image is image
    reference.update(bell.values)
    np.testing.assert_array_equal(_pixels(bytes(image.value)), _savefig(reference.fig))
    bell.set(sigma=0.3)
    reference.update(bell.values)
    np.testing.assert_array_equal(_pixels(bytes(image.value)), _savefig(reference.fig))
