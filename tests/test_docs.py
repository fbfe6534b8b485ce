"""The design in docs/ matches the repository, and nothing points outside the repository.

- docs/architecture.md's module map has a row for every module file of dgmlab, and only rows for
  files that exist; a package's __init__.py holds no code the map would miss.
- Every relative link in the repository's Markdown resolves, to a file and a heading that exist.
- No tracked file refers to a path outside the repository: the reference folder the course was
  written beside, the checkout's own absolute path, a home directory.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
from course import ROOT

ARCHITECTURE = ROOT / "docs" / "architecture.md"

FLOORS = range(5)
# Folders that hold everybody's files: a checkout made right inside one (/tmp/dgm-course) must
# not make the course's own /tmp paths (the grading sandbox's) look like a neighbour's.
SHARED_FOLDERS = {"/", "/tmp", "/var/tmp", "/private/tmp", "/srv", "/opt", "/usr", "/mnt", "/home"}


def module_map() -> dict[str, int]:
    """module file (relative to the root) -> floor, read from the table under '## Module map'."""
    text = ARCHITECTURE.read_text()
    section = text.split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows[0].replace(" ", "") == "|floor|module|holds|", rows[0]
    modules: dict[str, int] = {}
    for row in rows[2:]:  # after the header and its |---| line
        floor, module = (cell.strip() for cell in row.strip("|").split("|")[:2])
        match = re.fullmatch(r"`(dgmlab/[\w/]+\.py)`", module)
        assert match, f"a module map row must name one file as `dgmlab/....py`: {row}"
        assert module not in modules, f"{module} has two rows"
        assert floor.isdigit() and int(floor) in FLOORS, f"floor must be 0-4: {row}"
        modules[match[1]] = int(floor)
    return modules


def module_files() -> set[str]:
    """Every module file under dgmlab/ but the packages' __init__.py (see the next test)."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "dgmlab").rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }


def tracked_files() -> list[Path]:
    done = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [ROOT / name for name in done.stdout.split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary (a figure), not text


def test_the_module_map_names_every_module_of_dgmlab():
    documented, found = set(module_map()), module_files()
    assert not found - documented, (
        f"modules with no row in docs/architecture.md's module map: {sorted(found - documented)}"
    )


def test_every_module_in_the_map_exists():
    documented, found = set(module_map()), module_files()
    missing = documented - found
    assert not missing, f"docs/architecture.md's module map names missing files: {sorted(missing)}"


def test_package_inits_only_re_export():
    """A package's __init__.py has no row of its own, so it may hold no function or class."""
    for init in sorted((ROOT / "dgmlab").rglob("__init__.py")):
        for node in ast.parse(init.read_text()).body:
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            dunder = isinstance(node, ast.Assign) and all(
                isinstance(t, ast.Name) and t.id.startswith("__") for t in node.targets
            )
            assert docstring or dunder or isinstance(node, ast.Import | ast.ImportFrom), (
                f"{init.relative_to(ROOT)} line {node.lineno}: code belongs in a module "
                "with a row in docs/architecture.md, not in __init__.py"
            )


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


MARKDOWN = [p for p in tracked_files() if p.suffix == ".md"]


@pytest.mark.parametrize("page", MARKDOWN, ids=[str(p.relative_to(ROOT)) for p in MARKDOWN])
def test_relative_links_resolve_inside_the_repository(page):
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        where = f"{page.relative_to(ROOT)} links to {target}"
        assert resolved.is_relative_to(ROOT), f"{where}, outside the repository"
        assert resolved.exists(), f"{where}, which does not exist"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(), flags=re.MULTILINE)
            assert anchor in {_anchor(h) for h in headings}, f"{where}: no such heading"


def _outside_references(text: str, path: Path) -> list[str]:
    """What in ``text`` (the file ``path``) names a place outside the repository."""
    # spelled in pieces so that this file does not match itself
    reference = "shared" + "/"
    found = re.findall(r"(?:\.\./)+" + reference + r"\S*", text)
    if path.suffix in (".py", ".md") and reference in text:
        found.append(reference)  # the reference folder by name, as issue 10's grep finds it
    found += re.findall(re.escape(str(ROOT)) + r"\S*", text)  # this checkout
    if str(ROOT.parent) not in SHARED_FOLDERS:  # the folder it sits in, with its neighbours
        found += re.findall(re.escape(str(ROOT.parent)) + r"/\S*", text)
    found += re.findall(r"(?<![\w.~-])/(?:home|Users)/[\w.-]+/\S*", text)
    if path.suffix == ".md":  # a relative path in prose must stay inside too
        for relative in re.findall(r"(?:\.\./)+[\w.*/-]*", text):
            if not (path.parent / relative).resolve().is_relative_to(ROOT):
                found.append(relative)
    return found


def test_no_tracked_file_points_outside_the_repository():
    offenders = {
        str(path.relative_to(ROOT)): refs
        for path in tracked_files()
        if (text := text_of(path)) is not None and (refs := _outside_references(text, path))
    }
    assert not offenders, f"paths outside the repository: {offenders}"


@pytest.mark.parametrize(
    "text, name",
    [
        ("Read `../" + "shared" + "/DESIGN.md` first", "CONTRIBUTING.md"),
        ("see " + "shared" + "/STYLE.md", "tests/test_style.py"),
        ("[design](../../design.md)", "docs/README.md"),
        ("/home" + "/alice/dgm-course/lectures", "notes.py"),
        (str(ROOT / "lectures"), "benchmarks/results/full.md"),
    ],
)
def test_the_outside_check_sees_each_kind_of_reference(text, name):
    assert _outside_references(text, ROOT / name)


def test_the_outside_check_leaves_paths_inside_and_system_paths_alone():
    inside = "`../solutions/NN_slug/` /tmp/dgmgrade/kernel.json /usr/bin/chromium /srv/nbgrader"
    assert not _outside_references(inside, ROOT / "grading" / "INSTRUCTORS.md")


def _threat_rows() -> list[tuple[str, str]]:
    """(row number, "proved by" cell) for each row of docs/grading-threats.md's table."""
    text = (ROOT / "docs" / "grading-threats.md").read_text()
    rows = re.findall(r"^\| (\d+) \|.*\| ([^|]*) \|$", text.split("## Threats", 1)[1], flags=re.M)
    assert len(rows) >= 40, f"found {len(rows)} rows in the threat table"
    return rows


def test_every_threat_names_a_test_or_class_student_that_exists():
    """A threat row is only as good as the proof it names: every `tests/FILE.py::test` (and
    `::test` after it, same file) must be a test function in that file, and every class student
    (`class: \\`x-...\\``) a student of tests/test_classgrade.py."""
    students = (ROOT / "tests" / "test_classgrade.py").read_text()
    # ordinary students are s00, s01, ... up to the class's default size
    ordinary = int(re.search(r'"DGMGRADE_TEST_STUDENTS", "(\d+)"', students).group(1))
    missing = []
    for number, proof in _threat_rows():
        names = re.findall(r"`(tests/[\w/]+\.py)?::(test_\w+)", proof)
        students_named = (
            re.findall(r"`([xs][\w-]*\d*)`", proof.split("class:", 1)[1])
            if ("class:" in proof)
            else []
        )
        if not names and not students_named:
            missing.append(f"row {number}: names no test ({proof[:80]})")
        file = None
        for path, test in names:
            file = path or file
            if file is None or f"def {test}(" not in (ROOT / file).read_text():
                missing.append(f"row {number}: {file}::{test}")
        missing += [
            f"row {number}: class student {s}"
            for s in students_named
            if f'"{s}"' not in students and not (s[0] == "s" and int(s[1:]) < ordinary)
        ]
    assert not missing, "the threat model names proofs that do not exist:\n" + "\n".join(missing)
