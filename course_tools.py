"""The course's folders, its notebooks, the environment its kernels run in, and running one.

One copy for the two places that run notebooks: the tests (through ``tests/course.py``) and the
benchmarks (through ``benchmarks/common.py``). It is not part of ``dgmlab`` (a student never
needs it) and is not installed: it is imported from the repository's root, which is on
``sys.path`` under pytest (``pythonpath`` in pyproject.toml) and under ``python -m benchmarks``.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent
LECTURES = ROOT / "lectures"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
GRADING = ROOT / "grading"
BIN = Path(sys.executable).parent  # this environment's bin/: jupyter, nbgrader


def notebooks(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, sorted, checkpoints left out ([] if there is no folder)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def assignments() -> list[str]:
    """Every assignment in solutions/ (a folder NN_slug holding notebooks)."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and notebooks(p))


def environment(**extra: str) -> dict[str, str]:
    """The environment kernels and nbgrader run in: this interpreter's bin/ first on PATH.

    The grading secret is left out, so a kernel started here never sees an instructor's.
    """
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DGMLAB_GRADING_SEED", None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class Executed:
    """A notebook after a run: its cells with their outputs, the seconds, the error if any."""

    notebook: nbformat.NotebookNode
    seconds: float
    error: Exception | None
    cached: bool = False  # read from a cache (execute_cached): seconds are the run that made it


def execute(path: Path, *, timeout: float = 300, env: dict[str, str] | None = None) -> Executed:
    """Run a notebook top to bottom in a fresh python3 kernel, from its own folder.

    ``timeout`` is per cell; the kernel runs in ``env`` (default: ``environment()``). The run
    stops at the first error, which is returned, not raised, with the seconds up to it (kernel
    start included).
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute(env=environment() if env is None else env)
    except Exception as exc:  # noqa: BLE001 - the caller reports it (a test fails, a row says so)
        error = exc
    return Executed(nb, time.perf_counter() - start, error)


# what a notebook's outputs depend on besides its own text and dgmlab: the variables that shorten
# the lectures' training (CI, NBGRADER_EXECUTION), pick the device or the threads
CACHE_VARIABLES = ("CI", "NBGRADER_EXECUTION", "DGMLAB_DEVICE", "OMP_NUM_THREADS")


@functools.cache
def _installed() -> str:
    """This interpreter and every distribution installed in its environment, with its version,
    one per line.

    Read from the environment's site-packages only, not from ``sys.path``: what a process has
    on its path (the root, with dgmlab's egg-info, when started there; folders a test added)
    must not change the key, or the book's build and test_notebooks would each run every
    lecture."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    dists = sorted(
        {f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions(path=paths)}
    )
    return "\n".join([sys.version, *dists])


def cache_key(path: Path, env: dict[str, str]) -> str:
    """What an executed notebook depends on, hashed: the notebook's bytes, every file of dgmlab,
    the benchmark record (lectures 10 and 14 read it), the installed packages and the variables
    in ``CACHE_VARIABLES``. A change to any of them gives another key, so the notebook runs
    again."""
    h = hashlib.sha256()
    h.update(path.read_bytes())
    for file in sorted((ROOT / "dgmlab").rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts:
            h.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    record = ROOT / "benchmarks" / "results" / "full.json"
    h.update(record.read_bytes() if record.exists() else b"no record")
    h.update(_installed().encode())
    h.update(json.dumps({k: env.get(k) for k in CACHE_VARIABLES}, sort_keys=True).encode())
    return h.hexdigest()


def execute_cached(
    path: Path,
    cache: Path,
    *,
    timeout: float = 300,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> Executed | None:
    """``execute``, through a folder of executed notebooks: one that ran without error with the
    same ``cache_key`` is read back instead of run again.

    Processes that share ``cache`` (pytest's workers, the book's build) run each notebook once:
    a lock file holds the others back while one runs it; with ``wait=False`` a notebook another
    process is running returns None at once. A failed run is not stored.
    """
    env = environment() if env is None else env
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"{path.stem}-{cache_key(path, env)[:20]}"
    stored, record = cache / f"{stem}.ipynb", cache / f"{stem}.json"
    with open(cache / f"{stem}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        if stored.exists() and record.exists():
            seconds = json.loads(record.read_text())["seconds"]
            return Executed(nbformat.read(stored, as_version=4), seconds, None, cached=True)
        run = execute(path, timeout=timeout, env=env)
        if run.error is None:
            meta = json.dumps({"seconds": run.seconds, "source": str(path)})
            for target, text in ((stored, nbformat.writes(run.notebook)), (record, meta)):
                partial = target.with_suffix(".partial")
                partial.write_text(text)
                partial.replace(target)  # whole or absent, for a reader that does not lock
        return run
