"""What the instructor reads: grades.csv (nbgrader's export plus status and flags), the
summary table and reports/ASSIGNMENT.json."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict
from pathlib import Path

from . import runner
from .course import Course
from .result import Result
from .runrecord import UNFINISHED


def write_report(course: Course, assignment: str, results: list[Result]) -> Path:
    report = course.root / "reports" / f"{assignment}.json"
    report.parent.mkdir(exist_ok=True)
    write_whole(report, json.dumps([asdict(r) for r in results], indent=1))
    return report


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step: a run stopped or killed mid-write leaves the old
    file whole, never half of the new one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def export(course: Course, all_results: dict[str, list[Result]], path: Path) -> None:
    """nbgrader's export, plus each submission's status and flags."""
    exported = path.with_name(f".{path.name}.nbgrader")
    out = runner.nbgrader("export", "--to", str(exported), course=course.root)
    if out.returncode != 0:
        raise SystemExit(f"nbgrader export failed:\n{out.stderr[-2000:]}")
    with open(exported) as f:
        rows = list(csv.DictReader(f))
    exported.unlink()
    state = {(a, r.student): r for a, rs in all_results.items() for r in rs}
    for row in rows:
        r = state.get((row["assignment"], row["student_id"]))
        row["status"] = r.status if r else ("not submitted" if float(row["score"]) == 0 else "")
        row["flags"] = " | ".join(r.flags) if r else ""
        row["did_not_finish"] = did_not_finish(r) if r else ""
    fields = list(rows[0].keys()) if rows else ["assignment", "student_id", "score", "status"]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    write_whole(path, text.getvalue())


def did_not_finish(result: Result) -> str:
    """The graded and answer cells whose notebook run never finished ("" when all did)."""
    return ", ".join(
        f"{cell} ({state})" for cell, state in result.run.items() if state in UNFINISHED
    )


def summary(all_results: dict[str, list[Result]]) -> str:
    head = f"{'assignment':<20} {'student':<20} {'status':<18} {'score':>9}  {'run':<22} flags"
    lines = [head]
    for assignment, results in all_results.items():
        for r in results:
            stuck = [c for c, state in r.run.items() if state in UNFINISHED]
            run = f"{len(stuck)} cells unfinished" if stuck else "finished"
            lines.append(
                f"{assignment:<20} {r.student:<20} {r.status:<18} "
                f"{r.score:>4g}/{r.max_score:<4g}  {run:<22} "
                + " | ".join(r.flags + [f"note: {n}" for n in r.notes])[:200]
            )
    return "\n".join(lines)
