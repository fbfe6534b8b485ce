"""Build the course's website from lectures/, exercises/ and docs/notation.md, offline.

1. Every ``lectures/*.ipynb`` runs in a fresh kernel through ``course_tools.execute_cached``: an
   unchanged lecture (same notebook, same dgmlab, same packages) is read from the cache, and a
   lecture that raises stops the build.
2. The executed lectures are staged as pages: each explorer's widget becomes the picture it
   showed, with a note that its sliders move in JupyterLab (a static page has no kernel); a
   progress bar becomes its last line of text; "Try it" answers (``<details>``) become the
   theme's dropdowns, so their equations are typeset; a box links the notebook, the exercise and
   the solution. Each lecture's exercise follows it as a page of instructions: the *released*
   notebook from exercises/, which holds no answer and no hidden test (its test cells folded).
3. Jupyter Book 1 (Sphinx with MyST-NB and sphinx-book-theme) builds the site with execution
   off (step 1 did it) and warnings as errors, with MathJax served from the site itself
   (the PyPI package sphinx-mathjax-offline), never from a CDN.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import yaml

from course_tools import (
    BIN,
    EXERCISES,
    LECTURES,
    ROOT,
    Executed,
    environment,
    execute_cached,
)

TITLE = "Deep generative models, computed exactly where we can"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_TIMEOUT_S = 300


class BuildError(Exception):
    """A lecture failed to run, or Sphinx failed: the message says which and why."""


def lectures() -> list[Path]:
    """The lectures, in course order: every ``lectures/*.ipynb`` (a new one needs no edit here)."""
    return sorted(LECTURES.glob("*.ipynb"))


def execute_all(paths: list[Path], cache: Path) -> dict[Path, Executed]:
    """Every lecture executed (or read from ``cache``); BuildError at the first that failed.

    A lecture another process is running (pytest's test_notebooks, sharing the cache) is left
    for last, so this build runs the others meanwhile instead of waiting.
    """
    runs: dict[Path, Executed] = {}
    for wait in (False, True):
        for path in paths:
            if path in runs:
                continue
            run = execute_cached(path, cache, timeout=CELL_TIMEOUT_S, wait=wait)
            if run is None:
                continue
            if run.error is not None:
                raise BuildError(f"{path.relative_to(ROOT)} stopped: {run.error}")
            how = "from the cache" if run.cached else "executed"
            print(f"book: {path.name}: {how} ({run.seconds:.0f} s)", flush=True)
            runs[path] = run
    return runs


# ---------------------------------------------------------------------------- widgets


def _widget_models(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _walk(models: dict, model_id: str, seen: set | None = None):
    """The widget ``model_id`` and every widget under it, depth first, in display order."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in models:
        return
    seen.add(model_id)
    model = models[model_id]
    yield model
    for value in model.get("state", {}).values():
        refs = value if isinstance(value, list) else [value]
        for ref in refs:
            if isinstance(ref, str) and ref.startswith("IPY_MODEL_"):
                yield from _walk(models, ref.removeprefix("IPY_MODEL_"), seen)


def _text(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value)).replace("\u2007", " ").strip()


def _control(model: dict) -> str | None:
    """``description = value`` for a slider or a dropdown, as the widget showed it."""
    state, name = model["state"], model["model_name"]
    label = state.get("description") or "value"
    if "Slider" in name and "value" in state:
        value = state["value"]
        return f"{label} = {value:.2f}" if isinstance(value, float) else f"{label} = {value}"
    if name == "DropdownModel" and state.get("index") is not None:
        return f"{label} = {state['_options_labels'][state['index']]}"
    return None


def _pictures(model: dict) -> list[str]:
    """The base64 PNGs a widget shows: an Image's value, or the figures in an Output."""
    if model["model_name"] == "ImageModel" and model["state"].get("format", "png") == "png":
        return [b["data"] for b in model.get("buffers", []) if b.get("path") == ["value"]]
    if model["model_name"] == "OutputModel":
        return [o["data"]["image/png"] for o in model["state"].get("outputs", [])
                if "image/png" in o.get("data", {})]  # fmt: skip
    return []


def static_widget(output, models: dict, notebook: str) -> list:
    """The outputs a static page shows for one widget output.

    An explorer (a widget with a picture) becomes its picture as executed and a note: the
    controls' values it was drawn for, and that the sliders move in JupyterLab. Any other widget
    (tqdm's progress bar) becomes its text, as a console would print it.
    """
    tree = list(_walk(models, output["data"][WIDGET_VIEW]["model_id"]))
    pictures = [p for model in tree for p in _pictures(model)]
    if not pictures:
        texts = [m for m in tree if m["model_name"] in ("HTMLModel", "LabelModel")]
        words = [_text(m["state"].get("value", "")) for m in texts]
        text = " ".join(w for w in words if w) or output["data"].get("text/plain", "")
        return [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
    controls = [c for model in tree if (c := _control(model))]
    drawn = f" Drawn for {', '.join(controls)}." if controls else ""
    note = (
        '<p class="explorer-note"><em>An explorer: the picture as it was executed.'
        f"{html.escape(drawn)} Its sliders move, and the picture with them, when you run "
        f"the notebook ({html.escape(notebook)}) in JupyterLab.</em></p>"
    )
    shown = [
        nbformat.v4.new_output("display_data", data={"image/png": p, "text/plain": "explorer"})
        for p in pictures
    ]
    return [*shown, nbformat.v4.new_output("display_data", data={"text/html": note})]


def static_widgets(nb, notebook: str) -> int:
    """Replace every widget output of ``nb`` in place (see ``static_widget``) and drop the
    widget state, so the page loads no widget JavaScript. Returns how many explorers it drew."""
    models = _widget_models(nb)
    explorers = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                replaced = static_widget(output, models, notebook)
                explorers += any("image/png" in o.get("data", {}) for o in replaced)
                outputs.extend(replaced)
            else:
                outputs.append(output)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return explorers


# ---------------------------------------------------------------------------- pages

_DETAILS = re.compile(
    r"<details>\s*<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>", re.DOTALL
)


def dropdowns(markdown: str) -> str:
    """``<details><summary>S</summary>B</details>`` as a MyST dropdown, whose body is parsed
    (raw HTML is not: its equations would be left as ``$...$``)."""

    def replace(match: re.Match) -> str:
        summary = _text(match["summary"])
        return f"\n::::{{dropdown}} {summary}\n{match['body'].strip()}\n::::\n"

    return _DETAILS.sub(replace, markdown)


def title(nb) -> str:
    """The text of the notebook's first ``# `` heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise BuildError("a notebook has no '# ' title heading")


def references(nb) -> str:
    """The body of the notebook's ``## References`` section ("" if it has none)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "## References" in cell.source:
            return cell.source.split("## References", 1)[1].split("\n## ", 1)[0].strip()
    return ""


def links_cell(stem: str, exercise: Path | None, repository_url: str):
    """The box under a lecture's title: the notebook, its exercise, its solution."""
    lines = [
        f"- **Notebook**: {{download}}`{stem}.ipynb <../files/lectures/{stem}.ipynb>` "
        "(run it in JupyterLab: the explorers' sliders move there; here you see their "
        "pictures as executed)"
    ]
    if exercise is not None:
        lines.append(
            f"- **Exercise**: [the instructions](../exercises/{stem}) and "
            f"{{download}}`the notebook <../files/exercises/{stem}.ipynb>` to answer in"
        )
        solution = f"solutions/{stem}/{stem}.ipynb"
        where = (
            f"[`{solution}`]({repository_url.rstrip('/')}/{solution})"
            if repository_url
            else f"`{solution}` in the course's repository"
        )
        lines.append(
            f"- **Solution** (for self-learners, after trying): {where}; "
            "this site shows no answer and no hidden test"
        )
    body = "\n".join(lines)
    return nbformat.v4.new_markdown_cell(f":::{{admonition}} This lecture's files\n{body}\n:::")


def stage_lecture(path: Path, run: Executed, source: Path, repository_url: str) -> tuple[str, bool]:
    """Write the executed lecture and its exercise as pages; returns (title, has exercise)."""
    stem = path.stem
    nb = run.notebook
    static_widgets(nb, f"lectures/{path.name}")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = dropdowns(cell.source)
    exercise = EXERCISES / stem / f"{stem}.ipynb"
    exercise = exercise if exercise.exists() else None
    nb.cells.insert(1, links_cell(stem, exercise, repository_url))
    nbformat.write(nb, source / "lectures" / path.name)
    shutil.copy(path, source / "files" / "lectures" / path.name)
    if exercise is not None:
        shutil.copy(exercise, source / "files" / "exercises" / exercise.name)
        released = nbformat.read(exercise, as_version=4)
        for cell in released.cells:
            if cell.cell_type == "markdown":
                cell.source = dropdowns(cell.source)
            elif cell.metadata.get("nbgrader", {}).get("grade"):
                # a test cell: folded under "Show code cell source", so the instructions and
                # the answer cells read in one run (its code stays on the page)
                cell.metadata.setdefault("tags", []).append("hide-input")
        note = (
            ":::{note}\nThe assignment as students receive it: write each answer in the cell "
            "marked `# YOUR CODE HERE`, in JupyterLab "
            f"({{download}}`download the notebook <../files/exercises/{exercise.name}>`), "
            f"and run the test cell under it. [Back to the lecture](../lectures/{stem}).\n:::"
        )
        released.cells.insert(1, nbformat.v4.new_markdown_cell(note))
        nbformat.write(released, source / "exercises" / exercise.name)
    return title(nb), exercise is not None


def index_page(rows: list[tuple[str, str, bool]]) -> str:
    table = ["| lecture | exercise |", "|---|---|"]
    for stem, name, has_exercise in rows:  # the title carries its number: "01 · ..."
        exercise = f"[instructions](exercises/{stem})" if has_exercise else ""
        table.append(f"| [{name}](lectures/{stem}) | {exercise} |")
    return f"""# {TITLE}

An open course on deep generative models. Every lecture is a notebook built around 4x4 "bar"
images, whose latent is one-dimensional: the evidence $\\log p(x)$, the posterior
$p(z \\mid x)$ and the gap $\\log p(x) - \\text{{ELBO}}$ are computed exactly by quadrature,
not only claimed, and every model is measured against the best log-likelihood any model can
reach, $-H(p_\\text{{data}})$.

These pages show each lecture as it was executed. The explorers (the sliders) show their
picture here; to move them, run the notebook in JupyterLab (the course's README says how, in one
command). Each lecture is followed by its exercise's instructions; the solutions live in the
course's repository, not on this site.

{chr(10).join(table)}

The [symbols](docs/notation) are the same in every lecture, exercise and docstring; the
[references](references) list what each lecture builds on.
"""


def references_page(rows: list[tuple[str, str, str]]) -> str:
    parts = ["# References", "", "What each lecture builds on, as its last section lists it."]
    for stem, name, text in rows:
        if text:
            parts += ["", f"## {name}", "", f"[The lecture](lectures/{stem})", "", text]
    return "\n".join(parts) + "\n"


def config(repository_url: str) -> dict:
    return {
        "title": TITLE,
        "author": "the dgm-course authors",
        "copyright": "the dgm-course authors",
        "only_build_toc_files": True,
        "exclude_patterns": ["files/**", "_build"],
        # step 1 executed the lectures; the exercises are instructions, never run
        "execute": {"execute_notebooks": "off"},
        "parse": {
            "myst_enable_extensions": ["colon_fence", "dollarmath", "amsmath"],
        },
        "html": {
            "use_repository_button": False,
            "use_issues_button": False,
            "use_edit_page_button": False,
            "home_page_in_navbar": True,
        },
        "launch_buttons": {"notebook_interface": "jupyterlab", "thebe": False},
        "repository": {"url": repository_url or "", "branch": "main"},
        "sphinx": {
            # MathJax from the site itself: the package copies it into _static/mathjax and
            # points mathjax_path there
            "extra_extensions": ["sphinx-mathjax-offline"],
            # no thebe (sphinx_offline.py): nothing on a page points at a CDN
            "local_extensions": {"sphinx_offline": str(Path(__file__).parent)},
            "config": {
                # "text\n$$\nx\n$$\ntext": the lectures' display math inside a paragraph (the
                # parse section does not pass this one on to Sphinx)
                "myst_dmath_double_inline": True,
                # no widget JavaScript (from a CDN): the widgets are pictures (static_widgets)
                "nb_ipywidgets_js": {},
                "html_theme_options": {
                    "search_bar_text": "Search the course...",
                    "use_download_button": False,
                    "use_fullscreen_button": False,
                    "launch_buttons": {},
                },
                "html_show_sourcelink": False,
                "html_copy_source": False,
                "html_use_index": False,  # nothing is indexed: no empty index page
            },
        },
    }


def toc(rows: list[tuple[str, str, bool]]) -> dict:
    chapters = []
    for stem, _, has_exercise in rows:
        chapter: dict = {"file": f"lectures/{stem}"}
        if has_exercise:
            chapter["sections"] = [{"file": f"exercises/{stem}"}]
        chapters.append(chapter)
    return {
        "format": "jb-book",
        "root": "index",
        "parts": [
            {"caption": "Lectures", "chapters": chapters},
            {
                "caption": "Reference",
                "chapters": [{"file": "docs/notation"}, {"file": "references"}],
            },
        ],
    }


def build(output: Path, cache: Path, *, repository_url: str = "") -> Path:
    """Execute (or read from ``cache``) every lecture, stage the pages in ``output/source`` and
    build the site; returns the site's folder, ``output/_build/html``."""
    paths = lectures()
    if not paths:
        raise BuildError(f"no lectures in {LECTURES}")
    runs = execute_all(paths, cache)
    source = output / "source"
    # from scratch: a page whose source went away must not stay in the site
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(output / "_build", ignore_errors=True)
    for folder in ("lectures", "exercises", "docs", "files/lectures", "files/exercises"):
        (source / folder).mkdir(parents=True)
    rows, refs = [], []
    for path in paths:
        name, has_exercise = stage_lecture(path, runs[path], source, repository_url)
        rows.append((path.stem, name, has_exercise))
        refs.append((path.stem, name, references(runs[path].notebook)))
    (source / "index.md").write_text(index_page(rows))
    # where the lectures' own links ("../docs/notation.md") find it
    shutil.copy(ROOT / "docs" / "notation.md", source / "docs" / "notation.md")
    (source / "references.md").write_text(references_page(refs))
    (source / "_toc.yml").write_text(yaml.safe_dump(toc(rows), sort_keys=False))
    (source / "_config.yml").write_text(yaml.safe_dump(config(repository_url), sort_keys=False))
    # -W --keep-going: a broken reference or a missing file fails the build, listing them all
    done = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(source), "--path-output", str(output),
         "--builder", "html", "-W", "-n", "--keep-going"],
        cwd=output, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        env=environment(NO_COLOR="1"),
    )  # fmt: skip
    site = output / "_build" / "html"
    if done.returncode != 0:
        warnings = [
            line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line
        ]
        raise BuildError(
            "jupyter-book build failed:\n" + "\n".join(warnings or [done.stdout[-4000:]])
        )
    return site
