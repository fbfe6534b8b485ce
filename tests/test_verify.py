"""The out-of-process verifier (grading/dgmgrade) that decides every grade, on every assignment:
the solution passes under many grading seeds, the untouched exercise fails every test, each
wrong answer of the catalogue (tests/wrong_answers) fails with its message, each valid
alternative passes. (tests/test_hidden_inputs.py adds that the hidden tests alone catch every
wrong answer.)

DGMLAB_TEST_VERIFY_SEEDS sets how many seeds the sweep uses (default 10 in CI; set 50 for the
full sweep: all run in one
sandboxed interpreter, each test in a forked child, so the sweep costs seconds per seed).
"""

from __future__ import annotations

import os

import pytest
from course import EXERCISES, GRADING, SOLUTIONS, assignments, notebooks, solution_cells
from dgmgrade import sandbox, verify
from wrong_answers import VALID, VALID_CASES, WRONG, WRONG_CASES

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("verify")]

SEEDS = [str(s) for s in range(int(os.environ.get("DGMLAB_TEST_VERIFY_SEEDS", "10")))]
HIDE = [str(SOLUTIONS.parent / ".git"), str(GRADING)]


def _source(assignment):
    (path,) = notebooks(SOLUTIONS / assignment)
    return path


def test_the_sandbox_is_available_here():
    ok, why = sandbox.available()
    assert ok, f"grading would run unsandboxed: {why}"


@pytest.mark.parametrize("assignment", assignments())
def test_solution_passes_under_every_seed(assignment):
    source = _source(assignment)
    found, tests = verify.verify_many(source, {"solution": source}, seeds=SEEDS, hide=HIDE)
    verdicts, notes = found["solution"]
    assert len(verdicts) == len(SEEDS) * len(tests)
    failed = [
        (v.cell, v.seed, v.ename, v.evalue[:200], v.tampered, v.blocked)
        for v in verdicts
        if not v.passed
    ]
    assert not failed, failed


@pytest.mark.parametrize("assignment", assignments())
def test_untouched_exercise_fails_every_test(assignment):
    source = _source(assignment)
    release = EXERCISES / assignment / source.name
    found, tests = verify.verify_many(source, {"untouched": release}, seeds=SEEDS[:3], hide=HIDE)
    passed = [(v.cell, v.seed) for v in found["untouched"][0] if v.passed]
    assert not passed, passed


@pytest.fixture(scope="module")
def catalogue():
    """Every wrong answer and valid alternative, verified: one interpreter per assignment."""
    out = {}
    for assignment in WRONG:
        codes, only = {}, {}
        for function, cases in WRONG[assignment].items():
            for i, (source, _hint) in enumerate(cases):
                codes[f"wrong:{function}:{i}"] = source
                only[f"wrong:{function}:{i}"] = [f"test_{function}"]
        for function, cases in VALID[assignment].items():
            for i, source in enumerate(cases):
                codes[f"valid:{function}:{i}"] = source
                only[f"valid:{function}:{i}"] = [f"test_{function}"]
        # each answer runs only its own question's test (the others see the solution's answers)
        out[assignment] = verify.verify_code(
            _source(assignment), codes, seeds=["7"], hide=HIDE, only=only
        )
    return out


def test_catalogue_covers_every_graded_function():
    """tests/wrong_answers has wrong answers and valid alternatives for every graded function."""
    assert set(WRONG) == set(assignments()), "every assignment needs a tests/wrong_answers module"
    for assignment in WRONG:
        tested = {gid for gid in solution_cells(assignment) if gid.startswith("test_")}
        assert {f"test_{f}" for f in WRONG[assignment]} == tested, assignment
        assert {f"test_{f}" for f in VALID[assignment]} == tested, assignment


def test_only_limits_a_key_to_the_named_tests():
    """``only`` (the catalogue's speed-up) runs the named tests for that key and nothing else;
    keys it does not name still run every test."""
    source = _source("01_bar_manifold")
    wrong, _hint = WRONG["01_bar_manifold"]["draw_bar"][0]
    found = verify.verify_code(
        source,
        {"limited": wrong, "whole": wrong},
        seeds=["7"],
        hide=HIDE,
        only={"limited": ["test_decoder_forward"]},
    )
    assert [v.cell for v in found["limited"]] == ["test_decoder_forward"]
    assert found["limited"][0].passed  # draw_bar's slip is not decoder_forward's business
    whole = {v.cell: v.passed for v in found["whole"]}
    assert len(whole) == len(verify.source_cells(source)[1]) and not whole["test_draw_bar"]


@pytest.mark.parametrize(("assignment", "function", "index"), WRONG_CASES)
def test_wrong_answer_is_graded_zero_with_its_message(catalogue, assignment, function, index):
    _, hint = WRONG[assignment][function][index]
    verdicts = catalogue[assignment][f"wrong:{function}:{index}"]
    (v,) = [v for v in verdicts if v.cell == f"test_{function}"]
    assert not v.passed, f"the grader accepted a wrong {function}"
    assert hint in v.evalue, f"expected {hint!r} in the message, got {v.ename}: {v.evalue}"


@pytest.mark.parametrize(("assignment", "function", "index"), VALID_CASES)
def test_valid_alternative_is_graded_full(catalogue, assignment, function, index):
    verdicts = catalogue[assignment][f"valid:{function}:{index}"]
    (v,) = [v for v in verdicts if v.cell == f"test_{function}"]
    assert v.passed, f"the grader rejected a valid {function}: {v.ename}: {v.evalue} {v.blocked}"
