"""A class through nbgrader's exchange, graded by the grading command, with an attack corpus.

The instructor releases assignment 01 to a local exchange; simulated students fetch it, answer
all, part or none of it, and some submit damaged or hostile notebooks (one per row of
docs/grading-threats.md, and more); they submit; ``grade.py --collect --release-feedback`` grades
the class; the exported CSV must hold every student's expected score exactly, nothing outside
the submissions' folders may change, and feedback must not show the hidden tests.

DGMGRADE_TEST_STUDENTS sets the number of ordinary students (default 12: the fewest that
hold every ordinary kind, i.e. all answered, each of the four partial answers, and none; with the
attack students that makes a class of about 40, graded in several batches).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest
from course import BIN, SOLUTIONS, environment, make_course, nbgrader
from dgmgrade.seeds import assignment_seed

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("classgrade")]

A = "01_bar_manifold"
POINTS = {"draw_bar": 1, "decoder_forward": 2, "count_decoder_parameters": 1, "log_likelihood": 2}
STUDENTS = int(os.environ.get("DGMGRADE_TEST_STUDENTS", "12"))


def solution(grade_id: str) -> str:
    nb = nbformat.read(SOLUTIONS / A / f"{A}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", cell.source)


ALL = list(POINTS)
SENTINEL = "SENTINEL_PATH"  # replaced by a file in the course's root that must not change
PWNED = "/tmp/dgm-pwned"  # the shared /tmp, outside every submission: must never appear
SECRET = "term-secret-8675309"  # the instructor's DGMGRADE_TERM_SECRET for this class


def _answers(nb, answers: dict[str, str]):
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def correct(but: dict[str, str] | None = None) -> dict[str, str]:
    return {gid: solution(gid) for gid in ALL} | (but or {})


LOOP = "def draw_bar(column, size=4):\n    while True:\n        pass"
NATIVE = (
    "import re\n\ndef draw_bar(column, size=4):\n"
    "    re.match(r'(a+)+$', 'a' * 64 + 'b')  # catastrophic backtracking: C, ignores SIGINT"
)
EXIT = "import os\n\ndef log_likelihood(x, logits):\n    os._exit(1)"
SYSEXIT = (
    "import sys\n\ndef count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n    sys.exit()"
)
HARDCODED = (
    "def draw_bar(column, size=4):\n    if size == 5:\n"
    "        image = torch.zeros(5, 5); image[:, 3] = 1.0; return image.reshape(-1)\n"
    "    image = torch.zeros(4, 4); image[:, 1] = 1.0; return image.reshape(-1)"
)
EQ_TRUE = (
    "class Anything(int):\n    def __eq__(self, other):\n        return True\n\n"
    "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n    return Anything(0)"
)
PATCH_HELPERS = (
    "import dgmlab.testing, torch, numpy\n"
    "dgmlab.testing.assert_close = lambda *a, **k: None\n"
    "dgmlab.testing.assert_equal_int = lambda *a, **k: None\n"
    "torch.allclose = lambda *a, **k: True\n"
    "torch.testing.assert_close = lambda *a, **k: None\n"
    "numpy.testing.assert_allclose = lambda *a, **k: None\n"
    "assert_close = assert_equal_int = lambda *a, **k: None\n"
    "def draw_bar(column, size=4):\n    return torch.zeros(size * size)"
)
TRANSFORMER = (
    "def _blank(lines):\n    return []\n"
    "get_ipython().input_transformers_post.append(_blank)\n"
    "def draw_bar(column, size=4):\n    return None"
)
READ_SOLUTIONS = (
    "import glob\n\ndef draw_bar(column, size=4):\n"
    "    paths = glob.glob('/**/solutions/01_bar_manifold/*.ipynb', recursive=True)\n"
    "    paths += glob.glob('/**/gradebook.db', recursive=True)\n"
    "    assert paths, 'nothing to read'\n"
    "    import json\n    exec(json.load(open(paths[0]))['cells'][3]['source'], globals())\n"
    "    return draw_bar(column, size)"
)
VANDAL = (
    "import os, glob, shutil\n"
    f"for target in ['SENTINEL_PATH', '{PWNED}']:\n"
    "    try:\n        open(target, 'w').write('pwned')\n    except OSError:\n        pass\n"
    "for db in glob.glob('/**/gradebook.db', recursive=True):\n"
    "    try:\n        os.remove(db)\n    except OSError:\n        pass\n"
    "shutil.rmtree('../../../solutions', ignore_errors=True)\n"
)
WARN = (
    "import warnings, sys\nwarnings.warn('deprecated thing')\n"
    "print('progress 50%', file=sys.stderr)\n"
)
HUGE = "print('x' * 20_000_000)\nfor _ in range(50):\n    print('line')\n"
NAN = "def log_likelihood(x, logits):\n    return torch.full(x.shape[:-1], float('nan'))"
DEVICE = (
    "def draw_bar(column, size=4):\n    device = dgmlab.get_device()\n"
    "    image = torch.zeros(size, size, device=device)\n    image[:, column] = 1.0\n"
    "    return image.reshape(-1).cpu()"
)
TORCH_FUNCTION = (
    "class Liar(torch.Tensor):\n    @classmethod\n"
    "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
    "        if func is torch.allclose:\n            return True\n"
    "        return super().__torch_function__(func, types, args, kwargs or {})\n\n"
    "def decoder_forward(z, W1, b1, W2, b2):\n"
    "    return torch.zeros(z.shape[0], W2.shape[0]).as_subclass(Liar)"
)
LEAK_SEED = "import os\nprint('my seed: ' + os.environ.get('DGMLAB_GRADING_SEED', 'none'))\n"
FRAMES = (
    "import sys\n\ndef draw_bar(column, size=4):\n"
    "    sys._getframe(1).f_globals['assert_close'] = lambda *a, **k: None\n"
    "    return torch.zeros(size * size)"
)


# issue 12: a kernel spinning in C at the top of the first answer cell (killed within seconds of
# the cell timeout; the rest of the notebook not run, shown; the verifier grades the functions);
# honest non-literal constants and aliases (full marks, no flag); sys.exit() before the answer
# (full marks, shown as not finished); a renamed answer cell (matched by position, flagged)
SPIN_TOP = "import itertools\nsum(itertools.repeat(1))  # C: ignores the interrupt\n\n"
HONEST = (
    "import math\nHALF = 1 / 2\nLOG_2PI = math.log(2 * math.pi)\n"
    "softplus = torch.nn.functional.softplus\n\n"
    "def log_likelihood(x, logits):\n"
    "    return (x * logits - softplus(logits)).sum(-1) + 0 * HALF * LOG_2PI\n"
)
EXIT_TOP = "import sys\nsys.exit()\n\n"
# issue 12 item 5: a notebook that nbgrader's run leaves with no outputs and no run record. A
# submission cannot strip them (nbgrader clears its outputs and re-runs every cell, recording
# each), so this one makes the run itself fail: a file beside the notebook named like the
# kernel's launcher (the kernel starts in the submission's folder, which Python searches first)
# kills the kernel at start; the batch and the lone retry fail, and the notebook is autograded
# without running. Its wrong draw_bar fails a visible assertion: with no error output to read,
# that test must be "not run", never "passed in the notebook". (If the launcher ever stops
# being shadowable, this student needs another way to make nbgrader's run fail.)
DEAD_KERNEL = "raise SystemExit('this kernel never starts')\n"
WRONG_BAR = "def draw_bar(column, size=4):\n    return torch.zeros(size * size)"


def _rename_id(grade_id):
    def edit(nb):
        _cell(nb, grade_id).metadata["nbgrader"]["grade_id"] = "my_answer"

    return edit


def _del_cell(grade_id):
    def edit(nb):
        nb.cells = [
            c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id
        ]

    return edit


def _strip_meta(grade_id):
    def edit(nb):
        cell = _cell(nb, grade_id)
        del cell.metadata["nbgrader"]
        cell.source = "pass  # my own test"

    return edit


def _edit_test(nb):
    cell = _cell(nb, "test_draw_bar")
    cell.source = "pass"
    cell.metadata["nbgrader"]["points"] = 100
    cell.cell_type = "code"
    nb.metadata["kernelspec"] = {"name": "nonexistent", "display_name": "x", "language": "python"}


def _duplicate(nb):
    i = nb.cells.index(_cell(nb, "draw_bar"))
    copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[i])))
    copy.id = "copied-cell"
    nb.cells.insert(i + 1, copy)
    i = nb.cells.index(_cell(nb, "test_draw_bar"))
    copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[i])))
    copy.id = "copied-test"
    nb.cells.insert(i + 1, copy)


def _insert_after(grade_id, code):
    def edit(nb):
        i = nb.cells.index(_cell(nb, grade_id))
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(code))

    return edit


# student -> (answers, extra edit of the notebook or a file action, expected score)
ATTACKS = {
    "x-infinite-loop": (correct({"draw_bar": LOOP}), None, 5),
    "x-native-loop": (correct({"draw_bar": NATIVE}), None, 5),
    "x-os-exit": (correct({"log_likelihood": EXIT}), None, 4),
    "x-sys-exit": (correct({"count_decoder_parameters": SYSEXIT}), None, 5),
    "x-edited-test": (correct({"draw_bar": HARDCODED.replace("[:, 1]", "[1, :]")}), _edit_test, 5),
    "x-deleted-test": (
        correct({"decoder_forward": "def decoder_forward(z, W1, b1, W2, b2):\n    return z"}),
        _del_cell("test_decoder_forward"),
        4,
    ),
    "x-stripped-test": (correct({"log_likelihood": NAN}), _strip_meta("test_log_likelihood"), 4),
    "x-deleted-setup": (correct(), _del_cell("setup"), 6),
    "x-duplicate-ids": (correct(), _duplicate, 6),
    "x-renamed": (correct(), "rename", 0),
    "x-corrupt-json": (correct(), "corrupt", 0),
    "x-missing": (correct(), "missing", 0),
    "x-hardcoded": (correct({"draw_bar": HARDCODED}), None, 5),
    "x-eq-true": (correct({"count_decoder_parameters": EQ_TRUE}), None, 5),
    "x-patched-helpers": ({"draw_bar": PATCH_HELPERS}, None, 0),
    "x-transformer": ({"draw_bar": TRANSFORMER}, None, 0),
    "x-read-solutions": (correct({"draw_bar": READ_SOLUTIONS}), None, 5),
    "x-vandal": (correct(), _insert_after("draw_bar", VANDAL), 6),
    "x-stderr": (correct(), _insert_after("log_likelihood", WARN), 6),
    "x-huge-output": (correct(), _insert_after("draw_bar", HUGE), 6),
    "x-nan": (correct({"log_likelihood": NAN}), None, 4),
    "x-device": (correct({"draw_bar": DEVICE}), None, 6),
    # a class that overrides how tensors compare is cheating: flagged, and 0 on every test
    "x-torch-function": (correct({"decoder_forward": TORCH_FUNCTION}), None, 0),
    "x-frame-patch": (correct({"draw_bar": FRAMES}), None, 5),
    # prints the seed its kernel grades with into its own feedback: never the term's secret
    "x-leak-seed": (correct(), _insert_after("draw_bar", LEAK_SEED), 6),
    "x-spin-top": (correct({"draw_bar": SPIN_TOP + solution("draw_bar")}), None, 6),
    "x-honest-constants": (correct({"log_likelihood": HONEST}), None, 6),
    "x-exit-top": (correct({"decoder_forward": EXIT_TOP + solution("decoder_forward")}), None, 6),
    "x-renamed-id": (correct(), _rename_id("draw_bar"), 6),
    "x-lost-outputs": (correct({"draw_bar": WRONG_BAR}), "dead-kernel", 5),
}


def ordinary(i: int) -> tuple[dict[str, str], int]:
    """Student i answers all (i % 3 == 0), a part, or nothing."""
    kind = i % 3
    if kind == 0:
        return correct(), 6
    if kind == 1:
        chosen = ALL[: 1 + i % 4]
        return {g: solution(g) for g in chosen}, sum(POINTS[g] for g in chosen)
    return {}, 0


def student(home, *args):
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=home,
        env=environment(HOME=str(home), JUPYTER_DATA_DIR=str(home / ".local/share/jupyter")),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def _tree_hash(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    grading = make_course(root)
    sentinel = root / "sentinel.txt"
    sentinel.write_text("untouched")
    # a leftover of an earlier, unsandboxed run would be mistaken for this run's breach
    pathlib.Path(PWNED).unlink(missing_ok=True)
    exchange = root / "exchange"
    exchange.mkdir()
    x = f"--Exchange.root={exchange}"
    expected = {}
    roster = {f"s{i:02d}": ordinary(i) for i in range(STUDENTS)}
    with open(grading / "students.csv", "w") as f:
        f.write("id,first_name,last_name,email\n")
        for sid in list(roster) + list(ATTACKS):
            f.write(f"{sid},F,L,{sid}@example.org\n")
    nbgrader(grading, "db", "student", "import", "students.csv")
    nbgrader(grading, "generate_assignment", A, "--force")
    nbgrader(grading, "release_assignment", A, x)
    plan = {sid: (answers, None, score) for sid, (answers, score) in roster.items()} | ATTACKS
    for sid, (answers, edit, score) in plan.items():
        home = root / "home" / sid
        home.mkdir(parents=True)
        student(home, "fetch_assignment", A, "--course", "dgm-course", x)
        path = home / A / f"{A}.ipynb"
        nb = nbformat.read(path, as_version=4)
        _answers(nb, {g: a.replace(SENTINEL, str(sentinel)) for g, a in answers.items()})
        if callable(edit):
            edit(nb)
            for cell in nb.cells:
                cell.source = cell.source.replace(SENTINEL, str(sentinel))
        nbformat.write(nb, path)
        if edit == "rename":
            path.rename(path.with_name("my_work.ipynb"))
        elif edit == "corrupt":
            path.write_text(path.read_text()[: len(path.read_text()) // 2])
        elif edit == "missing":
            path.unlink()
            (path.parent / "notes.txt").write_text("forgot it")
        elif edit == "dead-kernel":
            (path.parent / "ipykernel_launcher.py").write_text(DEAD_KERNEL)
        student(home, "submit", A, "--course", "dgm-course", x, f"--student={sid}")
        expected[sid] = score
    before = {
        "solutions": _tree_hash(root / "solutions"),
        "config": hashlib.sha256((grading / "nbgrader_config.py").read_bytes()).hexdigest(),
    }
    # the real repository's solutions and history are hidden too (the copy's are by default)
    hidden = os.pathsep.join(str(SOLUTIONS.parent / p) for p in ("solutions", ".git", "grading"))
    env = environment(
        DGMGRADE_TEST_TIMEOUT="15",
        DGMGRADE_CELL_TIMEOUT="20",
        DGMGRADE_KILL_AFTER="3",
        DGMGRADE_HIDE=hidden,
        DGMGRADE_TERM_SECRET=SECRET,
    )
    run = subprocess.run(
        [
            sys.executable,
            "grade.py",
            A,
            "--collect",
            "--release-feedback",
            "--exchange",
            str(exchange),
        ],
        cwd=grading,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(run.stdout[-6000:], run.stderr[-3000:])
    assert run.returncode == 0, run.stderr[-3000:]
    with open(grading / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    after = {
        "solutions": _tree_hash(root / "solutions"),
        "config": hashlib.sha256((grading / "nbgrader_config.py").read_bytes()).hexdigest(),
    }
    return dict(
        root=root,
        grading=grading,
        rows=rows,
        expected=expected,
        before=before,
        after=after,
        sentinel=sentinel,
        stdout=run.stdout,
        exchange=exchange,
    )


def test_every_exported_score_is_the_expected_one(graded_class):
    rows, expected = graded_class["rows"], graded_class["expected"]
    assert set(expected) <= set(rows)
    wrong = {
        sid: (rows[sid]["score"], score, rows[sid]["status"], rows[sid]["flags"][:300])
        for sid, score in expected.items()
        if float(rows[sid]["score"]) != score
    }
    assert not wrong, json.dumps(wrong, indent=1)
    assert all(float(rows[s]["max_score"]) == 6.0 for s in expected)


def test_every_submission_ends_in_a_clear_state(graded_class):
    rows = graded_class["rows"]
    for sid in graded_class["expected"]:
        assert rows[sid]["status"] in ("graded", "graded-with-flags"), (sid, rows[sid])
    for sid in (
        "x-renamed",
        "x-corrupt-json",
        "x-missing",
        "x-duplicate-ids",
        "x-os-exit",
        "x-patched-helpers",
        "x-frame-patch",
        "x-torch-function",
        "x-spin-top",
        "x-exit-top",
        "x-renamed-id",
    ):
        assert rows[sid]["status"] == "graded-with-flags" and rows[sid]["flags"], sid
    for sid in [s for s in rows if s.startswith("s")] + ["x-honest-constants"]:
        assert rows[sid]["status"] == "graded", (sid, rows[sid]["flags"])
    assert "draw_bar (killed)" in rows["x-spin-top"]["did_not_finish"]
    assert "decoder_forward" in rows["x-exit-top"]["flags"]
    assert "matched to 'draw_bar' by position" in rows["x-renamed-id"]["flags"]
    assert "[1/" in graded_class["stdout"], "no progress shown"


def test_a_test_cell_without_outputs_or_run_record_is_not_run_never_passed(graded_class):
    """Row 18 through the real command: nbgrader's run left the notebook with no outputs and no
    run record (see DEAD_KERNEL); the wrong draw_bar scores 0 and is not flagged as "passed in
    the notebook" (an empty cell read as passed would flag it)."""
    path = graded_class["grading"] / "autograded" / "x-lost-outputs" / A / f"{A}.ipynb"
    test = _cell(nbformat.read(path, as_version=4), "test_draw_bar")
    assert test.outputs == [] and "dgmgrade_run" not in test.metadata, test
    lost = graded_class["rows"]["x-lost-outputs"]
    assert lost["status"] == "graded-with-flags" and "graded out of process only" in lost["flags"]
    assert "test_draw_bar (not run)" in lost["did_not_finish"], lost
    assert "passed in the notebook" not in lost["flags"], lost["flags"]


def test_nothing_outside_the_submissions_changed(graded_class):
    assert graded_class["before"] == graded_class["after"]
    assert graded_class["sentinel"].read_text() == "untouched"
    assert (graded_class["grading"] / "gradebook.db").exists()
    assert not os.path.exists(PWNED)


def test_huge_output_is_cut(graded_class):
    path = graded_class["grading"] / "autograded" / "x-huge-output" / A / f"{A}.ipynb"
    assert path.stat().st_size < 2_000_000


def test_feedback_reaches_students_without_hidden_tests(graded_class):
    feedback = graded_class["grading"] / "feedback" / "s00" / A / f"{A}.html"
    html = feedback.read_text()
    assert "Score: 6.0 / 6.0" in html or re.search(r"Score:\s*6\.0\s*/\s*6\.0", html)
    assert "grading_generator(" not in html
    assert "hidden tests ran here" in html
    released = list((graded_class["exchange"] / "dgm-course" / "feedback").rglob("*.html"))
    assert len(released) >= STUDENTS


def test_feedback_never_shows_the_term_secret(graded_class):
    """A kernel sees only its assignment's seed, derived from the secret: a student who prints
    it learns nothing about another assignment's hidden inputs, nor the secret."""
    derived = assignment_seed(SECRET, A)
    assert derived not in (None, SECRET) and assignment_seed(SECRET, "02_x") != derived
    feedback = graded_class["grading"] / "feedback" / "x-leak-seed" / A / f"{A}.html"
    assert f"my seed: {derived}" in feedback.read_text(), "the leaking cell did not run"
    for path in (graded_class["grading"] / "feedback").rglob("*.html"):
        assert SECRET not in path.read_text(), path
