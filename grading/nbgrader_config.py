"""nbgrader configuration for the dgm-course.

Run every nbgrader command from this folder (grading/):

    cd grading && nbgrader generate_assignment 01_bar_manifold --force

Layout (see INSTRUCTORS.md):
    ../solutions/NN_slug/    the nbgrader *source*: solutions, visible and hidden tests
    ../exercises/NN_slug/    the *release*, generated from the source and committed
    submitted/ autograded/ feedback/ gradebook.db   runtime state, here, git-ignored
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dgm-course"
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = os.path.join("..", "solutions")
c.CourseDirectory.release_directory = os.path.join("..", "exercises")
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# Only notebooks are part of an assignment; no stray files are released or collected.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# The release must never contain solutions or hidden tests.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True
c.ClearOutput.enabled = True

# Grading: a slow cell times out instead of hanging the batch; stderr (warnings,
# progress bars) must never turn a correct answer into an error.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# A kernel that ignores the interrupt (code spinning in C) is killed this many seconds later and
# the notebook's remaining cells are recorded as not run; a whole notebook gets at most
# notebook_timeout seconds, so one stuck student costs a bounded time whatever the class size.
c.SandboxExecute.kill_after = float(os.environ.get("DGMGRADE_KILL_AFTER", "5"))
c.SandboxExecute.notebook_timeout = float(os.environ.get("DGMGRADE_NOTEBOOK_TIMEOUT", "600"))
c.Execute.raise_on_iopub_timeout = False
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s).*"  # every stderr stream: errors are judged by error outputs

# Deleted test cells come back from the gradebook and are graded.
c.OverwriteCells.add_missing_cells = True

# --- Tamper resistance (grading/dgmgrade, see INSTRUCTORS.md "What grading guarantees") ---
# Student code runs in a sandbox: as the unprivileged user `nobody`, in its own mount/PID/IPC
# namespaces, with this folder (gradebook, other submissions), the solutions and the
# repository's history hidden, private /tmp, and resource limits. Where the machine cannot do
# that, nbgrader logs "UNSANDBOXED" and dgmgrade flags every result. dgmgrade is installed
# with the course (the README's `pip install -e ".[dev]"`).
from dgmgrade.nbgrader_plugins import HideHiddenTests, LimitOutputSize, SandboxExecute  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

_REPO = os.path.dirname(HERE)
c.SandboxKernelManager.hide = [
    HERE,
    os.path.normpath(os.path.join(HERE, c.CourseDirectory.source_directory)),
    os.path.join(_REPO, ".git"),
    *[p for p in os.environ.get("DGMGRADE_HIDE", "").split(os.pathsep) if p],
]
c.SandboxKernelManager.submissions_root = os.path.join(HERE, "autograded")
# Each cell's "did it finish" record (dgmgrade/runrecord.py) survives into the autograded copy.
c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {"nbgrader", "dgmgrade_run"}
c.Autograde.autograde_preprocessors = [
    SandboxExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    LimitOutputSize,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Huge outputs (a 20 MB line, thousands of images) are cut, not stored.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 100
# Feedback never shows the hidden tests' code, nor a traceback quoting it.
c.GenerateFeedback.preprocessors = [
    HideHiddenTests,
    GetGrades,
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
