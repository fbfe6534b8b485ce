"""Shared helpers for the tests that run notebooks, nbgrader and JupyterLab (not a test module).

The course's folders, notebook lists, kernel environment and notebook runner come from
``course_tools`` at the repository's root (the benchmarks use the same); this module adds what
only the tests need.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_tools import (  # noqa: F401 - re-exported: the tests import them from here
    BIN,
    EXERCISES,
    GRADING,
    LECTURES,
    ROOT,
    SOLUTIONS,
    Executed,
    assignments,
    environment,
    execute,
    execute_cached,
    notebooks,
)


def executed_cache(tmp_path_factory) -> Path:
    """The folder of executed notebooks that one pytest run shares across its workers (and the
    book's build, tests/test_book.py): each notebook runs once per run, whoever asks first.
    A fresh folder each run, so a run never reads what an earlier one executed."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # basetemp is the run's folder / popen-gwN
        base = base.parent
    return base / "executed-notebooks"


def make_course(target: Path) -> Path:
    """A private copy of the course's grading set-up: grading/, solutions/, empty exercises/.

    Returns the grading folder, where nbgrader commands run.
    """
    shutil.copytree(SOLUTIONS, target / "solutions", ignore=shutil.ignore_patterns(".ipynb_*"))
    (target / "grading").mkdir()
    shutil.copy(GRADING / "nbgrader_config.py", target / "grading" / "nbgrader_config.py")
    # the grading tools the config loads (sandbox, verifier, nbgrader plug-ins)
    shutil.copytree(
        GRADING / "dgmgrade",
        target / "grading" / "dgmgrade",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(GRADING / "grade.py", target / "grading" / "grade.py")
    (target / "exercises").mkdir()
    return target / "grading"


def nbgrader(grading: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run one nbgrader command in ``grading``; fail with its log if it fails."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=grading,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def graded_cells(notebook: Path) -> dict[str, float]:
    """grade_id -> points for every graded cell of an nbgrader notebook."""
    nb = nbformat.read(notebook, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


@dataclass(frozen=True)
class JupyterLab:
    """A running ``jupyter lab``: ``url`` is its base (no trailing slash), ``log`` its stderr."""

    url: str
    token: str
    log: Path

    def api(self, path: str):
        """GET ``/api/<path>`` with the token; returns the decoded JSON."""
        sep = "&" if "?" in path else "?"
        return json.loads(http_get(f"{self.url}/api/{path}{sep}token={self.token}")[1])


@contextlib.contextmanager
def jupyter_lab(
    notebook_dir: str | Path,
    tmp_path: Path,
    *,
    cwd: Path = ROOT,
    token: str = "dgm-course-test",
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    start_timeout: float = 90,
) -> Iterator[JupyterLab]:
    """``jupyter lab --allow-root <notebook_dir>`` (the course command's last step) on a free port.

    ``env`` adds variables to ``environment()``'s. The runtime files and the server's log (its
    stderr, ``tmp_path/jupyter.log``: never an unread pipe) go to ``tmp_path``. On exit the
    server is asked to shut down (which stops its kernels) and is terminated if it does not.
    """
    port = free_port()
    log = tmp_path / "jupyter.log"
    with open(log, "w") as log_file:
        server = subprocess.Popen(
            [str(BIN / "jupyter"), "lab", "--allow-root", str(notebook_dir), "--no-browser",
             f"--port={port}", f"--IdentityProvider.token={token}", *args],
            cwd=cwd,
            env=environment(JUPYTER_RUNTIME_DIR=str(tmp_path), **(env or {})),
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )  # fmt: skip
    lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, log=log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                lab.api("status")
                break
            except urllib.error.HTTPError:
                raise  # it answered, but not with 200 (a wrong token, say)
            except OSError:
                if server.poll() is not None:
                    raise AssertionError(f"jupyter lab exited: {log.read_text()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"jupyter lab did not answer within {start_timeout:.0f} s: "
                        f"{log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.5)
        yield lab
    finally:
        _stop(server, lab)


def _stop(server: subprocess.Popen, lab: JupyterLab) -> None:
    if server.poll() is None:
        request = urllib.request.Request(
            f"{lab.url}/api/shutdown?token={lab.token}", method="POST", data=b""
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=10).close()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def solution_cells(assignment: str) -> dict[str, str]:
    """grade_id -> source of every nbgrader cell of an assignment's solution notebook."""
    (path,) = notebooks(SOLUTIONS / assignment)
    nb = nbformat.read(path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata
    }


def solution_answers(cells: dict[str, str]) -> str:
    """Every answer cell of a solution, joined: a case replaces one function, the others stay
    right."""
    return "\n".join(source for gid, source in cells.items() if f"test_{gid}" in cells)


class Kernel:
    """A real Jupyter kernel with the course's environment, run cell by cell."""

    def __init__(self):
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", env=environment())

    def run(self, code: str) -> tuple[str, str] | None:
        """Execute code; return None on success, else (ename, evalue)."""
        reply = self.kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
        content = reply["content"]
        return None if content["status"] == "ok" else (content["ename"], content["evalue"])

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
