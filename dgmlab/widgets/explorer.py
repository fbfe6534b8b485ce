"""``Explorer``: named controls, an update function and a view: one lecture's interactive figure.

A lecture's explorer is its mathematics and its layout, nothing else:

    class BellPlot:                                    # the artists, made once
        def __init__(self, fig):
            self.fig = fig
            (self.line,) = fig.add_subplot().plot(z, 0 * z)

        def moving_artists(self):                      # what update moves (for the view)
            return [self.line]

    plot = BellPlot(Figure(figsize=(6, 3), layout="constrained"))

    def update(values):                                # values: {control name: value}
        plot.line.set_ydata(np.exp(-0.5 * (z - values["mu"]) ** 2))
        return values["mu"]                            # kept as explorer.result

    explorer = Explorer(plot, {"mu": FloatSlider(0.0, min=-2, max=2)}, update)
    explorer                # a cell's last value: the controls, the readout and the picture
    explorer.set(mu=0.3)    # headless: one update, one render into explorer.view.image

Every control change calls ``update`` with all the current values, once, then renders the
figure into ``explorer.view.image`` (an ``ipywidgets.Image``) with ``_view.FigureView`` (only
the moving artists are drawn again). Where matplotlib is outside the versions that renderer is
tested with, or the renderer fails, the explorer falls back to ``_view.PlainView`` (a full
``savefig`` per change: slower, never broken), with one warning.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from matplotlib.artist import Artist
from matplotlib.figure import Figure

from dgmlab.widgets._view import FigureView, PlainView, fast_rendering_supported

_WARNED: set[str] = set()  # one warning per reason and process


class Plot(Protocol):
    """What an explorer draws into: a Figure and the artists its update moves.

    A plot may also define ``overlay_artists()``: static artists drawn over moving ones (a
    legend over moving curves), see ``FigureView``'s ``overlay``.
    """

    fig: Figure

    def moving_artists(self) -> list[Artist]: ...


class Explorer:
    """Controls, an update function and a view of a Figure, shown as one widget box.

    Args:
        plot: holds ``fig`` (a Figure outside pyplot: it is shown only through the view) and
            ``moving_artists()``; see ``Plot``.
        controls: name -> ipywidgets control (slider, dropdown, ...); ``update`` receives the
            values under these names.
        update: ``values -> result``: moves the plot's artists for the controls' values;
            ``explorer.result`` keeps what it returns.
        readout: ``result -> HTML`` shown above the picture, or None for no readout.
        rows: the control names, one list per row of the box; one row of all if None.
        on_change: name -> ``fn(new value)``, run when that control changes, before the
            update (another image to show, new ranges for the other sliders); control changes
            it makes do not update on their own: the change is one update, one render.

    Attributes:
        figure, controls, readout (``ipywidgets.HTML`` or None), view (``FigureView`` or
        ``PlainView``: ``view.image`` holds the PNG), plot, result, widget (the box).
    """

    def __init__(
        self,
        plot: Plot,
        controls: Mapping[str, Any],
        update: Callable[[dict[str, Any]], Any],
        *,
        readout: Callable[[Any], str] | None = None,
        rows: Sequence[Sequence[str]] | None = None,
        on_change: Mapping[str, Callable[[Any], None]] | None = None,
    ):
        import ipywidgets as widgets

        self.plot = plot
        self.figure = plot.fig
        self.controls = dict(controls)
        self.update = update
        self.result = None
        self._format = readout
        self.readout = widgets.HTML() if readout is not None else None
        self._on_change = dict(on_change or {})
        rows = [list(self.controls)] if rows is None else [list(row) for row in rows]
        placed = [name for row in rows for name in row]
        if sorted(placed) != sorted(self.controls):
            raise ValueError(
                f"rows must place every control once, found {placed} for {list(self.controls)}"
            )
        unknown = set(self._on_change) - set(self.controls)
        if unknown:
            raise ValueError(f"on_change names no control: {sorted(unknown)}")
        self.view = self._make_view()
        self._held = 0
        self._pending = False
        self.widget = widgets.VBox([
            *(widgets.HBox([self.controls[name] for name in row]) for row in rows),
            *([self.readout] if self.readout is not None else []),
            self.view.image,
        ])  # fmt: skip
        for name, control in self.controls.items():
            control.observe(self._changed(name), names="value")
        self.redraw()

    @property
    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values) -> Any:
        """Set controls by name, as a student would (one update and render for all of them,
        none if nothing changed); returns ``result``."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"set names no control: {sorted(unknown)}; the controls are "
                             f"{list(self.controls)}")  # fmt: skip
        with self.hold():
            for name, value in values.items():
                self.controls[name].value = value
        return self.result

    @contextlib.contextmanager
    def hold(self):
        """Control changes inside make at most one update and render, at the end."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
            if not self._held and self._pending:
                self.redraw()

    def redraw(self) -> Any:
        """Update the plot for the controls' values and render it; returns ``result``."""
        if self._held:
            self._pending = True
            return self.result
        self._pending = False
        self.result = self.update(self.values)
        if self.readout is not None:
            self.readout.value = self._format(self.result)
        self._render()
        return self.result

    def _changed(self, name: str) -> Callable:
        def changed(change) -> None:
            react = self._on_change.get(name)
            with self.hold():
                if react is not None:
                    react(change["new"])
                self._pending = True

        return changed

    def _make_view(self):
        plot = self.plot
        if not fast_rendering_supported():
            _warn_once("version", PlainView.untested_message())
            return PlainView(plot.fig)
        overlay = getattr(plot, "overlay_artists", tuple)()
        return FigureView(plot.fig, dynamic=plot.moving_artists, overlay=overlay)

    def _render(self) -> None:
        try:
            self.view.refresh()
        except Exception as error:  # the fast path reads matplotlib internals: never break
            if isinstance(self.view, PlainView):
                raise
            _warn_once("failed", f"fast figure rendering failed ({error!r}); "
                                 "drawing the whole figure at every change instead")  # fmt: skip
            self.view = PlainView.replacing(self.view)
            self.view.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _warn_once(reason: str, message: str) -> None:
    if reason not in _WARNED:
        _WARNED.add(reason)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
