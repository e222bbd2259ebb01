"""nbgrader's configuration for the course, built in one place for both the `autograder` command line
and instructors who run nbgrader's own commands (the root `nbgrader_config.py` loads it).

nbgrader's course directory is `workdir` (default `grading/`, git-ignored); its source and release
folders point back into the repository: solutions/ is the source, notebooks/ the release.
"""

import ast
import os
import sys
from pathlib import Path

from traitlets.config import Config

from .course import COURSE, DEFAULT_NOTEBOOK_BUDGET, ROOT, WORKDIR
from .sandbox.kernelspec import DEFAULT_MEMORY_MB, DEFAULT_PIDS

__all__ = [
    "COURSE_ID",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_NOTEBOOK_BUDGET",
    "DEFAULT_PIDS",
    "DEFAULT_TIMEOUT",
    "EXCHANGE",
    "EXCHANGE_VARIABLE",
    "exchange_config",
    "course_autograde_config",
    "exchange_root",
    "judged_config",
    "nbgrader_config",
    "replay_config",
]

COURSE_ID = "nn273"  # nbgrader's course id, on the instructors' side and in students' servers
DEFAULT_TIMEOUT = 30  # seconds per cell, nbgrader's own default
ALEMBIC_HEAD_VARIABLE = "NN273_NBGRADER_ALEMBIC_HEAD"
# nbgrader's exchange (release_assignment, fetch_assignment, submit, collect): a folder every user of
# the course can reach. The default suits one machine; on a JupyterHub, NN273_EXCHANGE names a shared one.
EXCHANGE = ROOT / "grading" / "exchange"
EXCHANGE_VARIABLE = "NN273_EXCHANGE"


def nbgrader_config(course=COURSE, workdir=WORKDIR, release=None, timeout=DEFAULT_TIMEOUT, kernel_name=None):
    """A traitlets Config for nbgrader with the course's layout and grading rules."""
    _tools_on_path()
    _alembic_head_once()
    workdir = Path(workdir).resolve()
    c = Config()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(workdir)
    # Absolute paths: nbgrader joins them to root, and an absolute path wins.
    c.CourseDirectory.source_directory = str(Path(course.solutions).resolve())
    c.CourseDirectory.release_directory = str(Path(release or course.release).resolve())
    c.CourseDirectory.submitted_directory = "submitted"
    c.CourseDirectory.autograded_directory = "autograded"
    c.CourseDirectory.feedback_directory = "feedback"
    c.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"

    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.error_on_timeout = {
        "ename": "CellTimeoutError",
        "evalue": f"this cell ran longer than the {timeout} s limit per cell and was stopped",
        "traceback": [
            f"CellTimeoutError: this cell ran longer than the {timeout} s limit per cell and was stopped. "
            "Look for an endless loop, or work that grows too fast with the input size."
        ],
    }
    if kernel_name:
        c.Execute.kernel_name = kernel_name
    # A student who deleted a test cell gets it back from the gradebook rather than escaping it.
    c.OverwriteCells.add_missing_cells = True
    # The released notebook leaves out the cells that explain a graded question (explanations.py).
    from nbgrader.converters import GenerateAssignment

    from .explanations import DropExplanations

    c.GenerateAssignment.preprocessors = [DropExplanations, *GenerateAssignment.class_traits()["preprocessors"].default()]
    return c


def exchange_root(root=None):
    """The course's exchange folder: `root`, else $NN273_EXCHANGE, else grading/exchange/ (absolute)."""
    return Path(root or os.environ.get(EXCHANGE_VARIABLE) or EXCHANGE).resolve()


def exchange_config(c, root=None):
    """Point nbgrader's exchange at `root` (default: $NN273_EXCHANGE, else grading/exchange/).

    The folder is made if missing, world-writable as nbgrader's release_assignment makes it: formgrader
    offers "release" and "collect" only once it exists. Collect is the course's (autograder/exchange.py):
    it never follows a student's link or trusts a folder's name. Students' servers need the same root
    and course_id (docs/formgrader.md, "The exchange on a JupyterHub").
    """
    root = exchange_root(root)
    if not root.exists():
        try:
            root.mkdir(parents=True)
            root.chmod(0o777)
        except OSError:
            pass  # nbgrader then says that it cannot reach it, naming the folder
    c.Exchange.root = str(root)
    # Students write into the exchange: collect neither follows their links nor trusts their names.
    c.ExchangeFactory.collect = "autograder.exchange.CourseExchangeCollect"
    return c


def judged_config(c, course=COURSE, sandboxed=True, runtime_root=None, notebook_budget=False):
    """Make nbgrader's autograde judge test cells in the grader (autograder/judging/execute.py).

    `JudgedExecute` takes the place of nbgrader's `Execute` and keeps its settings (timeout, kernel);
    the other steps, `SaveAutoGrades` among them, stay as nbgrader orders them, with ours around them:
    - sanitize: `RestoreCellMetadata` first, before nbgrader's steps refuse a notebook whose cell
      metadata a student changed (autograder/judging/metadata.py); `InertText` last, once OverwriteCells
      has put back the instructor's locked cells (autograder/judging/inert.py);
    - autograde: right after the execute step, `ScoreTamperedCells` (its error output must be there
      when SaveAutoGrades scores) and `InertOutputs`.
    `notebook_budget`: seconds for all the runs of a notebook (None: no budget; not given:
    JudgedExecute's default).
    """
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from .judging.execute import JudgedExecute
    from .judging.inert import InertOutputs, InertText
    from .judging.metadata import RestoreCellMetadata, ScoreTamperedCells

    sanitize = list(Autograde.class_traits()["sanitize_preprocessors"].default())
    c.Autograde.sanitize_preprocessors = [RestoreCellMetadata, *sanitize, InertText]
    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    at = steps.index(Execute)
    steps[at : at + 1] = [JudgedExecute, ScoreTamperedCells, InertOutputs]
    c.Autograde.autograde_preprocessors = steps
    c.JudgedExecute.solutions = str(Path(course.solutions).resolve())
    c.InertText.solutions = c.JudgedExecute.solutions
    if "release_directory" in c.CourseDirectory:
        c.RestoreCellMetadata.release = str(Path(c.CourseDirectory.root or ".") / c.CourseDirectory.release_directory)
    c.JudgedExecute.sandboxed = bool(sandboxed)
    # No widget state kept from a kernel: nbclient would hold it all in memory, uncapped.
    c.JudgedExecute.store_widget_state = False
    # After the last cell nothing of the kernel is wanted: kill it (its sandbox dies with it) rather
    # than wait for a graceful exit.
    c.JudgedExecute.shutdown_kernel = "immediate"
    if runtime_root:
        c.JudgedExecute.runtime_root = str(runtime_root)
    if notebook_budget is not False:
        c.JudgedExecute.notebook_budget = None if notebook_budget is None else float(notebook_budget)
    return c


def course_autograde_config(c, course=COURSE):
    """nbgrader's own commands and formgrader in a course folder (the repository's nbgrader_config.py,
    and each one grade writes in its workdir): autograde grades only through the course's grader
    (`DelegatedExecute`, autograder/judging/delegate.py, in place of the judged execute step, which
    itself stands where nbgrader's `Execute` stood), and generate_feedback writes the course's
    feedback pages (`FeedbackPage`, autograder/feedback.py), never nbgrader's, which shows the tests;
    export leaves the score of a notebook it could not grade empty, with why (autograder/export.py)."""
    from .export import CourseExport
    from .feedback import FeedbackPage
    from .judging.delegate import DelegatedExecute
    from .judging.execute import JudgedExecute

    judged_config(c, course)
    steps = list(c.Autograde.autograde_preprocessors)
    steps[steps.index(JudgedExecute)] = DelegatedExecute
    c.Autograde.autograde_preprocessors = steps
    c.GenerateFeedback.exporter_class = FeedbackPage
    c.GenerateFeedback.preprocessors = []
    c.ExportApp.plugin_class = CourseExport
    return c


def replay_config(c):
    """Make a judged configuration record grades that a worker process computed: `ReplayExecute`
    takes the place of `JudgedExecute` (autograder/grade.py, `_Recorder`)."""
    from .judging.execute import JudgedExecute, ReplayExecute

    steps = list(c.Autograde.autograde_preprocessors)
    steps[steps.index(JudgedExecute)] = ReplayExecute
    c.Autograde.autograde_preprocessors = steps
    return c


def _alembic_head_once():
    # Every new gradebook asks `alembic heads`, in a subprocess, for the head of nbgrader's
    # migrations (nbgrader/api.py, get_alembic_version): 5 s here, for a value that the installed
    # nbgrader fixes. Read it from the migration scripts instead, once; the answer goes into the
    # environment, so that processes started from here (check's workers) know it too.
    import nbgrader
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "asks_once", False):
        return
    ask, known = nbgrader.api.get_alembic_version, f"nbgrader {nbgrader.__version__}: "

    def head():
        value = os.environ.get(ALEMBIC_HEAD_VARIABLE, "")
        if value.startswith(known) and len(value) > len(known):
            return value[len(known):]
        value = _alembic_head(Path(nbgrader.__file__).parent / "alembic" / "versions") or ask()
        os.environ[ALEMBIC_HEAD_VARIABLE] = known + value
        return value

    head.asks_once = True
    nbgrader.api.get_alembic_version = head


def _alembic_head(versions):
    """The head of the migrations in `versions` (nbgrader's alembic/versions), read from the scripts'
    `revision` and `down_revision` without running them: the one revision that no other revises.
    None if that is not clear-cut (then nbgrader's own way, `alembic heads`, answers, in 5 s)."""
    revisions, revised = set(), set()
    for script in sorted(Path(versions).glob("*.py")):
        found = {}
        for node in ast.parse(script.read_text()).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        revised.update([down] if isinstance(down, str) else down or ())
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _tools_on_path():
    # nbgrader runs `alembic` from PATH to open its gradebook; a virtual environment that was not
    # activated (python called by its full path) has it only next to this interpreter.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(p for p in (bindir, os.environ.get("PATH", "")) if p)
