"""A dead kernel costs only its cell when that cell matters: a submission whose kernel dies (os._exit,
a segfault, a SIGKILL as the system sends for memory) in a graded cell, or one that defines a graded
function, is graded again without that cell; every other cell keeps its points, and the report names
the cell and why it died. A death in a student's own cell of the story buys no rerun: the run ends
there, and the notebook is graded as it stands."""

import nbformat
import pytest

from autograder.judging.execute import why_it_died
from autograder.grade import grade_submissions
from autograder.release import release
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells, with_new_cell

pytestmark = pytest.mark.slow

EXITS = "import os\nos._exit(3)\n"  # in the solution cell of square: square never defined
# a segfault when the hidden test calls it with an array (the visible test's scalar works)
CRASHES = "def double(x):\n    if np.ndim(x):\n        import ctypes\n        ctypes.string_at(0)\n    return 2 * np.asarray(x)\n"
KILLED = "import os\nimport signal\nos.kill(os.getpid(), signal.SIGKILL)\n"  # a story cell of the student's


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("dead")
    course = make_toy_course(root / "course")
    release([TOY], course)
    subs = root / "subs"
    solution = toy_notebook()
    submit(subs, "exits", with_cells(solution, square=EXITS))
    submit(subs, "crashes", with_cells(solution, double=CRASHES))
    submit(subs, "killed", with_new_cell(solution, "imports", KILLED))
    work = root / "work"
    # one after another (tests/test_pipeline.py's dave dies in a worker, and the one writer records it)
    report = grade_submissions(subs, course, workdir=work, timeout=10, memory_mb=2048, jobs=1)
    return report, work


def autograded_cells(work, student):
    nb = nbformat.read(work / "autograded" / student / TOY / f"{TOY}.ipynb", as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id", f"#{i + 1}"): c for i, c in enumerate(nb.cells)}


def test_os_exit_in_a_solution_cell_costs_that_function_only(graded):
    report, work = graded
    exits = report["exits"][TOY]
    assert exits.score == 3.0, exits.error
    assert exits.cells["test_double"]["score"] == 1.0 and exits.cells["hidden_double"]["score"] == 2.0
    assert exits.cells["test_square"]["score"] == 0.0 and exits.cells["hidden_square"]["score"] == 0.0
    assert "the kernel died in cell 'square' (the kernel's process exited with status 3" in exits.error, exits.error
    square = autograded_cells(work, "exits")["square"]
    assert square.outputs[0]["evalue"].startswith("skipped: in the first run this cell killed the kernel: ")


def test_a_segfault_in_a_hidden_test_costs_that_test_only(graded):
    report, work = graded
    crashes = report["crashes"][TOY]
    assert crashes.score == 4.0, crashes.error
    assert crashes.cells["test_double"]["score"] == 1.0 and crashes.cells["hidden_double"]["score"] == 0.0
    assert crashes.cells["test_square"]["score"] == 1.0 and crashes.cells["hidden_square"]["score"] == 2.0
    assert "the kernel died in cell 'hidden_double' (the kernel crashed with signal 11 (SIGSEGV" in crashes.error
    hidden = autograded_cells(work, "crashes")["hidden_double"]
    assert "assert_allclose" in hidden.source  # the instructor's test, restored, not run
    assert hidden.outputs[0]["ename"] == "KernelDied"


def test_a_killed_kernel_in_a_story_cell_ends_the_run_there(graded):
    """A SIGKILL in a student's own story cell (right after the imports) is no longer rerun without
    that cell: a rerun is for a cell that matters (graded, or defining a graded function), else every
    story cell that dies would buy the submission another run of the notebook (slow cells and three
    deaths took minutes). The run ends at the cell: it and every later cell did not run, so here every
    test scores 0; the notebook is still graded (a score, not None), and the report says why."""
    report, work = graded
    killed = report["killed"][TOY]
    assert killed.score == 0.0, killed.error
    assert all(cell["score"] == 0.0 for cell in killed.cells.values()), killed.cells
    assert "the kernel died in cell #3 (the kernel was killed by signal 9 (SIGKILL)" in killed.error, killed.error
    assert "no rerun followed" in killed.error and "graded again" not in killed.error, killed.error
    cells = autograded_cells(work, "killed")
    assert "SIGKILL" in cells["#3"].outputs[-1]["evalue"]
    hidden = cells["hidden_square"]  # a later test: not run, with an error output that says why
    assert hidden.outputs[-1]["ename"] == "KernelDied"
    assert hidden.outputs[-1]["evalue"].startswith("not run: the kernel died in cell #3 ("), hidden.outputs[-1]["evalue"]


def test_why_it_died_reads_the_exit_status():
    assert why_it_died(3, sandboxed=True).startswith("the kernel's process exited with status 3")
    assert "signal 11 (SIGSEGV" in why_it_died(139, sandboxed=True) == why_it_died(-11, sandboxed=False)
    assert "signal 9 (SIGKILL)" in why_it_died(137, sandboxed=True)
    assert why_it_died(137, sandboxed=False).startswith("the kernel's process exited with status 137")
    assert why_it_died(None, sandboxed=True) == "the kernel stopped answering"
