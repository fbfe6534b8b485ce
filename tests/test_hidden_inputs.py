"""The hidden tests do real work: each wrong answer in tests/wrong_answers fails the HIDDEN tests
alone, not only the visible ones.

For each graded function the kernel defines the solution and runs the visible part of the test
cell once (so the helpers it defines exist); then, for each slip, it defines the wrong answer and
runs only the code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, under a grading
seed drawn for this run (printed in the failure), as grading does. A slip that only a visible test
catches would be caught by nothing once a student fits the visible tests.
"""

from __future__ import annotations

import random

import pytest
from course import Kernel, solution_answers, solution_cells
from wrong_answers import WRONG, WRONG_CASES

pytestmark = pytest.mark.xdist_group("wrong_answers")

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def split_test_cell(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a graded test cell."""
    assert source.count(BEGIN) == 1 and source.count(END) == 1, "one hidden block per test cell"
    visible, rest = source.split(BEGIN)
    hidden, after = rest.split(END)
    assert not after.strip(), "nothing may follow the hidden block"
    return visible, hidden


@pytest.fixture(scope="module")
def ready():
    """(assignment -> kernel, functions whose visible part has run with the solution)."""
    kernels, done = {}, set()
    yield kernels, done
    for kernel in kernels.values():
        kernel.close()


def _ready_kernel(ready, assignment, function):
    kernels, done = ready
    cells = solution_cells(assignment)
    if assignment not in kernels:
        kernel = Kernel()
        assert kernel.run(cells["setup"]) is None, f"{assignment}: set-up cell failed"
        kernels[assignment] = kernel
    kernel = kernels[assignment]
    if (assignment, function) not in done:
        visible, _ = split_test_cell(cells[f"test_{function}"])
        assert kernel.run(solution_answers(cells)) is None, (
            f"{assignment}: the solution does not define"
        )
        error = kernel.run(visible)
        assert error is None, f"{function}: the visible tests fail the solution: {error}"
        done.add((assignment, function))
    return kernel


def test_every_test_cell_has_a_hidden_block():
    for assignment in WRONG:
        for grade_id, source in solution_cells(assignment).items():
            if grade_id.startswith("test_"):
                _, hidden = split_test_cell(source)
                assert "grading_generator" in hidden, f"{assignment}:{grade_id}: no hidden inputs"


@pytest.mark.parametrize(("assignment", "function", "index"), WRONG_CASES)
def test_hidden_tests_alone_catch_the_slip(ready, assignment, function, index):
    source, _ = WRONG[assignment][function][index]
    kernel = _ready_kernel(ready, assignment, function)
    _, hidden = split_test_cell(solution_cells(assignment)[f"test_{function}"])
    seed = random.randrange(2**31)
    assert kernel.run(f"import os\nos.environ['DGMLAB_GRADING_SEED'] = '{seed}'") is None
    try:
        assert kernel.run(solution_answers(solution_cells(assignment))) is None
        assert kernel.run(source) is None, "the wrong answer itself should define without error"
        error = kernel.run(hidden)
    finally:
        kernel.run("os.environ.pop('DGMLAB_GRADING_SEED', None)")
    assert error is not None, (
        f"{assignment}: the hidden tests of {function} alone accept this wrong answer "
        f"(DGMLAB_GRADING_SEED={seed}); only a visible test catches it:\n{source}"
    )
