"""Plausible wrong answers fail with a message naming the mistake; valid alternatives pass.

Each case defines an answer in a real kernel (after the notebook's set-up cell) and runs
the graded test cell from solutions/, hidden tests included, as grading does.
"""

from __future__ import annotations

import nbformat
import pytest
from course import SOLUTIONS, assignments, environment, notebooks
from jupyter_client.manager import start_new_kernel
from wrong_answers import VALID, WRONG

pytestmark = pytest.mark.xdist_group("wrong_answers")


def _cells(assignment):
    (path,) = notebooks(SOLUTIONS / assignment)
    nb = nbformat.read(path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata
    }


class Kernel:
    def __init__(self):
        self.km, self.kc = start_new_kernel(kernel_name="python3", env=environment())

    def run(self, code):
        """Execute code; return None on success, else (ename, evalue)."""
        reply = self.kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
        content = reply["content"]
        return None if content["status"] == "ok" else (content["ename"], content["evalue"])

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernels():
    started = {}
    yield started
    for kernel in started.values():
        kernel.close()


def _solution(cells):
    """Every answer cell of the solution: a case replaces one function, the others stay right."""
    return "\n".join(source for gid, source in cells.items() if f"test_{gid}" in cells)


def _kernel(kernels, assignment):
    if assignment not in kernels:
        kernel = Kernel()
        error = kernel.run(_cells(assignment)["setup"])
        assert error is None, f"{assignment}: set-up cell failed: {error}"
        kernels[assignment] = kernel
    kernel = kernels[assignment]
    # Each case starts from the solution, not from what an earlier case left behind: under
    # xdist another module's tests may run in between and the kernel be started afresh.
    assert kernel.run(_solution(_cells(assignment))) is None, f"{assignment}: solution fails"
    return kernel


WRONG_CASES = [
    (a, f, i) for a, by_f in WRONG.items() for f, cases in by_f.items() for i in range(len(cases))
]
VALID_CASES = [
    (a, f, i) for a, by_f in VALID.items() for f, cases in by_f.items() for i in range(len(cases))
]


def test_catalogue_covers_every_graded_function():
    assert set(WRONG) == set(assignments()), "every assignment needs a tests/wrong_answers module"
    for assignment in WRONG:
        tested = {gid for gid in _cells(assignment) if gid.startswith("test_")}
        assert {f"test_{f}" for f in WRONG[assignment]} == tested
        assert {f"test_{f}" for f in VALID[assignment]} == tested


@pytest.mark.parametrize(("assignment", "function", "index"), WRONG_CASES)
def test_wrong_answer_fails_with_a_message_naming_the_mistake(kernels, assignment, function, index):
    source, hint = WRONG[assignment][function][index]
    kernel = _kernel(kernels, assignment)
    assert kernel.run(source) is None, "the wrong answer itself should define without error"
    error = kernel.run(_cells(assignment)[f"test_{function}"])
    assert error is not None, f"the tests of {function} accepted a wrong answer:\n{source}"
    ename, evalue = error
    assert hint in evalue, (
        f"{function}: expected a message containing {hint!r}, got {ename}: {evalue}"
    )


@pytest.mark.parametrize(("assignment", "function", "index"), VALID_CASES)
def test_valid_alternative_passes(kernels, assignment, function, index):
    source = VALID[assignment][function][index]
    kernel = _kernel(kernels, assignment)
    assert kernel.run(source) is None
    error = kernel.run(_cells(assignment)[f"test_{function}"])
    assert error is None, f"the tests of {function} rejected a valid answer:\n{source}\n{error}"
