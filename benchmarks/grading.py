"""Item 5: grading throughput, through real nbgrader, on a private copy of the course.

For each assignment (found in solutions/): the release is generated, then copies of the
solution are submitted as students.

- per student: ``nbgrader autograde A --student S`` for a few students one after another;
  the median wall time is the cost of one student notebook (process start included).
- a class of 30 (full mode; quick mode estimates it from one student) with both cores:
  the course's class grading command ``grading/grade.py A --workers 2`` when it exists
  (repair, sandboxed autograde, out-of-process verification, export), else two
  ``nbgrader autograde`` processes side by side, one per half of the class, each with its own
  gradebook.

- one stuck student (both modes): a small class graded with ``grade.py``, once all correct and
  once with one more student whose first answer cell spins in C code that never sees the
  kernel's interrupt; the difference in wall time must stay within about one cell timeout
  (the cell timeout, the grace before the kill, and ``STUCK_MARGIN``), whatever the class
  size (full mode: the fastest of two alternated runs of each). Where the stuck cell's
  seconds went (until the interrupt, the grace, after the kill) is read from its run record
  and reported beside it.

Every graded copy must score full marks; the benchmark says so if one does not.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import ROOT, Config, Result, Target, course_environment, median, notebooks

BIN = Path(sys.executable).parent
CLASS_SIZE = 30
STUCK_CLASS = {False: 2, True: 6}  # correct students beside the last one (quick, full)
# class runs of each kind, alternated; the fastest of each counts (full: the record, on a
# shared machine the difference of two single runs swings by +-20 s; quick: CI, one each)
STUCK_REPEATS = {False: 1, True: 2}
STUCK_CELL_TIMEOUT = 20  # seconds: the cell timeout the stuck-student measurement grades with
KILL_AFTER = 5  # the grading command's default grace after an ignored interrupt
# Seconds beyond timeout + grace that one stuck student may add. Measured: the kill itself costs
# < 0.5 s (it was 4 s while nbclient waited for a dead kernel's last output); the skipped
# cells give back a few seconds; the rest is the noise of two class runs on a shared machine.
STUCK_MARGIN = 5
SPIN = "import itertools\nsum(itertools.repeat(1))  # spins in C: never sees the interrupt\n\n"


def _course(target: Path, with_grade_py: bool) -> Path:
    """solutions/, an empty exercises/ and grading/ (config, and grade.py + dgmgrade if asked)."""
    shutil.copytree(
        ROOT / "solutions",
        target / "solutions",
        ignore=shutil.ignore_patterns(".ipynb_*", "__pycache__"),
    )
    grading = target / "grading"
    grading.mkdir(parents=True)
    shutil.copy(ROOT / "grading" / "nbgrader_config.py", grading)
    if (ROOT / "grading" / "dgmgrade").is_dir():  # the config may load plugins from there
        shutil.copytree(
            ROOT / "grading" / "dgmgrade",
            grading / "dgmgrade",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    if with_grade_py:
        shutil.copy(ROOT / "grading" / "grade.py", grading)
    (target / "exercises").mkdir()
    return grading


def _run(args: list[str], cwd: Path, timeout: float = 1800) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        args, cwd=cwd, env=course_environment(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {(done.stderr or done.stdout)[-500:]}")
    return time.perf_counter() - start


def _submit(grading: Path, assignment: str, students: list[str]) -> None:
    for student in students:
        folder = grading / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for nb in notebooks(ROOT / "solutions" / assignment):
            shutil.copy(nb, folder / nb.name)


def _scores(grading: Path) -> dict[str, tuple[float, float]]:
    """student -> (score, max score) from the gradebook, through ``nbgrader export``."""
    _run([str(BIN / "nbgrader"), "export", "--to", "scores.csv"], grading)
    out: dict[str, tuple[float, float]] = {}
    with open(grading / "scores.csv") as f:
        for row in csv.DictReader(f):
            score, best = out.get(row["student_id"], (0.0, 0.0))
            out[row["student_id"]] = (
                score + float(row["raw_score"] or 0.0),
                best + float(row["max_score"] or 0.0),
            )
    return out


def per_student(assignment: str, n: int, scratch: Path) -> tuple[list[float], bool]:
    grading = _course(scratch / f"single-{assignment}", with_grade_py=False)
    nbgrader = str(BIN / "nbgrader")
    _run([nbgrader, "generate_assignment", assignment, "--force"], grading)
    students = [f"s{i:02d}" for i in range(n)]
    _submit(grading, assignment, students)
    times = [
        _run([nbgrader, "autograde", assignment, "--student", s, "--create"], grading)
        for s in students
    ]
    scores = _scores(grading)
    full = all(scores[s][0] == scores[s][1] > 0 for s in students)
    return times, full


def whole_class(assignment: str, n: int, scratch: Path, use_grade_py: bool) -> tuple[float, bool]:
    students = [f"s{i:02d}" for i in range(n)]
    nbgrader = str(BIN / "nbgrader")
    if use_grade_py:
        grading = _course(scratch / f"class-{assignment}", with_grade_py=True)
        _run([nbgrader, "generate_assignment", assignment, "--force"], grading)
        _submit(grading, assignment, students)
        seconds = _run([sys.executable, "grade.py", assignment, "--workers", "2"], grading)
        with open(grading / "grades.csv") as f:
            rows = [r for r in csv.DictReader(f) if r.get("assignment", assignment) == assignment]
        full = len(rows) == n and all(
            float(r.get("score", 0) or 0) == float(r.get("max_score", -1) or -1) for r in rows
        )
        return seconds, full
    halves = [students[0::2], students[1::2]]
    gradings = []
    for i, half in enumerate(halves):
        grading = _course(scratch / f"class-{assignment}-{i}", with_grade_py=False)
        _run([nbgrader, "generate_assignment", assignment, "--force"], grading)
        _submit(grading, assignment, half)
        gradings.append(grading)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda g: _run([nbgrader, "autograde", assignment, "--create"], g), gradings))
    seconds = time.perf_counter() - start
    scores = {k: v for g in gradings for k, v in _scores(g).items()}
    full = len(scores) == n and all(s == m > 0 for s, m in scores.values())
    return seconds, full


def _stuck(notebook: Path, target: Path) -> None:
    """The solution, with a C-level spin at the top of its first answer cell."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first.source = SPIN + first.source
    nbformat.write(nb, target)


def _killed_cell(notebook: Path) -> dict:
    """The run record of the cell whose kernel was killed (seconds, phases), or {}."""
    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        record = cell.get("metadata", {}).get("dgmgrade_run") or {}
        if record.get("state") == "killed":
            return record
    return {}


def one_stuck_student(assignment: str, scratch: Path, full: bool) -> dict:
    """Class wall time with and without one stuck student (grade.py, short cell timeout)."""
    seconds, killed = {False: [], True: []}, {}
    env = course_environment()
    env.update(DGMGRADE_CELL_TIMEOUT=str(STUCK_CELL_TIMEOUT), DGMGRADE_KILL_AFTER=str(KILL_AFTER))
    for attempt, stuck in enumerate([False, True] * STUCK_REPEATS[full]):
        grading = _course(scratch / f"stuck-{assignment}-{attempt}", with_grade_py=True)
        students = [f"s{i:02d}" for i in range(STUCK_CLASS[full])]
        _run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], grading)
        _submit(grading, assignment, students)
        folder = grading / "submitted" / "stuck" / assignment  # correct, or stuck
        folder.mkdir(parents=True)
        for nb in notebooks(ROOT / "solutions" / assignment):
            if stuck:
                _stuck(nb, folder / nb.name)
            else:
                shutil.copy(nb, folder / nb.name)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "grade.py", assignment, "--workers", "2"],
            cwd=grading,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0:
            raise RuntimeError(f"grade.py failed: {(done.stderr or done.stdout)[-500:]}")
        seconds[stuck].append(time.perf_counter() - start)
        if stuck:
            autograded = grading / "autograded" / "stuck" / assignment
            killed = next(
                (r for nb in sorted(autograded.glob("*.ipynb")) if (r := _killed_cell(nb))), {}
            )
    fastest = {stuck: min(runs) for stuck, runs in seconds.items()}
    added = fastest[True] - fastest[False]
    phases = killed.get("phases", {})
    return {
        "assignment": assignment,
        "class": f"{STUCK_CLASS[full] + 1}, the last correct or stuck",
        "cell_timeout_s": STUCK_CELL_TIMEOUT,
        "runs": STUCK_REPEATS[full],
        "class_s": round(fastest[False], 1),
        "class_with_stuck_s": round(fastest[True], 1),
        "added_s": round(added, 1),
        "added / cell timeout": round(added / STUCK_CELL_TIMEOUT, 2),
        "stuck_cell_s": killed.get("seconds"),
        "to_interrupt_s": phases.get("to_interrupt"),
        "grace_s": phases.get("grace"),
        "after_kill_s": phases.get("after_kill"),
    }


def run(config: Config) -> Result:
    result = Result("grading", "Grading throughput: seconds per student notebook, a class of 30")
    assignments = sorted(
        p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and notebooks(p)
    )
    if not assignments:
        result.skipped = "no assignments in solutions/"
        return result
    use_grade_py = (ROOT / "grading" / "grade.py").exists() and config.full
    n_single, n_class = (3, config.class_size) if config.full else (1, CLASS_SIZE)
    if not config.full:
        assignments = assignments[:1]
    with tempfile.TemporaryDirectory(prefix="dgm-bench-grading-") as tmp:
        for assignment in assignments:
            times, single_full = per_student(assignment, n_single, Path(tmp))
            if not config.full:  # quick: no class run; half the class per core, one at a time
                result.rows.append(
                    {
                        "assignment": assignment,
                        "s_per_student (median, 1 process each)": round(median(times), 1),
                        "class_size": CLASS_SIZE,
                        "class_s (2 cores)": round(median(times) * CLASS_SIZE / 2, 1),
                        "class_s_per_student": round(median(times) / 2, 2),
                        "class_command": "estimated: 30 x median / 2",
                        "full_marks": single_full,
                    }
                )
                continue
            try:
                class_seconds, class_full = whole_class(
                    assignment, n_class, Path(tmp), use_grade_py
                )
                how = "grade.py --workers 2" if use_grade_py else "2 x nbgrader autograde"
            except RuntimeError as error:
                if not use_grade_py:
                    raise
                result.notes.append(f"{assignment}: grade.py failed, fell back: {error}")
                class_seconds, class_full = whole_class(assignment, n_class, Path(tmp), False)
                how = "2 x nbgrader autograde"
            result.rows.append(
                {
                    "assignment": assignment,
                    "s_per_student (median, 1 process each)": round(median(times), 1),
                    "class_size": n_class,
                    "class_s (2 cores)": round(class_seconds, 1),
                    "class_s_per_student": round(class_seconds / n_class, 2),
                    "class_command": how,
                    "full_marks": single_full and class_full,
                    "full_marks_single/class": f"{single_full}/{class_full}",
                }
            )
        stuck = one_stuck_student(assignments[0], Path(tmp), config.full)
    result.notes.append(
        "one stuck student ({assignment}, {class}, cell timeout {cell_timeout_s} s, fastest "
        "of {runs} run(s) each): class {class_s} s, with the stuck student "
        "{class_with_stuck_s} s, added {added_s} s "
        "({added / cell timeout} cell timeouts); the stuck cell took {stuck_cell_s} s: "
        "{to_interrupt_s} s to the interrupt, {grace_s} s of grace, {after_kill_s} s after the "
        "kill".format(**stuck)
    )
    after_interrupt = (
        None if stuck["grace_s"] is None else round(stuck["grace_s"] + stuck["after_kill_s"], 1)
    )
    total = sum(r["class_s (2 cores)"] * CLASS_SIZE / r["class_size"] for r in result.rows)
    result.targets += [
        Target(
            "median seconds per student notebook (slowest assignment)",
            max(r["s_per_student (median, 1 process each)"] for r in result.rows),
            "reported",
            None,
            "s",
        ),
        Target(
            f"a class of {CLASS_SIZE}, every assignment, both cores"
            + (
                ""
                if config.full and n_class == CLASS_SIZE
                else f" (estimated from {n_class if config.full else 1})"
            ),
            round(total, 0),
            "reported",
            None,
            "s",
        ),
        Target(
            "one stuck student adds at most about one cell timeout to the class's wall time "
            f"(timeout + {KILL_AFTER} s grace + {STUCK_MARGIN} s)",
            stuck["added_s"],
            f"<= {STUCK_CELL_TIMEOUT + KILL_AFTER + STUCK_MARGIN}",
            stuck["added_s"] <= STUCK_CELL_TIMEOUT + KILL_AFTER + STUCK_MARGIN,
            "s",
        ),
        Target(
            "the stuck cell is killed within its grace: seconds after the interrupt "
            f"(grace {KILL_AFTER} s, then the kill)",
            after_interrupt,
            f"<= {KILL_AFTER + 1}",
            after_interrupt is not None and after_interrupt <= KILL_AFTER + 1,
            "s",
        ),
        Target(
            "every graded solution scored full marks",
            None,
            "all",
            all(r["full_marks"] for r in result.rows),
        ),
    ]
    return result
