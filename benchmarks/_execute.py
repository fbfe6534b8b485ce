"""Run one notebook in a fresh kernel and print a JSON line: seconds, errors, kernel max RSS.

Used by ``benchmarks.notebooks`` in a subprocess, so the kernel is this process's child
and ``getrusage(RUSAGE_CHILDREN)`` reports its peak resident memory after it exits.

    python benchmarks/_execute.py NOTEBOOK
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(path: str) -> None:
    notebook = Path(path)
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the benchmark goes on
        error = f"{type(exc).__name__}: {str(exc).splitlines()[-1] if str(exc) else ''}"
    seconds = time.perf_counter() - start
    # ru_maxrss: KiB on Linux, bytes on macOS; the largest waited-for child (the kernel)
    scale = 1 if sys.platform == "darwin" else 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    print(json.dumps({"seconds": seconds, "error": error, "kernel_max_rss_bytes": child_peak}))


if __name__ == "__main__":
    main(sys.argv[1])
