"""nbgrader's configuration for the course, built in one place for both the `autograder` command line
and instructors who run nbgrader's own commands (the root `nbgrader_config.py` loads it).

nbgrader's course directory is `workdir` (default `grading/`, git-ignored); its source and release
folders point back into the repository: solutions/ is the source, notebooks/ the release.
"""

import ast
import json
import os
import shutil
import sys
from pathlib import Path

from traitlets.config import Config

from .course import COURSE, ROOT, WORKDIR
from .limits import HOW
from .sandbox import KINDS, Sandbox

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_NOTEBOOK_BUDGET",
    "DEFAULT_PIDS",
    "DEFAULT_TIMEOUT",
    "EXCHANGE",
    "EXCHANGE_VARIABLE",
    "GRADER_KERNEL",
    "exchange_config",
    "exchange_root",
    "grader_kernel",
    "install_grader_kernel",
    "judged_config",
    "nbgrader_config",
    "replay_config",
]

DEFAULT_TIMEOUT = 30  # seconds per cell, nbgrader's own default
# Seconds for all the runs of one notebook (autograder/execute.py). Graded as submissions, the
# solutions take 6-16 s each on a 2-core machine shared with other work (04_conv 12-14 s, 07_sgd
# 11-18 s), the slowest, 02_mlp, 20-27 s: 600 s leaves an honest notebook a margin of twenty, and holds
# a submission that stalls (slow cells, deaths that cost reruns) to ten minutes, not hours.
DEFAULT_NOTEBOOK_BUDGET = 600.0
DEFAULT_MEMORY_MB = 4096  # address-space cap of each process of a grading kernel, and of its sandbox's memory
# Tasks (processes and threads) of a grading kernel's sandbox at once: an honest kernel runs about 10.
DEFAULT_PIDS = 256
GRADER_KERNEL = "nn273-grader"
# Each grading kernel has a companion without these packages on its file system, for the calls of
# NumPy exercises (autograder/numpy_kernel.py); its kernelspec's name ends with NUMPY_SUFFIX.
WITHOUT = ("torch",)
NUMPY_SUFFIX = "-numpy"
ALEMBIC_HEAD_VARIABLE = "NN273_NBGRADER_ALEMBIC_HEAD"
# nbgrader's exchange (release_assignment, fetch_assignment, submit, collect): a folder every user of
# the course can reach. The default suits one machine; on a JupyterHub, NN273_EXCHANGE names a shared one.
EXCHANGE = ROOT / "grading" / "exchange"
EXCHANGE_VARIABLE = "NN273_EXCHANGE"


def grader_kernel(assignment):
    """The kernelspec name of `assignment`'s grading kernel (its site holds that assignment's edition)."""
    return f"{GRADER_KERNEL}-{assignment}"


def nbgrader_config(course=COURSE, workdir=WORKDIR, release=None, timeout=DEFAULT_TIMEOUT, kernel_name=None):
    """A traitlets Config for nbgrader with the course's layout and grading rules."""
    _tools_on_path()
    _alembic_head_once()
    workdir = Path(workdir).resolve()
    c = Config()
    c.CourseDirectory.course_id = "nn273"
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
    return c


def exchange_root(root=None):
    """The course's exchange folder: `root`, else $NN273_EXCHANGE, else grading/exchange/ (absolute)."""
    return Path(root or os.environ.get(EXCHANGE_VARIABLE) or EXCHANGE).resolve()


def exchange_config(c, root=None):
    """Point nbgrader's exchange at `root` (default: $NN273_EXCHANGE, else grading/exchange/).

    The folder is made if missing, world-writable as nbgrader's release_assignment makes it: formgrader
    offers "release" and "collect" only once it exists. Students' servers need the same root and
    course_id (README, "Collecting submissions").
    """
    root = exchange_root(root)
    if not root.exists():
        try:
            root.mkdir(parents=True)
            root.chmod(0o777)
        except OSError:
            pass  # nbgrader then says that it cannot reach it, naming the folder
    c.Exchange.root = str(root)
    return c


def judged_config(c, course=COURSE, sandboxed=True, runtime_root=None, notebook_budget=False):
    """Make nbgrader's autograde judge test cells in the grader (autograder/execute.py).

    `JudgedExecute` takes the place of nbgrader's `Execute` and keeps its settings (timeout, kernel);
    the other steps, `SaveAutoGrades` among them, stay as nbgrader orders them, with ours around them:
    - sanitize: `RestoreCellMetadata` first, before nbgrader's steps refuse a notebook whose cell
      metadata a student changed (autograder/metadata.py); `InertText` last, once OverwriteCells
      has put back the instructor's locked cells (autograder/inert.py);
    - autograde: right after the execute step, `ScoreTamperedCells` (its error output must be there
      when SaveAutoGrades scores) and `InertOutputs`.
    `notebook_budget`: seconds for all the runs of a notebook (None: no budget; not given:
    JudgedExecute's default).
    """
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from .execute import JudgedExecute
    from .inert import InertOutputs, InertText
    from .metadata import RestoreCellMetadata, ScoreTamperedCells

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


def replay_config(c):
    """Make a judged configuration record grades that a worker process computed: `ReplayExecute`
    takes the place of `JudgedExecute` (autograder/grade.py, `_Recorder`)."""
    from .execute import JudgedExecute, ReplayExecute

    steps = list(c.Autograde.autograde_preprocessors)
    steps[steps.index(JudgedExecute)] = ReplayExecute
    c.Autograde.autograde_preprocessors = steps
    return c


def install_grader_kernel(
    workdir,
    memory_mb=DEFAULT_MEMORY_MB,
    site=None,
    sandbox="none",
    name=GRADER_KERNEL,
    sandbox_memory_mb=None,
    pids=DEFAULT_PIDS,
    without=(),
    limits="auto",
):
    """Write the kernelspec `name` (default `nn273-grader`) under workdir and put it on JUPYTER_PATH.

    The kernel runs in `sandbox` (a kind of `autograder.sandbox`: "bwrap", "unshare", "auto" or
    "none"), started by `autograder/launch.py`, and imports only from `site` (a folder with
    `kernelside/`, and `nn273/` and `data/` for a student edition). Without a site, a folder holding
    only `kernelside` is made under workdir, so an unsandboxed kernel imports the installed nn273.
    Each of its processes has `memory_mb` MiB of address space, so a submission that allocates too
    much gets a MemoryError in the cell that did it instead of taking the grading run down; a
    sandbox as a whole holds at most `sandbox_memory_mb` MiB (default: `memory_mb`) and `pids` tasks,
    or is killed (`autograder.limits`; `limits="watchdog"` never uses a cgroup). `without`: packages
    (e.g. ("torch",)) that the sandbox hides, with what ships with them: their files are not there, so
    `import torch` fails by any path (Sandbox.command's `hidden`). Sandboxed kernels need the ipc transport: see
    `autograder.sandbox.kernel_manager_config`.
    """
    spec_dir = Path(workdir).resolve() / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    if site is None:
        site = Path(workdir).resolve() / "jupyter" / "site"
        shutil.rmtree(site / "kernelside", ignore_errors=True)
        kernelside = Path(__file__).parent / "kernelside"
        shutil.copytree(kernelside, site / "kernelside", ignore=shutil.ignore_patterns("__pycache__"))
    if not (Path(site) / "kernelside" / "boot.py").is_file():
        raise ValueError(f"A kernel site must hold kernelside/ (a copy of autograder/kernelside): {site} does not.")
    kind = sandbox.kind if isinstance(sandbox, Sandbox) else sandbox
    if kind not in (*KINDS, "auto"):
        raise ValueError(f"sandbox must be a Sandbox or one of {', '.join(KINDS)}, auto; got {sandbox!r}.")
    if isinstance(without, str):
        raise TypeError(f"without must be a list of package names, e.g. ('torch',); got the string {without!r}.")
    if without and kind == "none":
        raise ValueError(f"A kernel without {', '.join(without)} needs a sandbox to hide them; sandbox is 'none'.")
    if limits not in HOW:
        raise ValueError(f"limits must be one of {', '.join(HOW)}; got {limits!r}.")
    sandbox_memory_mb = memory_mb if sandbox_memory_mb is None else sandbox_memory_mb
    spec = {
        # -I and a path: the launcher runs as the grader, in whatever folder it is started in (nbclient
        # starts it in the notebook's), so nothing there may be importable (autograder/launch.py).
        "argv": [sys.executable, "-I", str(Path(__file__).resolve().parent / "launch.py"), "{connection_file}"],
        "display_name": "nn273 grader (Python 3)",
        "language": "python",
        # Signals would reach the sandbox's wrapper, not the kernel: interrupt with a message.
        "interrupt_mode": "message",
        "env": {
            "NN273_SANDBOX": kind,
            "NN273_SITE": str(Path(site).resolve()),
            "NN273_KERNEL_MEMORY_MB": str(int(memory_mb)),
            "NN273_SANDBOX_MEMORY_MB": str(int(sandbox_memory_mb)),
            "NN273_SANDBOX_PIDS": str(int(pids)),
            "NN273_SANDBOX_LIMITS": limits,
            "NN273_WITHOUT": ",".join(without),
            "MPLBACKEND": "Agg",
            # One thread: kernels run one after another, and torch's thread pool on a busy 2-core
            # machine made an epoch 25 times slower.
            "OMP_NUM_THREADS": "1",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    # A sandboxed grading kernel has a companion for the calls of NumPy exercises: the same kernel
    # with no torch on its file system (autograder/numpy_kernel.py). Unsandboxed, nothing can be
    # hidden, and every call is made in the one kernel.
    numpy_dir = spec_dir.parent / (name + NUMPY_SUFFIX)
    shutil.rmtree(numpy_dir, ignore_errors=True)
    if kind != "none" and not without:
        numpy_dir.mkdir()
        numpy_spec = {**spec, "display_name": "nn273 grader without torch (Python 3)"}
        numpy_spec["env"] = {**spec["env"], "NN273_WITHOUT": ",".join(WITHOUT)}
        (numpy_dir / "kernel.json").write_text(json.dumps(numpy_spec, indent=1))
    path = str(spec_dir.parent.parent)
    current = os.environ.get("JUPYTER_PATH", "")
    if path not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (path, current) if p)
    return name


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
