"""Grade a whole class: collect -> repair/flag -> autograde -> verify -> feedback -> export.

Run from grading/ (the course environment first on PATH):

    python grade.py 01_bar_manifold              # one assignment
    python grade.py --all                        # every assignment in ../solutions
    python grade.py 01_bar_manifold --collect --exchange /srv/nbgrader/exchange --release-feedback

Every submission ends in one state, shown in the summary table, in grades.csv (columns
``status`` and ``flags``) and in reports/ASSIGNMENT.json:

- ``graded``: every test cell scored by the out-of-process verifier, nothing unusual;
- ``graded-with-flags``: scored, with reasons to look (a repaired notebook, a cell that passed
  in the notebook but not on its own, tampering, a kernel that died, no sandbox...);
- ``failed``: could not be graded at all (the reason is given); scores 0 until re-graded.

One bad submission never stops the others: each is autograded in its own nbgrader process with
a time limit, two at a time, and its kernel and verifier run in the sandbox (dgmgrade/).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dgmgrade import sandbox, verify  # noqa: E402

SOURCE = (HERE / ".." / "solutions").resolve()
RELEASE = (HERE / ".." / "exercises").resolve()
STUDENT_TIMEOUT = int(os.environ.get("DGMGRADE_STUDENT_TIMEOUT", "900"))
CELL_TIMEOUT = os.environ.get("DGMGRADE_CELL_TIMEOUT")  # overrides Execute.timeout (120 s)
SEED_VARIABLE = "DGMLAB_GRADING_SEED"  # the term's secret, as the instructor exports it
RETRY_FACTOR = 3  # a test with no verdict in time is verified again, alone, with 3x the time


@dataclass
class Result:
    student: str
    status: str = "graded"
    score: float = 0.0
    max_score: float = 0.0
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the record: no action needed
    cells: dict = field(default_factory=dict)
    seconds: float = 0.0


def nbgrader(*args: str, timeout: int = 900, grading: Path = HERE) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("nbgrader")
    if args[0] == "autograde" and CELL_TIMEOUT:
        args = (*args, f"--Execute.timeout={CELL_TIMEOUT}")
    return subprocess.run(
        [str(exe) if exe.exists() else "nbgrader", *args],
        cwd=grading,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def assignments() -> list[str]:
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(assignment: str) -> list[Path]:
    return sorted(p for p in (SOURCE / assignment).glob("*.ipynb"))


# ---------------------------------------------------------------- repair


def repair(folder: Path, assignment: str) -> list[str]:
    """Make every expected notebook of one submission readable and well-formed; return flags.

    A missing, renamed or unreadable notebook is replaced by the untouched release (so it
    scores 0) and flagged; duplicate cell ids keep their first cell's metadata; the original
    files are kept in ``quarantine/``.
    """
    flags = []
    quarantine = HERE / "quarantine" / folder.parent.name / assignment
    expected = {p.name for p in source_notebooks(assignment)}
    extra = sorted(p.name for p in folder.glob("*.ipynb") if p.name not in expected)
    for name in sorted(expected):
        path = folder / name
        problem = None
        if not path.exists():
            problem = f"{name} is missing" + (f" (found {', '.join(extra)})" if extra else "")
        else:
            try:
                nb = nbformat.read(path, as_version=4)
                nbformat.validate(nb)
            except Exception as error:  # noqa: BLE001 - any unreadable notebook
                problem = f"{name} is not a readable notebook ({type(error).__name__})"
        if problem:
            flags.append(problem + ": scored 0")
            if path.exists():
                quarantine.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), quarantine / name)
            shutil.copy(RELEASE / assignment / name, path)
            continue
        seen, duplicated = set(), set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if not meta or "grade_id" not in meta:
                continue
            if meta["grade_id"] in seen:
                duplicated.add(meta["grade_id"])
                del cell.metadata["nbgrader"]
            seen.add(meta["grade_id"])
        if duplicated:
            flags.append(f"{name}: duplicate cells {sorted(duplicated)} (kept the first)")
            quarantine.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, quarantine / name)
            nbformat.write(nb, path)
    return flags


# ---------------------------------------------------------------- grade one submission


def grade_all(
    assignment: str, students: list[str], seeds: list[str | None], workers: int, progress
) -> list[Result]:
    """Repair, autograde (nbgrader, sandboxed kernels) and verify (out of process) a class."""
    results = {s: Result(s) for s in students}
    start = {s: time.monotonic() for s in students}
    unsandboxed = [] if sandbox.available()[0] else [f"UNSANDBOXED: {sandbox.available()[1]}"]
    for s in students:
        results[s].flags += repair(HERE / "submitted" / s / assignment, assignment) + unsandboxed
        shutil.rmtree(HERE / "autograded" / s / assignment, ignore_errors=True)
    shards = [students[i::workers] for i in range(workers) if students[i::workers]]

    def autograde_shard(shard):
        others = ",".join(s for s in students if s not in shard)
        extra = [f"--CourseDirectory.student_id_exclude={others}"] if others else []
        try:
            nbgrader(
                "autograde", assignment, "--force", *extra, timeout=STUDENT_TIMEOUT * len(shard)
            )
        except subprocess.TimeoutExpired:
            pass
        for s in shard:  # whoever the batch could not grade: alone, then without a kernel
            if _autograded(assignment, s):
                continue
            why = _autograde(assignment, s)
            if why is None:
                continue
            results[s].flags.append(why)
            why = _autograde(assignment, s, "--Execute.enabled=False")
            if why is not None:
                results[s].status = "failed"
                results[s].flags.append(why)

    def verify_shard(shard):
        shard = [s for s in shard if results[s].status != "failed"]
        hide = [str(HERE), str(SOURCE), str(SOURCE.parent / ".git")]
        hide += [p for p in os.environ.get("DGMGRADE_HIDE", "").split(os.pathsep) if p]
        for source in source_notebooks(assignment):
            paths = {s: HERE / "submitted" / s / assignment / source.name for s in shard}
            found, tests = verify.verify_many(source, paths, seeds=seeds, hide=hide)
            found.update(_retry_slow(source, paths, found, seeds, hide, results))
            for s in shard:
                _decide(results[s], assignment, source, tests, *found[s])
        for s in shard:
            r = results[s]
            r.score = sum(c["score"] for c in r.cells.values())
            r.max_score = sum(c["points"] for c in r.cells.values())
            if r.flags and r.status != "failed":
                r.status = "graded-with-flags"
            r.seconds = time.monotonic() - start[s]
            progress(r)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(autograde_shard, shards))
        list(pool.map(verify_shard, shards))
    for s in students:
        if results[s].status == "failed":
            progress(results[s])
    return [results[s] for s in students]


def _retry_slow(source, paths, found, seeds, hide, results) -> dict:
    """Re-verify, alone and with RETRY_FACTOR times the time, each submission that timed out or
    died on a test without tampering: a loaded machine must not turn a correct answer into 0.
    A submission that fails again keeps its failure (and the flag ``_decide`` gives it)."""
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
        verdicts, notes = redo[s]
        first = next(v for v in found[s][0] if v.ename in ("Timeout", "Died"))
        note = (
            f"{source.name}: {first.cell} gave no verdict in {verify.TEST_TIMEOUT:g} s "
            f"({first.ename}); verified again alone with {timeout:g} s per test"
        )
        results[s].notes.append(note)
        again[s] = (verdicts, notes)
    return again


def _autograded(assignment: str, student: str) -> bool:
    folder = HERE / "autograded" / student / assignment
    return all((folder / p.name).exists() for p in source_notebooks(assignment))


def _decide(result: Result, assignment: str, source: Path, tests, verdicts, notes) -> None:
    """The verifier's verdict is the score; note where it disagrees with nbgrader's run."""
    student = result.student
    result.flags += [f"{source.name}: {n}" for n in notes]
    kernel = _kernel_verdicts(HERE / "autograded" / student / assignment / source.name)
    for test in tests:
        mine = [v for v in verdicts if v.cell == test["id"]]
        passed = all(v.passed for v in mine)
        result.cells[test["id"]] = {
            "points": test["points"],
            "score": test["points"] if passed else 0.0,
            "why": "" if passed else _why(mine),
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
                f"({_why(mine)[:160]})"
            )
    _record(assignment, student, source.stem, result.cells, tests)


def _why(verdicts) -> str:
    bad = next((v for v in verdicts if not v.passed), None)
    if bad is None:
        return ""
    seed = "" if bad.seed is None else f" [seed {bad.seed}]"
    return f"{bad.ename}: {bad.evalue}"[:400] + seed


def _autograde(assignment: str, student: str, *extra: str) -> str | None:
    """Run nbgrader's autograde for one student; None on success, else why it failed."""
    for _attempt in range(3):
        try:
            out = nbgrader(
                "autograde",
                assignment,
                "--student",
                student,
                "--force",
                *extra,
                timeout=STUDENT_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return f"nbgrader autograde ran past {STUDENT_TIMEOUT} s and was stopped"
        if out.returncode == 0:
            return None
        text = out.stdout + out.stderr
        if "database is locked" not in text:
            break
        time.sleep(1)
    lines = [line for line in text.splitlines() if "ERROR" in line or "Error" in line]
    reason = lines[-1] if lines else text.strip().splitlines()[-1:] or ["?"]
    reason = reason if isinstance(reason, str) else reason[0]
    return f"nbgrader autograde failed ({reason.strip()[:200]}); graded out of process only"


def _kernel_verdicts(path: Path) -> dict[str, bool]:
    """grade_id -> did the test cell run without error in nbgrader's own run."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001
        return {}
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code" and cell.get("outputs") is not None:
            found[meta["grade_id"]] = not any(
                o.get("output_type") == "error" for o in cell.get("outputs", [])
            )
    return found


def _record(assignment, student, notebook, cells, tests) -> None:
    """The verifier's verdict is the score: write it into nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{HERE / 'gradebook.db'}") as gb:
        for test in tests:
            grade = gb.find_grade(test["id"], notebook, assignment, student)
            grade.auto_score = cells[test["id"]]["score"]
            grade.needs_manual_grade = False
        gb.db.commit()


# ---------------------------------------------------------------- the class


def assignment_seed(secret: str | None, assignment: str) -> str | None:
    """The grading seed of one assignment, derived from the term's secret (any string).

    Student code can read the seed its kernel runs with (and print it into its feedback), so
    kernels never see the secret itself: each assignment gets sha256(secret:assignment), and a
    leaked seed tells nothing about any other assignment's hidden inputs. No secret: None (fresh
    entropy on every run)."""
    if not secret:
        return None
    digest = hashlib.sha256(f"{secret}:{assignment}".encode()).digest()
    return str(int.from_bytes(digest[:8], "little") >> 2)  # < 2^62, as grading_generator wants


@contextmanager
def grading_seed(seed: str | None):
    """DGMLAB_GRADING_SEED set to ``seed`` (unset for None) for nbgrader's kernels, then back."""
    before = os.environ.pop(SEED_VARIABLE, None)
    if seed is not None:
        os.environ[SEED_VARIABLE] = seed
    try:
        yield
    finally:
        os.environ.pop(SEED_VARIABLE, None)
        if before is not None:
            os.environ[SEED_VARIABLE] = before


def grade_assignment(
    assignment: str,
    *,
    workers: int,
    seeds: list[str | None],
    collect: list[str] | None,
    release_feedback: list[str] | None,
) -> list[Result]:
    print(f"== {assignment}", flush=True)
    if collect is not None:
        out = nbgrader("collect", assignment, *collect)
        print("   collect:", "ok" if out.returncode == 0 else out.stderr[-300:], flush=True)
    listing = nbgrader("db", "assignment", "list")
    if assignment not in listing.stdout + listing.stderr:
        nbgrader("generate_assignment", assignment, "--force")
    students = sorted(p.parent.name for p in (HERE / "submitted").glob(f"*/{assignment}"))
    done = [0]

    def progress(result: Result) -> None:
        done[0] += 1
        print(
            f"   [{done[0]}/{len(students)}] {result.student:<20} {result.status:<18} "
            f"{result.score:g}/{result.max_score:g}  {result.seconds:.1f} s",
            flush=True,
        )

    results = grade_all(assignment, students, seeds, max(1, workers), progress)
    results.sort(key=lambda r: r.student)
    out = nbgrader("generate_feedback", assignment, "--force")
    if out.returncode != 0:
        print("   feedback: some feedback failed:", out.stderr[-300:], flush=True)
    if release_feedback is not None:
        nbgrader("release_feedback", assignment, *release_feedback)
    report = HERE / "reports" / f"{assignment}.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return results


def export(all_results: dict[str, list[Result]], path: Path) -> None:
    """nbgrader's export, plus each submission's status and flags."""
    out = nbgrader("export", "--to", str(path))
    if out.returncode != 0:
        raise SystemExit(f"nbgrader export failed:\n{out.stderr[-2000:]}")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    state = {(a, r.student): r for a, rs in all_results.items() for r in rs}
    for row in rows:
        r = state.get((row["assignment"], row["student_id"]))
        row["status"] = r.status if r else ("not submitted" if float(row["score"]) == 0 else "")
        row["flags"] = " | ".join(r.flags) if r else ""
    fields = list(rows[0].keys()) if rows else ["assignment", "student_id", "score", "status"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def summary(all_results: dict[str, list[Result]]) -> str:
    lines = [f"{'assignment':<20} {'student':<20} {'status':<18} {'score':>9}  flags"]
    for assignment, results in all_results.items():
        for r in results:
            lines.append(
                f"{assignment:<20} {r.student:<20} {r.status:<18} "
                f"{r.score:>4g}/{r.max_score:<4g}  "
                + " | ".join(r.flags + [f"note: {n}" for n in r.notes])[:200]
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="*", help="assignment ids (default with --all: every)")
    parser.add_argument("--all", action="store_true", help="every assignment in ../solutions")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--collect", action="store_true", help="nbgrader collect first")
    parser.add_argument("--release-feedback", action="store_true")
    parser.add_argument("--exchange", help="the exchange root, for --collect/--release-feedback")
    parser.add_argument("--export", default="grades.csv")
    args = parser.parse_args(argv)
    todo = assignments() if args.all else args.assignment
    if not todo:
        parser.error("name an assignment or pass --all")
    exchange = [f"--Exchange.root={args.exchange}"] if args.exchange else []
    ok, why = sandbox.available()
    print(f"sandbox: {'on' if ok else 'OFF: ' + why}; {args.workers} workers", flush=True)
    secret = os.environ.get(SEED_VARIABLE) or None
    print(f"grading seed: {'derived from the term secret' if secret else 'fresh entropy'}")
    all_results = {}
    for assignment in todo:
        seed = assignment_seed(secret, assignment)
        with grading_seed(seed):
            all_results[assignment] = grade_assignment(
                assignment,
                workers=args.workers,
                seeds=[seed],
                collect=exchange if args.collect else None,
                release_feedback=exchange if args.release_feedback else None,
            )
    export(all_results, HERE / args.export)
    print(summary(all_results))
    print(f"exported: {HERE / args.export}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
