"""Lectures 04-06: every cross-reference names a lecture that exists and a section it holds.

A reference reads 'lecture NN (section "Title")' or 'lecture NN, section "Title"'; the title must
be a heading of that lecture (its number, like "3. ", left off). Fails when a lecture named in
the text does not exist, or when a referenced section is renamed or moved away.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from course import LECTURES

OURS = ["04_elbo", "05_reparameterization", "06_vae_practical"]
LECTURE = re.compile(r"\b[Ll]ecture\s+(\d{2})\b")
SECTION = re.compile(r'\b[Ll]ecture\s+(\d{2})\s*(?:,|\()\s*section\s+"([^"]+)"')
NUMBERED = re.compile(r"^#+\s+(?:\d+\.\s+)?(.*?)\s*$")


def markdown(slug: str) -> str:
    nb = nbformat.read(LECTURES / f"{slug}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def lecture_path(number: str):
    found = sorted(LECTURES.glob(f"{number}_*.ipynb"))
    return found[0] if found else None


def headings(number: str) -> set[str]:
    nb = nbformat.read(lecture_path(number), as_version=4)
    lines = (line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines())
    return {m.group(1) for line in lines if (m := NUMBERED.match(line))}


@pytest.mark.parametrize("slug", OURS)
def test_every_lecture_named_exists(slug):
    missing = sorted({n for n in LECTURE.findall(markdown(slug)) if lecture_path(n) is None})
    assert not missing, f"{slug} refers to lectures that do not exist: {missing}"


@pytest.mark.parametrize("slug", OURS)
def test_every_section_named_is_a_heading_of_that_lecture(slug):
    text = " ".join(markdown(slug).split())  # a reference may break across lines
    refs = SECTION.findall(text)
    assert refs, f"{slug} names no section of another lecture; the pattern may be broken"
    bad = [(n, title) for n, title in refs if title not in headings(n)]
    assert not bad, f"{slug}: these sections are not headings of the lecture named: {bad}"
