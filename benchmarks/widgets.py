"""Item 6: how long a lecture widget takes to answer a control, rendering included, headless.

Discovery (no registration needed): every module ``dgmlab/widgets/<slug>.py`` and every
function in it named ``explore_*``. Each explorer is built once (arguments without defaults
are filled by name: ``images``/``x`` get bar images, ``decoder`` the hand-set
``dgmlab.models.bar_decoder()`` with a 1-D latent, or, for an explorer that wants more latent
dimensions, a small decoder with a 2-D latent; ``models`` the hand-set decoder's
probabilities); then every control in the returned box (an ``Explorer``'s ``widget``: slider,
log slider, dropdown, selection slider) is dragged: moved
through distinct settings in turn (a slider through evenly spaced values from 30% to 70% of
its range, a menu through its options), so no move returns to the state before it and nothing
can be served from a cache of that state.

What is timed, per move, is the synchronous ``observe`` callback, which is what a student
waits for (minus the browser): the computation, the redraw and the PNG that goes into the
explorer's ``ipywidgets.Image`` (``dgmlab.widgets._view.FigureView.refresh``). An explorer that
still shows a figure with ``display(fig)`` gets it PNG-encoded inside the timed callback as
Jupyter's inline backend would (``print_figure``, tight bounding box), so its number counts
the same work and a figure is never rendered twice or skipped.

Columns, medians over the moves: ``update_ms`` (the callback, rendering included: the
judged number), ``render_ms`` (the part of it inside ``FigureView.refresh`` or the inline PNG
encoding: drawing and PNG), ``renders`` (figures rendered per move: 1 expected; 0 means the
picture did not follow the control, more is wasted work) and ``shown`` (``image``: rendered
into the box's Image at every move; ``inline``: through ``display``; ``none``). Target: every
update <= 50 ms, with a render.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import pkgutil
import time

import torch

from benchmarks.common import Config, Result, Target, median

MAX_MS = 50.0


def _fixtures(module, parameter: str, latent_dim: int = 1):
    if parameter == "decoder":
        from dgmlab.models import GenerativeNetwork, bar_decoder

        if latent_dim == 1:
            return bar_decoder().double()  # the lectures explore it in float64
        torch.manual_seed(0)
        return GenerativeNetwork(latent_dim=latent_dim, data_dim=64, hidden_dims=(32,))
    if parameter == "models":  # bar_manifold.explore_decoders: panel title -> z -> p(x | z)
        from dgmlab.models import bar_decoder

        decoder = bar_decoder()
        return {"hand-set": lambda z: torch.sigmoid(decoder(z))}
    if parameter in ("vae", "encoder"):  # lectures 07-08: an untrained 1-D bar VAE (its cost
        from dgmlab.models import VAE  # per move does not depend on its weights)

        torch.manual_seed(0)
        vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64)).double()
        return vae if parameter == "vae" else vae.encoder
    if parameter == "rows":  # lecture 14: the models of the benchmark record, if it has them
        from benchmarks.common import ROOT
        from dgmlab import landscape

        try:
            return landscape.read_scale(ROOT / "benchmarks" / "results" / "full.json")
        except (FileNotFoundError, ValueError) as error:
            raise LookupError(f"rows ({error})") from error
    if parameter in ("images", "x"):
        from dgmlab.data import Bars

        dtype = torch.float64 if latent_dim == 1 else torch.float32  # the decoder's dtype
        x, _ = Bars().sample(4, generator=torch.Generator().manual_seed(0), dtype=dtype)
        return x
    raise LookupError(parameter)


def _controls(widget) -> list:
    """Every value-carrying control inside a widget box, depth first."""
    import ipywidgets as widgets

    found = []
    if isinstance(
        widget,
        (widgets.Dropdown, widgets.SelectionSlider, widgets.ToggleButtons, widgets.RadioButtons),
    ):
        found.append(widget)
    elif isinstance(widget, (widgets.FloatSlider, widgets.IntSlider, widgets.FloatLogSlider)):
        found.append(widget)
    for child in getattr(widget, "children", ()):
        found += _controls(child)
    return found


def _images(widget) -> list:
    """Every ``ipywidgets.Image`` inside a widget box, depth first."""
    import ipywidgets as widgets

    found = [widget] if isinstance(widget, widgets.Image) else []
    for child in getattr(widget, "children", ()):
        found += _images(child)
    return found


def _drag(control, moves: int) -> list[tuple[str, object]]:
    """``moves`` settings (attribute, value) to visit in turn, no two in a row the same."""
    import ipywidgets as widgets

    fractions = [0.3 + 0.4 * k / max(moves - 1, 1) for k in range(moves)]
    if isinstance(control, widgets.FloatLogSlider):
        low, high = control.min, control.max
        return [("value", control.base ** (low + f * (high - low))) for f in fractions]
    if isinstance(control, (widgets.FloatSlider, widgets.IntSlider)):
        low, high = control.min, control.max
        values = [low + f * (high - low) for f in fractions]
        if isinstance(control, widgets.IntSlider):
            distinct = sorted({int(round(v)) for v in values})
            if len(distinct) < 2:
                distinct = [low, high]
            values = [distinct[k % len(distinct)] for k in range(moves)]
        return [("value", v) for v in values]
    n = len(control.options)
    return [("index", (control.index + 1 + k) % n) for k in range(moves)]


def _stuck(control) -> bool:
    """A menu with one option or a slider with min == max: nothing to move."""
    if hasattr(control, "options"):
        return len(control.options) < 2
    return not control.max > control.min


class _Display:
    """Stands in for IPython's display: PNG-encodes a Figure as the inline backend would."""

    def __init__(self):
        self.figures = 0
        self.seconds: list[float] = []  # one per figure encoded

    def __call__(self, *objects, **kwargs):
        from IPython.core.pylabtools import print_figure
        from matplotlib.figure import Figure

        for obj in objects:
            if isinstance(obj, Figure):
                start = time.perf_counter()
                print_figure(obj, fmt="png", bbox_inches="tight")
                self.seconds.append(time.perf_counter() - start)
                self.figures += 1


# explorers import ``display`` when they are built, so one stand-in serves them all
DISPLAY = _Display()


class _Renders:
    """Counts and times ``FigureView.refresh`` (the drawing and the PNG) while installed."""

    def __init__(self):
        self.seconds: list[float] = []

    @contextlib.contextmanager
    def installed(self):
        try:
            from dgmlab.widgets._view import FigureView
        except ImportError:  # no shared view: explorers that display() are still timed
            yield
            return
        original = FigureView.refresh

        def refresh(view):
            start = time.perf_counter()
            try:
                return original(view)
            finally:
                self.seconds.append(time.perf_counter() - start)

        FigureView.refresh = refresh
        try:
            yield
        finally:
            FigureView.refresh = original


def _time_control(control, box, repeats: int) -> dict:
    """Drag a control through repeats + 1 settings (the first untimed); medians per move."""
    images = _images(box)
    renders = _Renders()
    times, render_times, counts, drawn, displayed, changed = [], [], [], 0, 0, 0
    with renders.installed(), contextlib.redirect_stdout(io.StringIO()):
        for k, (attribute, value) in enumerate(_drag(control, repeats + 1)):
            before = [image.value for image in images]
            renders.seconds.clear()
            DISPLAY.seconds.clear()
            figures = DISPLAY.figures
            start = time.perf_counter()
            setattr(control, attribute, value)
            elapsed = time.perf_counter() - start
            if k == 0:
                continue  # warm-up
            times.append(elapsed)
            render_times.append(sum(renders.seconds) + sum(DISPLAY.seconds))
            drawn += bool(renders.seconds)
            counts.append(len(renders.seconds) + DISPLAY.figures - figures)
            displayed += DISPLAY.figures > figures
            changed += any(i.value != v for i, v in zip(images, before, strict=True))
    if max(drawn, changed) == repeats:  # a FigureView rendered into the Image at every move
        shown = "image"
    elif displayed == repeats:
        shown = "inline"
    elif drawn or changed or displayed:
        shown = f"{max(drawn, changed, displayed)}/{repeats} moves"
    else:
        shown = "none"
    return {
        "update_ms": median(times) * 1e3,
        "render_ms": median(render_times) * 1e3,
        "renders": int(median(counts)) if median(counts).is_integer() else median(counts),
        "shown": shown,
        "rendered": shown in ("image", "inline"),
    }


def run(config: Config) -> Result:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import dgmlab.widgets

    result = Result(
        "widgets", "Widget latency: every lecture explorer's update, rendering included, headless"
    )
    repeats = 15 if config.full else 2
    modules = sorted(
        m.name for m in pkgutil.iter_modules(dgmlab.widgets.__path__) if not m.name.startswith("_")
    )
    if not modules:
        result.skipped = "no dgmlab/widgets/<slug>.py modules yet (discovery found none)"
        return result
    for name in modules:
        module = importlib.import_module(f"dgmlab.widgets.{name}")
        explorers = [
            f
            for f in dir(module)
            if f.startswith("explore_") and inspect.isfunction(getattr(module, f))
        ]
        if not explorers:
            result.notes.append(f"{name}: no explore_* function")
        for fn_name in explorers:
            fn = getattr(module, fn_name)
            import IPython.display

            box = None
            original = IPython.display.display
            IPython.display.display = DISPLAY  # for as long as the explorer lives
            try:
                for latent_dim in (1, 2):  # the bar decoder first; a 2-D latent where needed
                    try:
                        kwargs = {
                            p.name: _fixtures(module, p.name, latent_dim)
                            for p in inspect.signature(fn).parameters.values()
                            if p.default is inspect.Parameter.empty
                        }
                    except LookupError as missing:
                        result.notes.append(
                            f"{name}.{fn_name}: skipped, no fixture for '{missing}'"
                        )
                        break
                    try:
                        with contextlib.redirect_stdout(io.StringIO()):
                            box = fn(**kwargs)
                        break
                    except ValueError:
                        if latent_dim == 2:
                            raise
                if box is None:
                    continue
                box = getattr(box, "widget", box)  # an Explorer shows its box
                for control in _controls(box):
                    label = control.description or type(control).__name__
                    if _stuck(control):
                        result.notes.append(f"{name}.{fn_name}: {label} cannot move, skipped")
                        continue
                    timing = _time_control(control, box, repeats)
                    result.rows.append(
                        {
                            "explorer": f"{name}.{fn_name}",
                            "control": label,
                            "update_ms": round(timing["update_ms"], 1),
                            "render_ms": round(timing["render_ms"], 1),
                            "renders": timing["renders"],
                            "shown": timing["shown"],
                            "ok": timing["update_ms"] <= MAX_MS and timing["rendered"],
                        }
                    )
            finally:
                IPython.display.display = original
            plt.close("all")
    if not result.rows:
        result.skipped = "widget modules found, but no explorer could be built: " + "; ".join(
            result.notes
        )
        return result
    slowest = max(result.rows, key=lambda r: r["update_ms"])
    result.targets.append(
        Target(
            f"slowest update, rendering included ({slowest['explorer']}: {slowest['control']})",
            slowest["update_ms"],
            f"<= {MAX_MS:.0f} ms",
            slowest["update_ms"] <= MAX_MS,
            "ms",
        )
    )
    result.targets.append(
        Target(
            "updates within 50 ms, each with a render",
            sum(r["ok"] for r in result.rows),
            f"all {len(result.rows)}",
            all(r["ok"] for r in result.rows),
        )
    )
    result.notes.append(
        f"median over {repeats} moves per control (a drag through distinct settings; one "
        f"warm-up move first); torch threads {torch.get_num_threads()}; update_ms is the whole "
        "callback a student waits for, render_ms the drawing and PNG inside it"
    )
    return result
