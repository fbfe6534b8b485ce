"""Run one notebook in a fresh kernel and print a JSON line: seconds, errors, kernel max RSS.

Used by ``benchmarks.notebooks`` in a subprocess, so the kernel is this process's child
and ``getrusage(RUSAGE_CHILDREN)`` reports its peak resident memory after it exits. The run
itself is ``course_tools.execute``, the one the tests use.

    python -m benchmarks._execute NOTEBOOK
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from course_tools import execute


def main(path: str) -> None:
    # the kernel runs in this process's environment, which benchmarks.notebooks sets
    run = execute(Path(path), timeout=600)
    error = None
    if run.error is not None:  # reported, not raised: the benchmark goes on
        message = str(run.error)
        error = f"{type(run.error).__name__}: {message.splitlines()[-1] if message else ''}"
    # ru_maxrss: KiB on Linux, bytes on macOS; the largest waited-for child (the kernel)
    scale = 1 if sys.platform == "darwin" else 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    print(json.dumps({"seconds": run.seconds, "error": error, "kernel_max_rss_bytes": child_peak}))


if __name__ == "__main__":
    main(sys.argv[1])
