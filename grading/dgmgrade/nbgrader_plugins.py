"""nbgrader plug-ins, enabled in grading/nbgrader_config.py.

- ``SandboxExecute``: nbgrader's Execute, with every kernel started in the sandbox
  (``sandbox.py``): student code runs as ``nobody`` and cannot read the solutions or the
  gradebook, nor write outside the submission's folder. Without a sandbox it logs a warning.
  A cell that runs past its timeout is interrupted; a kernel that does not answer the interrupt
  within ``kill_after`` seconds (code spinning in C never sees it) is killed, without its
  cooperation, and the notebook's remaining cells are not run. Every code cell gets a record of
  what its run did (``RUN_KEY`` in its metadata, see ``runrecord.py``).
- ``HideHiddenTests``: for feedback, replaces each hidden-test block with a one-line note and
  reduces test-cell errors to their message (a traceback would quote hidden-test lines).
"""

from __future__ import annotations

import os
import re
import time

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, List, Unicode

from . import sandbox
from .runrecord import FINISHED, KILLED, NOT_RUN, RAISED, RUN_KEY, TIMED_OUT

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)
HIDDEN_NOTE = "# (hidden tests ran here when grading; they are not shown)"


class SandboxKernelManager(AsyncKernelManager):
    hide = List(Unicode(), help="paths student code must not see").tag(config=True)
    submissions_root = Unicode("", help="the folder holding every submission").tag(config=True)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        ok, why = sandbox.available()
        if not ok:
            self.log.warning("UNSANDBOXED: student code runs as the grader (%s)", why)
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        cwd = kw.get("cwd") or os.getcwd()
        sandbox.give_folder(cwd, inside=self.submissions_root)
        kernel_cmd = list(kernel_cmd)
        copies = {}
        if "-f" in kernel_cmd:
            i = kernel_cmd.index("-f") + 1
            copies[kernel_cmd[i]] = "/tmp/dgmgrade/kernel.json"
            kernel_cmd[i] = "/tmp/dgmgrade/kernel.json"
        wrapped = sandbox.wrap(kernel_cmd, hide=self.hide, net=True, copies=copies)
        self.log.info("sandboxed kernel in %s", cwd)
        return await super()._async_launch_kernel(wrapped, **kw)


class SandboxExecute(Execute):
    kill_after = Float(
        5.0, help="seconds a kernel has to answer an interrupt before it is killed"
    ).tag(config=True)
    notebook_timeout = Float(
        0.0, help="seconds for the whole notebook (0: no limit); then the kernel is killed"
    ).tag(config=True)
    setup_timeout = Float(
        120.0, help="the least timeout of a read-only set-up cell (imports on a loaded machine)"
    ).tag(config=True)

    def _get_timeout(self, cell):
        """Read-only set-up cells (the instructor's imports) get at least ``setup_timeout``: a
        slow import on a busy machine must not cost a student their kernel."""
        timeout = super()._get_timeout(cell)
        meta = (cell.get("metadata", {}).get("nbgrader") or {}) if cell is not None else {}
        if timeout and meta.get("locked") and not (meta.get("solution") or meta.get("grade")):
            return max(timeout, int(self.setup_timeout))
        return timeout

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._gone = ""  # why the kernel is gone (then no more cell runs)
        self._timed_out = False
        self._iopub_timeout = None  # nbclient's iopub_timeout while it is 0 (after a kill)
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.setdefault("metadata", {})[RUN_KEY] = {"state": NOT_RUN}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if not cell.source.strip():  # nothing to run: nothing that could fail to finish
            cell.metadata[RUN_KEY] = {"state": FINISHED}
            return cell, resources
        if self._gone:
            cell.outputs = [_note(f"not run: {self._gone}")]
            cell.metadata[RUN_KEY] = {"state": NOT_RUN, "why": self._gone}
            return cell, resources
        self._timed_out = False
        self._phases = {}  # when the interrupt and the kill were sent (monotonic)
        start = time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._gone = self._gone or "the kernel died while running this cell"
            cell.setdefault("outputs", []).append(_note(f"did not finish: {self._gone}"))
            cell.metadata[RUN_KEY] = {"state": KILLED, "why": self._gone}
        finally:
            if self._iopub_timeout is not None:  # set to 0 for a killed kernel's cell only
                self.iopub_timeout, self._iopub_timeout = self._iopub_timeout, None
        end = time.monotonic()
        cell.metadata[RUN_KEY]["seconds"] = round(end - start, 1)
        if "interrupted" in self._phases:  # where a stopped cell's seconds went
            interrupted = self._phases["interrupted"]
            killed = self._phases.get("killed", end)
            cell.metadata[RUN_KEY]["phases"] = {
                "to_interrupt": round(interrupted - start, 1),  # the cell timeout
                "grace": round(killed - interrupted, 1),  # waiting for the interrupt's answer
                "after_kill": round(end - killed, 1),  # what the kill itself cost
            }
        if self._gone:
            return cell, resources
        if self._deadline is not None and time.monotonic() > self._deadline and not self._gone:
            self._gone = f"the notebook ran past its {self.notebook_timeout:g} s"
            self._kill()
        return cell, resources

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        cell, reply = kwargs["cell"], kwargs["execute_reply"] or {}
        content = reply.get("content", {})
        if self._timed_out and self._gone:
            record = {"state": KILLED, "why": self._gone}
        elif self._timed_out:
            record = {"state": TIMED_OUT, "why": f"interrupted after {self.timeout} s"}
        elif content.get("status") == "ok":
            record = {"state": FINISHED}
        else:
            record = {"state": RAISED, "why": f"{content.get('ename', '?')}"}
        cell.setdefault("metadata", {})[RUN_KEY] = record

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt; a kernel that has not answered within ``kill_after`` s is killed."""
        self._timed_out = True
        self._phases["interrupted"] = time.monotonic()
        self.log.error("Cell ran past %s s: interrupting the kernel", timeout)
        await ensure_async(self.km.interrupt_kernel())
        deadline = time.monotonic() + self.kill_after
        while time.monotonic() < deadline:
            try:
                msg = await ensure_async(
                    self.kc.shell_channel.get_msg(timeout=deadline - time.monotonic())
                )
            except Exception:  # noqa: BLE001 - Empty: no answer in time
                break
            if msg.get("msg_type") == "execute_reply":
                return msg  # the interrupt was honoured: nbclient takes this as the reply
        self._gone = (
            f"a cell ran past {timeout} s and its kernel ignored the interrupt "
            f"for {self.kill_after:g} s, so it was killed"
        )
        self.log.error("Kernel ignored its interrupt: killing it")
        self._phases["killed"] = time.monotonic()
        self._kill()
        # nbclient would now wait iopub_timeout (4 s) for the cell's last output, which a
        # killed kernel never sends: everything it sent was read while it ran, so wait no more.
        self._iopub_timeout, self.iopub_timeout = self.iopub_timeout, 0
        return {
            "header": {},
            "msg_type": "execute_reply",
            "content": {
                "status": "error",
                "ename": "CellTimeoutError",
                "evalue": self._gone,
                "traceback": [f"CellTimeoutError: {self._gone}"],
            },
        }

    def _kill(self) -> None:
        """Kill the kernel's whole process group (the sandbox and all it holds), now."""
        try:
            provisioner = self.km.provisioner
            process = getattr(provisioner, "process", None)
            pgid = getattr(provisioner, "pgid", None)
            if pgid:
                os.killpg(pgid, 9)
            if process is not None:
                process.kill()
        except (OSError, AttributeError):
            pass


def _note(text: str) -> NotebookNode:
    """An error output that says why a cell has no result (feedback shows it to the student)."""
    return NotebookNode(
        output_type="error",
        ename="NotRun",
        evalue=text,
        traceback=[f"NotRun: {text} (grading)"],
    )


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows the visible tests and the verdicts, never the hidden tests' code."""

    enabled = True

    def preprocess(self, nb, resources):
        self._secret = {
            line.strip()
            for cell in nb.cells
            for block in HIDDEN.findall(cell.source)
            for line in block.splitlines()[1:-1]
            if len(line.strip()) > 20
        }
        return super().preprocess(nb, resources)

    def _scrub(self, text: str) -> str:
        for line in self._secret:
            text = text.replace(line, "[hidden test line removed]")
        return text

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):  # code that printed a hidden test back
            if "text" in output:
                output["text"] = self._scrub(output["text"])
            for key, value in output.get("data", {}).items():
                if isinstance(value, str) and key.startswith("text"):
                    output["data"][key] = self._scrub(value)
            if output.get("output_type") == "error":
                output["evalue"] = self._scrub(output.get("evalue", ""))
                output["traceback"] = [self._scrub(t) for t in output.get("traceback", [])]
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN.sub(HIDDEN_NOTE, cell.source)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources


class LimitOutputSize(NbGraderPreprocessor):
    """Cut what nbgrader's LimitOutput (which counts lines) lets through: one 20 MB line, or
    thousands of images. Each text stays under ``max_chars``; each cell keeps at most
    ``max_outputs`` outputs, and rich outputs bigger than ``max_bytes`` become a note."""

    enabled = True
    max_chars = 20_000
    max_outputs = 20
    max_bytes = 1_000_000

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = cell.get("outputs", [])
        if len(outputs) > self.max_outputs:
            dropped = len(outputs) - self.max_outputs
            outputs = outputs[: self.max_outputs]
            outputs.append(
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": f"... {dropped} more outputs cut by the grader\n",
                }
            )
        for output in outputs:
            text = output.get("text")
            if isinstance(text, str) and len(text) > self.max_chars:
                output["text"] = text[: self.max_chars] + "\n... output cut by the grader\n"
            data = output.get("data", {})
            for key in list(data):
                value = data[key]
                size = len(value) if isinstance(value, str) else len(str(value))
                if size > self.max_bytes:
                    del data[key]
                    data.setdefault("text/plain", f"[{key} output of {size} bytes cut]")
        cell.outputs = outputs
        return cell, resources
