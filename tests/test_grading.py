"""Through real nbgrader and its real gradebook: solutions score full marks, untouched
exercises score zero on every graded cell, whatever the hidden tests' seed."""

from __future__ import annotations

import os
import shutil

import pytest
from course import (
    EXERCISES,
    SOLUTIONS,
    assignments,
    environment,
    graded_cells,
    make_course,
    nbgrader,
    notebooks,
)
from nbgrader.api import Gradebook

from dgmlab.testing import SEED_VARIABLE

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("grading")]

# Grading seeds for the hidden tests' inputs; "" means none (fresh entropy). One seed by default:
# this module proves the nbgrader path (real autograde, real gradebook), one full autograde per
# assignment and seed; tests/test_verify.py sweeps ten seeds per assignment out of process, and
# tests/test_notebooks.py runs every solution with no seed at all. DGMLAB_TEST_GRADING_SEEDS=
# "0,1,2,...,49" widens this sweep too.
SEEDS = os.environ.get("DGMLAB_TEST_GRADING_SEEDS", "20261121").split(",")


def _submit(grading, student, assignment, source_folder):
    folder = grading / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for nb in notebooks(source_folder / assignment):
        shutil.copy(nb, folder / nb.name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde, for every assignment, the solution under every seed and the untouched release."""
    grading = make_course(tmp_path_factory.mktemp("course"))
    results = {}
    for assignment in assignments():
        nbgrader(grading, "generate_assignment", assignment, "--force")
        _submit(grading, "untouched", assignment, EXERCISES)
        nbgrader(grading, "autograde", assignment, "--student", "untouched", "--create")
        for i, seed in enumerate(SEEDS):
            student = f"solution-{i}"
            _submit(grading, student, assignment, SOLUTIONS)
            env = environment(**{SEED_VARIABLE: seed}) if seed else environment()
            nbgrader(grading, "autograde", assignment, "--student", student, "--create", env=env)
    with Gradebook(f"sqlite:///{grading / 'gradebook.db'}") as gb:
        for assignment in assignments():
            for student in ["untouched"] + [f"solution-{i}" for i in range(len(SEEDS))]:
                submission = gb.find_submission(assignment, student)
                results[assignment, student] = {
                    nb.name: {
                        g.name: (g.score, g.max_score, g.needs_manual_grade) for g in nb.grades
                    }
                    for nb in submission.notebooks
                }
    return results


@pytest.mark.parametrize("assignment", assignments())
@pytest.mark.parametrize("seed_index", range(len(SEEDS)), ids=[s or "entropy" for s in SEEDS])
def test_solution_scores_full_marks(graded, assignment, seed_index):
    grades = graded[assignment, f"solution-{seed_index}"]
    for nb_path in notebooks(SOLUTIONS / assignment):
        expected = graded_cells(nb_path)
        found = grades[nb_path.stem]
        assert set(found) == set(expected), f"{nb_path.name}: graded cells {sorted(found)}"
        for cell, (score, max_score, manual) in found.items():
            assert max_score == expected[cell]
            assert not manual, f"{nb_path.name}:{cell} needs a manual grade"
            assert score == max_score, f"{nb_path.name}:{cell} scored {score}/{max_score}"


@pytest.mark.parametrize("assignment", assignments())
def test_untouched_exercise_scores_zero_on_every_cell(graded, assignment):
    grades = graded[assignment, "untouched"]
    for nb_path in notebooks(SOLUTIONS / assignment):
        found = grades[nb_path.stem]
        assert set(found) == set(graded_cells(nb_path))
        for cell, (score, max_score, manual) in found.items():
            assert max_score > 0
            assert not manual, f"{nb_path.name}:{cell} needs a manual grade"
            assert score == 0, f"{nb_path.name}:{cell} scored {score}/{max_score} untouched"
