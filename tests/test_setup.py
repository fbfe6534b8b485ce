"""The README's two commands, CI, conda and the package metadata agree, and the course starts."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from course import ROOT, http_get, jupyter_lab
from packaging.requirements import Requirement


def _block_after(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)\n```", text, flags=re.S)
    assert match, f"README.md has no ```bash block after <!-- {marker} -->"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command_verbatim():
    command = _block_after("test-command")
    assert "\n" not in command, "the test command must be one line"
    assert 'pip install torch==2.13.0 -e ".[dev]"' in command
    assert "python -m pytest" in command
    # .ci/run prints the command it extracted from the README before running it
    script = (ROOT / ".ci" / "run").read_text()
    extract = re.search(r"command=\$\((.*)\)\n", script).group(1)
    extracted = subprocess.run(
        ["bash", "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert extracted == command


def test_ci_installs_chromium_so_the_browser_tests_cannot_skip(tmp_path):
    """A CI machine starts without Chromium: .ci/run installs it (through sudo when not root)
    and sets DGMLAB_REQUIRE_BROWSER=1, before the README's command runs."""
    script = (ROOT / ".ci" / "run").read_text()
    block = re.search(r"\nif \[ ! -x /usr/bin/chromium \]; then\n.*?\nfi\n(.*?)\n", script, re.S)
    assert block, ".ci/run has no `if [ ! -x /usr/bin/chromium ]; then ... fi` block"
    assert block.group(1) == "export DGMLAB_REQUIRE_BROWSER=1"
    assert script.index("DGMLAB_REQUIRE_BROWSER") < script.index('bash -euo pipefail -c "$command"')
    # run the block on a machine without chromium, as a user who is not root: stubs record calls
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in [
        ("apt-get", 'echo "apt-get $* ($DEBIAN_FRONTEND)" >> "$LOG"'),
        ("sudo", 'echo sudo >> "$LOG"; exec "$@"'),
        ("id", "echo 1000"),
    ]:
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    missing = block.group(0).replace("/usr/bin/chromium", str(tmp_path / "no-chromium"))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", missing + 'echo "required=$DGMLAB_REQUIRE_BROWSER"'],
        env={"PATH": f"{stubs}:/usr/bin:/bin", "LOG": str(tmp_path / "log")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "required=1" in result.stdout
    calls = (tmp_path / "log").read_text().splitlines()
    assert "apt-get install -y chromium (noninteractive)" in calls and "sudo" in calls, calls
    readme = (ROOT / "README.md").read_text()
    assert "sudo apt-get install chromium" in readme


def test_course_command_installs_the_course_and_opens_lectures():
    command = _block_after("course-command")
    assert 'pip install torch==2.13.0 -e ".[course]"' in command
    assert command.endswith("jupyter lab --allow-root lectures/")


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_torch_requirement_admits_the_wheel_on_disk():
    (torch_req,) = [Requirement(r) for r in _project()["dependencies"] if r.startswith("torch")]
    assert torch_req.specifier.contains("2.13.0")


def test_extras_separate_students_from_development():
    extras = _project()["optional-dependencies"]
    names = {k: {Requirement(r).name for r in v} for k, v in extras.items()}
    assert {"nbgrader", "ipywidgets", "jupyterlab", "matplotlib"} <= names["course"]
    assert not {"pytest", "hypothesis", "ruff"} & names["course"]
    assert (
        "dgmlab" in names["dev"]
        and "course" in Requirement(next(r for r in extras["dev"] if r.startswith("dgmlab"))).extras
    )
    assert {"pytest", "hypothesis", "nbclient", "pytest-xdist"} <= names["dev"]


def test_conda_environment_installs_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "torch==2.13.0" in pip
    assert '-e ".[dev]"' in pip or "-e .[dev]" in pip
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major, minor = sys.version_info[:2]
    assert (
        Requirement("python" + python[len("python") :].replace("=", "==", 1)).specifier.contains(
            f"{major}.{minor}"
        )
        or python == "python=3.11"
    )


@pytest.mark.timeout(120)
def test_jupyter_lab_serves_the_lectures_with_the_course_kernel(tmp_path):
    """The course command's last step, headless: JupyterLab on lectures/ with this environment."""
    with jupyter_lab("lectures/", tmp_path, cwd=ROOT) as lab:
        names = {item["name"] for item in lab.api("contents")["content"]}
        assert any(n.startswith("01_") and n.endswith(".ipynb") for n in names), names
        status, page = http_get(f"{lab.url}/lab?token={lab.token}")
        assert status == 200 and b"JupyterLab" in page
        argv = lab.api("kernelspecs")["kernelspecs"]["python3"]["spec"]["argv"]
        assert argv[0] in (sys.executable, "python"), argv


def test_xdist_groups_keep_a_module_on_one_worker(tmp_path):
    """The grading modules mark their tests with one xdist_group so that their module fixture (a
    graded class: ~10 minutes) is built once. pytest-xdist passes the group to its scheduler in
    each test's id; pytest 9.2 drops it silently (pytest-xdist issue 1386), and every such fixture
    is then built on both workers. Run the installed pair on a tiny grouped module and see."""
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "pytestmark = pytest.mark.xdist_group('one')\n"
        "@pytest.mark.parametrize('i', range(8))\n"
        "def test_where(i):\n"
        "    print('WORKER', os.environ['PYTEST_XDIST_WORKER'])\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist=loadgroup", "-p", "no:randomly",
         "-p", "no:cacheprovider", "-rP", "-q", "test_grouped.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    workers = set(re.findall(r"^WORKER (gw\d+)$", run.stdout, flags=re.M))
    assert len(re.findall(r"^WORKER ", run.stdout, flags=re.M)) == 8, run.stdout[-2000:]
    assert len(workers) == 1, (
        f"one xdist_group ran on {sorted(workers)}: pytest {pytest.__version__} does not keep "
        "groups together with this pytest-xdist; install the versions the dev extra pins"
    )
