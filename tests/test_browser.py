"""The lectures' explorers in a real browser: JupyterLab, Debian's Chromium, driven by Playwright.

The widget tests (tests/test_widgets_*.py) call the explorers' update logic headless; this one
checks what a student sees. For every lecture that displays an explorer (a code cell whose last
statement calls ``explore_*``) it opens a copy of the notebook at ``/lab/tree/<name>``, runs it
with JupyterLab's own Run > Run All Cells menu item, waits for the kernel, and asserts that

- every code cell ran and none shows a traceback;
- every explorer's widget view rendered: its sliders and its picture (an ``<img>``: a
  ``widgets.Image``, or a figure displayed in a ``widgets.Output``) are there, and no "Error
  displaying widget" or "Loading widget..." placeholder is left;
- moving the explorer's first slider with the keyboard (ArrowRight x3 on its handle), and
  picking another option of its first dropdown where it has one, changes the picture: its
  ``src``, and its decoded pixels.

On failure a screenshot is saved into the test's tmp_path and named in the message.

Needs /usr/bin/chromium (Debian: ``sudo apt-get install chromium``); skips without it unless
DGMLAB_REQUIRE_BROWSER=1 (set by .ci/run, which installs it), where a missing browser fails.
The kernels run with CI=1, the lectures' shortened training: the widgets are what is tested here.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from course import LECTURES, jupyter_lab, notebooks
from IPython.core.inputtransformer2 import TransformerManager

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = Path("/usr/bin/chromium")
# --disable-background-networking etc.: otherwise Chromium calls Google, refused on CI machines.
# Playwright gives every launch a fresh, temporary user-data dir.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 1000}
# JupyterLab settings for a quiet, fully rendered notebook: no news or update toasts over the
# cells; every cell attached to the DOM (the default windowing leaves off-screen cells out).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}

RUN_TIMEOUT_S = 420  # Run All Cells of one lecture (06 trains two VAEs: 40-90 s, machine load)
UPDATE_TIMEOUT_S = 30  # one explorer update, kernel round trip included, on a loaded machine


# box => the explorer's picture: the src of each <img> in the box and a hash of its decoded
# pixels (read back through a canvas, in one step: an Output widget replaces its <img> at every
# update, an Image widget changes its src), or null while an image is missing or loading
_PICTURE = """box => {
    const images = [...box.querySelectorAll('img')];
    if (!images.length || !images.every(i => i.complete && i.naturalWidth > 0)) return null;
    const pixels = images.map(i => {
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [i.naturalWidth, i.naturalHeight];
        const context = canvas.getContext('2d');
        context.drawImage(i, 0, 0);
        const data = new Uint32Array(context.getImageData(0, 0, canvas.width, canvas.height)
                                     .data.buffer);
        let hash = 2166136261;
        for (const word of data) hash = Math.imul(hash ^ word, 16777619) >>> 0;
        return `${canvas.width}x${canvas.height}:${hash}`;
    });
    return {srcs: images.map(i => i.src), pixels};
}"""
# [box, srcs] => the box's images have loaded and their srcs differ from srcs
_PICTURE_CHANGED = """([box, srcs]) => {
    const images = [...box.querySelectorAll('img')];
    return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0)
        && JSON.stringify(images.map(i => i.src)) !== JSON.stringify(srcs);
}"""
# what a widget output shows instead of a view that failed ("Error displaying widget: ...",
# or ipywidgets 8's "Click to show javascript error.")
_WIDGET_ERROR = re.compile(r"Error displaying widget|javascript error", re.IGNORECASE)
# The status bar's kernel item reads "Python 3 (ipykernel) | Idle" once a kernel is connected
# and idle (the toolbar's execution indicator says "idle" before there is a kernel at all).
_KERNEL_STATUS = "document.querySelector('#jp-main-statusbar [title^=\"Change kernel\"]')"
_KERNEL_IDLE = f"""() => {{
    const text = ({_KERNEL_STATUS} || {{}}).textContent || "";
    return / \\| Idle$/.test(text) && !text.startsWith("No Kernel");
}}"""
# every queued cell has run (an error leaves the cells after it at "[ ]:"), the kernel idles
_RUN_DONE = f"""() => {{
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim());
    return !prompts.includes('[*]:') && ({_KERNEL_IDLE})();
}}"""


def _shows_explorer(source: str) -> bool:
    """Whether a code cell's value is an explorer: its last statement calls ``explore_*``."""
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return False
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return False
    calls = (n for n in ast.walk(tree.body[-1]) if isinstance(n, ast.Call))
    return any(
        getattr(c.func, "id", getattr(c.func, "attr", "")).startswith("explore_") for c in calls
    )


def explorer_cells(path: Path) -> list[int]:
    """The indices (among all cells) of the cells that display an explorer."""
    nb = nbformat.read(path, as_version=4)
    return [
        n for n, c in enumerate(nb.cells) if c.cell_type == "code" and _shows_explorer(c.source)
    ]


LECTURES_WITH_EXPLORERS = [p for p in notebooks(LECTURES) if explorer_cells(p)]


def _missing(reason: str) -> None:
    """Skip, or fail where the browser is required (CI: DGMLAB_REQUIRE_BROWSER=1)."""
    if os.environ.get("DGMLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (DGMLAB_REQUIRE_BROWSER=1: the browser tests may not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing('playwright not installed: pip install -e ".[dev]"')
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a private copy of lectures/ (running a notebook must not touch the repo)."""
    root = tmp_path_factory.mktemp("browser-lab")
    work = root / "lectures"
    work.mkdir()
    for path in LECTURES_WITH_EXPLORERS:
        shutil.copy(path, work / path.name)
    settings = root / "settings"
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.split(":")
        target = settings / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = {
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "CI": "1",  # the lectures' shortened training
    }
    with jupyter_lab(work, root, cwd=root, env=env) as server:
        yield server


def _delete_sessions(lab) -> None:
    """Shut down every kernel the notebook started (the next lecture starts its own)."""
    for session in lab.api("sessions"):
        request = urllib.request.Request(
            f"{lab.url}/api/sessions/{session['id']}?token={lab.token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


class Notebook:
    """One lecture open in a browser page; ``fail`` screenshots the page into tmp_path."""

    def __init__(self, page, name: str, tmp_path: Path, log: Path):
        self.page, self.name, self.tmp_path = page, name, tmp_path
        # JupyterLab's log from here on: the kernel's stderr (a callback's traceback) lands there
        self.log, self.log_start = log, log.stat().st_size
        self.console_errors: list[str] = []
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        self.screenshots = 0

    def fail(self, message: str, element=None):
        self.screenshots += 1
        shot = self.tmp_path / f"{Path(self.name).stem}-failure-{self.screenshots}.png"
        try:
            if element is not None:
                element.scroll_into_view_if_needed(timeout=5_000)
            self.page.screenshot(path=str(shot), timeout=15_000)
            where = f"screenshot: {shot}"
        except Exception as error:  # the screenshot is a courtesy; the message is the failure
            where = f"no screenshot ({type(error).__name__}: {error})"
        errors = "".join(f"\n  {e[:300]}" for e in self.console_errors[-5:])
        console = f"\nbrowser console errors:{errors}" if errors else ""
        try:
            logged = self.log_console()
        except Exception as error:
            logged = f"(could not read it: {type(error).__name__}: {error})"
        if logged:
            console += f"\nJupyterLab's log console (a widget callback's output):\n{logged}"
        with open(self.log, errors="replace") as log:
            log.seek(self.log_start)
            lines = [line for line in log.read().splitlines() if not line.startswith("[I ")]
        tail = "\n".join(lines)[-2000:].strip()
        tail = f"\nJupyterLab's log ({self.log}):\n{tail}" if tail else ""
        # from None: the Playwright timeout this replaces says less than the message
        raise pytest.fail.Exception(
            f"{self.name}: {message}\n({where}){console}{tail}", pytrace=False
        ) from None

    def open(self, lab) -> None:
        # ?reset: a fresh workspace, so the lecture opened before this one is not restored
        self.page.goto(f"{lab.url}/lab/tree/{self.name}?reset&token={lab.token}")
        try:
            self.page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=90_000)
            self.page.wait_for_function(_KERNEL_IDLE, timeout=90_000, polling=200)
        except Exception as error:
            self.fail(f"the notebook or its kernel did not come up: {error}")
        opened = self.page.locator(".jp-NotebookPanel").count()
        if opened != 1:
            self.fail(f"expected this one notebook open, found {opened} notebook panels")

    def log_console(self) -> str:
        """What JupyterLab's log console holds for this notebook: the kernel's output outside any
        cell, such as a widget callback's traceback. "" while its status bar item is hidden."""
        item = self.page.locator(".jp-LogConsoleStatusItem:not(.lm-mod-hidden)")
        if not item.count():
            return ""
        item.click()
        panel = self.page.locator(".jp-LogConsolePanel")
        panel.wait_for(timeout=10_000)
        return panel.inner_text()[-2500:].strip()

    def check_log_console(self) -> None:
        if self.page.locator(".jp-LogConsoleStatusItem:not(.lm-mod-hidden)").count():
            self.fail("the kernel logged output outside the cells (see below)")

    def state(self) -> str:
        """The kernel's status and each code cell's prompt, for messages."""
        status = self.page.evaluate(f"() => ({_KERNEL_STATUS} || {{}}).textContent")
        prompts = self.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        return f"kernel: {status}; prompts: {' '.join(prompts)}"

    def run_all(self) -> None:
        """Run > Run All Cells; wait until no cell is queued or running and the kernel idles."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.locator('li[data-command="runmenu:run-all"]').click()
        started = "() => document.querySelector('.jp-CodeCell .jp-InputPrompt')"
        started += ".textContent.trim() !== '[ ]:'"
        try:
            self.page.wait_for_function(started, timeout=60_000, polling=200)
        except Exception:
            self.fail(f"Run All Cells did not start the first cell in 60 s ({self.state()})")
        try:
            self.page.wait_for_function(_RUN_DONE, timeout=RUN_TIMEOUT_S * 1000, polling=500)
        except Exception:
            self.fail(f"Run All Cells did not finish in {RUN_TIMEOUT_S} s ({self.state()})")

    def check_outputs(self) -> None:
        """No output holds a traceback, and every code cell ran."""
        for output in self.page.locator(".jp-OutputArea-output").all():
            text = output.inner_text()
            if "Traceback" in text:
                self.fail(f"a cell shows an error:\n{text[-2500:]}", element=output)
        prompts = self.page.locator(".jp-Notebook .jp-Cell").evaluate_all(
            """cells => cells.map(c => c.classList.contains('jp-CodeCell')
                ? c.querySelector('.jp-InputPrompt').textContent.trim() : null)"""
        )
        not_run = [(n, p) for n, p in enumerate(prompts) if p and not re.fullmatch(r"\[\d+\]:", p)]
        if not_run:
            self.fail(f"code cells did not run: (cell, prompt) {not_run}")

    def explorers(self, path: Path):
        """The root widget box of each explorer, checked rendered, in notebook order."""
        cells = self.page.locator(".jp-Notebook .jp-Cell")
        expected = len(nbformat.read(path, as_version=4).cells)
        if cells.count() != expected:
            self.fail(f"the page shows {cells.count()} cells, the notebook has {expected}")
        boxes = []
        for n in explorer_cells(path):
            cell = cells.nth(n)
            # the explorer's root box: a widget output holding a slider (not, say, a progress bar)
            box = (
                cell.locator(".jp-OutputArea-output > .jupyter-widgets")
                .filter(has=self.page.locator(".widget-slider"))
                .first
            )
            output = cell.locator(".jp-Cell-outputArea")
            broken = output.get_by_text(_WIDGET_ERROR)
            try:  # the explorer, or the error a widget view shows when it cannot render
                box.or_(broken).first.wait_for(timeout=60_000)
                # a placeholder that stays means the widget never rendered
                cell.get_by_text("Loading widget...").wait_for(state="detached", timeout=60_000)
            except Exception:
                self.fail(f"cell {n}'s explorer did not render; its output:\n{output.inner_text()}")
            text = output.inner_text()
            if broken.count() or "Loading widget" in text:
                self.fail(f"cell {n}'s explorer failed to display; its output:\n{text}", cell)
            for part, selector in (("slider", ".widget-slider"), ("picture", "img")):
                try:
                    box.locator(selector).first.wait_for(timeout=UPDATE_TIMEOUT_S * 1000)
                except Exception:
                    self.fail(f"cell {n}'s explorer shows no {part} ({selector} in its box)", box)
            boxes.append((n, box))
        return boxes

    def picture(self, box) -> dict:
        """The explorer's picture once it has settled: the kernel idles (no update is on its
        way) and two looks a quarter of a second apart agree. {"srcs": [...], "pixels": [...]}.
        """
        deadline = time.monotonic() + UPDATE_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            idle = self.page.evaluate(_KERNEL_IDLE)
            now = box.evaluate(_PICTURE)
            if idle and now is not None and now == last:
                return now
            last = now
            time.sleep(0.25)
        self.fail(f"the picture did not settle in {UPDATE_TIMEOUT_S} s ({self.state()})", box)

    def assert_picture_changes(self, box, before: dict, what: str) -> None:
        try:
            self.page.wait_for_function(
                _PICTURE_CHANGED,
                arg=[box.element_handle(), before["srcs"]],
                timeout=UPDATE_TIMEOUT_S * 1000,
            )
        except Exception:
            self.fail(f"{what}, but the picture did not change in {UPDATE_TIMEOUT_S} s", box)
        if self.picture(box)["pixels"] == before["pixels"]:
            self.fail(f"{what}: the picture was redrawn, but with the same pixels", box)

    def move_slider(self, box, n: int) -> None:
        handle = box.locator(".widget-slider .noUi-handle").first
        value = handle.get_attribute("aria-valuetext")
        try:
            at_max = float(value) >= float(handle.get_attribute("aria-valuemax"))
        except (TypeError, ValueError):
            at_max = False
        key = "ArrowLeft" if at_max else "ArrowRight"
        before = self.picture(box)
        handle.focus()
        for _ in range(3):
            handle.press(key)
        try:  # noUiSlider updates its aria attributes a frame later
            self.page.wait_for_function(
                "([h, v]) => h.getAttribute('aria-valuetext') !== v",
                arg=[handle.element_handle(), value],
                timeout=10_000,
            )
        except Exception:
            self.fail(f"cell {n}: {key} on its first slider left it at {value}", box)
        moved = handle.get_attribute("aria-valuetext")
        what = f"cell {n}: slider moved {value} -> {moved} ({key} x3)"
        self.assert_picture_changes(box, before, what)

    def pick_option(self, box, n: int) -> bool:
        """Pick the dropdown's next option; False where the explorer has no dropdown."""
        selects = box.locator(".widget-dropdown select")
        if selects.count() == 0:
            return False
        select = selects.first
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.selectedIndex")
        index = (current + 1) % len(options)
        before = self.picture(box)
        select.select_option(index=index)
        options = [o.replace("\xa0", " ") for o in options]  # ipywidgets shows spaces as nbsp
        what = f"cell {n}: dropdown {options[current]!r} -> {options[index]!r}"
        self.assert_picture_changes(box, before, what)
        return True


@pytest.mark.timeout(RUN_TIMEOUT_S + 180)
@pytest.mark.parametrize("path", LECTURES_WITH_EXPLORERS, ids=lambda p: p.stem)
def test_explorers_work_in_jupyterlab(path, browser, lab, tmp_path):
    context = browser.new_context(viewport=VIEWPORT)
    notebook = Notebook(context.new_page(), path.name, tmp_path, lab.log)
    try:
        notebook.open(lab)
        notebook.run_all()
        notebook.check_outputs()
        for n, box in notebook.explorers(path):
            box.scroll_into_view_if_needed()
            notebook.move_slider(box, n)
            notebook.pick_option(box, n)
        notebook.check_outputs()  # the widgets' callbacks printed no traceback either
        notebook.check_log_console()  # where a callback's traceback goes
    except Exception as error:  # Playwright's own errors, with a screenshot too
        notebook.fail(f"{type(error).__name__}: {error}")
    finally:
        context.close()
        with contextlib.suppress(OSError):  # never hide the test's own failure
            _delete_sessions(lab)


def test_there_are_explorers_to_drive():
    assert len(LECTURES_WITH_EXPLORERS) >= 5, [p.name for p in LECTURES_WITH_EXPLORERS]
