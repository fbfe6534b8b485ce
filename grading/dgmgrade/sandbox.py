"""Run student code where it cannot read the solutions or the gradebook, nor write outside its
own folder.

Mechanism (Linux, run as root, util-linux ``setpriv`` and ``unshare``): the command starts in new
mount, PID, IPC and UTS namespaces (and, when asked, a network namespace with no interfaces up).
Inside them, still as root, this module's ``main`` mounts an empty tmpfs over every hidden path
(the grading folder with the gradebook, the solutions, the repository's ``.git``) and fresh
private tmpfs over the world-writable folders (``/tmp``, ``/var/tmp``, ``/dev/shm``,
``/run/lock``), binds the submission's own folder back at its path, sets resource limits
(address space, CPU time, file size, processes, no core files), and only then drops to the
unprivileged user ``nobody`` with no supplementary groups and ``no_new_privs`` before it execs
the command. The parent dies -> the whole namespace dies (``--pdeathsig``, ``--kill-child``,
and the parent-death signal set again after the switch to ``nobody``, which clears it).

Where this is not available (not root, no ``unshare``, a kernel without namespaces), ``wrap``
returns the command unchanged and ``available()`` says why; callers flag every result graded
that way as UNSANDBOXED, loudly, instead of pretending.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

NOBODY = 65534
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
DEFAULT_LIMITS = {
    "as_bytes": 6 << 30,  # address space: torch needs ~2 GiB of mappings; stops runaway memory
    "cpu_s": 900,  # CPU seconds for the whole process (a native loop that ignores SIGINT)
    "fsize_bytes": 256 << 20,  # largest file it may write
    "nproc": 1024,  # processes of the sandbox user (stops fork bombs)
}


@functools.lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """(True, "") when sandboxing works on this machine, else (False, why)."""
    if os.environ.get("DGMGRADE_SANDBOX", "1") == "0":
        return False, "disabled by DGMGRADE_SANDBOX=0"
    if not sys.platform.startswith("linux"):
        return False, f"namespaces need Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return False, "the grader is not root, so it cannot switch to an unprivileged user"
    for tool in ("setpriv", "unshare"):
        if shutil.which(tool) is None:
            return False, f"{tool} (util-linux) is not installed"
    probe = wrap([sys.executable, "-c", "import os; print(os.getuid())"], hide=[], force=True)
    try:
        with tempfile.TemporaryDirectory(prefix="dgmgrade-probe-") as folder:
            out = subprocess.run(probe, capture_output=True, text=True, timeout=60, cwd=folder)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"the sandbox probe failed: {error}"
    if out.returncode != 0 or out.stdout.strip() != str(NOBODY):
        return False, f"the sandbox probe failed: {out.stderr.strip()[-300:]}"
    return True, ""


def wrap(
    command: list[str],
    *,
    hide: list[str],
    net: bool = False,
    limits: dict[str, int] | None = None,
    copies: dict[str, str] | None = None,
    force: bool = False,
) -> list[str]:
    """The command line that runs ``command`` in the sandbox (unchanged if none is available).

    Args:
        command: what to run, as an argv list; it starts in the caller's working directory,
            which is the only folder it may write to.
        hide: paths (folders or files) that must look empty or absent inside.
        net: False cuts the network off (a namespace with only a loopback that is down).
        limits: overrides of ``DEFAULT_LIMITS``.
        copies: {path outside: path inside} files read before hiding and written inside,
            readable by the sandbox user (for a kernel's connection file).
    """
    if not force and not available()[0]:
        return list(command)
    lim = {**DEFAULT_LIMITS, **(limits or {})}
    args = ["setpriv", "--pdeathsig", "KILL", "--", "unshare", "--mount", "--pid", "--ipc"]
    args += ["--uts", "--fork", "--kill-child"] + ([] if net else ["--net"])
    args += ["--", sys.executable, os.path.abspath(__file__)]
    for path in hide:
        args += ["--hide", os.path.abspath(path)]
    for path in expose_paths():
        args += ["--expose", path]
    for outside, inside in (copies or {}).items():
        args += ["--copy", f"{os.path.abspath(outside)}={inside}"]
    for key, value in lim.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args + ["--"] + list(command)


def expose_paths() -> list[str]:
    """What code in the sandbox must be able to reach: this interpreter and its environment,
    and the installed course library (an editable install lives in the repository)."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    try:
        import dgmlab

        paths.add(os.path.dirname(os.path.dirname(os.path.abspath(dgmlab.__file__))) + "/dgmlab")
    except ImportError:
        pass
    return sorted(paths)


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _mount(libc, source: str, target: str, fstype: str | None, flags: int, data: str = ""):
    rc = libc.mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    if rc != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


MS_BIND, MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 4096, 16384, 1 << 18, 2, 4


def give_folder(path: str, *, inside: str) -> None:
    """Let the sandbox user write to ``path``, a submission's own folder, and everything in it.

    Refuses unless ``path`` lies strictly inside ``inside`` (the folder of all submissions), so
    a wrong working directory can never hand a system folder to ``nobody``.
    """
    path, inside = os.path.realpath(path), os.path.realpath(inside)
    if os.path.commonpath([path, inside]) != inside or path == inside or inside == "/":
        raise ValueError(f"refusing to give {path!r} to the sandbox user: not inside {inside!r}")
    os.chown(path, NOBODY, NOBODY)
    for base, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(base, name)
            if not os.path.islink(full):
                os.chown(full, NOBODY, NOBODY)


def main(argv: list[str] | None = None) -> None:
    """Inside the new namespaces, as root: hide, bind, limit, drop privileges, exec."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--copy", action="append", default=[])
    parser.add_argument("--expose", action="append", default=[])
    for key in DEFAULT_LIMITS:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, dest=key)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    work = os.getcwd()
    if work == "/":
        raise SystemExit("sandbox: refusing to run with / as the submission's folder")
    libc = _libc()
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV)  # only this PID namespace
    contents = {}
    for spec in args.copy:
        outside, inside = spec.split("=", 1)
        with open(outside, "rb") as f:
            contents[inside] = f.read()
    keep = os.open(work, os.O_PATH | os.O_DIRECTORY)  # the submission's folder, before hiding
    # Folders the interpreter lives in must stay reachable for nobody: where an ancestor is not
    # searchable by others (/root is 0700, and pyenv lives there), an empty tmpfs goes over it
    # and only the needed child is bound back, so the rest of that folder stays out of sight.
    blocked: dict[str, dict[str, int]] = {}
    for path in args.expose:
        parts = os.path.realpath(path).strip("/").split("/")
        for i in range(len(parts) - 1):
            parent = "/" + "/".join(parts[:i])
            if os.stat(parent).st_mode & 0o001 == 0:
                child = os.path.join(parent, parts[i])
                children = blocked.setdefault(parent, {})
                if parts[i] not in children:
                    children[parts[i]] = os.open(child, os.O_PATH)
    for parent in sorted(blocked, key=len):
        _mount(libc, "tmpfs", parent, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for name, fd in blocked[parent].items():
            os.makedirs(os.path.join(parent, name), exist_ok=True)
            _mount(libc, f"/proc/self/fd/{fd}", os.path.join(parent, name), None, MS_BIND | MS_REC)
            os.close(fd)
    # Exposed folders that live under a private tmp folder (a checkout and its environment in
    # /tmp, as CI has it) would vanish under the fresh tmpfs: hold them now, bind them back after.
    under_tmp = {}
    for path in args.expose:
        real = os.path.realpath(path)
        if os.path.exists(real) and any(real.startswith(t + "/") for t in PRIVATE_TMP):
            under_tmp[real] = os.open(real, os.O_PATH)
    for path in sorted(set(args.hide), key=len):
        if os.path.isdir(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        elif os.path.exists(path):
            _mount(libc, "/dev/null", path, None, MS_BIND)
    for path in PRIVATE_TMP:
        if os.path.isdir(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=512m,mode=1777")
    for real in sorted(under_tmp, key=len):
        os.makedirs(real, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{under_tmp[real]}", real, None, MS_BIND | MS_REC)
        os.close(under_tmp[real])
    os.makedirs(work, exist_ok=True)
    _mount(libc, f"/proc/self/fd/{keep}", work, None, MS_BIND | MS_REC)
    os.close(keep)
    for inside, data in contents.items():
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        with open(inside, "wb") as f:
            f.write(data)
        os.chmod(inside, 0o644)
        os.chown(inside, NOBODY, NOBODY)
        os.chown(os.path.dirname(inside), NOBODY, NOBODY)
    home = "/tmp/home"
    os.makedirs(home, exist_ok=True)
    os.chown(home, NOBODY, NOBODY)
    os.environ.update(
        HOME=home,
        USER="nobody",
        LOGNAME="nobody",
        MPLCONFIGDIR=f"{home}/.mpl",
        IPYTHONDIR=f"{home}/.ipython",
        JUPYTER_RUNTIME_DIR=f"{home}/.jupyter",
        JUPYTER_DATA_DIR=f"{home}/.jupyter",
        TMPDIR="/tmp",
    )
    os.chdir(work)
    for key, rlimit in [
        ("as_bytes", resource.RLIMIT_AS),
        ("cpu_s", resource.RLIMIT_CPU),
        ("fsize_bytes", resource.RLIMIT_FSIZE),
        ("nproc", resource.RLIMIT_NPROC),
    ]:
        value = getattr(args, key)
        if value:
            resource.setrlimit(rlimit, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: no setuid binary gives root back
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    # Changing the user cleared the parent-death signal that unshare --kill-child gave this
    # process: set it again, so the whole namespace dies with whoever started the sandbox.
    if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
