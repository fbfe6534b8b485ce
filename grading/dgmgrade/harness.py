"""The out-of-process test runner: a fresh interpreter that sees only what a submission defines.

Runs inside the sandbox as the unprivileged user (see ``sandbox.py``), started by ``verify.py``
with one argument, a JSON job file (a ``Job``, below) that it deletes once read. It answers with
one JSON line per (submission, seed, test), a ``RawVerdict``. ``verify.py`` builds every job with
``verify.make_job`` and reads every answer with ``verify.verdicts``; these types are the only
definition of what passes between the two.

The trusted set-up runs once. Then, for every (seed, test), a forked child defines the student's
code in its own namespace (statement by statement), copies the names it defined into a fresh
test namespace (never over a name of the set-up), runs the test cell, and checks that
nothing it relies on was tampered with: the attributes of every
library module and of the core classes, ``sys.modules``, ``sys.meta_path``, and the set-up's
names. While student code is on the stack, an audit hook refuses frame and object-graph
introspection, ctypes, signals, subprocesses and trace hooks. A child that dies, hangs past the
timeout, exits early or tampers scores 0 for that test only. One JSON line per (seed, test) goes
to stdout, tagged with a nonce the student's code cannot see.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import sys
import time
from typing import NotRequired, TypedDict


class Test(TypedDict):
    id: str  # the test cell's grade_id
    source: str  # its code, from the source notebook (hidden tests included)


class Submission(TypedDict):
    key: str | None  # who (the caller's key), echoed back in every verdict
    code: str  # what the verifier keeps of the submission's own cells (see verify.py)
    names: list[str]  # the names that code defines, handed to the tests
    tests: NotRequired[list[str] | None]  # run only these test ids (absent or None: every test)


class Job(TypedDict):
    setup: list[str]  # the source notebook's locked code cells (trusted), run once
    students: list[Submission]
    tests: list[Test]
    seeds: list[str | None]  # values of seed_variable; None: fresh entropy
    seed_variable: str  # dgmlab.testing.SEED_VARIABLE
    timeout: float  # seconds per (submission, seed, test)


class RawVerdict(TypedDict, total=False):
    key: str | None
    id: str | None  # None: the harness itself failed ("error" says how)
    seed: str | None
    passed: bool
    ename: str
    evalue: str
    tampered: list[str]
    blocked: list[str]
    error: str


STUDENT_FILE = "<submission>"
WATCHED_PREFIXES = (
    "builtins",
    "sys",
    "torch",
    "numpy",
    "dgmlab",
    "math",
    "operator",
    "functools",
    "unittest",
    "inspect",
    "types",
    "os",
    "random",
    "warnings",
    "importlib",
    "nbformat",
)
BLOCKED = {
    "sys._getframe",
    "sys._current_frames",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "subprocess.Popen",
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.cdata",
    "ctypes.addressof",
    "ctypes.call_function",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "signal.pthread_kill",
}
FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "f_globals"}
EXTENSION_HOOKS = (
    "__torch_function__",
    "__torch_dispatch__",
    "__array_function__",
    "__array_ufunc__",
)


def _student_on_stack(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename == STUDENT_FILE:
            return True
        frame = frame.f_back
    return False


INTROSPECTING_MODULES = ("inspect.py", "traceback.py")


def _install_guard(state: dict) -> None:
    """Refuse escape hatches to student code. Frame access is refused when the student's code
    asks for it directly or through ``inspect``/``traceback`` (libraries such as torch call
    ``sys._getframe`` for their own reasons); the rest whenever student code is on the stack."""
    getframe = sys._getframe

    def guard(event, args):
        if state["busy"] or not state["armed"]:
            return
        frame_access = (
            event == "sys._getframe"
            or (event == "object.__getattr__" and len(args) > 1 and args[1] in FRAME_ATTRIBUTES)
            or (
                event == "object.__setattr__"
                and len(args) > 1
                and isinstance(args[0], type)
                and getattr(args[0], "__module__", "").split(".")[0] in WATCHED_PREFIXES
            )
        )  # refused only when the student's code asks directly (libraries do this themselves)
        blocked = frame_access or event in BLOCKED
        if not blocked:
            return
        state["busy"] = True
        try:
            caller = getframe(1)
            if frame_access:  # who asked, looking through inspect/traceback helpers
                asker = caller
                while asker is not None and asker.f_code.co_filename.endswith(
                    INTROSPECTING_MODULES
                ):
                    asker = asker.f_back
                hit = asker is not None and asker.f_code.co_filename == STUDENT_FILE
            else:
                hit = _student_on_stack(caller)
            if hit:
                state["blocked"].append(event)
                raise RuntimeError(f"the grader does not allow {event} in submitted code")
        finally:
            state["busy"] = False

    sys.addaudithook(guard)


def _core_classes():
    import torch

    classes = [
        object,
        type,
        int,
        float,
        bool,
        str,
        bytes,
        list,
        dict,
        tuple,
        set,
        BaseException,
        Exception,
        AssertionError,
        torch.Tensor,
        torch.nn.Module,
        torch.Generator,
    ]
    classes += list(torch.Tensor.__mro__)
    for name, module in list(sys.modules.items()):
        if name.startswith("dgmlab") and module is not None:
            classes += [
                v
                for v in vars(module).values()
                if isinstance(v, type) and v.__module__.startswith("dgmlab")
            ]
    return classes


def _snapshot(namespace: dict) -> dict:
    modules = {
        name: (module, dict(vars(module)))
        for name, module in list(sys.modules.items())
        if module is not None and name.split(".")[0] in WATCHED_PREFIXES
    }
    return {
        "modules": modules,
        "classes": [(c, dict(vars(c))) for c in _core_classes()],
        "meta_path": list(sys.meta_path),
        "path_hooks": list(sys.path_hooks),
        "namespace": dict(namespace),
    }


def _tampered(snap: dict, namespace: dict, rebinds: set[str]) -> list[str]:
    found = []
    for name, (module, attributes) in snap["modules"].items():
        if sys.modules.get(name) is not module:
            found.append(f"sys.modules[{name!r}] was replaced")
            continue
        if any(part.startswith("_") for part in name.split(".")):
            continue  # private modules: torch fills these in lazily
        now = vars(module)
        for key, value in attributes.items():
            if key.startswith("_") and not key.startswith("__"):
                continue  # private names: caches that libraries set on first use
            if key in (
                "__warningregistry__",
                "_return_value",
                "last_value",
                "last_type",
                "last_traceback",
                "last_exc",
                "_",
            ):
                continue
            if now.get(key, _MISSING) is not value and not (
                name == "sys" and key in ("stdout", "stderr", "exc_info", "tracebacklimit")
            ):
                found.append(f"{name}.{key} was changed")
    for cls, attributes in snap["classes"]:
        now = vars(cls)
        for key, value in attributes.items():
            if now.get(key, _MISSING) is not value:
                found.append(f"{cls.__qualname__}.{key} was changed")
        for key in set(now) - set(attributes) - {"_abc_impl"}:
            if key.startswith("_") and not key.startswith("__"):
                continue
            found.append(f"{cls.__qualname__}.{key} was added")
    if sys.meta_path != snap["meta_path"] or sys.path_hooks != snap["path_hooks"]:
        found.append("the import system was changed")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        found.append("a trace or profile hook was installed")
    for key, value in snap["namespace"].items():
        if key not in rebinds and namespace.get(key, _MISSING) is not value:
            found.append(f"the test's name {key!r} was changed")
    return found[:5]


_MISSING = object()


def _assigned_names(source: str) -> set[str]:
    import ast

    names = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _statements(code: str) -> list:
    """The top-level statements of the kept student code, each compiled on its own."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # cannot happen: the code is made of statements verify.py has parsed
    return [compile(ast.Module([node], []), STUDENT_FILE, "exec") for node in tree.body]


def _run_one(
    job: Job, who: Submission, base: dict, snap: dict, test: Test, seed, write_fd: int, nonce: str
):
    """In the forked child: define the student's code, run one test, report, exit."""
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the student's prints go nowhere: stdout carries only verdicts
    os.dup2(devnull, 2)
    if seed is None:
        os.environ.pop(job["seed_variable"], None)
    else:
        os.environ[job["seed_variable"]] = str(seed)
    verdict = {"passed": False, "ename": "", "evalue": "", "tampered": [], "blocked": []}
    state = {"busy": False, "armed": False, "blocked": verdict["blocked"]}
    _install_guard(state)
    namespace = dict(base)
    student = dict(base)
    state["armed"] = True
    define_error = None
    for statement in _statements(who["code"]):  # one by one: an error costs only its statement
        try:
            exec(statement, student)
        except BaseException as error:  # the student's own top-level error: report, go on
            define_error = define_error or f"{type(error).__name__}: {error}"
    for name in who["names"]:
        if name in student:
            value = student[name]
            if name in base and value is not base[name]:
                continue  # the set-up's names (assert_close, torch, ...) stay the set-up's
            if isinstance(value, type) and any(h in vars(value) for h in EXTENSION_HOOKS):
                verdict["tampered"].append(f"class {name} overrides how tensors compare")
            namespace[name] = value
    try:
        exec(compile(test["source"], f"<test {test['id']}>", "exec"), namespace)
        verdict["passed"] = True
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: a failed test
        verdict["ename"] = type(error).__name__
        verdict["evalue"] = str(error)[:2000]
    state["armed"] = False
    verdict["tampered"] += _tampered(snap, namespace, _assigned_names(test["source"]))
    if define_error and not verdict["passed"]:
        verdict["evalue"] += f" (while defining your code: {define_error})"[:500]
    verdict["passed"] = verdict["passed"] and not verdict["tampered"] and not verdict["blocked"]
    verdict["nonce"] = nonce
    os.write(write_fd, (json.dumps(verdict) + "\n").encode())
    os._exit(0)


def main(path: str) -> None:
    with open(path) as f:
        job: Job = json.load(f)
    os.remove(path)
    os.environ.setdefault("NBGRADER_EXECUTION", "autograde")
    os.environ.setdefault("MPLBACKEND", "Agg")
    base = {"__name__": "__main__", "__builtins__": __builtins__}
    setup_error = None
    try:
        for source in job["setup"]:
            exec(compile(source, "<setup>", "exec"), base)
    except BaseException as error:
        setup_error = f"{type(error).__name__}: {error}"
    try:  # libraries that patch torch on first use (dynamo wraps torch.manual_seed): do it now
        import torch._dynamo  # noqa: F401
        import torch.optim  # noqa: F401
    except Exception:  # noqa: BLE001
        pass
    snap = None if setup_error else _snapshot(base)  # once; every forked child inherits it
    # Several submissions share one interpreter: each test of each runs in its own child.
    for who in job["students"]:
        wanted = who.get("tests")
        for seed in job["seeds"]:
            for test in job["tests"]:
                if wanted is not None and test["id"] not in wanted:
                    continue
                result: RawVerdict = {
                    "key": who["key"],
                    "id": test["id"],
                    "seed": seed,
                    "passed": False,
                }
                if setup_error:
                    result.update(ename="SetupError", evalue=setup_error)
                else:
                    result.update(_fork_and_wait(job, who, base, snap, test, seed))
                print(json.dumps(result), flush=True)


def _fork_and_wait(job: Job, who: Submission, base: dict, snap: dict, test: Test, seed) -> dict:
    nonce = secrets.token_hex(16)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _run_one(job, who, base, snap, test, seed, write_fd, nonce)
        finally:
            os._exit(3)
    os.close(write_fd)
    data, deadline, status = b"", time.monotonic() + job["timeout"], None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([read_fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(read_fd, 65536)
            data += chunk
            if not chunk:
                break
        if len(data) > 1 << 20:
            break
    timed_out = time.monotonic() >= deadline
    for sig in (signal.SIGKILL,):
        try:
            os.killpg(pid, sig)
        except OSError:
            pass
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    os.close(read_fd)
    lines = [line for line in data.decode(errors="replace").splitlines() if nonce in line]
    if timed_out and not lines:
        return {"ename": "Timeout", "evalue": f"no verdict within {job['timeout']} s"}
    if len(lines) != 1:
        how = (
            f"killed by signal {-os.waitstatus_to_exitcode(status)}"
            if os.WIFSIGNALED(status)
            else f"exit status {os.waitstatus_to_exitcode(status)}"
        )
        return {"ename": "Died", "evalue": f"the test's process ended without a verdict ({how})"}
    verdict = json.loads(lines[0])
    verdict.pop("nonce", None)
    return verdict


if __name__ == "__main__":
    main(sys.argv[1])
