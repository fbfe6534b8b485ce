"""Verify a submission out of process: re-run the source's tests against only what it defines.

``verify_notebook(source, submission, seeds=...)`` returns, per test cell and seed, a verdict
computed by ``harness.py`` in a fresh interpreter inside the sandbox. The set-up and the tests
come from the *source* notebook (the instructor's master copy, hidden tests included), never
from the submission; from the submission, the student's own cells are re-run by the rule in
``student_code`` (definitions, imports and plain-name assignments of any value), so top-level
tricks (IPython transformers, patched helpers, edited or deleted test cells) never reach the
tests, and what is kept runs under the harness's tamper checks.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dgmlab.testing import SEED_VARIABLE

from . import runner, sandbox
from .harness import Job, RawVerdict, Submission, Test

HARNESS = Path(__file__).with_name("harness.py")
TEST_TIMEOUT = float(os.environ.get("DGMGRADE_TEST_TIMEOUT", "60"))


@dataclass
class Verdict:
    cell: str
    seed: str | None
    passed: bool
    ename: str = ""
    evalue: str = ""
    tampered: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def source_cells(source: Path) -> tuple[list[str], list[dict], set[str]]:
    """(set-up sources, tests [{id, source, points}], ids of locked cells) of a source notebook."""
    nb = nbformat.read(source, as_version=4)
    setup, tests, locked = [], [], set()
    for cell in nb.cells:
        meta = _meta(cell)
        if meta.get("locked") or meta.get("grade"):
            locked.add(meta.get("grade_id"))
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            tests.append(
                {
                    "id": meta["grade_id"],
                    "source": cell.source,
                    "points": float(meta.get("points", 0)),
                }
            )
        elif meta.get("locked") and not meta.get("solution"):
            setup.append(cell.source)
    return setup, tests, locked


def _python(source: str) -> str:
    """Cell source as Python: IPython magics and shell escapes become plain calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot read is judged as plain Python
        return source


def student_code(submission: Path, locked: set[str]) -> tuple[str, list[str], list[str]]:
    """(code, names it defines, notes) from every code cell of ``submission`` that is not one
    of the source's locked cells, by the verification rule (docs/grading-threats.md):

    - kept and re-run, in order: imports, function and class definitions (decorators
      included), and every assignment whose targets are plain names, whatever the value
      (``HALF = 1 / 2``, ``kl = torch.distributions.kl_divergence``, ``f = wrap(f)``);
    - dropped: every other top-level statement (bare calls, loops, ``if``/``try``/``with``
      blocks, assignments to attributes or items, ``del``, ``global``). None of them can bind a
      name a test needs without also being able to change another module.

    Each dropped statement is named in ``notes``: those that change other objects (an attribute
    or item assignment, ``del``, ``exec``/``eval``/``setattr``, IPython's hooks) as a flag, the
    rest starting with ``NOTE`` (for the record). Printing, warnings and docstrings are dropped
    silently. Whatever is kept runs in the verifier under its tamper checks.
    """
    nb = nbformat.read(submission, as_version=4)
    kept, notes = [], []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = _meta(cell)
        if meta.get("grade_id") in locked and not meta.get("solution"):
            continue
        code = _python(cell.source)
        try:
            tree = ast.parse(code)
        except SyntaxError as error:
            notes.append(f"cell {index} is not valid Python ({error.msg}, line {error.lineno})")
            continue
        where = meta.get("grade_id") or f"cell {index}"
        for node in tree.body:
            text = ast.get_source_segment(code, node) or ast.unparse(node)
            verdict = _rule(node)
            if verdict == KEEP:
                kept.append(text)
            elif verdict != SILENT:
                line = " ".join(text.split())[:80]
                prefix = "" if verdict == CHANGES else "NOTE "
                notes.append(f"{prefix}{where}: not re-run by the verifier ({verdict}): {line}")
    code = "\n\n".join(kept)
    return code, defined(code), notes


KEEP, SILENT, CHANGES = "keep", "silent", "changes another object"
OUTPUT_CALLS = {"print", "display", "warn", "warnings.warn", "sys.stderr.write", "sys.stdout.write"}
CHANGING_CALLS = {"exec", "eval", "compile", "setattr", "delattr", "__import__", "get_ipython"}


def _rule(node: ast.stmt) -> str:
    """KEEP, SILENT, CHANGES or why a statement is dropped (see ``student_code``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return KEEP
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return KEEP
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if all(_plain(t) for t in targets):
            return KEEP if getattr(node, "value", None) is not None else SILENT
        return CHANGES
    if isinstance(node, ast.Pass):
        return SILENT
    if isinstance(node, ast.Expr):
        if isinstance(node.value, ast.Constant):
            return SILENT
        names = {_dotted(n.func) for n in ast.walk(node.value) if isinstance(n, ast.Call)}
        if names & CHANGING_CALLS or any(n.startswith("get_ipython") for n in names if n):
            return CHANGES
        if isinstance(node.value, ast.Call) and _dotted(node.value.func) in OUTPUT_CALLS:
            return SILENT
        return "a bare expression"
    if isinstance(node, (ast.Delete, ast.Global, ast.Nonlocal)):
        return CHANGES
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return "a loop"
    return f"a top-level {type(node).__name__.lower()} block"


def _plain(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_plain(t) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _plain(target.value)
    return False


def _dotted(func: ast.expr) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Call):
        return _dotted(func.func)
    if isinstance(func, ast.Name):
        parts.append(func.id)
        return ".".join(reversed(parts))
    return ""


def make_job(
    source: Path,
    submissions: dict[str, str],
    *,
    seeds: list[str | None],
    timeout: float,
    only: dict[str, list[str]] | None = None,
) -> tuple[Job, list[dict]]:
    """The one place a harness job is built: the source's set-up and tests, and for each key
    the code kept of one submission (see ``student_code``); ``only[key]``, where given, names
    the tests that key runs (default: every test). Returns (job, tests with points)."""
    setup, tests, _locked = source_cells(source)
    only = only or {}
    job: Job = {
        "setup": setup,
        "students": [
            Submission(key=key, code=code, names=defined(code), tests=only.get(key))
            for key, code in submissions.items()
        ],
        "tests": [Test(id=t["id"], source=t["source"]) for t in tests],
        "seeds": seeds,
        "seed_variable": SEED_VARIABLE,
        "timeout": timeout,
    }
    return job, tests


def run_job(job: Job, *, hide: list[str]) -> list[RawVerdict]:
    """Run one harness job in a fresh sandboxed interpreter; returns its raw verdicts."""
    with tempfile.TemporaryDirectory(prefix="dgmgrade-verify-") as tmp:
        folder = Path(tmp) / "work"
        folder.mkdir()
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job))
        inside_job, inside_harness = "/tmp/dgmgrade/job.json", "/tmp/dgmgrade/harness.py"
        if sandbox.available()[0]:
            sandbox.give_folder(str(folder), inside=tmp)
            command = sandbox.wrap(
                [sys.executable, "-I", inside_harness, inside_job],
                hide=hide,
                copies={str(job_file): inside_job, str(HARNESS): inside_harness},
            )
        else:
            command = [sys.executable, str(HARNESS), str(job_file)]
        many = max(1, len(job["students"]))
        budget = 120 + many * len(job["seeds"]) * len(job["tests"]) * (job["timeout"] + 5)
        env = {k: v for k, v in os.environ.items() if k != SEED_VARIABLE}
        env["PYTHONNOUSERSITE"] = "1"
        try:
            out = runner.run(command, cwd=folder, timeout=budget, env=env)
            stdout, stderr = out.stdout, out.stderr
        except subprocess.TimeoutExpired as error:
            stdout = error.stdout or ""
            stdout = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout
            stderr = "the verifier ran out of time"
    lines: list[RawVerdict] = []
    for line in stdout.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    if not lines and stderr:
        lines = [RawVerdict(id=None, error=stderr[-2000:])]
    return lines


def defined(code: str) -> list[str]:
    """The names the top-level statements of ``code`` bind."""
    names = []
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def verdicts(raw: list[RawVerdict], tests: list[dict], seeds: list[str | None]) -> list[Verdict]:
    """One Verdict per (seed, test); a missing one (the interpreter died) is a failure."""
    found = {(r.get("id"), r.get("seed")): r for r in raw if r.get("id")}
    error = next((r["error"] for r in raw if "error" in r), "")
    out = []
    for seed in seeds:
        for test in tests:
            r = found.get((test["id"], seed))
            if r is None:
                why = f"the verifier gave no verdict. {error[-300:]}".strip()
                out.append(Verdict(test["id"], seed, False, "Died", why))
            else:
                out.append(
                    Verdict(
                        test["id"],
                        seed,
                        bool(r.get("passed")),
                        r.get("ename", ""),
                        r.get("evalue", ""),
                        r.get("tampered", []),
                        r.get("blocked", []),
                    )
                )
    return out


def _verify(
    source: Path,
    codes: dict[str, str],
    *,
    seeds: list[str | None],
    hide: list[str],
    timeout: float,
    only: dict[str, list[str]] | None = None,
) -> tuple[dict[str, list[Verdict]], list[dict]]:
    job, tests = make_job(source, codes, seeds=seeds, timeout=timeout, only=only)
    raw = run_job(job, hide=hide)
    mine = {k: [r for r in raw if r.get("key") == k or "error" in r] for k in codes}
    only = only or {}
    return {
        k: verdicts(mine[k], [t for t in tests if k not in only or t["id"] in only[k]], seeds)
        for k in codes
    }, tests


def verify_many(
    source: Path,
    submissions: dict[str, Path],
    *,
    seeds: list[str | None],
    hide: list[str],
    timeout: float = TEST_TIMEOUT,
) -> tuple[dict[str, tuple[list[Verdict], list[str]]], list[dict]]:
    """Verify many submissions of one notebook in one sandboxed interpreter (torch is imported
    once); each test of each submission still runs in its own forked child, with ``timeout``
    seconds to give its verdict. Returns ({key: (verdicts, notes)}, tests)."""
    _setup, _tests, locked = source_cells(source)
    codes, notes = {}, {}
    for key, path in submissions.items():
        codes[key], _names, notes[key] = student_code(path, locked)
    found, tests = _verify(source, codes, seeds=seeds, hide=hide, timeout=timeout)
    return {k: (found[k], notes[k]) for k in submissions}, tests


def verify_code(
    source: Path,
    codes: dict[str, str],
    *,
    seeds: list[str | None],
    hide: list[str],
    only: dict[str, list[str]] | None = None,
) -> dict[str, list[Verdict]]:
    """Verify answers given as code (the wrong-answer catalogue), many per interpreter; each
    answer lands in a notebook whose other answers are the solution's. ``only[key]`` limits a
    key to the named tests (an answer to one question needs only that question's test)."""
    _setup, _tests, locked = source_cells(source)
    base, _names, _notes = student_code(source, locked)
    whole = {k: base + "\n\n" + c for k, c in codes.items()}
    found, _tests = _verify(source, whole, seeds=seeds, hide=hide, timeout=TEST_TIMEOUT, only=only)
    return found


def verify_notebook(
    source: Path, submission: Path, *, seeds: list[str | None], hide: list[str]
) -> tuple[list[Verdict], list[dict], list[str]]:
    """One submission: (verdicts, tests, notes)."""
    found, tests = verify_many(source, {"it": submission}, seeds=seeds, hide=hide)
    verdicts_, notes = found["it"]
    return verdicts_, tests, notes
