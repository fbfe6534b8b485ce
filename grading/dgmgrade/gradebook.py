"""Write the verifier's verdicts into nbgrader's gradebook (so feedback and export carry them)."""

from __future__ import annotations

from .course import Course


def record(course: Course, assignment: str, student: str, notebook: str, cells: dict) -> None:
    """``cells``: grade_id -> {"score": ...} for every test cell of one notebook."""
    from nbgrader.api import Gradebook  # nbgrader is slow to import; only the writer needs it

    with Gradebook(course.gradebook) as gb:
        for grade_id, cell in cells.items():
            grade = gb.find_grade(grade_id, notebook, assignment, student)
            grade.auto_score = cell["score"]
            grade.needs_manual_grade = False
        gb.db.commit()
