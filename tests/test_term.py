"""A term in miniature, exactly as grading/INSTRUCTORS.md tells an instructor to run it:
generate, release to an exchange, students fetch and submit, collect, autograde, feedback
(released and fetched), export. The exported CSV must hold each student's expected score."""

from __future__ import annotations

import csv
import re
import subprocess

import nbformat
import pytest
from course import BIN, SOLUTIONS, environment, graded_cells, make_course, nbgrader

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("term")]

ASSIGNMENT = "01_bar_manifold"


def solution_code(grade_id: str) -> str:
    """The solution of one answer cell, without nbgrader's markers."""
    nb = nbformat.read(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", cell.source)


def answer(path, grade_ids):
    """Fill the named answer cells of a fetched notebook, as a student would."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
            cell.source = solution_code(cell.metadata["nbgrader"]["grade_id"])
    nbformat.write(nb, path)


# student id -> the answers they write (None: never submits)
ANSWERS = {
    "s01": ["draw_bar", "decoder_forward", "count_decoder_parameters", "log_likelihood"],
    "s02": ["draw_bar", "count_decoder_parameters"],
    "s03": [],
    "s04": None,
}
POINTS_FOR = {
    "draw_bar": 1,
    "decoder_forward": 2,
    "count_decoder_parameters": 1,
    "log_likelihood": 2,
}


def student(home, *args):
    """Run an nbgrader command as a student: in their own home, with their own nbgrader cache."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=home,
        env=environment(HOME=str(home), JUPYTER_DATA_DIR=str(home / ".local/share/jupyter")),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_points_table_matches_the_notebook():
    cells = graded_cells(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert cells == {f"test_{k}": float(v) for k, v in POINTS_FOR.items()}


def test_a_whole_term_through_the_exchange(tmp_path):
    grading = make_course(tmp_path)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    x = f"--Exchange.root={exchange}"
    roster = grading / "students.csv"
    roster.write_text(
        "id,first_name,last_name,email\n"
        + "".join(f"{s},First{s},Last{s},{s}@example.org\n" for s in ANSWERS)
    )
    nbgrader(grading, "db", "student", "import", "students.csv")
    nbgrader(grading, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader(grading, "release_assignment", ASSIGNMENT, x)

    for sid, answers in ANSWERS.items():
        if answers is None:
            continue
        home = tmp_path / "home" / sid
        home.mkdir(parents=True)
        student(home, "fetch_assignment", ASSIGNMENT, "--course", "dgm-course", x)
        answer(home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", answers)
        student(home, "submit", ASSIGNMENT, "--course", "dgm-course", x, f"--student={sid}")

    nbgrader(grading, "collect", ASSIGNMENT, x)
    nbgrader(grading, "autograde", ASSIGNMENT)
    nbgrader(grading, "generate_feedback", ASSIGNMENT)
    nbgrader(grading, "release_feedback", ASSIGNMENT, x)
    for sid, answers in ANSWERS.items():
        if answers is None:
            continue
        home = tmp_path / "home" / sid
        student(home, "fetch_feedback", ASSIGNMENT, "--course", "dgm-course", x, f"--student={sid}")
        fetched = list((home / ASSIGNMENT / "feedback").rglob("*.html"))
        assert len(fetched) == 1, f"{sid} fetched {fetched}"
        score = sum(POINTS_FOR[a] for a in answers)
        assert re.search(rf"Score:\s*{score:g}\.0\s*/\s*6\.0", fetched[0].read_text()), sid

    nbgrader(grading, "export")
    with open(grading / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(ANSWERS)
    for sid, answers in ANSWERS.items():
        expected = sum(POINTS_FOR[a] for a in answers or [])
        assert float(rows[sid]["score"]) == expected, f"{sid}: {rows[sid]}"
        assert float(rows[sid]["max_score"]) == 6.0
