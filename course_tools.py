"""The course's folders, its notebooks, the environment its kernels run in, and running one.

One copy for the two places that run notebooks: the tests (through ``tests/course.py``) and the
benchmarks (through ``benchmarks/common.py``). It is not part of ``dgmlab`` (a student never
needs it) and is not installed: it is imported from the repository's root, which is on
``sys.path`` under pytest (``pythonpath`` in pyproject.toml) and under ``python -m benchmarks``.
"""

from __future__ import annotations

import os
import sys
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
