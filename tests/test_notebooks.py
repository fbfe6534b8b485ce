"""Every lecture and every solution notebook runs top to bottom in a fresh kernel."""

from __future__ import annotations

import pytest
from course import LECTURES, ROOT, SOLUTIONS, execute, notebooks
from lecture_claims import check_claims

pytestmark = pytest.mark.notebook

NOTEBOOKS = notebooks(LECTURES) + notebooks(SOLUTIONS)


def test_there_are_notebooks_to_run():
    assert notebooks(SOLUTIONS), "no solution notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, record_property):
    # the kernel gets this interpreter's bin/ on PATH and no grading seed
    run = execute(path, timeout=300)
    record_property("seconds", round(run.seconds, 2))
    assert run.error is None, f"{path.name} stopped: {run.error}"
    nb = run.notebook
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, f"{path.name} raised {errors[0]['ename']}: {errors[0]['evalue']}"
    assert all(
        c.execution_count is not None for c in nb.cells if c.cell_type == "code" and c.source
    ), f"{path.name}: some code cells did not run"
    # every number a lecture's text states is the number its cell prints (tests/lecture_claims.py)
    check_claims(path, nb)
