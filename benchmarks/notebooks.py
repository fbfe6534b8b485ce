"""Item 1: the course's run time and memory, one fresh kernel per notebook, on the CPU.

For every lecture and solution notebook (found at run time): the wall time of executing it
top to bottom in a fresh kernel (kernel start included, as ``tests/test_notebooks.py``
measures it) and the peak resident memory of the kernel's process tree, taken two ways:
polling the tree's summed RSS every 20 ms (psutil, or /proc), and the kernel's own
``ru_maxrss`` after it exits. The larger is reported.

Targets: <= 60 s and <= 1.5 GB per notebook; the whole course <= 5 minutes (2 cores).
Notebooks run as a student runs them (no CI variable) in full mode; quick mode runs one
solution notebook with ``CI=1`` to check the machinery.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import ROOT, Config, Result, Target, course_environment, notebooks

MAX_SECONDS = 60.0
MAX_BYTES = 1.5e9
MAX_COURSE_SECONDS = 300.0
POLL_SECONDS = 0.02
RUNNER = "benchmarks._execute"  # run as a module from the root, where course_tools is

try:
    import psutil
except ImportError:  # pragma: no cover - psutil comes with ipykernel
    psutil = None


def _tree_rss_psutil(pid: int) -> int:
    """Summed RSS of the descendants of ``pid`` (the kernel and anything it started)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for child in children:
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def _tree_rss_proc(pid: int) -> int:
    """The same from /proc, for a machine without psutil (Linux only)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * 4096
        except (OSError, IndexError, ValueError):
            continue
    descendants, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - descendants
        descendants |= frontier
    return sum(rss.get(p, 0) for p in descendants)


def measure(path: Path, env: dict[str, str]) -> dict:
    """Execute one notebook in a subprocess while polling its kernel tree's memory."""
    proc = subprocess.Popen(
        [sys.executable, "-m", RUNNER, str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    sample = _tree_rss_psutil if psutil is not None else _tree_rss_proc
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sample(proc.pid))
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    stdout, stderr = proc.communicate()
    done.set()
    poller.join()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"seconds": None, "peak_bytes": peak, "error": stderr.strip()[-300:] or "no output"}
    report = json.loads(lines[-1])
    return {
        "seconds": report["seconds"],
        "peak_bytes": max(peak, report["kernel_max_rss_bytes"]),
        "polled_peak_bytes": peak,
        "kernel_max_rss_bytes": report["kernel_max_rss_bytes"],
        "error": report["error"],
    }


def run(config: Config) -> Result:
    result = Result("notebooks", "Course run time and memory (fresh kernel per notebook, CPU)")
    found = notebooks(ROOT / "lectures") + notebooks(ROOT / "solutions")
    if not found:
        result.skipped = "no notebooks in lectures/ or solutions/"
        return result
    extra = {"DGMLAB_DEVICE": "cpu"}
    if not config.full:
        found = [p for p in found if p.is_relative_to(ROOT / "solutions")][:1] or found[:1]
        extra["CI"] = "1"
        result.notes.append("quick mode: one notebook, CI=1 (shortened training)")
    env = course_environment(**extra)
    for path in found:
        m = measure(path, env)
        result.rows.append(
            {
                "notebook": str(path.relative_to(ROOT)),
                "seconds": None if m["seconds"] is None else round(m["seconds"], 1),
                "peak_MB": round(m["peak_bytes"] / 1e6),
                "ok": m["error"] is None,
                "error": m["error"],
            }
        )
    timed = [r["seconds"] for r in result.rows if r["seconds"] is not None]
    total = sum(timed)
    slowest = max(result.rows, key=lambda r: r["seconds"] or 0.0)
    heaviest = max(result.rows, key=lambda r: r["peak_MB"])
    result.rows.append(
        {
            "notebook": "TOTAL",
            "seconds": round(total, 1),
            "peak_MB": heaviest["peak_MB"],
            "ok": all(r["ok"] for r in result.rows),
            "error": None,
        }
    )
    result.targets += [
        Target(
            f"slowest notebook ({slowest['notebook']})",
            slowest["seconds"],
            "<= 60 s",
            slowest["seconds"] is not None and slowest["seconds"] <= MAX_SECONDS,
            "s",
        ),
        Target(
            f"peak memory ({heaviest['notebook']})",
            heaviest["peak_MB"],
            "<= 1500 MB",
            heaviest["peak_MB"] * 1e6 <= MAX_BYTES,
            "MB",
        ),
        Target(
            f"whole course ({len(found)} notebooks)",
            round(total, 1),
            "<= 300 s",
            total <= MAX_COURSE_SECONDS if config.full else None,
            "s",
        ),
        Target(
            "every notebook ran without an error", None, "all ok", all(r["ok"] for r in result.rows)
        ),
    ]
    return result
