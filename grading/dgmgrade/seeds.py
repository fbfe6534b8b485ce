"""The term's secret and the per-assignment seed: two things, two names.

- ``TERM_SECRET`` (``DGMGRADE_TERM_SECRET``): the instructor's secret for the term, any string,
  read by the grading command only. Student code never sees it.
- ``SEED_VARIABLE`` (``DGMLAB_GRADING_SEED``, defined in ``dgmlab.testing``): the seed one
  assignment's kernels and verifier run with, derived from the secret; hidden tests draw their
  inputs from it through ``dgmlab.testing.grading_generator``.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager

from dgmlab.testing import SEED_VARIABLE

TERM_SECRET = "DGMGRADE_TERM_SECRET"

__all__ = ["SEED_VARIABLE", "TERM_SECRET", "assignment_seed", "grading_seed", "term_secret"]


def term_secret() -> str | None:
    """The term's secret from the environment, or None (fresh entropy on every run)."""
    return os.environ.get(TERM_SECRET) or None


def assignment_seed(secret: str | None, assignment: str) -> str | None:
    """The grading seed of one assignment, derived from the term's secret (any string).

    Student code can read the seed its kernel runs with (and print it into its feedback), so
    kernels never see the secret itself: each assignment gets sha256(secret:assignment), and a
    leaked seed tells nothing about any other assignment's hidden inputs. No secret: None (fresh
    entropy on every run)."""
    if not secret:
        return None
    digest = hashlib.sha256(f"{secret}:{assignment}".encode()).digest()
    return str(int.from_bytes(digest[:8], "little") >> 2)  # < 2^62, as grading_generator wants


@contextmanager
def grading_seed(seed: str | None):
    """``SEED_VARIABLE`` set to ``seed`` (unset for None) for nbgrader's kernels, then back."""
    before = os.environ.pop(SEED_VARIABLE, None)
    if seed is not None:
        os.environ[SEED_VARIABLE] = seed
    try:
        yield
    finally:
        os.environ.pop(SEED_VARIABLE, None)
        if before is not None:
            os.environ[SEED_VARIABLE] = before
