"""``course_tools.execute_cached``: a notebook runs once per cache, and again when anything its
outputs depend on changed. No kernel here: ``execute`` is replaced by a counting fake, and the
key is computed over a private copy of dgmlab."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys

import nbformat
import pytest

import course_tools
from course_tools import Executed, cache_key, execute_cached


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A root with a copy of dgmlab and one notebook; ``runs`` counts the executions."""
    root = tmp_path / "root"
    shutil.copytree(course_tools.ROOT / "dgmlab", root / "dgmlab",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    monkeypatch.setattr(course_tools, "ROOT", root)
    notebook = root / "lectures" / "01_x.ipynb"
    notebook.parent.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, notebook)
    runs = []

    def fake_execute(path, *, timeout, env):
        runs.append(path)
        ran = nbformat.read(path, as_version=4)
        ran.cells[0].outputs = [nbformat.v4.new_output("stream", text=f"run {len(runs)}\n")]
        error = RuntimeError("boom") if "raise" in ran.cells[0].source else None
        return Executed(ran, 1.5, error)

    monkeypatch.setattr(course_tools, "execute", fake_execute)
    return notebook, runs, tmp_path / "cache"


def test_a_notebook_runs_once_and_is_read_back_with_its_outputs_and_seconds(course):
    notebook, runs, cache = course
    first = execute_cached(notebook, cache, env={})
    again = execute_cached(notebook, cache, env={})
    assert len(runs) == 1
    assert (first.cached, again.cached) == (False, True)
    assert again.seconds == 1.5 and again.error is None
    assert again.notebook.cells[0].outputs[0].text == "run 1\n"


@pytest.mark.parametrize("change", ["notebook", "dgmlab", "CI", "record"])
def test_a_change_to_what_the_outputs_depend_on_runs_it_again(course, change):
    notebook, runs, cache = course
    execute_cached(notebook, cache, env={})
    env = {}
    if change == "notebook":
        nb = nbformat.read(notebook, as_version=4)
        nb.cells[0].source = "print(2)"
        nbformat.write(nb, notebook)
    elif change == "dgmlab":
        with open(course_tools.ROOT / "dgmlab" / "bounds.py", "a") as f:
            f.write("\n# a change\n")
    elif change == "record":  # lectures 10 and 14 print the benchmark record
        record = course_tools.ROOT / "benchmarks" / "results" / "full.json"
        record.parent.mkdir(parents=True)
        record.write_text("{}")
    else:
        env = {"CI": "1"}  # the lectures' shortened training
    again = execute_cached(notebook, cache, env=env)
    assert len(runs) == 2 and not again.cached


def test_a_failed_run_is_not_stored(course):
    notebook, runs, cache = course
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[0].source = "raise ValueError"
    nbformat.write(nb, notebook)
    assert execute_cached(notebook, cache, env={}).error is not None
    assert execute_cached(notebook, cache, env={}).error is not None
    assert len(runs) == 2


def test_a_notebook_another_process_is_running_is_waited_for_or_skipped(course):
    notebook, runs, cache = course
    cache.mkdir()
    stem = f"{notebook.stem}-{cache_key(notebook, {})[:20]}"
    with open(cache / f"{stem}.lock", "w") as held:  # another process, running it
        fcntl.flock(held, fcntl.LOCK_EX)
        assert execute_cached(notebook, cache, env={}, wait=False) is None
    assert runs == []
    assert execute_cached(notebook, cache, env={}, wait=False) is not None


def test_the_key_is_the_same_wherever_python_started(tmp_path):
    """pytest has the root on sys.path (dgmlab's egg-info there is a second copy of dgmlab's
    metadata); ``python -m book`` from the root too, a script elsewhere not: one key for all,
    or the book's build and test_notebooks would each run every lecture."""
    lecture = sorted(course_tools.LECTURES.glob("*.ipynb"))[0]
    code = (
        "import sys; sys.path.append(sys.argv[1]); import course_tools as t; "
        "print(t.cache_key(t.LECTURES / sys.argv[2], {})); print(t._installed())"
    )
    for cwd in (course_tools.ROOT, tmp_path):
        done = subprocess.run(
            [sys.executable, "-c", code, str(course_tools.ROOT), lecture.name],
            cwd=cwd, capture_output=True, text=True, check=True,
        )  # fmt: skip
        key, *installed = done.stdout.strip().splitlines()
        here = course_tools._installed().splitlines()
        differ = sorted(set(installed) ^ set(here))
        assert not differ, f"started in {cwd}, the installed set differs: {differ}"
        assert key == cache_key(lecture, {}), f"started in {cwd}: same packages, other files?"


def test_a_folder_on_sys_path_with_package_metadata_does_not_change_the_key(tmp_path):
    """A test or a script may put any folder on sys.path; only the environment's own
    site-packages say what is installed."""
    lecture = sorted(course_tools.LECTURES.glob("*.ipynb"))[0]
    before = cache_key(lecture, {})
    fake = tmp_path / "other-0.1.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: other\nVersion: 0.1\n")
    sys.path.insert(0, str(tmp_path))
    course_tools._installed.cache_clear()  # it is read once per process: read it again now
    try:
        assert cache_key(lecture, {}) == before
    finally:
        sys.path.remove(str(tmp_path))
        course_tools._installed.cache_clear()
