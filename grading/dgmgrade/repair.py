"""Make every expected notebook of a submission readable and well-formed before grading."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from .course import Course


def repair(course: Course, student: str, assignment: str) -> list[str]:
    """Repair one submission in place; return flags for the instructor.

    A missing, renamed or unreadable notebook is replaced by the untouched release (so it
    scores 0) and flagged; duplicate cell ids keep their first cell's metadata; the original
    files are kept in ``quarantine/``.
    """
    folder = course.submitted(student, assignment)
    quarantine = course.quarantine(student, assignment)
    flags = []
    expected = {p.name for p in course.source_notebooks(assignment)}
    extra = sorted(p.name for p in folder.glob("*.ipynb") if p.name not in expected)
    for name in sorted(expected):
        path = folder / name
        problem = None
        if not path.exists():
            problem = f"{name} is missing" + (f" (found {', '.join(extra)})" if extra else "")
        else:
            try:
                nb = nbformat.read(path, as_version=4)
                nbformat.validate(nb)
            except Exception as error:  # noqa: BLE001 - any unreadable notebook
                problem = f"{name} is not a readable notebook ({type(error).__name__})"
        if problem:
            flags.append(problem + ": scored 0")
            if path.exists():
                quarantine.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), quarantine / name)
            shutil.copy(course.release / assignment / name, path)
            continue
        renamed = _match_renamed(nb, nbformat.read(course.source / assignment / name, 4))
        found = _deduplicate(nb)
        for old, new in renamed:
            flags.append(f"{name}: answer cell {old!r} was renamed; matched to {new!r} by position")
        if found:
            flags.append(f"{name}: duplicate cells {sorted(found)} (kept the first)")
        if renamed or found:
            _save(nb, path, quarantine)
    return flags


def _kind(cell) -> tuple:
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return (cell.get("cell_type"), bool(meta.get("solution")), bool(meta.get("grade")))


def _match_renamed(nb, source) -> list[tuple[str, str]]:
    """Give an answer cell whose grade_id the source does not know the id of the source's
    answer cell at the same place: the first cell of the same type (code/markdown, answer,
    graded) after the last cell both notebooks share, whose id the submission lacks."""
    expected = [
        (c.metadata["nbgrader"]["grade_id"], _kind(c))
        for c in source.cells
        if "grade_id" in (c.get("metadata", {}).get("nbgrader") or {})
    ]
    known = [gid for gid, _ in expected]
    present = {
        (c.metadata.get("nbgrader") or {}).get("grade_id")
        for c in nb.cells
        if (c.get("metadata", {}).get("nbgrader") or {}).get("grade_id") in known
    }
    renamed, after = [], -1  # index in ``expected`` of the last shared cell seen so far
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        gid = meta.get("grade_id")
        if gid is None:
            continue
        if gid in known:
            after = max(after, known.index(gid))
            continue
        if not meta.get("solution"):
            continue  # only answer cells: an unknown test cell is not the student's to rename
        for i in range(after + 1, len(expected)):
            target, kind = expected[i]
            if target not in present and kind == _kind(cell):
                meta["grade_id"] = target
                present.add(target)
                renamed.append((gid, target))
                after = i
                break
    return renamed


def _deduplicate(nb) -> set[str]:
    seen, duplicated = set(), set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta or "grade_id" not in meta:
            continue
        if meta["grade_id"] in seen:
            duplicated.add(meta["grade_id"])
            del cell.metadata["nbgrader"]
        seen.add(meta["grade_id"])
    return duplicated


def _save(nb, path: Path, quarantine: Path) -> None:
    """Keep the original in quarantine/ (once), write the repaired notebook in its place."""
    quarantine.mkdir(parents=True, exist_ok=True)
    if not (quarantine / path.name).exists():
        shutil.copy(path, quarantine / path.name)
    nbformat.write(nb, path)
