"""Every lecture and every solution notebook runs top to bottom in a fresh kernel.

Each runs once per pytest run: through the run's shared cache of executed notebooks
(``course.executed_cache``), which the book's build (tests/test_book.py) reads and fills too.
A lecture the book ran first is checked here on that run's outputs, with that run's seconds.
"""

from __future__ import annotations

import pytest
from course import LECTURES, ROOT, SOLUTIONS, execute_cached, executed_cache, notebooks
from lecture_claims import check_claims

pytestmark = pytest.mark.notebook

NOTEBOOKS = notebooks(LECTURES) + notebooks(SOLUTIONS)


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return executed_cache(tmp_path_factory)


def test_there_are_notebooks_to_run():
    assert notebooks(SOLUTIONS), "no solution notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, record_property, cache):
    # the kernel gets this interpreter's bin/ on PATH and no grading seed
    run = execute_cached(path, cache, timeout=300)
    record_property("seconds", round(run.seconds, 2))
    record_property("run by", "an earlier test (the book's build)" if run.cached else "this test")
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
