"""Run nbgrader commands as child processes that the grading command can always stop.

Every child starts in a process group of its own (so a student's kernel never receives the
terminal's Ctrl-C by accident) and is registered here until it ends; ``stop_all`` kills every
registered group, and the grading command calls it on Ctrl-C and SIGTERM. Kernels and verifiers
run in the sandbox, which dies with the process that started it (``setpriv --pdeathsig``), and
carry ``RUN_VARIABLE`` in their environment so ``leftovers`` can find any that survived.

``stop_on_signals`` makes Ctrl-C and SIGTERM call ``stop_all`` from a thread of its own, at once,
whatever the main thread is doing, and bounds how long the command may take to exit after them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

STUDENT_TIMEOUT = int(os.environ.get("DGMGRADE_STUDENT_TIMEOUT", "900"))
CELL_TIMEOUT = os.environ.get("DGMGRADE_CELL_TIMEOUT")  # overrides Execute.timeout (120 s)
RUN_VARIABLE = "DGMGRADE_RUN"  # marks every process a grading run starts, kernels included

_lock = threading.Lock()
_children: dict[int, subprocess.Popen] = {}
_stopping = threading.Event()


class Stopped(Exception):
    """The grading command is stopping: no new process may start."""


def run_id() -> str:
    """This grading run's mark (set once, inherited by every child)."""
    if RUN_VARIABLE not in os.environ:
        os.environ[RUN_VARIABLE] = uuid.uuid4().hex
    return os.environ[RUN_VARIABLE]


def run(
    command: list[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``subprocess.run`` in a new process group; on a timeout or any interruption the whole
    group is killed (not only its leader) before the exception goes on.

    Every process the command starts carries a mark of its own batch; once the command has
    ended, any process still carrying it (a kernel that outlived its nbgrader) is killed and
    its pid listed in the returned object's ``leftovers``."""
    if _stopping.is_set():
        raise Stopped("the grading command is stopping")
    environment = dict(os.environ if env is None else env)
    batch = f"{run_id()}/{uuid.uuid4().hex[:12]}"
    environment[RUN_VARIABLE] = batch
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    with _lock:  # stop_all sets _stopping under this lock: a child it did not see stops here
        _children[process.pid] = process
        stopping = _stopping.is_set()
    try:
        if stopping:
            raise Stopped("the grading command is stopping")
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        _kill_group(process)
        error.stdout, error.stderr = process.communicate()  # what it said before it stopped
        raise
    except BaseException:
        _kill_group(process)
        process.communicate()
        raise
    finally:
        with _lock:
            _children.pop(process.pid, None)
        stray = leftovers(batch)
        kill(stray)
        if stray:
            name = " ".join([Path(command[0]).name, *command[1:3]])
            print(f"   killed {len(stray)} leftover process(es) of: {name}", flush=True)
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    done.leftovers = stray
    return done


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        process.kill()
    except OSError:
        pass


def stop_all() -> None:
    """Kill every process group this run started and every process still marked with it;
    start no new one."""
    with _lock:
        _stopping.set()
        children = list(_children.values())
    for process in children:
        _kill_group(process)
    kill(leftovers())


def stopping() -> bool:
    """Has ``stop_all`` been called?"""
    return _stopping.is_set()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_GRACE = 30.0  # seconds the command may take to exit after stop_all


def stop_on_signals(grace: float = EXIT_GRACE) -> None:
    """On Ctrl-C or SIGTERM, stop every process of the run at once, then exit.

    Python runs a signal's handler in the main thread, between two bytecodes: a main thread
    blocked in C (waiting on a worker, on a pipe) would run ``stop_all`` only when that wait ends,
    which for a spinning kernel is a cell timeout later. The interpreter's C-level handler,
    though, writes the signal's number to the wakeup fd the moment the signal arrives, in whatever
    thread gets it; a watcher thread blocked on that fd calls ``stop_all`` straight away. The main
    thread still gets ``KeyboardInterrupt`` to unwind and report; if the process has not exited
    ``grace`` seconds after the signal, the watcher ends it with status 130. Call from the main
    thread, before any worker thread starts."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)

    def watch() -> None:
        while os.read(read_end, 1)[0] not in STOP_SIGNALS:
            pass
        stop_all()
        time.sleep(grace)
        kill(leftovers())
        print(f"stopped: the command had not exited {grace:g} s after the signal", flush=True)
        os._exit(130)

    threading.Thread(target=watch, name="stop-on-signals", daemon=True).start()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def nbgrader(*args: str, course: Path, timeout: float = STUDENT_TIMEOUT):
    """One nbgrader command, run from the course folder."""
    exe = Path(sys.executable).with_name("nbgrader")
    if args[0] == "autograde" and CELL_TIMEOUT:
        args = (*args, f"--Execute.timeout={CELL_TIMEOUT}")
    return run([str(exe) if exe.exists() else "nbgrader", *args], cwd=course, timeout=timeout)


def leftovers(mark: str | None = None) -> list[int]:
    """Processes other than this one whose environment carries ``mark`` (a batch's, or by
    default this whole run's): kernels, sandboxes and verifiers that should have ended with
    their batch (Linux: ``/proc``)."""
    mark = mark or os.environ.get(RUN_VARIABLE)
    if not mark or not os.path.isdir("/proc"):
        return []
    needle = f"{RUN_VARIABLE}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                variables = f.read().split(b"\0")
        except OSError:
            continue
        if any(v == needle or v.startswith(needle + b"/") for v in variables):
            found.append(int(entry))
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
