"""The course's book: ``python -m book`` builds the site, and every page is checked in Chromium.

The build runs from the repository into a temporary folder, executing the lectures through the
run's shared cache of executed notebooks (``course.executed_cache``): test_notebooks runs each
lecture once per run and reads what the build ran, or the build reads what it ran. The site is
served on 127.0.0.1 and every page is opened in Debian's Chromium (Playwright, launched as
tests/test_browser.py launches it), with every request that leaves the site refused and
recorded. On each page:

- the server answered 200, no request left 127.0.0.1 (MathJax, fonts, styles are the site's);
- every internal link resolves to a file of the site, and its #fragment to an id on that page;
- every equation is typeset: each ``.math`` element holds MathJax's output, no MathJax error or
  undefined macro (red) is shown, and no ``$...$``, ``\\(...\\)`` or ``\\begin{`` is left in the
  text outside code;
- every image has loaded (``naturalWidth > 0``);
- no line of a solution's answers or hidden tests is on the page (read from solutions/: the
  lines between ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` and their ends, less those
  the lectures or the released exercises show anyway);
- a screenshot of the top of the page is not blank: enough of its pixels differ from the
  background (a 404 or an empty page fails).

A lecture page also shows each explorer's executed picture with the note that its sliders move
in JupyterLab, one per explorer cell of the notebook.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from course import (
    EXERCISES,
    LECTURES,
    ROOT,
    SOLUTIONS,
    Executed,
    environment,
    executed_cache,
    notebooks,
)
from test_browser import VIEWPORT, browser, explorer_cells  # noqa: F401 - browser: a fixture

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("book")]

BUILD_TIMEOUT_S = 1800  # the lectures' execution, when no test ran them before (~5 min alone)
# the first screen of a page's content (the article, without the navigation): at least this
# fraction of its pixels differs from the background colour. Measured at 1400x1000: lectures
# and exercises 13-40%, references 8.5%, search with results 7.8%; an emptied article 0%,
# http.server's 404 page 2.7%
MIN_INK = 0.04

LECTURE_STEMS = [p.stem for p in sorted(LECTURES.glob("*.ipynb"))]
PAGES = (
    ["index.html", "docs/notation.html", "references.html", "search.html"]
    + [f"lectures/{stem}.html" for stem in LECTURE_STEMS]
    + [f"exercises/{s}.html" for s in LECTURE_STEMS if (EXERCISES / s / f"{s}.ipynb").exists()]
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("book")
    done = subprocess.run(
        [sys.executable, "-m", "book", "--output", str(output),
         "--cache", str(executed_cache(tmp_path_factory))],
        cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, f"python -m book failed:\n{done.stdout[-3000:]}{done.stderr}"
    site = output / "_build" / "html"
    assert (site / "index.html").is_file(), done.stdout[-3000:]
    return site


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # not on the test's stderr
        pass


def test_the_readme_gives_the_command_this_test_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- book-command -->\s*```bash\n(.*?)\n```", text, flags=re.S)
    assert match and match[1].strip() == "python -m book", "README: <!-- book-command -->"
    assert "build/book/_build/html/" in text, "the README says where the site lands"


def test_a_lecture_that_raises_fails_the_build(monkeypatch, tmp_path):
    from book import build

    def failed(path, cache, **kwargs):
        return Executed(nbformat.v4.new_notebook(), 1.0, RuntimeError("cell 3 raised"))

    monkeypatch.setattr(build, "execute_cached", failed)
    with pytest.raises(build.BuildError, match="01_x.ipynb stopped: cell 3 raised"):
        build.execute_all([LECTURES / "01_x.ipynb"], tmp_path)


def _widget(model_name: str, state: dict, buffers: list | None = None) -> dict:
    return {"model_name": model_name, "state": state, "buffers": buffers or []}


def test_an_explorer_becomes_its_picture_and_a_progress_bar_its_text():
    from book.build import WIDGET_STATE, WIDGET_VIEW, static_widgets

    png = "iVBORw0KGgo="  # what the Image widget held, base64
    models = {
        "box": _widget("VBoxModel", {"children": ["IPY_MODEL_slider", "IPY_MODEL_image"]}),
        "slider": _widget("FloatSliderModel", {"description": "z", "value": 0.5}),
        "image": _widget("ImageModel", {"format": "png"}, [{"path": ["value"], "data": png}]),
        "bar": _widget("HBoxModel", {"children": ["IPY_MODEL_left", "IPY_MODEL_right"]}),
        "left": _widget("HTMLModel", {"value": "fit:\u2007100%"}),
        "right": _widget("HTMLModel", {"value": "50/50 [00:01&lt;00:00]"}),
    }
    view = {"output_type": "display_data", "metadata": {}}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("explore()")])
    nb.cells[0].outputs = [
        nbformat.from_dict({**view, "data": {WIDGET_VIEW: {"model_id": "bar"}}}),
        nbformat.from_dict({**view, "data": {WIDGET_VIEW: {"model_id": "box"}}}),
    ]
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": models}}
    assert static_widgets(nb, "lectures/01_x.ipynb") == 1
    bar, picture, note = nb.cells[0].outputs
    assert bar.text == "fit: 100% 50/50 [00:01<00:00]\n"
    assert picture.data["image/png"] == png
    assert "z = 0.50" in note.data["text/html"] and "JupyterLab" in note.data["text/html"]
    assert "widgets" not in nb.metadata  # no widget JavaScript on the page


# ---------------------------------------------------------------------------- solutions


def _blocks(source: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{re.escape(begin)}\n(.*?){re.escape(end)}", source, flags=re.DOTALL)


def _normal(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def secret_lines() -> dict[str, str]:
    """normalized line -> the solution it comes from: every line of an answer or a hidden test
    that is long enough to identify it (12 characters) and that no lecture and no released
    exercise shows, even as part of a line (those are public: a lecture may compute what an
    answer computes, a release keeps an answer's first line)."""
    public = " \n ".join(
        _normal(cell.source)
        for path in notebooks(LECTURES) + notebooks(EXERCISES)
        for cell in nbformat.read(path, as_version=4).cells
    )
    secrets = {}
    for path in notebooks(SOLUTIONS):
        for cell in nbformat.read(path, as_version=4).cells:
            blocks = _blocks(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
            blocks += _blocks(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
            for block in blocks:
                for line in block.splitlines():
                    line = _normal(line)
                    if len(line) >= 12 and line not in public:
                        secrets[line] = path.name
    return secrets


def leaked(text: str) -> list[str]:
    """The solution lines (see ``secret_lines``) found in ``text``."""
    text = _normal(text)
    return [f"{where}: {line}" for line, where in secret_lines().items() if line in text]


def test_the_leak_check_finds_answers_and_hidden_tests_and_passes_exercises():
    assert len(secret_lines()) >= 10 * len(notebooks(SOLUTIONS)), len(secret_lines())
    for path in notebooks(SOLUTIONS):
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        answers = "\n".join(_blocks(source, "### BEGIN SOLUTION", "### END SOLUTION"))
        hidden = "\n".join(_blocks(source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
        assert leaked(answers), f"{path.name}: no answer line would be caught"
        assert leaked(hidden), f"{path.name}: no hidden-test line would be caught"
        released = EXERCISES / path.parent.name / path.name
        text = "\n".join(c.source for c in nbformat.read(released, as_version=4).cells)
        assert not leaked(text), f"the release {released.name} counts as a leak"


# ---------------------------------------------------------------------------- the site


def test_the_site_has_every_page_and_loads_nothing_from_the_network(site):
    built = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    built = {p for p in built if not p.startswith(("_static/", "_sources/"))}
    assert built == set(PAGES), f"built, not checked: {built - set(PAGES)}; " \
                                f"checked, not built: {set(PAGES) - built}"  # fmt: skip
    remote = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""")
    for page in built:
        text = (site / page).read_text()
        found = remote.findall(text)
        # nor does a script of the page's own name an address to load (thebe's unpkg.com)
        found += [s[:200] for s in re.findall(r"<script\b[^>]*>(.*?)</script>", text, re.DOTALL)
                  if re.search(r"https?://", s)]  # fmt: skip
        assert not found, f"{page} loads from the network: {found}"
    for css in site.rglob("*.css"):
        found = re.findall(r"(?:url\(|@import)\s*['\"]?(?:https?:)?//[^)'\"]*", css.read_text())
        assert not found, f"{css.relative_to(site)} loads from the network: {found}"
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file(), "no local MathJax"


_MATH_DONE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
        return true;
    }
    return !document.querySelector('.math');
}"""

_PAGE_FACTS = """() => {
    const article = document.querySelector('article') || document.body;
    const prose = article.cloneNode(true);
    // (a search result's .context is an excerpt of a page's text, cut anywhere, an equation
    // included: not prose)
    prose.querySelectorAll('pre, code, mjx-container, script, style, .cell_output, .context')
        .forEach(e => e.remove());
    const math = [...document.querySelectorAll('.math')];
    const content = document.querySelector('article.bd-article') || document.querySelector('main');
    const box = content.getBoundingClientRect();
    return {
        box: [box.left, box.top, box.right, Math.min(box.bottom, window.innerHeight)],
        results: document.querySelectorAll('#search-results li').length,
        title: (document.querySelector('h1') || {}).textContent || '',
        math: math.length,
        untypeset: math.filter(m => !m.querySelector('mjx-container'))
            .map(m => m.textContent.slice(0, 80)),
        errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
            .map(e => e.getAttribute('data-mjx-error') || e.textContent),
        red: [...document.querySelectorAll('mjx-container [style*="color: red"]')]
            .map(e => e.textContent),
        prose: prose.innerText,
        text: document.body.textContent,
        images: [...document.images].map(i => ({src: i.getAttribute('src'),
                                                ok: i.complete && i.naturalWidth > 0})),
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
        notes: [...document.querySelectorAll('.explorer-note')].map(n => {
            const cell = n.closest('.cell_output') || n.parentElement;
            return [...cell.querySelectorAll('img')].some(i => i.naturalWidth > 0);
        }),
    };
}"""

_RAW_MATH = re.compile(r"\$[^$\n]+\$|\\\(|\\\)|\\\[|\\\]|\\begin\{")


def _ink(png: Path, box: list[float]) -> float:
    """The fraction of the pixels in ``box`` (left, top, right, bottom) of the screenshot that
    differ from their commonest colour."""
    from PIL import Image

    image = Image.open(png).convert("RGB").crop(tuple(round(v) for v in box))
    colours = image.getcolors(maxcolors=image.width * image.height)
    background = max(colours)[0]
    return 1 - background / (image.width * image.height)


def _fragment_exists(site: Path, page: str, fragment: str) -> bool:
    text = (site / page).read_text()
    return re.search(rf"""\bid=["']?{re.escape(fragment)}["'\s>]""", text) is not None


@pytest.fixture(scope="module")
def context(browser, server):  # noqa: F811 - browser: test_browser's fixture
    context = browser.new_context(viewport=VIEWPORT)
    context.outside = []  # every request that tried to leave the site

    def route(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            context.outside.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    yield context
    context.close()


@pytest.mark.timeout(BUILD_TIMEOUT_S + 300)
@pytest.mark.parametrize("page", PAGES)
def test_page(page, site, server, context, tmp_path_factory):
    from urllib.parse import unquote, urlsplit

    shots = tmp_path_factory.getbasetemp() / "book-screenshots"
    shots.mkdir(exist_ok=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    outside_before = len(context.outside)
    try:
        query = "?q=evidence" if page == "search.html" else ""  # the search, offline
        response = tab.goto(f"{server}/{page}{query}", wait_until="load")
        assert response is not None and response.status == 200, f"{page}: {response}"
        if query:  # every result listed, and its titles typeset
            tab.wait_for_selector("#search-results li", timeout=30_000)
            tab.wait_for_function(
                "(document.querySelector('.search-summary') || {}).textContent?.includes("
                "'finished') && document.getElementById('search-results').dataset.typeset"
                " === 'true'",
                timeout=30_000,
            )
        tab.evaluate(_MATH_DONE)
        tab.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
        facts = tab.evaluate(_PAGE_FACTS)
        shot = shots / (page.replace("/", "__") + ".png")
        tab.screenshot(path=str(shot))
    finally:
        tab.close()
    where = f"{page} (screenshot: {shots})"
    assert context.outside[outside_before:] == [], f"{where} asked the network for them"
    assert not errors, f"{where}: JavaScript errors: {errors}"
    assert facts["title"].strip(), f"{where} has no <h1> title"
    ink = _ink(shot, facts["box"])
    assert ink >= MIN_INK, f"{where} looks blank: {ink:.1%} of its content's first screen is ink"

    # equations
    assert not facts["untypeset"], f"{where}: equations MathJax left alone: {facts['untypeset']}"
    assert not facts["errors"], f"{where}: MathJax errors: {facts['errors']}"
    assert not facts["red"], f"{where}: undefined TeX macros: {facts['red']}"
    raw = _RAW_MATH.findall(facts["prose"])
    assert not raw, f"{where}: TeX left in the text: {raw[:5]}"
    if page == "search.html":
        assert facts["results"] > 0, f"{where}: searching 'evidence' found nothing"
    if page.startswith(("lectures/", "docs/notation")):
        assert facts["math"] >= 5, f"{where} shows {facts['math']} equations"

    # images
    broken = [i["src"] for i in facts["images"] if not i["ok"]]
    assert not broken, f"{where}: images that did not load: {broken}"

    # links inside the site
    for href in facts["links"]:
        if not href.startswith(server):
            continue
        parts = urlsplit(href)
        target = unquote(parts.path).lstrip("/") or "index.html"
        if target.endswith("/"):
            target += "index.html"
        assert (site / target).is_file(), f"{where}: broken link {href}"
        if parts.fragment and target.endswith(".html"):
            assert _fragment_exists(site, target, unquote(parts.fragment)), (
                f"{where}: link {href}: no id {parts.fragment!r} on {target}"
            )

    # no solution
    leaks = leaked(facts["text"])
    assert not leaks, f"{where} shows solution code: {leaks[:5]}"

    # explorers: their executed picture and the note
    if page.startswith("lectures/"):
        path = LECTURES / (Path(page).stem + ".ipynb")
        expected = len(explorer_cells(path))
        assert len(facts["notes"]) == expected, (
            f"{where}: {len(facts['notes'])} explorer notes for {expected} explorer cells"
        )
        assert all(facts["notes"]), f"{where}: an explorer note without its picture"
        assert any(i["ok"] for i in facts["images"]), f"{where} shows no figure at all"
