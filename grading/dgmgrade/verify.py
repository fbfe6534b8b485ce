"""Verify a submission out of process: re-run the source's tests against only what it defines.

``verify_notebook(source, submission, seeds=...)`` returns, per test cell and seed, a verdict
computed by ``harness.py`` in a fresh interpreter inside the sandbox. The set-up and the tests
come from the *source* notebook (the instructor's master copy, hidden tests included), never
from the submission; from the submission only the imports, functions, classes and literal
constants of the student's own cells are taken, so top-level tricks (IPython transformers,
patched helpers, edited or deleted test cells) never reach the tests.
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

from . import sandbox

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
    of the source's locked cells: imports, functions, classes and literal constants only."""
    nb = nbformat.read(submission, as_version=4)
    kept, names, notes = [], [], []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = _meta(cell)
        if meta.get("grade_id") in locked and not meta.get("solution"):
            continue
        try:
            tree = ast.parse(_python(cell.source))
        except SyntaxError as error:
            notes.append(f"cell {index} is not valid Python ({error.msg}, line {error.lineno})")
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _literal(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not all(isinstance(t, ast.Name) for t in targets):
                    continue
                names += [t.id for t in targets]
            else:
                continue
            kept.append(ast.get_source_segment(_python(cell.source), node) or ast.unparse(node))
    return "\n\n".join(kept), list(dict.fromkeys(names)), notes


def _literal(node) -> bool:
    if node is None:
        return False
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def run_jobs(jobs: list[dict], *, hide: list[str], workdir: Path | None = None) -> list[list[dict]]:
    """Run harness jobs, one fresh sandboxed interpreter each; returns each job's raw results."""
    results = []
    for job in jobs:
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
            many = max(1, len(job.get("students") or []))
            budget = 120 + many * len(job["seeds"]) * len(job["tests"]) * (job["timeout"] + 5)
            env = {k: v for k, v in os.environ.items() if k != "DGMLAB_GRADING_SEED"}
            env["PYTHONNOUSERSITE"] = "1"
            try:
                out = subprocess.run(
                    command,
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=budget,
                    env=env,
                    start_new_session=True,
                )
                stdout, stderr = out.stdout, out.stderr
            except subprocess.TimeoutExpired as error:
                stdout = (error.stdout or b"").decode(errors="replace")
                stderr = "the verifier ran out of time"
        lines = []
        for line in stdout.splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        if not lines and stderr:
            lines = [{"id": None, "error": stderr[-2000:]}]
        results.append(lines)
    return results


def make_job(
    source: Path, submission: Path | None, seeds: list[str | None], *, student: str | None = None
) -> tuple[dict, list[dict], list[str]]:
    """The harness job for one notebook; ``student`` overrides the code taken from it."""
    setup, tests, locked = source_cells(source)
    notes: list[str] = []
    if student is None:
        code, names, notes = student_code(submission, locked)
    else:
        code, names = student, _defined(student)
    job = {
        "setup": setup,
        "student": code,
        "names": names,
        "tests": [{"id": t["id"], "source": t["source"]} for t in tests],
        "seeds": seeds,
        "timeout": TEST_TIMEOUT,
    }
    return job, tests, notes


def _defined(code: str) -> list[str]:
    names = []
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def verdicts(raw: list[dict], tests: list[dict], seeds: list[str | None]) -> list[Verdict]:
    """One Verdict per (seed, test); a missing one (the interpreter died) is a failure."""
    found = {(r.get("id"), r.get("seed")): r for r in raw if r.get("id")}
    error = next((r["error"] for r in raw if "error" in r), "")
    out = []
    for seed in seeds:
        for test in tests:
            r = found.get((test["id"], seed))
            if r is None:
                out.append(
                    Verdict(
                        test["id"],
                        seed,
                        False,
                        "Died",
                        f"the verifier gave no verdict. {error[-300:]}".strip(),
                    )
                )
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


def verify_many(
    source: Path,
    submissions: dict[str, Path],
    *,
    seeds: list[str | None],
    hide: list[str],
    timeout: float = TEST_TIMEOUT,
) -> dict[str, tuple[list[Verdict], list[str]]]:
    """Verify many submissions of one notebook in one sandboxed interpreter (torch is imported
    once); each test of each submission still runs in its own forked child, with ``timeout``
    seconds to give its verdict."""
    setup, tests, locked = source_cells(source)
    students, notes = [], {}
    for key, path in submissions.items():
        code, names, notes[key] = student_code(path, locked)
        students.append({"key": key, "student": code, "names": names})
    job = {
        "setup": setup,
        "student": "",
        "names": [],
        "students": students,
        "tests": [{"id": t["id"], "source": t["source"]} for t in tests],
        "seeds": seeds,
        "timeout": timeout,
    }
    (raw,) = run_jobs([job], hide=hide)
    out = {}
    for key in submissions:
        mine = [r for r in raw if r.get("key") == key or "error" in r]
        out[key] = (verdicts(mine, tests, seeds), notes[key])
    return out, tests


def verify_code(
    source: Path, codes: dict[str, str], *, seeds: list[str | None], hide: list[str]
) -> dict[str, list[Verdict]]:
    """Verify answers given as code (the wrong-answer catalogue), many per interpreter."""
    setup, tests, locked = source_cells(source)
    # each answer lands in a notebook whose other answers are the solution's
    base, base_names, _ = student_code(source, locked)
    students = [
        {
            "key": k,
            "student": base + "\n\n" + c,
            "names": list(dict.fromkeys(base_names + _defined(c))),
        }
        for k, c in codes.items()
    ]
    job = {
        "setup": setup,
        "student": "",
        "names": [],
        "students": students,
        "tests": [{"id": t["id"], "source": t["source"]} for t in tests],
        "seeds": seeds,
        "timeout": TEST_TIMEOUT,
    }
    (raw,) = run_jobs([job], hide=hide)
    return {
        k: verdicts([r for r in raw if r.get("key") == k or "error" in r], tests, seeds)
        for k in codes
    }


def verify_notebook(
    source: Path, submission: Path, *, seeds: list[str | None], hide: list[str]
) -> tuple[list[Verdict], list[dict], list[str]]:
    job, tests, notes = make_job(source, submission, seeds)
    (raw,) = run_jobs([job], hide=hide)
    return verdicts(raw, tests, seeds), tests, notes
