"""What grading one submission ends with."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    """One student's submission of one assignment.

    ``status``: ``graded``, ``graded-with-flags`` or ``failed``; ``flags`` are reasons for the
    instructor to look, ``notes`` are for the record only; ``cells`` maps each test cell's
    grade_id to its points, score and why it failed; ``run`` maps every graded cell's grade_id to
    what nbgrader's run of the notebook did with it (see ``runrecord.py``).
    """

    student: str
    status: str = "graded"
    score: float = 0.0
    max_score: float = 0.0
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    seconds: float = 0.0
