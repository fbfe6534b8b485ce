"""Shared helpers for the tests that run notebooks and nbgrader (not a test module)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
GRADING = ROOT / "grading"
BIN = Path(sys.executable).parent


def assignments() -> list[str]:
    """Every assignment in solutions/ (a folder NN_slug holding notebooks)."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def environment(**extra: str) -> dict[str, str]:
    """The environment nbgrader and kernels run in: this interpreter's bin/ first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DGMLAB_GRADING_SEED", None)
    env.update(extra)
    return env


def make_course(target: Path) -> Path:
    """A private copy of the course's grading set-up: grading/, solutions/, empty exercises/.

    Returns the grading folder, where nbgrader commands run.
    """
    shutil.copytree(SOLUTIONS, target / "solutions", ignore=shutil.ignore_patterns(".ipynb_*"))
    (target / "grading").mkdir()
    shutil.copy(GRADING / "nbgrader_config.py", target / "grading" / "nbgrader_config.py")
    # the grading tools the config loads (sandbox, verifier, nbgrader plug-ins)
    shutil.copytree(
        GRADING / "dgmgrade",
        target / "grading" / "dgmgrade",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(GRADING / "grade.py", target / "grading" / "grade.py")
    (target / "exercises").mkdir()
    return target / "grading"


def nbgrader(grading: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run one nbgrader command in ``grading``; fail with its log if it fails."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=grading,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def graded_cells(notebook: Path) -> dict[str, float]:
    """grade_id -> points for every graded cell of an nbgrader notebook."""
    nb = nbformat.read(notebook, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
