"""The lectures' text, read without a kernel: cross-references, the three sections, no plumbing.

- Every "lecture NN" (also "Lecture NN", "lectures NN and MM", "lectures NN-MM") in a lecture,
  solution or exercise notebook names a lecture file that exists; "lecture NN, section M" (or
  "section M of lecture NN") names a section heading ``## M.`` that exists in that lecture, and
  a bare "section M" in a lecture names one of its own headings; a quoted title,
  'lecture NN, section "Title"' or 'lecture NN (section "Title")', is a heading of lecture NN
  (its number, like "3. ", left off), so renaming or moving a section away breaks no reference
  silently.
- Every lecture has, in this format (shared by all lectures so one test covers them): a markdown
  cell right after the title whose first line is ``## What you will learn``, then a bullet list;
  after its last code cell a markdown cell whose first line is ``## What you can now do``
  (bullets); and, last, a markdown cell whose first line is ``## References`` (bullets).
- Every lecture links docs/notation.md, and its relative links resolve.
- No lecture code cell holds test or benchmark plumbing: ``assert`` statements and timers
  (``time.perf_counter``, ``time.time``, ``timeit``) belong in tests/ and benchmarks/.
- ``lecture_claims.check_claims`` (the stated-vs-printed numbers, run on executed notebooks by
  tests/test_notebooks.py) is itself tested here, on tiny synthetic notebooks, both ways.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from course import EXERCISES, LECTURES, ROOT, SOLUTIONS, notebooks
from IPython.core.inputtransformer2 import TransformerManager
from lecture_claims import CLAIMS, Claim, check_claims, markdown_text

LECTURE_FILES = notebooks(LECTURES)
ALL_FILES = LECTURE_FILES + notebooks(SOLUTIONS) + notebooks(EXERCISES)


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _headings(nb) -> set[int]:
    """The section numbers M of every markdown heading '## M. title' in a notebook."""
    return {
        int(m.group(1))
        for c in nb.cells
        if c.cell_type == "markdown"
        for m in re.finditer(r"^#{2,4} +(\d+)\.", c.source, flags=re.M)
    }


def _lecture_headings() -> dict[int, set[int]]:
    """Lecture number -> the section numbers its headings have, for every lectures/NN_*.ipynb."""
    return {
        int(path.name[:2]): _headings(nbformat.read(path, as_version=4))
        for path in LECTURE_FILES
        if re.match(r"\d\d_", path.name)
    }


# 04 / 03 and 04 / 04-06 / 04, 05; never a book's "section 10.1"
_NUMBERS = r"\d{1,2}(?:\s*(?:-|–|,|and|or|to)\s*\d{1,2})*(?![.\d]\d)"
_LECTURE_REF = re.compile(r"\b[Ll]ectures?\s+(" + _NUMBERS + r")\b")
_SECTION_IN_LECTURE = re.compile(
    r"\b[Ll]ecture\s+(\d{1,2}),?\s+sections?\s+(\d+)\b"
    r"|\bsections?\s+(\d+)\s+of\s+lecture\s+(\d{1,2})\b"
)
_BARE_SECTION = re.compile(r"\b[Ss]ections?\s+(" + _NUMBERS + r")\b")


def _expand(numbers: str) -> list[int]:
    """'03 and 04' -> [3, 4]; '04-06' -> [4, 5, 6]."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|and|or)\s*", numbers):
        ends = [int(n) for n in re.split(r"\s*(?:-|–|to)\s*", part) if n]
        out += list(range(ends[0], ends[-1] + 1)) if len(ends) == 2 else ends
    return out


def cross_reference_problems(nb, is_lecture: bool, lectures: dict[int, set[int]]) -> list[str]:
    """Each reference in ``nb`` to a lecture or section that does not exist, in words.

    ``lectures`` maps each lecture number to its section numbers; a bare "section M" is looked
    up in ``nb`` itself when it is a lecture (in an exercise it has no lecture to look in).
    """
    own = _headings(nb)
    problems = []
    for n, cell in enumerate(nb.cells):
        text = cell.source
        for match in _LECTURE_REF.finditer(text):
            for number in _expand(match.group(1)):
                if number not in lectures:
                    problems.append(f"cell {n}: {match.group(0)!r}: no lectures/{number:02d}_*")
        qualified = set()  # where the section number of a "lecture NN, section M" starts
        for match in _SECTION_IN_LECTURE.finditer(text):
            first = match.group(1) is not None
            lecture, section = match.group(1, 2) if first else match.group(4, 3)
            qualified.add(match.start(2 if first else 3))
            if int(lecture) in lectures and int(section) not in lectures[int(lecture)]:
                problems.append(
                    f"cell {n}: {match.group(0)!r}: lecture {lecture} has no '## {section}.'"
                )
        if not is_lecture:
            continue
        for match in _BARE_SECTION.finditer(text):
            if match.start(1) in qualified:
                continue
            for section in _expand(match.group(1)):
                if section not in own:
                    problems.append(
                        f"cell {n}: {match.group(0)!r}: this lecture has no '## {section}.'"
                    )
    return problems


@pytest.mark.parametrize("path", ALL_FILES, ids=_id)
def test_every_lecture_and_section_referred_to_exists(path):
    nb = nbformat.read(path, as_version=4)
    problems = cross_reference_problems(nb, path.parent == LECTURES, _lecture_headings())
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_a_missing_lecture_or_section_is_found():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# 98 · t\n\n## 1. One\n\nAs section 1 shows, and section 2."
        ),
        nbformat.v4.new_markdown_cell("See lecture 01, lectures 02-03 and lecture 97."),
        nbformat.v4.new_markdown_cell("Lecture 02, section 99; section 3 of lecture 01."),
        nbformat.v4.new_markdown_cell("lectures 01 and 04; sections 1 and 5; Bishop section 10.1"),
    ]
    lectures = {1: {1, 2, 3}, 2: {1, 2}, 3: set(), 98: {1}}
    problems = "\n".join(cross_reference_problems(nb, True, lectures))
    assert "'section 2'" in problems and "section 1 shows" not in problems
    assert "lecture 97" in problems and "'See lecture 01" not in problems
    assert "'Lecture 02, section 99'" in problems
    assert "section 3 of lecture 01" not in problems  # lecture 01 has a section 3
    assert "'lectures 01 and 04'" in problems and "'sections 1 and 5'" in problems
    assert len(problems.splitlines()) == 5, problems
    # in an exercise, a bare "section 2" is not looked up (but lecture 97 still is)
    assert len(cross_reference_problems(nb, False, lectures)) == 3


_TITLED_SECTION = re.compile(r'\b[Ll]ecture\s+(\d{1,2})\s*(?:,|\()\s*section\s+"([^"]+)"')
_HEADING = re.compile(r"^#+\s+(?:\d+\.\s+)?(.*?)\s*$", flags=re.M)


def _lecture_titles() -> dict[int, set[str]]:
    """Lecture number -> the titles of its markdown headings, their "M. " numbers left off."""
    return {
        int(path.name[:2]): {
            m.group(1)
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "markdown"
            for m in _HEADING.finditer(c.source)
        }
        for path in LECTURE_FILES
        if re.match(r"\d\d_", path.name)
    }


def section_title_problems(nb, titles: dict[int, set[str]]) -> list[str]:
    """Each 'lecture NN, section "Title"' in ``nb`` whose title is not a heading of lecture NN.

    A missing lecture NN is cross_reference_problems' to report; here it has no titles.
    """
    problems = []
    for n, cell in enumerate(nb.cells):
        text = " ".join(cell.source.split())  # a reference may break across lines
        for match in _TITLED_SECTION.finditer(text):
            lecture, title = int(match.group(1)), match.group(2)
            if lecture in titles and title not in titles[lecture]:
                problems.append(
                    f"cell {n}: {match.group(0)!r}: lecture {lecture:02d} has no such heading"
                )
    return problems


@pytest.mark.parametrize("path", ALL_FILES, ids=_id)
def test_every_section_named_by_its_title_is_a_heading_of_that_lecture(path):
    problems = section_title_problems(nbformat.read(path, as_version=4), _lecture_titles())
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_a_section_title_that_is_not_a_heading_is_found():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            'As in lecture 01, section "The bars" and lecture 02 (section\n"Old title").'
        ),
        nbformat.v4.new_markdown_cell('lecture 01, section "The  bars"; lecture 97, section "X"'),
    ]
    titles = {1: {"The bars"}, 2: {"New title"}}
    problems = section_title_problems(nb, titles)
    assert len(problems) == 1 and "'lecture 02 (section \"Old title\"'" in problems[0], problems
    # the titles are read from the lectures' headings, numbers left off
    assert "The gap is a KL divergence" in _lecture_titles()[4]


# ---- the three sections


def _first_line(cell) -> str:
    return cell.source.strip().splitlines()[0].strip() if cell.source.strip() else ""


def _bullets_follow(cell) -> bool:
    """The lines after the heading start with a bullet list of at least two items."""
    lines = [line for line in cell.source.strip().splitlines()[1:] if line.strip()]
    return (
        bool(lines)
        and lines[0].lstrip().startswith(("- ", "* "))
        and sum(line.startswith(("- ", "* ")) for line in lines) >= 2
    )


def section_problems(nb) -> list[str]:
    problems = []
    cells = nb.cells
    if len(cells) < 2 or not _first_line(cells[0]).startswith("# "):
        return ["the first cell is not a title ('# NN · ...')"]
    learn = cells[1]
    if learn.cell_type != "markdown" or _first_line(learn) != "## What you will learn":
        problems.append("cell 1 (right after the title) is not '## What you will learn'")
    elif not _bullets_follow(learn):
        problems.append("'## What you will learn' is not followed by a bullet list")
    last_code = max((n for n, c in enumerate(cells) if c.cell_type == "code"), default=-1)
    can_do = [
        n
        for n, c in enumerate(cells)
        if c.cell_type == "markdown" and _first_line(c) == "## What you can now do"
    ]
    if not can_do:
        problems.append("no markdown cell starts with '## What you can now do'")
    elif can_do[-1] < last_code:
        problems.append("'## What you can now do' comes before the last code cell")
    elif not _bullets_follow(cells[can_do[-1]]):
        problems.append("'## What you can now do' is not followed by a bullet list")
    refs = cells[-1]
    if refs.cell_type != "markdown" or _first_line(refs) != "## References":
        problems.append("the last cell is not '## References'")
    elif not _bullets_follow(refs):
        problems.append("'## References' is not followed by a bullet list")
    return problems


@pytest.mark.parametrize("path", LECTURE_FILES, ids=_id)
def test_lecture_has_objectives_summary_and_references(path):
    problems = section_problems(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: " + "; ".join(problems)


def title_problem(nb, path: Path) -> str | None:
    """The first cell must be the title '# NN · Title', NN the file's number: the book's table
    of contents and the course table list the lectures by these titles."""
    first = nb.cells[0].source.splitlines()[0] if nb.cells and nb.cells[0].source else ""
    match = re.fullmatch(r"# (\d\d) · [A-Z].*", first)
    if nb.cells[0].cell_type != "markdown" or not match:
        return f"the first line is {first!r}, not '# NN · Title'"
    if match.group(1) != path.name[:2]:
        return f"the title's number {match.group(1)} is not the file's {path.name[:2]}"
    return None


@pytest.mark.parametrize("path", LECTURE_FILES, ids=_id)
def test_lecture_title_is_its_number_and_a_capitalized_title(path):
    problem = title_problem(nbformat.read(path, as_version=4), path)
    assert problem is None, f"{path.name}: {problem}"


def test_title_check_finds_the_other_styles():
    nb = nbformat.v4.new_notebook()
    for title, bad in [
        ("# 04 · The encoder", False),
        ("# Lecture 04: the encoder", True),
        ("# 04 · the encoder", True),
        ("# 05 · The encoder", True),
    ]:
        nb.cells = [nbformat.v4.new_markdown_cell(title)]
        assert (title_problem(nb, Path("04_elbo.ipynb")) is not None) == bad, title


def test_section_check_finds_a_missing_or_misplaced_section():
    def nb_of(*cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell(s[5:])
            if s.startswith("code:")
            else nbformat.v4.new_markdown_cell(s)
            for s in cells
        ]
        return nb

    learn, can, refs = (
        "## What you will learn\n\n- a\n- b",
        "## What you can now do\n\n- a\n- b",
        "## References\n\n- a\n- b",
    )
    assert section_problems(nb_of("# 01 · t", learn, "code:1", can, refs)) == []
    assert section_problems(nb_of("# 01 · t", "intro", learn, "code:1", can, refs))
    assert section_problems(nb_of("# 01 · t", learn, can, "code:1", refs))  # summary too early
    assert section_problems(nb_of("# 01 · t", learn, "code:1", can, refs, "more"))
    assert section_problems(
        nb_of("# 01 · t", "## What you will learn\n\nprose", "code:1", can, refs)
    )


# ---- links and notation


@pytest.mark.parametrize("path", LECTURE_FILES, ids=_id)
def test_lecture_links_the_notation_and_its_links_resolve(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link.split("#")[0] for link in links if not re.match(r"[a-z]+:|#", link)]
    broken = [link for link in local if not (path.parent / link).resolve().exists()]
    assert not broken, f"{path.name}: links to files that do not exist: {broken}"
    assert any((path.parent / link).resolve() == ROOT / "docs" / "notation.md" for link in local), (
        f"{path.name} does not link docs/notation.md: write Symbols: see "
        "[docs/notation.md](../docs/notation.md)"
    )


# ---- no plumbing in lecture code

# (lecture file name, a line of code) that may stay: a lecture that truly teaches with one
ALLOWED_PLUMBING: set[tuple[str, str]] = set()
_TIMERS = ("perf_counter", "process_time", "timeit", "monotonic")


def plumbing(source: str) -> list[str]:
    """The assert statements and timer calls in one code cell's source."""
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found.append(ast.unparse(node))
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "attr", getattr(func, "id", ""))
            owner = getattr(getattr(func, "value", None), "id", "")
            magic = name in ("run_line_magic", "run_cell_magic") and any(
                isinstance(a, ast.Constant) and a.value in ("time", "timeit") for a in node.args[:1]
            )  # %time, %%timeit
            if magic or name in _TIMERS or (owner == "time" and name == "time"):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "timeit"):
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", LECTURE_FILES, ids=_id)
def test_lecture_code_has_no_test_or_timing_plumbing(path):
    nb = nbformat.read(path, as_version=4)
    found = [
        f"cell {n}: {line}"
        for n, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for line in plumbing(c.source)
        if (path.name, line) not in ALLOWED_PLUMBING
    ]
    assert not found, (
        f"{path.name}: checks and timings belong in tests/ and benchmarks/; print what a student "
        "should look at instead:\n" + "\n".join(found)
    )


def test_plumbing_check_finds_asserts_and_timers():
    assert plumbing("x = 1\nassert x == 1") == ["assert x == 1"]
    assert plumbing("import time\nt = time.perf_counter()") == ["time.perf_counter()"]
    assert plumbing("from time import perf_counter\nt = perf_counter()")
    assert plumbing("import time\nt = time.time()") == ["time.time()"]
    assert plumbing("%timeit f()")  # the IPython magic becomes a timeit call
    assert plumbing("print(torch.allclose(a, b))\nfig.suptitle('time')") == []


# ---- check_claims itself


def _executed(markdown: str, printed: str, cell_id: str = "numbers"):
    """A notebook as if executed: one markdown cell, one code cell that printed ``printed``."""
    nb = nbformat.v4.new_notebook()
    text = nbformat.v4.new_markdown_cell(markdown)
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.id = cell_id
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    nb.cells = [text, cell]
    return nb


GAP = Claim("lectures/99_t.ipynb", r"the gap is (\d+\.\d+) nats", "numbers", r"gap = (\d+\.\d+)")


def test_check_claims_passes_when_text_and_output_agree():
    nb = _executed("So the gap is 17.8 nats.", "gap = 17.7912\n")
    assert check_claims("lectures/99_t.ipynb", nb, [GAP]) == 1
    # a solution notebook of the same name is another notebook: the lecture's claims are not its
    assert check_claims("solutions/99_t/99_t.ipynb", _executed("", ""), [GAP]) == 0


@pytest.mark.parametrize(
    "markdown, printed, says",
    [
        (
            "So the gap is 17.8 nats.",
            "gap = 12.3400\n",
            "the text says 17.8, the cell prints 12.34",
        ),
        ("So the gap is 17.80 nats.", "gap = 17.7912\n", "the text says 17.80"),  # more decimals
        ("So the gap is several nats.", "gap = 17.7912\n", "no markdown cell says this"),
        ("So the gap is 17.8 nats.", "nothing\n", "does not match"),
    ],
)
def test_check_claims_fails_when_text_and_output_disagree(markdown, printed, says):
    with pytest.raises(AssertionError, match=re.escape(says)):
        check_claims("lectures/99_t.ipynb", _executed(markdown, printed), [GAP])


def test_check_claims_needs_the_named_cell_and_knows_below_a_power_of_ten():
    with pytest.raises(AssertionError, match="0 code cells have the id 'numbers'"):
        check_claims(
            "lectures/99_t.ipynb", _executed("the gap is 1.0 nats", "gap = 1.0", "x"), [GAP]
        )
    below = Claim(
        "lectures/99_t.ipynb",
        r"below \$10\^\{(-?\d+)\}\$",
        "numbers",
        r"diff ([\d.e-]+)",
        "below 10^",
    )
    assert (
        check_claims("lectures/99_t.ipynb", _executed("below $10^{-4}$", "diff 3.1e-05"), [below])
        == 1
    )
    with pytest.raises(AssertionError, match="the text says below 10"):
        check_claims("lectures/99_t.ipynb", _executed("below $10^{-4}$", "diff 2.0e-04"), [below])


def test_every_claim_names_a_lecture_and_a_cell_that_exist():
    for claim in CLAIMS:
        nb = nbformat.read(ROOT / claim.notebook, as_version=4)
        ids = [c.get("id") for c in nb.cells if c.cell_type == "code"]
        assert ids.count(claim.cell) == 1, f"{claim.notebook}: no single code cell {claim.cell!r}"
        assert re.search(claim.prose, markdown_text(nb)), (
            f"{claim.notebook}: no text matches {claim.prose!r}"
        )


def test_check_claims_knows_about_a_number_and_below_a_number():
    """A trained model's number is stated as "about x" and checked within a tolerance; a bound
    as "below x". Each fails on the other side (catches a tolerance that is never applied)."""
    where = "lectures/99_t.ipynb"
    about = Claim(where, r"about (\d+\.\d+) nats", "numbers", r"nll ([\d.]+)", "within 0.02")
    below = Claim(where, r"below (-?\d+)", "numbers", r"elbo (-?[\d.]+)", "below")
    assert check_claims(where, _executed("about 0.62 nats", "nll 0.629"), [about]) == 1
    with pytest.raises(AssertionError, match=r"the text says about 0.62 \(within 0.02\)"):
        check_claims(where, _executed("about 0.62 nats", "nll 0.645"), [about])
    assert check_claims(where, _executed("below -6 it", "elbo -7.06"), [below]) == 1
    with pytest.raises(AssertionError, match="the text says below -6"):
        check_claims(where, _executed("below -6 it", "elbo -5.9"), [below])
