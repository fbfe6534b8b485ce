"""Check your own work the way grading does (students and self-learners).

    python grading/check.py exercises/01_bar_manifold/01_bar_manifold.ipynb   # your copy

Runs the visible tests of the released assignment against only the functions, classes and
imports your notebook defines, in a fresh interpreter: the same out-of-process check that
decides your grade, so a function that relies on something outside it fails here too, not
only when graded. Grading also runs hidden tests on inputs you have not seen.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dgmgrade import verify

RELEASE = Path(__file__).resolve().parent.parent / "exercises"


def main(path: str) -> int:
    mine = Path(path).resolve()
    release = RELEASE / mine.stem / mine.name
    if not release.exists():
        print(f"no released assignment named {mine.name} in {RELEASE}")
        return 2
    results, tests, notes = verify.verify_notebook(release, mine, seeds=[None], hide=[])
    for note in notes:
        print("note:", note)
    for v in results:
        print(
            f"{'PASS' if v.passed else 'FAIL'}  {v.cell}"
            + ("" if v.passed else f": {v.ename} {v.evalue}")
        )
    print("Visible tests only: grading also runs hidden tests on inputs you have not seen.")
    return 0 if all(v.passed for v in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
