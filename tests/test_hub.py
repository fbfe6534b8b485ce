"""A class on JupyterHub, for real: grading/hub/jupyterhub_config.py as an instructor runs it.

One hub on loopback ports (its proxy, configurable-http-proxy from npm, and every user's
server), with PAM logins for real Unix users created for the test: an instructor and three
students. The instructor's course directory is a copy of the course (grading/, solutions/,
exercises/) in their home, which only they can read. Then, as grading/INSTRUCTORS.md says:

- the instructor imports the roster, generates and releases assignment 01 (as their Unix user);
- in Chromium, each student logs in, opens Nbgrader > Assignment List, fetches the assignment,
  answers it (all, part or none of it: the answers are written into the fetched notebook as
  that student) and submits it with the tab's Submit button;
- from a student's session (a kernel in their own server, so as that Unix user) the
  instructor's course directory, gradebook, solutions and release, another student's notebook
  and the exchange's inbox cannot be read, while their own notebook and the released assignment
  can; their server has no formgrader;
- the instructor grades with the course's command, ``grade.py --collect --release-feedback``;
- each student fetches their feedback in the tab, follows "(view feedback)" and reads their
  score in the feedback page; the exported grades.csv holds exactly the expected scores,
  computed from the points in the solution notebook.

Everything starts and stops here: users, homes, hub, proxy and servers; nothing may be left
running. Needs root (users, servers started as them), /usr/bin/chromium, Playwright, jupyterhub
and configurable-http-proxy (``npm install --prefix .node configurable-http-proxy@5.3.0``, as
.ci/run does); skips without them unless DGMLAB_REQUIRE_HUB=1 (set by .ci/run), where it fails.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pwd
import re
import resource
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from course import BIN, GRADING, ROOT, SOLUTIONS, environment, free_port, http_get, make_course
from test_term import answer

pytestmark = [pytest.mark.browser, pytest.mark.grading, pytest.mark.xdist_group("hub")]

ASSIGNMENT = "01_bar_manifold"
HUB_CONFIG = GRADING / "hub" / "jupyterhub_config.py"
USER_CONFIG = GRADING / "hub" / "jupyter"
PROXY = ROOT / ".node" / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
UI_TIMEOUT_MS = 60_000  # one step in the browser (JupyterLab's first load, a fetch), loaded machine


def _points() -> tuple[list[str], dict[str, float]]:
    """The solution's answer cells in order, and each answer's points (its test cell's)."""
    nb = nbformat.read(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    points = {m["grade_id"]: float(m["points"]) for m in meta if m.get("grade")}
    answers = [m["grade_id"] for m in meta if m.get("solution")]
    answers = [a for a in answers if f"test_{a}" in points]
    return answers, {a: points[f"test_{a}"] for a in answers}


ANSWERS, POINTS = _points()
TOTAL = sum(POINTS.values())
# student -> the answers they write: right, partly (every other answer), not at all
CLASS = {"s1": ANSWERS, "s2": ANSWERS[::2], "s3": []}


def expected_score(student: str) -> float:
    return sum(POINTS[a] for a in CLASS[student])


def test_the_class_is_right_partly_and_not_at_all():
    assert len(ANSWERS) >= 2, ANSWERS
    assert [expected_score(s) for s in CLASS] == sorted({expected_score(s) for s in CLASS})[::-1]
    assert expected_score("s1") == TOTAL > expected_score("s2") > expected_score("s3") == 0


def test_ci_installs_the_proxy_so_the_hub_test_cannot_skip():
    """.ci/run installs configurable-http-proxy where this test and the hub's configuration look
    for it, and requires the hub test before the README's command runs; the README and the
    instructor guide give the same npm command."""
    script = (ROOT / ".ci" / "run").read_text()
    install = re.search(r"npm install [^\n]*--prefix (\S+) (configurable-http-proxy@\S+)", script)
    assert install, ".ci/run does not install configurable-http-proxy with npm"
    assert ROOT / install[1] / "node_modules" / ".bin" / "configurable-http-proxy" == PROXY
    assert '".node" / "node_modules" / ".bin" / "configurable-http-proxy"' in HUB_CONFIG.read_text()
    required = script.index("export DGMLAB_REQUIRE_HUB=1")
    assert required < script.index('bash -euo pipefail -c "$command"')
    command = f"npm install --prefix {install[1]} {install[2]}"
    assert command in (ROOT / "README.md").read_text()
    assert command in (GRADING / "INSTRUCTORS.md").read_text()


def _missing(reason: str) -> None:
    if os.environ.get("DGMLAB_REQUIRE_HUB") == "1":
        pytest.fail(f"{reason} (DGMLAB_REQUIRE_HUB=1: the hub test may not skip)")
    pytest.skip(reason)


def _requirements() -> None:
    if os.geteuid() != 0:
        _missing("the hub test runs as root: it creates Unix users and starts servers as them")
    for tool in ("useradd", "userdel", "chpasswd"):
        if shutil.which(tool) is None:
            _missing(f"{tool} not found (Debian's passwd package)")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    if not PROXY.exists():
        _missing(
            f"{PROXY} not found: npm install --prefix .node configurable-http-proxy@5.3.0 "
            "(from the repository's root; .ci/run does it)"
        )
    for module in ("jupyterhub", "pamela", "playwright"):
        try:
            __import__(module)
        except ImportError:
            _missing(f'{module} not installed: pip install -e ".[dev]"')


class Machine:
    """The class's machine: a private folder (homes, exchange, the hub's state) and its users."""

    def __init__(self):
        # not pytest's tmp_path: that is under root's private folder, where no user can go
        self.base = Path(tempfile.mkdtemp(prefix="dgm-hub-"))
        self.base.chmod(0o755)
        self.prefix = "dgm" + secrets.token_hex(2)  # new names each run: no clash, no leftover
        self.users: dict[str, pwd.struct_passwd] = {}
        self.passwords: dict[str, str] = {}
        self.mounts = _mounts(self.base / "ns", [Path(sys.base_prefix), ROOT])

    def command(self, cmd: list[str], user: str | None = None) -> list[str]:
        """``cmd``, where the course environment is within the users' reach, as ``user``.

        The users run this checkout's environment, and its interpreter may live where only root
        can go (pyenv's in /root, as on the course's machines): then the command runs in its own
        mount namespace where that folder is an empty tmpfs holding only what they need. The
        machine itself is not changed. A class machine installs the environment where everyone
        can read it (INSTRUCTORS.md).
        """
        ids = ""
        if user is not None:
            u = self.users[user]
            ids = f"setpriv --reuid={u.pw_uid} --regid={u.pw_gid} --clear-groups -- "
        if not self.mounts:
            return ["sh", "-c", f'exec {ids}"$@"', "sh", *cmd]
        script = f'set -e; {self.mounts}; exec {ids}"$@"'
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
                *cmd]  # fmt: skip

    def add_user(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        home = self.base / "home" / name
        home.parent.mkdir(exist_ok=True)
        home.parent.chmod(0o755)
        run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash",
             "--user-group", name])  # fmt: skip
        self.users[name] = pwd.getpwnam(name)
        self.passwords[name] = secrets.token_urlsafe(12)
        run(["chpasswd"], input=f"{name}:{self.passwords[name]}\n")
        home.mkdir(mode=0o700)
        os.chown(home, self.users[name].pw_uid, self.users[name].pw_gid)
        return name

    def home(self, name: str) -> Path:
        return Path(self.users[name].pw_dir)

    def as_user(self, name: str, *cmd: str, cwd: Path | None = None, stdin: str | None = None):
        """Run a command as a user, as their login would: their ids, home and name."""
        home = self.users[name].pw_dir
        env = environment(HOME=home, USER=name, LOGNAME=name, SHELL="/bin/bash")
        result = subprocess.run(
            self.command(list(cmd), user=name), cwd=cwd or home, env=env, input=stdin,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        hint = (
            f"\n(the users run this checkout's environment, {BIN}: they must be able to read it)"
            if "Permission denied" in result.stderr
            else ""
        )
        assert result.returncode == 0, (
            f"{name}: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}{hint}"
        )
        return result.stdout

    def leftovers(self) -> list[tuple[int, str]]:
        """Processes still running as one of the test's users: (pid, command line)."""
        uids = {u.pw_uid for u in self.users.values()}
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_uid in uids:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    found.append((int(entry.name), cmdline.strip()))
        return found

    def remove(self) -> None:
        for pid, _ in self.leftovers():  # only after a failure: the test asserts there are none
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for name in self.users:
            subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def _mounts(staging: Path, needed: list[Path]) -> str:
    """Shell commands that put each needed folder within every user's reach, in a private mount
    namespace: a folder above it that others cannot enter is covered by an empty tmpfs (mode
    755), and the needed folder is bound back at its own path. "" when nothing is out of reach.
    """
    blocked: dict[Path, list[Path]] = {}
    for path in (p.resolve() for p in needed):
        for folder in [*reversed(path.parents), path]:
            if not folder.stat().st_mode & 0o001:
                blocked.setdefault(folder, []).append(path)
                break
    steps, n = [], 0
    for cover, paths in blocked.items():
        for path in paths:  # bound aside first: the tmpfs hides them
            aside = shlex.quote(f"{staging}/{n}")
            steps.append(f"mkdir -p {aside} && mount --bind {shlex.quote(str(path))} {aside}")
            n += 1
        steps.append(f"mount -t tmpfs -o mode=755 dgm-hub {shlex.quote(str(cover))}")
    n = 0
    for paths in blocked.values():
        for path in paths:
            aside, there = shlex.quote(f"{staging}/{n}"), shlex.quote(str(path))
            steps.append(f"mkdir -p {there} && mount --move {aside} {there}")
            n += 1
    return "; ".join(steps)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)}: {result.stdout}\n{result.stderr}"
    return result


class Hub:
    """JupyterHub with the course's configuration, on free loopback ports."""

    def __init__(self, machine: Machine, instructor: str, roster: Path, exchange: Path):
        state = machine.base / "hub"
        state.mkdir(mode=0o700)
        user_config = machine.base / "etc" / "jupyter"  # the copy every user can read
        shutil.copytree(USER_CONFIG, user_config)
        for folder in (user_config.parent, user_config, user_config / "labconfig"):
            folder.chmod(0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = state / "test_config.py"
        config.write_text(
            f"c = get_config()\n"
            f"load_subconfig({str(HUB_CONFIG)!r})\n"
            f"c.JupyterHub.bind_url = {self.url!r}\n"
            f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{free_port()}'\n"
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n"
            "# lets the test run code in a student's own session (window.jupyterapp)\n"
            "c.Spawner.args = ['--LabApp.expose_app_in_browser=True']\n"
        )
        self.log = state / "hub.log"
        env = environment(
            DGMHUB_STATE=str(state),
            DGMHUB_EXCHANGE=str(exchange),
            DGMHUB_USER_CONFIG=str(user_config),
            DGMHUB_INSTRUCTOR=instructor,
            DGMHUB_ROSTER=str(roster),
        )
        self.proxy_pid_file = state / "jupyterhub-proxy.pid"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                machine.command([str(BIN / "jupyterhub"), "-f", str(config)]),
                cwd=state,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                http_get(f"{self.url}/hub/api")
                return
            except (OSError, urllib.error.HTTPError):
                if self.process.poll() is not None:
                    raise AssertionError(f"jupyterhub exited:\n{self.tail()}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(f"no hub in {timeout:.0f} s:\n{self.tail()}") from None
                time.sleep(0.3)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> int | None:
        """SIGTERM: the hub stops every user's server and the proxy. Returns the proxy's pid."""
        proxy = None
        with contextlib.suppress(OSError, ValueError):
            proxy = int(self.proxy_pid_file.read_text())
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return proxy


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split(")")[-1].split()[0] == "Z")


# Runs in a kernel of the student's own server (so as that Unix user): what can it read?
_PROBE = """
import json, os
def probe(path, folder):
    try:
        os.listdir(path) if folder else open(path, 'rb').read(1)
        return 'read'
    except PermissionError:
        return 'denied'
    except OSError as error:
        return type(error).__name__
print(json.dumps({'uid': os.getuid(), **{p: probe(p, d) for p, d in %s}}))
"""

# (code) => what the code printed, run in a new kernel of this JupyterLab's server
_RUN_IN_KERNEL = """async (code) => {
    const kernels = window.jupyterapp.serviceManager.kernels;
    const kernel = await kernels.startNew({name: 'python3'});
    let out = '';
    const future = kernel.requestExecute({code});
    future.onIOPub = msg => {
        if (msg.header.msg_type === 'stream') out += msg.content.text;
        if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
    };
    await future.done;
    await kernel.shutdown();
    return out;
}"""


class Student:
    """One student's browser session."""

    def __init__(self, browser, hub: Hub, name: str, password: str, shots: Path):
        self.name, self.hub, self.shots = name, hub, shots
        self.context = browser.new_context(viewport={"width": 1300, "height": 850})
        self.page = self.context.new_page()
        self.password = password

    def shot(self, step: str) -> Path:
        path = self.shots / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path))
        return path

    def fail(self, message: str):
        try:
            where = f"screenshot: {self.shot('failure')}"
        except Exception as error:  # the screenshot is a courtesy; the message is the failure
            where = f"no screenshot ({type(error).__name__}: {error})"
        raise pytest.fail.Exception(
            f"{self.name}: {message}\n({where})\nhub log:\n{self.hub.tail()}", pytrace=False
        ) from None

    def step(self, what: str, action):
        try:
            return action()
        except Exception as error:
            self.fail(f"{what}: {type(error).__name__}: {error}")

    def log_in(self) -> None:
        """Submit the login form; the hub starts the server while the next student logs in."""
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.name)
        page.fill("#password_input", self.password)
        page.click("#login_submit", no_wait_after=True)

    def wait_for_lab(self) -> None:
        """After login: the hub started the server, and JupyterLab shows its Nbgrader menu."""
        page = self.page
        self.step(
            "JupyterLab did not come up after login",
            lambda: (
                page.locator("#jp-MainMenu")
                .get_by_text("Nbgrader", exact=True)
                .wait_for(timeout=UI_TIMEOUT_MS * 2)
            ),
        )
        assert f"/user/{self.name}/lab" in page.url, page.url

    def open_assignments(self) -> None:
        """Nbgrader > Assignment List: the Assignments tab, with the released assignment."""
        page = self.page
        page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Assignment List").click()
        self.step(
            "the Assignments tab shows no released assignment",
            lambda: self.item("released").wait_for(timeout=UI_TIMEOUT_MS),
        )

    def item(self, where: str):
        """The assignment's row in the tab's released/fetched/submitted list."""
        listing = self.page.locator(f"#{where}_assignments_list > .list_item")
        return listing.filter(has_text=ASSIGNMENT).first

    def fetch(self) -> None:
        self.item("released").get_by_role("button", name="fetch").click()
        self.step(
            "Fetch did not move the assignment to Downloaded",
            lambda: (
                self.item("fetched")
                .get_by_role("button", name="Submit")
                .wait_for(timeout=UI_TIMEOUT_MS)
            ),
        )

    def submit(self) -> None:
        self.item("fetched").get_by_role("button", name="Submit").click()
        self.step(
            "Submit did not list a submission",
            lambda: self.item("submitted").wait_for(timeout=UI_TIMEOUT_MS),
        )

    def probe(self, paths: list[tuple[str, bool]]) -> dict:
        code = _PROBE % repr(paths)
        out = self.step("a kernel in the student's server", lambda: self.page.evaluate(
            _RUN_IN_KERNEL, code))  # fmt: skip
        return json.loads(out)

    def feedback(self) -> str:
        """Refresh the tab, Fetch Feedback, follow (view feedback), open the page: its text."""
        page = self.page
        page.locator("#refresh_assignments_list").click()
        self.step(
            "no feedback to fetch after the instructor released it",
            lambda: (
                self.item("submitted")
                .get_by_text("(feedback available to fetch)")
                .wait_for(timeout=UI_TIMEOUT_MS)
            ),
        )
        self.item("submitted").get_by_role("button", name="Fetch Feedback").click()
        link = self.item("submitted").get_by_text("(view feedback)")
        self.step("Fetch Feedback gave no link", lambda: link.wait_for(timeout=UI_TIMEOUT_MS))
        link.click()
        html = page.locator(".jp-DirListing-item").filter(has_text=f"{ASSIGNMENT}.html")
        self.step("the feedback folder is not shown", lambda: html.wait_for(timeout=UI_TIMEOUT_MS))
        html.dblclick()
        body = page.frame_locator(".jp-HTMLViewer iframe").locator("body")
        self.step(
            "the feedback page did not open",
            lambda: body.get_by_text("Score").first.wait_for(timeout=UI_TIMEOUT_MS),
        )
        return body.inner_text()


def _class_session(machine, sessions, students, course, exchange, tmp_path, mark) -> None:
    """In the browser: fetch, answer, submit; the probe; grading; everyone's feedback."""
    for name, session in sessions.items():
        session.open_assignments()
        session.fetch()
        fetched = machine.home(name) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert fetched.stat().st_uid == machine.users[name].pw_uid, fetched
        filled = tmp_path / f"{name}.ipynb"
        shutil.copy(fetched, filled)
        answer(filled, CLASS[students[name]])
        machine.as_user(
            name, str(BIN / "python"), "-c",
            f"import sys; open({str(fetched)!r}, 'w').write(sys.stdin.read())",
            stdin=filled.read_text(),
        )  # fmt: skip
        session.submit()
        session.shot("submitted")
    mark("3 students logged in, fetched, answered, submitted")

    # students cannot read the instructor's files, nor each other's
    first, second = list(students)[:2]
    secret = {
        str(course): True,
        str(course / "gradebook.db"): False,
        str(course.parent / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"): False,
        str(course.parent / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"): False,
        str(machine.home(second) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"): False,
        str(exchange / "dgm-course" / "inbound"): True,
    }
    # and what they can read: their own work, the released assignment (the probe can tell)
    own = {
        str(machine.home(first) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"): False,
        str(exchange / "dgm-course" / "outbound" / ASSIGNMENT): True,
    }
    for path, folder in (secret | own).items():  # all there: a denial means something
        assert Path(path).is_dir() if folder else Path(path).is_file(), path
    seen = sessions[first].probe(list((secret | own).items()))
    assert seen.pop("uid") == machine.users[first].pw_uid
    assert seen == dict.fromkeys(secret, "denied") | dict.fromkeys(own, "read"), seen
    # the class's settings (grading/hub/jupyter/) give students no formgrader
    formgrader = sessions[first].page.request.get(
        f"{sessions[first].hub.url}/user/{first}/formgrader"
    )
    assert formgrader.status == 404, (
        f"a student's server serves the formgrader ({formgrader.status})"
    )
    mark("students' sessions cannot read the course directory")

    # the instructor grades with the course's command (root: its sandbox needs it)
    graded = subprocess.run(
        [str(BIN / "python"), "grade.py", ASSIGNMENT, "--collect",
         "--release-feedback", "--exchange", str(exchange)],
        cwd=course, capture_output=True, text=True, timeout=400,
        env=environment(DGMGRADE_TERM_SECRET=secrets.token_hex(16)),
    )  # fmt: skip
    assert graded.returncode == 0, graded.stdout + graded.stderr
    print(graded.stdout)
    mark("graded, feedback released")

    for name, session in sessions.items():
        text = session.feedback()
        session.shot("feedback")
        score = expected_score(students[name])
        shown = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
        assert shown, f"{name}: no score in the feedback page:\n{text[:1500]}"
        assert (float(shown[1]), float(shown[2])) == (score, TOTAL), (name, shown[0])
    mark("3 students read their feedback")


@pytest.mark.timeout(600)
def test_a_class_on_jupyterhub(tmp_path):
    _requirements()
    from playwright.sync_api import sync_playwright

    times = {}
    start = time.monotonic()

    def mark(phase: str) -> None:
        """Seconds since the start, and CPU seconds of the finished child processes (the
        instructor's commands and grade.py; the hub, its servers and Chromium count at the end).
        """
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = children.ru_utime + children.ru_stime
        times[phase] = f"{time.monotonic() - start:.0f} s (children's CPU {cpu:.0f} s)"

    machine = Machine()
    hub = None
    try:
        instructor = machine.add_user("ins")
        students = {machine.add_user(s): s for s in CLASS}  # Unix name -> s1/s2/s3
        course = make_course(machine.home(instructor) / "dgm-course")
        roster = course / "students.csv"
        roster.write_text(
            "id,first_name,last_name,email\n"
            + "".join(f"{s},Student,{k},{s}@example.org\n" for s, k in students.items())
        )
        run(["chown", "-R", f"{instructor}:{instructor}", str(machine.home(instructor))])
        exchange = machine.base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)  # nbgrader's exchange: every user writes there
        hub = Hub(machine, instructor, roster, exchange)

        def release() -> None:
            """The instructor, from their course directory (INSTRUCTORS.md), as the hub starts."""
            x = f"--Exchange.root={exchange}"
            for args in (
                ("db", "student", "import", "students.csv"),
                ("generate_assignment", ASSIGNMENT, "--force"),
                ("release_assignment", ASSIGNMENT, x),
            ):
                machine.as_user(instructor, str(BIN / "nbgrader"), *args, cwd=course)

        with ThreadPoolExecutor(1) as pool:
            released = pool.submit(release)
            hub.wait()
            mark("hub up")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                )
                try:
                    sessions = {
                        name: Student(browser, hub, name, machine.passwords[name], tmp_path)
                        for name in students
                    }
                    for session in sessions.values():  # the hub starts three servers at once
                        session.log_in()
                    for session in sessions.values():
                        session.wait_for_lab()
                    mark("3 students logged in, JupyterLab up")
                    released.result()
                    mark("assignment released")
                    _class_session(machine, sessions, students, course, exchange, tmp_path, mark)
                finally:
                    browser.close()
        mark("Chromium closed")

        with open(course / "grades.csv") as f:
            rows = {row["student_id"]: row for row in csv.DictReader(f)}
        assert set(rows) == set(students), rows
        for name, row in rows.items():
            assert row["assignment"] == ASSIGNMENT
            assert (float(row["score"]), float(row["max_score"])) == (
                expected_score(students[name]),
                TOTAL,
            ), row

        proxy = hub.stop()
        mark("hub stopped")
        assert not _alive(proxy), f"the proxy (pid {proxy}) outlived the hub"
        assert machine.leftovers() == [], "the hub left its users' processes running"
        timeline = "".join(f"\n  {phase}: {when}" for phase, when in times.items())
        print(f"\nhub class timeline:{timeline}\nscreenshots: {tmp_path}")
    finally:
        if hub is not None:
            hub.stop()
            with contextlib.suppress(OSError):
                shutil.copy(hub.log, tmp_path / "hub.log")
        machine.remove()
