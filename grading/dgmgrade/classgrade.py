"""Grade one assignment for a class: repair -> autograde (nbgrader, sandboxed kernels) ->
verify (out of process) -> decide each test cell's score -> gradebook.

One bad submission never stops the others: each shard of the class is autograded in its own
nbgrader process with a time limit, and a student that batch could not grade is autograded
alone, then without executing the notebook.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import gradebook, runner, sandbox, verify
from .course import Course
from .repair import repair
from .result import Result
from .runrecord import UNFINISHED, describe, kernel_verdicts, notebook_run, unfinished

RETRY_FACTOR = 3  # a test with no verdict in time is verified again, alone, with 3x the time


def grade_all(
    course: Course,
    assignment: str,
    students: list[str],
    seeds: list[str | None],
    workers: int,
    progress,
) -> list[Result]:
    """Repair, autograde and verify a class; ``progress(result)`` is called as each finishes."""
    results = {s: Result(s) for s in students}
    start = {s: time.monotonic() for s in students}
    ok, why = sandbox.available()
    unsandboxed = [] if ok else [f"UNSANDBOXED: {why}"]
    for s in students:
        results[s].flags += repair(course, s, assignment) + unsandboxed
        shutil.rmtree(course.autograded(s, assignment), ignore_errors=True)
    shards = [students[i::workers] for i in range(workers) if students[i::workers]]
    hide = course.hidden() + [p for p in os.environ.get("DGMGRADE_HIDE", "").split(os.pathsep) if p]

    def autograde_shard(shard):
        others = ",".join(s for s in students if s not in shard)
        extra = [f"--CourseDirectory.student_id_exclude={others}"] if others else []
        try:
            runner.nbgrader(
                "autograde",
                assignment,
                "--force",
                *extra,
                course=course.root,
                timeout=runner.STUDENT_TIMEOUT * len(shard),
            )
        except runner.subprocess.TimeoutExpired:
            pass
        for s in shard:  # whoever the batch could not grade: alone, then without a kernel
            if _autograded(course, assignment, s):
                continue
            why = _autograde(course, assignment, s)
            if why is None:
                continue
            results[s].flags.append(why)
            why = _autograde(course, assignment, s, "--Execute.enabled=False")
            if why is not None:
                results[s].status = "failed"
                results[s].flags.append(why)

    def verify_shard(shard):
        shard = [s for s in shard if results[s].status != "failed"]
        for source in course.source_notebooks(assignment):
            paths = {s: course.submitted(s, assignment) / source.name for s in shard}
            found, tests = verify.verify_many(source, paths, seeds=seeds, hide=hide)
            hung = {s for s in shard if _hung(course.autograded(s, assignment) / source.name)}
            slow = {s: found[s] for s in found if s not in hung}
            found.update(retry_slow(source, paths, slow, seeds, hide, results))
            for s in shard:
                verdicts, notes = found[s]
                decide(course, results[s], assignment, source, tests, verdicts, notes)
        for s in shard:
            r = results[s]
            r.score = sum(c["score"] for c in r.cells.values())
            r.max_score = sum(c["points"] for c in r.cells.values())
            if r.flags and r.status != "failed":
                r.status = "graded-with-flags"
            r.seconds = time.monotonic() - start[s]
            progress(r)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            list(pool.map(autograde_shard, shards))
            list(pool.map(verify_shard, shards))
        except BaseException:  # Ctrl-C, SIGTERM: stop what the shards started, then go
            runner.stop_all()
            raise
    for s in students:
        if results[s].status == "failed":
            progress(results[s])
    return [results[s] for s in students]


def retry_slow(source, paths, found, seeds, hide, results) -> dict:
    """Re-verify, alone and with RETRY_FACTOR times the time, each submission that timed out or
    died on a test without tampering: a loaded machine must not turn a correct answer into 0.
    A submission that fails again keeps its failure (and the flag ``decide`` gives it)."""
    slow = [
        s
        for s, (verdicts, _notes) in found.items()
        if any(v.ename in ("Timeout", "Died") for v in verdicts)
        and not any(v.tampered or v.blocked for v in verdicts)
    ]
    again = {}
    for s in slow:
        timeout = verify.TEST_TIMEOUT * RETRY_FACTOR
        redo, _tests = verify.verify_many(
            source, {s: paths[s]}, seeds=seeds, hide=hide, timeout=timeout
        )
        first = next(v for v in found[s][0] if v.ename in ("Timeout", "Died"))
        results[s].notes.append(
            f"{source.name}: {first.cell} gave no verdict in {verify.TEST_TIMEOUT:g} s "
            f"({first.ename}); verified again alone with {timeout:g} s per test"
        )
        again[s] = redo[s]
    return again


def _hung(autograded: Path) -> bool:
    """Did nbgrader's run of this notebook already time out or lose its kernel? Then a test
    that gives no verdict in the verifier either has hung twice, in two independent runs, and
    is not verified a third time (one stuck student costs about one timeout, not four)."""
    return any(r.state in UNFINISHED[:2] for r in notebook_run(autograded))


def _autograded(course: Course, assignment: str, student: str) -> bool:
    folder = course.autograded(student, assignment)
    return all((folder / p.name).exists() for p in course.source_notebooks(assignment))


def decide(
    course: Course,
    result: Result,
    assignment: str,
    source: Path,
    tests: list[dict],
    verdicts: list[verify.Verdict],
    notes: list[str],
) -> None:
    """The verifier's verdict is the score; note where it disagrees with nbgrader's run."""
    for note in notes:  # "NOTE ..." is for the record; the rest are reasons to look
        if note.startswith("NOTE "):
            result.notes.append(f"{source.name}: {note[5:]}")
        else:
            result.flags.append(f"{source.name}: {note}")
    autograded = course.autograded(result.student, assignment) / source.name
    kernel = kernel_verdicts(autograded)
    runs = notebook_run(autograded)
    result.run.update({r.grade_id: r.state for r in runs})
    stopped = unfinished(runs)
    if stopped and runs:
        result.flags.append(
            f"{source.name}: the notebook as submitted did not run to the end: {describe(stopped)}"
        )
    scored = {}
    for test in tests:
        mine = [v for v in verdicts if v.cell == test["id"]]
        passed = all(v.passed for v in mine)
        scored[test["id"]] = {
            "points": test["points"],
            "score": test["points"] if passed else 0.0,
            "why": "" if passed else why(mine),
        }
        for v in mine:
            if v.tampered or v.blocked:
                what = "; ".join(v.tampered + v.blocked)[:200]
                result.flags.append(f"{test['id']}: tampering ({what})")
                break
            if v.ename in ("Died", "Timeout"):
                result.flags.append(f"{test['id']}: {v.ename.lower()} ({v.evalue[:120]})")
                break
        if kernel.get(test["id"]) is True and not passed:
            result.flags.append(
                f"{test['id']}: passed in the notebook but not when re-run on its own "
                f"({why(mine)[:160]})"
            )
    result.cells.update(scored)
    gradebook.record(course, assignment, result.student, source.stem, scored)


def why(verdicts: list[verify.Verdict]) -> str:
    bad = next((v for v in verdicts if not v.passed), None)
    if bad is None:
        return ""
    seed = "" if bad.seed is None else f" [seed {bad.seed}]"
    return f"{bad.ename}: {bad.evalue}"[:400] + seed


def _autograde(course: Course, assignment: str, student: str, *extra: str) -> str | None:
    """Run nbgrader's autograde for one student; None on success, else why it failed."""
    for _attempt in range(3):
        try:
            out = runner.nbgrader(
                "autograde", assignment, "--student", student, "--force", *extra, course=course.root
            )
        except runner.subprocess.TimeoutExpired:
            return f"nbgrader autograde ran past {runner.STUDENT_TIMEOUT} s and was stopped"
        if out.returncode == 0:
            return None
        text = out.stdout + out.stderr
        if "database is locked" not in text:
            break
        time.sleep(1)
    lines = [line for line in text.splitlines() if "ERROR" in line or "Error" in line]
    reason = lines[-1] if lines else (text.strip().splitlines() or ["?"])[-1]
    return f"nbgrader autograde failed ({reason.strip()[:200]}); graded out of process only"
