"""Grade a whole class: collect -> repair/flag -> autograde -> verify -> feedback -> export.

Run from the course folder (grading/), the course environment active:

    python -m dgmgrade 01_bar_manifold            # one assignment
    python -m dgmgrade --all                      # every assignment in ../solutions
    python -m dgmgrade 01_bar_manifold --collect --exchange /srv/exchange --release-feedback

(``python grade.py ...`` in grading/ is the same command.) Every submission ends in one state,
shown in the summary table, in grades.csv (columns ``status`` and ``flags``) and in
reports/ASSIGNMENT.json:

- ``graded``: every test cell scored by the out-of-process verifier, nothing unusual;
- ``graded-with-flags``: scored, with reasons to look (a repaired notebook, a cell that passed
  in the notebook but not on its own, tampering, a kernel that died, no sandbox...);
- ``failed``: could not be graded at all (the reason is given); scores 0 until re-graded.

Ctrl-C or SIGTERM stops the command and everything it started (nbgrader, kernels, verifiers) at
once, and the command exits within 30 s of it. ``kill -USR1 PID`` prints where each of its threads
is, for a run that seems stuck.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
from pathlib import Path

from . import runner, sandbox
from .classgrade import grade_all
from .course import Course
from .report import export, summary, write_report
from .result import Result
from .seeds import SEED_VARIABLE, TERM_SECRET, assignment_seed, grading_seed, term_secret


def grade_assignment(
    course: Course,
    assignment: str,
    *,
    workers: int,
    seeds: list[str | None],
    collect: list[str] | None,
    release_feedback: list[str] | None,
) -> list[Result]:
    print(f"== {assignment}", flush=True)
    if collect is not None:
        out = runner.nbgrader("collect", assignment, *collect, course=course.root)
        print("   collect:", "ok" if out.returncode == 0 else out.stderr[-300:], flush=True)
    listing = runner.nbgrader("db", "assignment", "list", course=course.root)
    if assignment not in listing.stdout + listing.stderr:
        runner.nbgrader("generate_assignment", assignment, "--force", course=course.root)
    students = course.students(assignment)
    done = [0]

    def progress(result: Result) -> None:
        done[0] += 1
        print(
            f"   [{done[0]}/{len(students)}] {result.student:<20} {result.status:<18} "
            f"{result.score:g}/{result.max_score:g}  {result.seconds:.1f} s",
            flush=True,
        )

    results = grade_all(course, assignment, students, seeds, max(1, workers), progress)
    results.sort(key=lambda r: r.student)
    out = runner.nbgrader("generate_feedback", assignment, "--force", course=course.root)
    if out.returncode != 0:
        print("   feedback: some feedback failed:", out.stderr[-300:], flush=True)
    if release_feedback is not None:
        runner.nbgrader("release_feedback", assignment, *release_feedback, course=course.root)
    write_report(course, assignment, results)
    return results


def main(argv: list[str] | None = None, course: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dgmgrade", description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="*", help="assignment ids (default with --all: every)")
    parser.add_argument("--all", action="store_true", help="every assignment in ../solutions")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--collect", action="store_true", help="nbgrader collect first")
    parser.add_argument("--release-feedback", action="store_true")
    parser.add_argument("--exchange", help="the exchange root, for --collect/--release-feedback")
    parser.add_argument("--export", default="grades.csv")
    args = parser.parse_args(argv)
    where = Course(Path(course or Path.cwd()).resolve())
    if not (where.root / "nbgrader_config.py").exists():
        parser.error(f"run from the course folder: no nbgrader_config.py in {where.root}")
    todo = where.assignments() if args.all else args.assignment
    if not todo:
        parser.error("name an assignment or pass --all")
    if os.environ.get(SEED_VARIABLE):
        parser.error(
            f"{SEED_VARIABLE} is set: it is the seed the kernels see, derived per assignment; "
            f"export the term's secret as {TERM_SECRET} instead"
        )
    exchange = [f"--Exchange.root={args.exchange}"] if args.exchange else []
    ok, why = sandbox.available()
    print(f"sandbox: {'on' if ok else 'OFF: ' + why}; {args.workers} workers", flush=True)
    secret = term_secret()
    print(f"grading seed: {'derived from the term secret' if secret else 'fresh entropy'}")
    runner.stop_on_signals()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID`: where is it?
    runner.run_id()
    all_results = {}
    try:
        for assignment in todo:
            seed = assignment_seed(secret, assignment)
            with grading_seed(seed):
                all_results[assignment] = grade_assignment(
                    where,
                    assignment,
                    workers=args.workers,
                    seeds=[seed],
                    collect=exchange if args.collect else None,
                    release_feedback=exchange if args.release_feedback else None,
                )
        export(where, all_results, where.root / args.export)
    except KeyboardInterrupt:
        runner.stop_all()
        print("stopped: every process this run started was stopped", flush=True)
        return 130
    print(summary(all_results))
    print(f"exported: {where.root / args.export}")
    return 0
