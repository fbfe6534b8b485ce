"""Issue 12 through the real grading command (``grade.py``, real nbgrader, the sandbox): a
kernel spinning in C is killed within seconds of the cell timeout and the notebook's remaining
cells are recorded as not run; a notebook that stops early (``sys.exit()``, ``os._exit``) is
shown as not finished in grades.csv, the report and the feedback; a renamed answer cell is
matched by position, graded and flagged; honest top-level constants keep full marks; stopping
the command stops everything it started. Short timeouts keep it to a few minutes.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from course import GRADING, SOLUTIONS, environment, make_course, nbgrader

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("stalls")]

A = "01_bar_manifold"
ALL = ["draw_bar", "decoder_forward", "count_decoder_parameters", "log_likelihood"]
CELL, KILL_AFTER, TEST = 25, 4, 15  # seconds: cell timeout, grace after the interrupt, verifier
SPIN = "import itertools\nsum(itertools.repeat(1))  # C code: never sees the interrupt\n\n"
HONEST = (
    "import math, sys\nimport torch.nn.functional as F\n"
    "HALF = 1 / 2\nLOG_2PI = math.log(2 * math.pi)\nsoftplus = F.softplus\n\n"
    "def log_likelihood(x, logits):\n"
    "    print('computing', file=sys.stderr)\n"
    "    return (x * logits - softplus(logits)).sum(-1) + 0 * HALF * LOG_2PI\n"
)


def solution(grade_id: str) -> str:
    nb = nbformat.read(SOLUTIONS / A / f"{A}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", cell.source)


def _rename(nb):
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "draw_bar")
    cell.metadata["nbgrader"]["grade_id"] = "my_first_answer"


# student -> (answers replaced, extra edit, expected score)
CLASS = {
    "ok": ({}, None, 6),
    "spin-top": ({"draw_bar": SPIN + solution("draw_bar")}, None, 6),
    "spin-in-test": (
        {"draw_bar": "import itertools\n\ndef draw_bar(column, size=4):\n"
         "    return sum(itertools.repeat(1))"},
        None,
        5,
    ),
    "exit-top": ({"decoder_forward": "import sys\nsys.exit()\n\n" + solution("decoder_forward")},
                 None, 6),
    "os-exit-top": (
        {"count_decoder_parameters": "import os\nos._exit(1)\n\n"
         + solution("count_decoder_parameters")},
        None,
        6,
    ),
    "renamed": ({}, _rename, 6),
    "honest": ({"log_likelihood": HONEST}, None, 6),
}  # fmt: skip


def _notebook(answers: dict[str, str], edit) -> nbformat.NotebookNode:
    nb = nbformat.read(SOLUTIONS / A / f"{A}.ipynb", as_version=4)
    source = {g: solution(g) for g in ALL} | answers
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in source:
            cell.source = source[gid]
    if edit:
        edit(nb)
    return nb


def _course(root: Path, students: dict) -> Path:
    grading = make_course(root)
    nbgrader(grading, "generate_assignment", A, "--force")
    for sid, (answers, edit, _score) in students.items():
        folder = grading / "submitted" / sid / A
        folder.mkdir(parents=True)
        nbformat.write(_notebook(answers, edit), folder / f"{A}.ipynb")
    return grading


def _env(**extra):
    return environment(
        DGMGRADE_CELL_TIMEOUT=str(CELL),
        DGMGRADE_KILL_AFTER=str(KILL_AFTER),
        DGMGRADE_TEST_TIMEOUT=str(TEST),
        **extra,
    )


def _ours(root: Path) -> list[int]:
    """Live processes working in, or started for, this course copy (kernels, sandboxes)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(root)) or str(root) in cmdline:
            found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("stalls")
    grading = _course(root, CLASS)
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "grade.py", A],
        cwd=grading,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    seconds = time.monotonic() - start
    print(run.stdout[-5000:], run.stderr[-3000:])
    assert run.returncode == 0, run.stderr[-3000:]
    with open(grading / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    report = {r["student"]: r for r in json.loads((grading / "reports" / f"{A}.json").read_text())}
    return dict(root=root, grading=grading, rows=rows, report=report, seconds=seconds, run=run)


def _record(graded, student):
    nb = nbformat.read(graded["grading"] / "autograded" / student / A / f"{A}.ipynb", 4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata.get("dgmgrade_run", {})
        for c in nb.cells
        if "grade_id" in c.metadata.get("nbgrader", {}) and c.cell_type == "code"
    }


def test_every_score_is_the_expected_one(graded):
    scores = {s: float(r["score"]) for s, r in graded["rows"].items()}
    assert scores == {s: float(score) for s, (_a, _e, score) in CLASS.items()}, graded["rows"]


def test_a_kernel_spinning_in_c_is_killed_within_seconds_of_the_cell_timeout(graded):
    record = _record(graded, "spin-top")
    assert record["draw_bar"]["state"] == "killed", record["draw_bar"]
    # the cell timeout, the grace, then the kill costs next to nothing: no wait for a dead
    # kernel's last output (nbclient's 4 s), and each later cell is not run instead of waiting
    # out its own timeout; the bounds leave room for a loaded machine
    phases = record["draw_bar"]["phases"]
    assert phases["to_interrupt"] <= CELL + 3, record["draw_bar"]
    assert KILL_AFTER - 0.5 <= phases["grace"] <= KILL_AFTER + 1.5, record["draw_bar"]
    assert phases["after_kill"] <= 2, record["draw_bar"]
    assert record["draw_bar"]["seconds"] <= CELL + KILL_AFTER + 5, record["draw_bar"]
    assert record["setup"]["state"] == "finished", record["setup"]
    later = [g for g in record if g not in ("setup", "draw_bar")]
    assert later and all(record[g]["state"] == "not run" for g in later), record
    row = graded["rows"]["spin-top"]
    assert row["status"] == "graded-with-flags"
    assert "draw_bar (killed)" in row["did_not_finish"]
    assert "test_log_likelihood (not run)" in row["did_not_finish"]


def test_a_test_cell_spinning_in_c_costs_one_timeout_and_only_its_points(graded):
    record = _record(graded, "spin-in-test")
    assert record["test_draw_bar"]["state"] == "killed"
    assert record["decoder_forward"]["state"] == "not run"
    cells = graded["report"]["spin-in-test"]["cells"]
    assert cells["test_draw_bar"]["score"] == 0 and "Timeout" in cells["test_draw_bar"]["why"]
    # the notebook already hung there: the verifier does not verify it a third time
    assert not any("verified again" in n for n in graded["report"]["spin-in-test"]["notes"])


@pytest.mark.parametrize(
    ("student", "cell", "state"),
    [
        ("exit-top", "decoder_forward", "raised"),
        ("os-exit-top", "count_decoder_parameters", "killed"),
    ],
)
def test_a_notebook_that_stops_early_is_shown_as_not_finished(graded, student, cell, state):
    row, report = graded["rows"][student], graded["report"][student]
    assert report["run"][cell] == state, report["run"]
    assert row["status"] == "graded-with-flags"
    assert "did not run to the end" in row["flags"] and cell in row["flags"]
    if state == "killed":
        assert f"{cell} (killed)" in row["did_not_finish"]
        assert "test_log_likelihood (not run)" in row["did_not_finish"]
    assert cell in graded["run"].stdout  # the summary names it too
    html = (graded["grading"] / "feedback" / student / A / f"{A}.html").read_text()
    if state == "killed":
        assert "NotRun" in html, "the feedback does not say which cells never ran"


def test_a_renamed_answer_cell_is_matched_by_position_graded_and_flagged(graded):
    row = graded["rows"]["renamed"]
    assert float(row["score"]) == 6 and row["status"] == "graded-with-flags"
    assert "'my_first_answer' was renamed; matched to 'draw_bar'" in row["flags"]


def test_a_notebook_that_runs_to_the_end_is_shown_as_finished(graded):
    row = graded["rows"]["ok"]
    assert row["status"] == "graded" and row["did_not_finish"] == "", row
    assert set(graded["report"]["ok"]["run"].values()) == {"finished"}


def test_honest_top_level_constants_keep_full_marks_without_flags(graded):
    row = graded["rows"]["honest"]
    assert float(row["score"]) == 6 and row["status"] == "graded", row["flags"]
    assert row["did_not_finish"] == ""


def test_no_kernel_or_sandbox_of_the_run_is_left(graded):
    assert _ours(graded["root"]) == []


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_the_command_stops_everything_it_started(tmp_path, how):
    spin = {"spin": ({"draw_bar": SPIN + solution("draw_bar")}, None, 0)}
    grading = _course(tmp_path, spin)
    command = subprocess.Popen(
        [sys.executable, "grade.py", A],
        cwd=grading,
        env=environment(DGMGRADE_CELL_TIMEOUT="300"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    kernel_started = time.monotonic() + 240
    while not (grading / "autograded" / "spin").exists() or len(_ours(tmp_path)) < 3:
        assert time.monotonic() < kernel_started, "the kernel never started"
        assert command.poll() is None, command.stdout.read()
        time.sleep(1)
    time.sleep(3)  # the kernel is spinning now
    command.send_signal(how)
    try:  # the command exits within runner.EXIT_GRACE (30 s) of the signal, however loaded
        out, _ = command.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        command.send_signal(signal.SIGUSR1)  # grade.py prints where each of its threads is
        time.sleep(2)
        ps = ["ps", "-o", "pid,ppid,sid,user,stat,etime,args", "-p"]
        left = subprocess.run([*ps, ",".join(map(str, [command.pid, *_ours(tmp_path)]))],
                              capture_output=True, text=True).stdout  # fmt: skip
        command.kill()  # leave nothing behind for later tests, then fail
        for pid in _ours(tmp_path):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        out, _ = command.communicate()
        pytest.fail(f"grade.py was still running 60 s after {how.name}:\n{out[-6000:]}\n{left}")
    assert command.returncode != 0
    assert "stopped" in out, out[-2000:]
    deadline = time.monotonic() + 10
    while _ours(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ours(tmp_path) == [], "processes of the stopped run are still alive"


STUCK_MAIN = """
import subprocess, sys, threading, time
from pathlib import Path
from dgmgrade import runner

runner.stop_on_signals(grace=float(sys.argv[1]))
threading.Thread(target=runner.run, args=(["sleep", "1000"],),
                 kwargs={"cwd": Path.cwd(), "timeout": 1000}, daemon=True).start()
print("ready", flush=True)
while True:  # a main thread that never lets KeyboardInterrupt through (a library swallowing it)
    try:
        time.sleep(100)
    except KeyboardInterrupt:
        print("interrupt swallowed", flush=True)
"""


def test_a_signal_stops_the_children_even_when_the_main_thread_never_unwinds(tmp_path):
    """The stop must not wait for the main thread: a watcher thread kills every child at once,
    and ends the process when it has not exited within the grace period."""
    (tmp_path / "stuck.py").write_text(STUCK_MAIN)
    command = subprocess.Popen(
        [sys.executable, "stuck.py", "4"],
        cwd=tmp_path,
        env=environment(PYTHONPATH=str(GRADING)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert command.stdout.readline() == "ready\n"
    child = time.monotonic() + 60
    while not (sleeps := _children_named(command.pid, "sleep")):
        assert time.monotonic() < child, "the child never started"
        time.sleep(0.2)
    command.send_signal(signal.SIGINT)
    killed = time.monotonic() + 3
    while any(_alive(pid) for pid in sleeps) and time.monotonic() < killed:
        time.sleep(0.1)
    still = [pid for pid in sleeps if _alive(pid)]
    if still:
        command.kill()
    assert not still, "the child outlived the signal by 3 s: nothing stopped it"
    out, _ = command.communicate(timeout=30)  # 4 s of grace, then the watcher ends the process
    assert command.returncode == 130, out
    assert "interrupt swallowed" in out and "had not exited 4 s after the signal" in out, out


def _children_named(parent: int, name: str) -> list[int]:
    """Processes named ``name`` whose parent is ``parent`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if comm == name and int(rest.split()[1]) == parent:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
