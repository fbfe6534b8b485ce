"""``FigureView``: a matplotlib Figure shown in an ``ipywidgets.Image``, fast enough for a slider.

Showing a figure through ``display(fig)`` in an ``Output`` widget makes Jupyter's inline
backend lay the figure out (constrained layout), draw it twice (``bbox_inches="tight"``) and
PNG-encode it at every slider move: 80-400 ms. A ``FigureView`` does the expensive part once:

- the first ``refresh`` draws with the figure's constrained layout, then freezes the layout
  (``fig.set_layout_engine("none")``): the axes keep the positions it found;
- the artists an explorer changes are *dynamic* (``dynamic()`` returns them; they are marked
  animated): everything else is drawn once into a cached background, and a refresh restores
  the background and draws only the dynamic artists on top (blitting). An axis whose limits
  move (``ax.yaxis``, say) can be dynamic too: its ticks and labels are redrawn, the rest of the
  axes is not;
- the Agg buffer is PNG-encoded with PIL at ``compress_level=1`` into ``image.value``.

The background is redrawn (a full draw, layout still frozen) when it may be out of date: on the
first refresh, after ``invalidate()``, when a non-animated artist changed (matplotlib marks the
figure stale), or when ``dynamic()`` returns an artist the background was drawn without. So a
wrong ``dynamic`` list costs speed, never a wrong picture, except for a non-animated artist that
a dynamic one is drawn over.

    view = FigureView(fig, dynamic=lambda: [line, ax.yaxis, ax.title])
    line.set_ydata(...); ax.set_ylim(...); ax.title.set_text(...)
    view.refresh()                       # image.value holds the new PNG
    widgets.VBox([slider, view.image])
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Callable, Iterable

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PNG_COMPRESS_LEVEL = 1  # zlib level 1: about 5 ms for a 1000x360 figure, ~50 kB; 6 costs 2x


def fill_vertices(x: np.ndarray, y: np.ndarray, base: float = 0.0) -> np.ndarray:
    """The polygon ``fill_between(x, y, base)`` draws: (2 N, 2), along y and back along base.

    ``collection.set_verts([fill_vertices(x, y)])`` moves a fill without making a new artist.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return np.column_stack([np.concatenate([x, x[::-1]]),
                            np.concatenate([y, np.full_like(y, base)])])  # fmt: skip


class FigureView:
    """Renders ``fig`` into ``image`` (an ``ipywidgets.Image``) at every ``refresh``.

    Args:
        fig: a Figure outside pyplot (it gets its own Agg canvas); a new 6.4 x 4.8 in one if
            None. Its layout engine (constrained, usually) runs once, at the first refresh.
        dynamic: a callable returning the artists that change between refreshes (lines, texts,
            collections, an ``Axis`` whose limits move, a legend drawn over moving data); None:
            every refresh draws the whole figure (still with the layout frozen).
        overlay: artists that do not change but lie over dynamic ones (a legend over moving
            curves): drawn once into a transparent layer, composited over the dynamic artists.

    Attributes:
        image: the ``ipywidgets.Image(format="png")`` to put in the explorer's box.
        renders: how many times ``refresh`` has rendered.
        full_draws: how many of those drew the whole figure (the rest blitted).
    """

    def __init__(
        self,
        fig: Figure | None = None,
        dynamic: Callable[[], Iterable[Artist]] | None = None,
        overlay: Iterable[Artist] = (),
    ):
        import ipywidgets as widgets

        self.fig = Figure() if fig is None else fig
        FigureCanvasAgg(self.fig)  # its own canvas: no pyplot, no inline display
        self.dynamic = dynamic
        self.overlay = [a for a in overlay if a is not None]
        self.image = widgets.Image(format="png")
        self.renders = 0
        self.full_draws = 0
        self._background = None
        self._size = None
        self._layout_frozen = False
        self._animated = weakref.WeakSet()  # the dynamic artists the background was drawn without
        self._overlay_image = None  # (x, y, (H, W, 4) RGBA) the overlay, drawn once
        self._axis_layers = {}  # dynamic Axis -> (its limits, its layer): redrawn when they move

    def invalidate(self) -> None:
        """Draw the whole figure at the next ``refresh`` (after changing a non-dynamic artist)."""
        self._background = None

    def _dynamic_artists(self) -> list[Artist]:
        if self.dynamic is None:
            return []
        artists = [a for a in self.dynamic() if a is not None]
        for artist in [*artists, *self.overlay]:
            if artist not in self._animated:
                artist.set_animated(True)  # left out of canvas.draw(): drawn by refresh only
                self._animated.add(artist)
                self._background = None  # the background may hold it: draw it again without
        return sorted(artists, key=lambda a: a.get_zorder())

    def refresh(self) -> bytes:
        """Draw what changed and put the PNG into ``image.value``; returns the PNG bytes."""
        fig = self.fig
        canvas = fig.canvas
        dynamic = self._dynamic_artists()
        size = canvas.get_width_height()
        if self._background is None or fig.stale or size != self._size:
            canvas.draw()  # every non-animated artist (with the layout engine, the first time)
            if not self._layout_frozen:
                fig.set_layout_engine("none")  # keep the positions constrained layout found
                self._layout_frozen = True
            self._background = canvas.copy_from_bbox(fig.bbox) if dynamic else None
            self._overlay_image = self._draw_overlay() if dynamic else None
            self._size = size
            self.full_draws += 1
            self._axis_layers.clear()
        else:
            self._draw_axis_layers(dynamic)  # clears the buffer where an axis must be redrawn
            canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in dynamic:
            layer = self._axis_layers.get(artist)
            if layer is None:
                fig.draw_artist(artist)
            elif layer[1] is not None:
                _composite(renderer, layer[1])
        if self._overlay_image is not None:
            _composite(renderer, self._overlay_image)
        # drawing some artists (a legend placing its box, an axis making ticks) marks the
        # figure stale; only changes made between refreshes count
        fig.stale = False
        png = self._png()
        self.image.value = png
        self.renders += 1
        return png

    def _draw_overlay(self):
        """Draw the overlay artists on a transparent canvas; keep the pixels they cover."""
        if not self.overlay:
            return None
        layer = self._draw_layer(self.overlay)
        self.fig.canvas.restore_region(self._background)
        return layer

    def _draw_axis_layers(self, dynamic: list[Artist]) -> None:
        """Redraw (into a transparent layer) each dynamic Axis whose limits moved since its
        layer was drawn; an axis whose limits stayed is composited from its layer: no text."""
        for artist in dynamic:
            if not isinstance(artist, Axis):
                continue
            key = (tuple(artist.get_view_interval()), artist.label.get_text(),
                   tuple(artist.axes.get_position().bounds))  # fmt: skip
            cached = self._axis_layers.get(artist)
            if cached is None or cached[0] != key:
                self._axis_layers[artist] = (key, self._draw_layer([artist]))

    def _draw_layer(self, artists: list[Artist]):
        """Draw artists on a cleared (transparent) canvas: (x, y, RGBA) of the pixels they
        cover, for ``_composite``, or None. Leaves the canvas cleared but for them."""
        canvas = self.fig.canvas
        renderer = canvas.get_renderer()
        renderer.clear()
        for artist in artists:
            artist.draw(renderer)
        pixels = np.asarray(canvas.buffer_rgba())  # (H, W, 4), top row first: a view
        alpha = pixels[..., 3]
        rows = np.flatnonzero(alpha.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(alpha.any(axis=0))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        # draw_image wants the bottom row first and the lower-left corner in display pixels
        rgba = pixels[top:bottom, left:right][::-1].copy()
        return int(left), int(pixels.shape[0] - bottom), rgba

    def _png(self) -> bytes:
        from PIL import Image

        canvas = self.fig.canvas
        rgba = Image.frombuffer(
            "RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        )
        opaque = self.fig.get_facecolor()[3] == 1.0
        buffer = io.BytesIO()
        # an opaque figure drops the alpha channel: a quarter fewer bytes to compress
        (rgba.convert("RGB") if opaque else rgba).save(
            buffer, format="png", compress_level=PNG_COMPRESS_LEVEL
        )
        return buffer.getvalue()


def _composite(renderer, layer) -> None:
    x, y, rgba = layer
    gc = renderer.new_gc()
    renderer.draw_image(gc, x, y, rgba)  # alpha-composited over what is there
    gc.restore()
