"""nbgrader plug-ins, enabled in grading/nbgrader_config.py.

- ``SandboxExecute``: nbgrader's Execute, with every kernel started in the sandbox
  (``sandbox.py``): student code runs as ``nobody`` and cannot read the solutions or the
  gradebook, nor write outside the submission's folder. Without a sandbox it logs a warning.
- ``HideHiddenTests``: for feedback, replaces each hidden-test block with a one-line note and
  reduces test-cell errors to their message (a traceback would quote hidden-test lines).
"""

from __future__ import annotations

import os
import re

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import List, Unicode

from . import sandbox

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
    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)


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
