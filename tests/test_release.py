"""exercises/ is exactly nbgrader's release of solutions/, and leaks nothing."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from course import EXERCISES, SOLUTIONS, assignments, make_course, nbgrader, notebooks

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("release")]


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """Generate every assignment from solutions/ into a private exercises/ folder."""
    root = tmp_path_factory.mktemp("course")
    grading = make_course(root)
    for assignment in assignments():
        nbgrader(grading, "generate_assignment", assignment, "--force")
    return root / "exercises"


def test_every_assignment_is_released():
    assert assignments(), "solutions/ holds no assignment"
    for assignment in assignments():
        released = [p.name for p in notebooks(EXERCISES / assignment)]
        sources = [p.name for p in notebooks(SOLUTIONS / assignment)]
        assert released == sources, f"{assignment}: exercises has {released}, solutions {sources}"
    extra = {p.name for p in EXERCISES.iterdir() if p.is_dir()} - set(assignments())
    assert not extra, f"exercises/ has folders with no source in solutions/: {sorted(extra)}"


@pytest.mark.parametrize("assignment", assignments())
def test_exercises_are_what_nbgrader_generates_now(assignment, fresh_release):
    for generated in notebooks(fresh_release / assignment):
        committed = EXERCISES / assignment / generated.name
        assert committed.exists(), f"{committed} is missing; regenerate the release"
        assert json.loads(committed.read_text()) == json.loads(generated.read_text()), (
            f"{committed} differs from what nbgrader generates from solutions/ now; run "
            f"`cd grading && nbgrader generate_assignment {assignment} --force` and commit"
        )


def _blocks(text: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{begin}\n(.*?)\n\s*{end}", text, flags=re.S)


@pytest.mark.parametrize("assignment", assignments())
def test_release_contains_no_solution_or_hidden_test(assignment):
    for source in notebooks(SOLUTIONS / assignment):
        released = nbformat.read(EXERCISES / assignment / source.name, as_version=4)
        released_text = "\n".join(c.source for c in released.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "END HIDDEN"):
            assert marker not in released_text, f"{source.name}: release contains {marker!r}"
        nb = nbformat.read(source, as_version=4)
        secret_lines, public_text = set(), []
        for cell in nb.cells:
            public = cell.source
            for begin, end in [
                (r"### BEGIN SOLUTION", r"### END SOLUTION"),
                (r"### BEGIN HIDDEN TESTS", r"### END HIDDEN TESTS"),
            ]:
                for block in _blocks(cell.source, begin, end):
                    secret_lines.update(block.splitlines())
                    public = public.replace(block, "")
            public_text.append(public)
        # lines specific to the secret parts: long, and not also in the public cells
        public_joined = "\n".join(public_text)
        secret_lines = {
            s.strip()
            for s in secret_lines
            if len(s.strip()) > 25 and s.strip() not in public_joined
        }
        assert secret_lines, f"{source.name}: found no solution or hidden-test lines to look for"
        leaked = sorted(s for s in secret_lines if s in released_text)
        assert not leaked, f"{source.name}: the release contains solution/hidden lines: {leaked}"


@pytest.mark.parametrize("folder", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
def test_assignments_are_stored_without_outputs(folder):
    for path in notebooks(folder):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{path}: cell {cell.id} has stored outputs"
                assert cell.execution_count is None, f"{path}: cell {cell.id} has a count"
