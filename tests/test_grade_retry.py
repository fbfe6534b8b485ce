"""The grading command verifies again, alone and with more time, a test with no verdict in time.

On a loaded machine a correct but slow answer can run past the verifier's per-test limit; a
grade must not depend on what else the machine was doing. A submission that still has no
verdict with the longer limit keeps its 0.
"""

from __future__ import annotations

import nbformat
import pytest
from course import GRADING, SOLUTIONS
from dgmgrade import classgrade, verify
from dgmgrade.result import Result

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grade_retry")]

A = "01_bar_manifold"
SOURCE = SOLUTIONS / A / f"{A}.ipynb"
HIDE = [str(SOLUTIONS.parent / ".git"), str(GRADING)]
LIMIT = 4.0  # seconds per test on the first pass; the retry gets RETRY_FACTOR times it

SLOW = (
    "import time\n\ndef draw_bar(column, size=4):\n"
    "    if not getattr(draw_bar, 'slept', False):  # once per test, however often it is called\n"
    "        draw_bar.slept = True\n"
    f"        time.sleep({LIMIT * 1.5})  # past the first limit, well within the retry's\n"
    "    image = torch.zeros(size, size)\n    image[:, column] = 1.0\n"
    "    return image.reshape(-1)"
)
HANG = "def draw_bar(column, size=4):\n    while True:\n        pass"


def _submission(tmp_path, name: str, draw_bar: str):
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "draw_bar":
            cell.source = draw_bar
    path = tmp_path / name / SOURCE.name
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def limit(monkeypatch_module):
    monkeypatch_module.setattr(verify, "TEST_TIMEOUT", LIMIT)
    return LIMIT


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def retried(limit, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retry")
    paths = {"slow": _submission(tmp, "slow", SLOW), "hang": _submission(tmp, "hang", HANG)}
    found, _tests = verify.verify_many(SOURCE, paths, seeds=[None], hide=HIDE, timeout=LIMIT)
    results = {s: Result(s) for s in paths}
    again = classgrade.retry_slow(SOURCE, paths, found, [None], HIDE, results)
    return found, again, results


def _draw_bar(verdicts):
    (v,) = [v for v in verdicts if v.cell == "test_draw_bar"]
    return v


def test_a_slow_answer_times_out_on_the_first_pass(retried):
    found, _, _ = retried
    assert _draw_bar(found["slow"][0]).ename == "Timeout"


def test_a_slow_but_correct_answer_passes_when_verified_again(retried):
    _, again, results = retried
    v = _draw_bar(again["slow"][0])
    assert v.passed, f"{v.ename}: {v.evalue}"
    assert any("verified again alone" in n for n in results["slow"].notes)
    others = [v for v in again["slow"][0] if v.cell != "test_draw_bar"]
    assert others and all(v.passed for v in others)


def test_an_answer_that_never_finishes_still_scores_zero(retried):
    _, again, _ = retried
    v = _draw_bar(again["hang"][0])
    assert not v.passed and v.ename == "Timeout", (v.ename, v.evalue)
