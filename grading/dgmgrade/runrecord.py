"""What nbgrader's run of a notebook did with each cell: the "did it finish" record.

``SandboxExecute`` writes, into every code cell's metadata under ``RUN_KEY``, one state:

- ``finished``: the kernel answered that the cell ran to its end without an error;
- ``raised``: the cell ran and ended with an error (``why`` names it);
- ``timed out``: it ran past the cell timeout and was interrupted (the kernel answered);
- ``killed``: it ran past the cell timeout and its kernel ignored the interrupt, or the kernel
  died in it (``os._exit``, a crash): the kernel is gone;
- ``not run``: the notebook's run never reached it (the kernel was gone), or no record exists.

A cell that ran also has ``seconds``; one that ran past the cell timeout has ``phases``, where
those seconds went: ``to_interrupt`` (the timeout), ``grace`` (waiting for the kernel to answer
the interrupt, at most ``kill_after``) and ``after_kill`` (what the kill itself cost).

Only ``finished`` counts as "passed in the notebook": a cell with no outputs and no record is
``not run``, never "passed" (a lost error output must not read as a pass). A notebook that
nbgrader had to autograde without running it (its run failed twice) has no record at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

RUN_KEY = "dgmgrade_run"
FINISHED, RAISED, TIMED_OUT = "finished", "raised", "timed out"
KILLED, NOT_RUN = "killed", "not run"
UNFINISHED = (TIMED_OUT, KILLED, NOT_RUN)
STUB = "NotImplementedError"  # what an unanswered cell raises: not a sign of trouble


@dataclass(frozen=True)
class CellRun:
    grade_id: str
    state: str
    why: str = ""
    answer: bool = False  # a cell the student writes (nbgrader "solution")
    test: bool = False  # a graded test cell


def notebook_run(path: Path) -> list[CellRun]:
    """Every code cell of an autograded notebook that nbgrader knows (set-up, answers, tests),
    with what its run did."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - no notebook: nothing ran
        return []
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        grading = meta.get("nbgrader", {}) or {}
        if cell.get("cell_type") != "code" or "grade_id" not in grading:
            continue
        record = meta.get(RUN_KEY) or {"state": NOT_RUN, "why": "no record of a run"}
        found.append(
            CellRun(
                grading["grade_id"],
                record.get("state", NOT_RUN),
                record.get("why", ""),
                bool(grading.get("solution")),
                bool(grading.get("grade")) and not grading.get("solution"),
            )
        )
    return found


def kernel_verdicts(path: Path) -> dict[str, bool | None]:
    """grade_id -> True (the test cell finished without an error in nbgrader's run), False (it
    raised, timed out or was killed), None (it did not run)."""
    out: dict[str, bool | None] = {}
    for run in notebook_run(path):
        if run.test:
            out[run.grade_id] = {FINISHED: True, NOT_RUN: None}.get(run.state, False)
    return out


def unfinished(runs: list[CellRun]) -> list[CellRun]:
    """Cells whose run never finished, and answer cells that stopped on an error other than the
    release's stub (the code below the error, in that cell, never ran in the notebook)."""
    return [
        r
        for r in runs
        if r.state in UNFINISHED or (r.answer and r.state == RAISED and STUB not in r.why)
    ]


def describe(runs: list[CellRun]) -> str:
    """One line for the instructor: which cells did not finish, and how."""
    stopped = [
        f"{r.grade_id}: {r.state}" + (f" ({r.why})" if r.why else "")
        for r in runs
        if r.state != NOT_RUN
    ]
    never = [r.grade_id for r in runs if r.state == NOT_RUN]
    return "; ".join(stopped + ([f"not run: {', '.join(never)}"] if never else []))
