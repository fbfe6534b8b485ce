"""``FigureView``: a matplotlib Figure shown in an ``ipywidgets.Image``, fast enough for a slider.

Showing a figure through ``display(fig)`` in an ``Output`` widget makes Jupyter's inline
backend lay the figure out (constrained layout), draw it twice (``bbox_inches="tight"``) and
PNG-encode it at every slider move: 80-400 ms. A ``FigureView`` does the expensive part once:

- the first ``refresh`` draws with the figure's constrained layout, then freezes the layout
  (``fig.set_layout_engine("none")``): the axes keep the positions it found;
- the artists an explorer changes are *dynamic* (``dynamic()`` returns them; they are marked
  animated): everything else is drawn once into a cached background, and a refresh restores
  the background and draws only the dynamic artists on top (blitting). An axis whose limits
  move (``ax.yaxis``, say) can be dynamic too: it is kept as a transparent layer and drawn
  again only when its limits moved. Overlays (a legend over moving curves) and the spines of
  axes with dynamic artists are layers too, composited in z-order;
- text, most of a redraw's cost, goes through a renderer that pastes a string it has drawn
  before instead of rasterizing its glyphs again (strings are placed at whole pixels);
- the Agg buffer is PNG-encoded (no row filters, zlib level 1: ``encode_png``) into
  ``image.value``.

The background is redrawn (a full draw, layout still frozen) when it may be out of date: on the
first refresh, after ``invalidate()``, when a non-animated artist changed (matplotlib marks the
figure stale), when ``dynamic()`` returns an artist the background was drawn without, or when
a dynamic axis' limits moved under a non-animated artist drawn in data coordinates. So a
``dynamic`` list that leaves out something moving costs speed, not a wrong picture, with two
exceptions: a static artist that should lie over a dynamic one must be in ``overlay``, and an
overlay that changes needs ``invalidate()``. The layout is computed again only if an axis'
offset text ("1e-3") appears over its title.

    view = FigureView(fig, dynamic=lambda: [line, ax.yaxis, ax.title])
    line.set_ydata(...); ax.set_ylim(...); ax.title.set_text(...)
    view.refresh()                       # image.value holds the new PNG
    widgets.VBox([slider, view.image])

All of this reads matplotlib internals (``RendererAgg.draw_text``'s arguments, the canvas'
``copy_from_bbox``, ``Axis`` and ``Legend`` drawing), so it is used only with the matplotlib
versions it is tested with (``TESTED_MATPLOTLIB``, the range pinned in pyproject.toml): on any
other, ``fast_rendering_supported()`` is False and an explorer renders through ``PlainView``
(``fig.savefig`` at every change: 3-12 times the CPU time a move takes through
``FigureView`` for the six explorers, but it cannot break).
"""

from __future__ import annotations

import io
import math
import re
import struct
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis, XAxis, YAxis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.spines import Spine
from matplotlib.transforms import ScaledTranslation

PNG_COMPRESS_LEVEL = 1  # zlib level 1: about 3 ms for a 1000x360 figure, ~50 kB
TEXT_CACHE_SIZE = 1024  # rendered strings kept per canvas (a tick label is a few kB)
CROWD_TOLERANCE_PX = 1  # a y axis may reach this far past its widest reach so far


# [first, last + 1) as (major, minor): the versions tests/test_widgets_view.py passes on, the range
# pinned in pyproject.toml. Run with 3.11.2: all pass; with 3.8.4, 3.9.4 and 3.10.8: 3 fail (a
# blitted picture unlike a full redraw, y labels crowding): those get PlainView
TESTED_MATPLOTLIB = ((3, 11), (3, 12))

_UNSEEN, _SEEN_ONCE = object(), object()


def fast_rendering_supported(version: str | None = None) -> bool:
    """Whether ``FigureView`` is tested with this matplotlib (``mpl.__version__`` if None)."""
    version = mpl.__version__ if version is None else version
    numbers = re.match(r"(\d+)\.(\d+)", version)
    if numbers is None:
        return False
    low, high = TESTED_MATPLOTLIB
    return low <= (int(numbers[1]), int(numbers[2])) < high


class _TextCacheRenderer(RendererAgg):
    """Agg, but a string drawn before (same font, colour and angle) is pasted, at a whole
    pixel, from its earlier rendering instead of being rasterized glyph by glyph again.

    Text is most of the cost of redrawing a figure (matplotlib renders every glyph at every
    draw); tick labels, axis labels and legends repeat from one slider move to the next.
    """

    def __init__(self, width, height, dpi):
        super().__init__(width, height, dpi)
        self._text_cache: OrderedDict = OrderedDict()

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath == "TeX":
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        # whole pixels, as matplotlib placed text before 3.11 (sub-pixel offsets would make a
        # tick label that moved a new string); draw_text's y counts down from the top,
        # draw_image's up from the bottom
        ix, iy = round(x), round(self.height - y)
        key = (s, _font_key(prop), float(angle), ismath, tuple(gc.get_rgb()), gc.get_alpha(),
               gc.get_forced_alpha(), gc.get_antialiased(), mpl.rcParams["text.hinting"],
               mpl.rcParams["text.antialiased"], _text_options(mtext))  # fmt: skip
        entry = self._text_cache.get(key, _UNSEEN)
        if entry is _UNSEEN:  # drawn directly the first time: most strings never come back
            self._text_cache[key] = _SEEN_ONCE
            self._trim()
            # at the same whole pixel as a pasted copy would be: no shift on the second draw
            return super().draw_text(gc, ix, self.height - iy, s, prop, angle, ismath, mtext)
        if entry is _SEEN_ONCE:  # the second time, rendered once more and kept
            entry = self._text_cache[key] = self._render_text(gc, s, prop, angle, ismath, mtext)
        self._text_cache.move_to_end(key)
        if entry is not None:
            dx, dy, rgba = entry
            paste = self.new_gc()
            paste.copy_properties(gc)  # the clip rectangle and path
            paste.set_alpha(1.0)  # the colour's alpha is in the pixels already
            self.draw_image(paste, ix + dx, iy + dy, rgba)
            paste.restore()

    def _trim(self) -> None:
        while len(self._text_cache) > TEXT_CACHE_SIZE:
            self._text_cache.popitem(last=False)

    def _render_text(self, gc, s, prop, angle, ismath, mtext):
        """Rasterize s alone on a small transparent canvas: (dx, dy, RGBA bottom row first)
        relative to its anchor (y up), or None if nothing shows."""
        w, h, d = self.get_text_width_height_descent(s, prop, ismath)
        pad = 4 + prop.get_size_in_points() * self.dpi / 72  # overhang, either baseline rule
        corners = np.array([[-pad, -d - pad], [w + pad, -d - pad], [w + pad, h + pad],
                            [-pad, h + pad]])  # fmt: skip
        theta = math.radians(angle)
        rotation = np.array([[math.cos(theta), -math.sin(theta)],
                             [math.sin(theta), math.cos(theta)]])  # fmt: skip
        corners = corners @ rotation.T
        x0, y0 = np.floor(corners.min(0)).astype(int) - 1
        x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
        width, height = int(x1 - x0), int(y1 - y0)
        scratch = RendererAgg(width, height, self.dpi)
        alone = scratch.new_gc()
        alone.copy_properties(gc)
        alone.set_clip_rectangle(None)
        alone.set_clip_path(None)
        RendererAgg.draw_text(scratch, alone, -x0, height + y0, s, prop, angle, ismath, mtext)
        alone.restore()
        pixels = np.asarray(scratch.buffer_rgba())  # (height, width, 4), top row first
        return _crop(pixels, -int(x0), -int(y0))


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
            collections, images, an ``Axis`` whose limits move); None: every refresh draws the
            whole figure (still with the layout frozen).
        overlay: artists that do not change but lie over dynamic ones (a legend over moving
            curves). They, and the spines of every Axes with a dynamic artist, are drawn once
            into transparent layers and composited in z-order among the dynamic artists; call
            ``invalidate()`` after changing one.

    Attributes:
        image: the ``ipywidgets.Image(format="png")`` to put in the explorer's box.
        renders: how many times ``refresh`` has rendered.
        full_draws: how many of those drew the whole figure (the rest blitted).
        layouts: how many of the full draws laid the figure out (the first, and one whenever a
            y axis' labels widened past the room it had, or an offset text hit a title).
    """

    def __init__(
        self,
        fig: Figure | None = None,
        dynamic: Callable[[], Iterable[Artist]] | None = None,
        overlay: Iterable[Artist] = (),
    ):
        import ipywidgets as widgets

        self.fig = Figure() if fig is None else fig
        _Canvas(self.fig)  # its own Agg canvas: no pyplot, no inline display
        self.dynamic = dynamic
        self.overlay = [a for a in overlay if a is not None]
        self.image = widgets.Image(format="png")
        self.renders = 0
        self.full_draws = 0
        self.layouts = 0
        self._background = None
        self._size = None
        self._engine = None  # the layout engine, kept to lay the figure out again
        self._layout_frozen = False
        self._animated = weakref.WeakSet()  # the artists the background was drawn without
        # artist -> (key, (x, y, RGBA) or None): an overlay artist is drawn once per background,
        # a dynamic Axis again whenever its limits move; everything else at every refresh
        self._layers: dict = {}
        # YAxis -> how far out from its Axes (px) it reaches now / at most so far; a new
        # layout leaves every y axis room for its widest reach
        self._reach: dict = {}
        self._widest: dict = {}

    def invalidate(self) -> None:
        """Draw the whole figure at the next ``refresh`` (after changing a non-dynamic artist)."""
        self._background = None

    def _animate(self, artists: Iterable[Artist]) -> None:
        for artist in artists:
            if artist not in self._animated:
                artist.set_animated(True)  # left out of canvas.draw(): drawn by refresh only
                self._animated.add(artist)
                self._background = None  # the background may hold it: draw it again without

    def _artists(self) -> tuple[list[Artist], list[Artist]]:
        """(dynamic artists, overlay artists), every one marked animated."""
        if self.dynamic is None:
            return [], []
        dynamic = [a for a in self.dynamic() if a is not None]
        axes = {id(a.axes): a.axes for a in dynamic if a.axes is not None}
        spines = [s for ax in axes.values() for s in ax.spines.values() if s.get_visible()]
        overlay = [*self.overlay, *spines]
        self._animate(dynamic)
        self._animate(overlay)
        return dynamic, overlay

    def refresh(self) -> bytes:
        """Draw what changed and put the PNG into ``image.value``; returns the PNG bytes."""
        fig = self.fig
        canvas = fig.canvas
        dynamic, overlay = self._artists()
        if (
            self._background is None
            or fig.stale
            or canvas.get_width_height() != self._size
            or self._moved_under_static(dynamic)
        ):
            self._draw_background(dynamic, relayout=not self._layout_frozen)
        if dynamic:
            self._draw_layers(dynamic, overlay)  # each clears the canvas: restore it after
            if self._engine is not None and (
                _offset_hits_title(dynamic, canvas.get_renderer()) or self._crowded(dynamic)
            ):
                # an axis' "1e-3" appeared where the frozen layout put the title, or a y axis'
                # label was pushed out of the room the layout gave it: lay the figure out
                # again (slow, and only then; an explorer can leave room instead), and check
                # the new layout, a second time at most
                for _ in range(2):
                    self._draw_background(dynamic, relayout=True)
                    self._draw_layers(dynamic, overlay)
                    if not self._crowded(dynamic):
                        break
            canvas.restore_region(self._background)
            renderer = canvas.get_renderer()
            ordered = sorted([*dynamic, *overlay], key=lambda a: a.get_zorder())
            for artist, rectangles in _batch_rectangles(ordered):
                if rectangles:
                    _draw_rectangles(renderer, rectangles)
                    continue
                layer = self._layers.get(artist)
                if layer is None:
                    fig.draw_artist(artist)
                elif layer[1] is not None:
                    _composite(renderer, layer[1])
        # drawing some artists (a legend placing its box, an axis making ticks) marks the
        # figure stale; only changes made between refreshes count
        fig.stale = False
        png = self._png()
        self.image.value = png
        self.renders += 1
        return png

    def _moved_under_static(self, dynamic: list[Artist]) -> bool:
        """Whether a dynamic Axis' limits moved under an artist of the background that is
        drawn in data coordinates (it must move too: the background is out of date)."""
        for axis in dynamic:
            cached = self._layers.get(axis) if isinstance(axis, Axis) else None
            if cached is not None and cached[0] != _axis_key(axis):
                if _has_static_data(axis.axes):
                    return True
        return False

    def _draw_background(self, dynamic: list[Artist], relayout: bool) -> None:
        """Draw every non-animated artist; with ``relayout``, through the layout engine first
        (constrained layout, at the first refresh), whose positions are then kept."""
        fig = self.fig
        if relayout and not self._layout_frozen:
            self._engine = fig.get_layout_engine()
        elif relayout and self._engine is not None:
            fig.set_layout_engine(self._engine)
        # a y axis whose labels are narrower now than they have been is laid out as if at its
        # widest (a larger label pad while the layout runs): wider labels coming back then fit,
        # and narrower ones coming and going cannot make the layout change back and forth
        pads = {}
        if relayout and self._layout_frozen:
            for axis, widest in self._widest.items():
                extra = widest - self._reach.get(axis, widest)
                if extra > 0:
                    pads[axis] = axis.labelpad
                    axis.labelpad += extra * 72 / fig.dpi  # points
        fig.canvas.draw()
        for axis, pad in pads.items():
            axis.labelpad = pad
        if relayout:
            self.layouts += 1
            fig.set_layout_engine("none")  # keep the positions the layout engine found
            if not self._layout_frozen:
                _pin_xlabels(dynamic)
            self._layout_frozen = True
        self._background = fig.canvas.copy_from_bbox(fig.bbox) if dynamic else None
        self._size = fig.canvas.get_width_height()
        self._layers.clear()
        self.full_draws += 1

    def _crowded(self, dynamic: list[Artist]) -> bool:
        """Whether a dynamic y axis (tick labels and label) now reaches further out from its
        Axes than it ever did: the layout gave it no room for that. Records each one's reach
        (how far out it reaches, which does not change when the Axes moves)."""
        crowded = False
        for axis in dynamic:
            layer = self._layers.get(axis) if isinstance(axis, YAxis) else None
            if layer is None or layer[1] is None:
                continue
            x, _, rgba = layer[1]
            left, right = x, x + rgba.shape[1]
            # pixels beyond the figure's edge are cropped from the layer: the label, which may
            # be all there is out there, is measured where the axis placed it
            label = axis.label
            if label.get_visible() and label.get_text():
                extent = label.get_window_extent(self.fig.canvas.get_renderer())
                left, right = min(left, extent.x0), max(right, extent.x1)
            # measured from the Axes, whose edge the frozen layout keeps
            box = axis.axes.bbox
            reach = box.x0 - left if axis.get_label_position() == "left" else right - box.x1
            self._reach[axis] = reach
            widest = self._widest.setdefault(axis, reach)
            if reach > widest + CROWD_TOLERANCE_PX:
                self._widest[axis] = reach
                crowded = True
        return crowded

    def _draw_layers(self, dynamic: list[Artist], overlay: list[Artist]) -> None:
        """(Re)draw the layers that are missing or out of date: each overlay artist once per
        background, each dynamic Axis when its limits have moved since its layer was drawn."""
        wanted = [(a, None) for a in overlay]
        wanted += [(a, _axis_key(a)) for a in dynamic if isinstance(a, Axis)]
        for artist, key in wanted:
            cached = self._layers.get(artist)
            if cached is None or cached[0] != key:
                self._layers[artist] = (key, self._draw_layer(artist))

    def _draw_layer(self, artist: Artist):
        """Draw one artist on a cleared (transparent) canvas: (x, y, RGBA) of the pixels it
        covers, for ``_composite``, or None. Leaves the canvas cleared but for it."""
        canvas = self.fig.canvas
        renderer = canvas.get_renderer()
        renderer.clear()
        artist.draw(renderer)
        return _crop(np.asarray(canvas.buffer_rgba()), 0, 0)

    def _png(self) -> bytes:
        canvas = self.fig.canvas
        rgba = np.asarray(canvas.buffer_rgba())  # (H, W, 4)
        opaque = self.fig.get_facecolor()[3] == 1.0
        # an opaque figure drops the alpha channel: a quarter fewer bytes to compress
        return encode_png(rgba[..., :3] if opaque else rgba)


class PlainView:
    """Renders the whole figure with ``fig.savefig`` (PNG) into ``image`` at every ``refresh``.

    The fallback of ``FigureView`` (same attributes, same ``image``): no internals of
    matplotlib, so it works with any version, at the cost of a full draw per change.
    """

    def __init__(self, fig: Figure, image=None):
        import ipywidgets as widgets

        self.fig = fig
        FigureCanvasAgg(fig)  # plain Agg: no text cache, no pyplot
        self.image = widgets.Image(format="png") if image is None else image
        self.renders = 0
        self.full_draws = 0
        self.layouts = 0

    @staticmethod
    def untested_message() -> str:
        low, high = TESTED_MATPLOTLIB
        return (f"matplotlib {mpl.__version__} is outside the versions the fast figure "
                f"rendering is tested with (>={low[0]}.{low[1]},<{high[0]}.{high[1]}); drawing "
                "the whole figure at every change instead")  # fmt: skip

    @classmethod
    def replacing(cls, view: FigureView) -> PlainView:
        """A PlainView of ``view``'s figure, into ``view``'s image, after ``view`` failed:
        the artists it marked animated (left out of a full draw) are drawn again."""
        for artist in list(view._animated):
            artist.set_animated(False)
        plain = cls(view.fig, view.image)
        plain.renders, plain.full_draws, plain.layouts = view.renders, view.full_draws, view.layouts
        return plain

    def invalidate(self) -> None:
        """Nothing to forget: every refresh draws everything."""

    def refresh(self) -> bytes:
        """Draw the whole figure and put the PNG into ``image.value``; returns the PNG bytes."""
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.fig.dpi)
        png = buffer.getvalue()
        self.image.value = png
        self.renders += 1
        self.full_draws += 1
        return png


def encode_png(pixels: np.ndarray, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """(H, W, 3) RGB or (H, W, 4) RGBA uint8 -> PNG bytes, fast: no row filters, zlib ``level``.

    A figure is mostly flat colour: without PNG's per-row prediction filters, zlib level 1
    makes about the same size as PIL's filtered level 1 in half the time (3 ms vs 6 ms for
    1000 x 360 pixels).
    """
    height, width, channels = pixels.shape
    rows = np.zeros((height, 1 + width * channels), np.uint8)  # filter byte 0 (none) per row
    rows[:, 1:] = pixels.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, {3: 2, 4: 6}[channels], 0, 0, 0)
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", header),
        _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
        _png_chunk(b"IEND", b""),
    ])  # fmt: skip


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _crop(pixels: np.ndarray, x0: int, y0: int):
    """The non-transparent part of an (H, W, 4) top-row-first buffer, for ``draw_image``:
    (x, y, RGBA bottom row first), its lower-left corner relative to (x0, y0) display pixels
    from the buffer's lower-left; None if the buffer is blank."""
    alpha = pixels[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    rgba = pixels[top:bottom, left:right][::-1].copy()
    return int(left) - x0, int(pixels.shape[0] - bottom) - y0, rgba


def _font_key(prop) -> tuple:
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size_in_points(), str(prop.get_file()),
            prop.get_math_fontfamily())  # fmt: skip


def _text_options(mtext) -> tuple:
    if mtext is None:
        return ()
    features = getattr(mtext, "get_fontfeatures", lambda: None)()
    language = getattr(mtext, "get_language", lambda: None)()
    return (tuple(features) if features else None, language)


class _Canvas(FigureCanvasAgg):
    """An Agg canvas whose renderer caches rendered strings (``_TextCacheRenderer``)."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if getattr(self, "_text_cache_key", None) != key:
            self.renderer = _TextCacheRenderer(w, h, self.figure.dpi)
            self._text_cache_key = key
        return self.renderer


def _rectangle_style(artist: Artist):
    """What a plain Rectangle looks like, but for where it is; None for anything else."""
    if type(artist) is not Rectangle or not artist.get_visible() or artist.get_angle() != 0:
        return None
    if artist.get_hatch() or artist.get_path_effects() or artist.get_sketch_params():
        return None
    if artist.get_clip_path() is not None:
        return None
    clip = artist.get_clip_box()
    return (id(artist.get_data_transform()), None if clip is None else tuple(clip.bounds),
            artist.get_clip_on(),
            artist.get_facecolor(), artist.get_edgecolor(), artist.get_linewidth(),
            str(artist.get_linestyle()), artist.get_antialiased(), artist.get_zorder())  # fmt: skip


def _batch_rectangles(artists: list[Artist]):
    """Yield (artist, []) for each artist, but (None, rectangles) for a run of rectangles that
    differ only in where they are: drawn as one collection (a histogram's 50 bars in one draw
    instead of 50)."""
    run, style = [], None
    for artist in artists:
        this = _rectangle_style(artist)
        if run and this != style:
            yield (None, run) if len(run) > 1 else (run[0], [])
            run = []
        if this is None:
            yield artist, []
        else:
            run.append(artist)
            style = this
    if run:
        yield (None, run) if len(run) > 1 else (run[0], [])


def _draw_rectangles(renderer, rectangles: list[Rectangle]) -> None:
    first = rectangles[0]
    x, y, w, h = np.array(
        [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rectangles]
    ).T
    corners = np.stack([np.c_[x, y], np.c_[x + w, y], np.c_[x + w, y + h], np.c_[x, y + h]], 1)
    batch = PolyCollection(
        corners,
        facecolors=[first.get_facecolor()],
        edgecolors=[first.get_edgecolor()],
        linewidths=[first.get_linewidth()],
        linestyles=[first.get_linestyle()],
        antialiaseds=[first.get_antialiased()],
        transform=first.get_data_transform(),
    )
    batch.set_figure(first.get_figure())  # no axes: nothing marked stale, nothing added
    if first.get_clip_on():
        batch.set_clip_box(first.get_clip_box())
    batch.draw(renderer)


def _offset_hits_title(dynamic: list[Artist], renderer) -> bool:
    """Whether a dynamic Axis' offset text ("1e-3", known once the axis is drawn) overlaps
    its Axes' title."""
    for axis in dynamic:
        if not isinstance(axis, Axis) or not axis.offsetText.get_text():
            continue
        title = axis.axes.title
        if title.get_text().strip() and axis.offsetText.get_visible():
            offset = axis.offsetText.get_window_extent(renderer)
            if offset.overlaps(title.get_window_extent(renderer)):
                return True
    return False


def _pin_xlabels(dynamic: list[Artist]) -> None:
    """Keep each dynamic x axis' label where the layout put it, a fixed distance below its
    Axes: matplotlib would otherwise measure every tick label again at every draw to place it
    (a third of redrawing the axis), and for horizontal tick labels the answer never changes."""
    for axis in dynamic:
        if not isinstance(axis, XAxis) or not axis.label.get_text():
            continue
        ax, label = axis.axes, axis.label
        _, y = label.get_transform().transform(label.get_position())  # display pixels
        below = (y - ax.get_position(original=True).y0 * ax.figure.bbox.height) / ax.figure.dpi
        shift = ScaledTranslation(0, below, ax.figure.dpi_scale_trans)
        axis.set_label_coords(label.get_position()[0], 0.0, transform=ax.transAxes + shift)


def _has_static_data(ax) -> bool:
    """Whether an Axes has a visible, non-animated artist placed in data coordinates."""
    for artist in ax.get_children():
        if artist.get_animated() or not artist.get_visible() or artist is ax.patch:
            continue
        if isinstance(artist, (Axis, Spine, Legend)):
            continue
        if any(artist.get_transform().contains_branch_seperately(ax.transData)):
            return True
    return False


def _axis_key(axis: Axis) -> tuple:
    """What an axis' drawing depends on, beyond its properties: limits, label, position."""
    bounds = tuple(axis.axes.get_position(original=True).bounds)
    return tuple(axis.get_view_interval()), axis.label.get_text(), bounds


def _composite(renderer, layer) -> None:
    x, y, rgba = layer
    gc = renderer.new_gc()
    renderer.draw_image(gc, x, y, rgba)  # alpha-composited over what is there
    gc.restore()
