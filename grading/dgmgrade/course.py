"""Where a course's grading state lives: the nbgrader course folder and its neighbours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder (``grading/``): every nbgrader command runs from ``root``.

    The source (solutions, hidden tests) is ``../solutions`` and the release ``../exercises``,
    as ``nbgrader_config.py`` sets them.
    """

    root: Path

    @property
    def source(self) -> Path:
        return (self.root / ".." / "solutions").resolve()

    @property
    def release(self) -> Path:
        return (self.root / ".." / "exercises").resolve()

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def quarantine(self, student: str, assignment: str) -> Path:
        return self.root / "quarantine" / student / assignment

    @property
    def gradebook(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def hidden(self) -> list[str]:
        """What student code must never see: this folder, the solutions, the history."""
        return [str(self.root), str(self.source), str(self.source.parent / ".git")]

    def assignments(self) -> list[str]:
        return sorted(
            p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
        )

    def source_notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.source / assignment).glob("*.ipynb"))

    def students(self, assignment: str) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "submitted").glob(f"*/{assignment}"))
