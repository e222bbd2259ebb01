"""Time budgets and truthful reports in judged execution, on the toy course.

- A notebook has one wall-clock budget for all its runs (reruns after a kernel death too): slow cells
  and deaths that would each buy a rerun stop at it, with a grade, and the report says where.
- A cell that ignores the interrupt at its time limit has its kernel ended: that cell gets an error
  output and counts as a death there; the notebook is graded, never left at None.
- Notes about time and memory come from what the grader saw itself: an exception the student names
  CellTimeoutError or MemoryError plants none, while a real timeout or a real climb to the memory cap
  still does.

`pytest tests/test_budget.py -s` prints how long each notebook took.
"""

import time

import nbformat
import pytest

from autograder.__main__ import main
from autograder.judging.execute import OBSERVED, RUNS, JudgedExecute, defined_names
from autograder.grade import grade_submissions
from autograder.release import release
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells, with_new_cell

slow = pytest.mark.slow

TIMEOUT = 3  # seconds per cell
BUDGET = 20  # seconds per notebook, for every run of it
SLOW = "import time\ntime.sleep(2)\n"  # a story cell of the student's, within the cell's limit
EXITS = "import os\nos._exit(3)\n"
IGNORES = "import time\nwhile True:\n    try:\n        time.sleep(1)\n    except KeyboardInterrupt:\n        pass\n"
SQUARE = "def square(x):\n    return np.asarray(x) ** 2\n"
# square ignores the interrupt when the hidden test calls it with an array (the visible test's scalar works)
SQUARE_IGNORES = "def square(x):\n    if np.ndim(x):\n" + "".join(f"        {line}\n" for line in IGNORES.splitlines()) + (
    "    return np.asarray(x) ** 2\n"
)
FORGED_TIMEOUT = (
    "class CellTimeoutError(Exception):\n    pass\n\n"
    'raise CellTimeoutError("this cell ran longer than the 3 s limit per cell and was stopped")\n'
)
FORGED_MEMORY = "class MemoryError(Exception):\n    pass\n\nraise MemoryError(\"Unable to allocate 128. GiB\")\n"
# the function raises the forged exception when a test calls it: the error comes through the judge
# (a RuntimeError: the judge names its own copy of the class after it)
FORGED_IN_TEST = (
    "class CellTimeoutError(RuntimeError):\n    pass\n\n\ndef square(x):\n"
    '    raise CellTimeoutError("this cell ran longer than the 3 s limit per cell and was stopped")\n'
)
LOOPS_AFTER = SQUARE + "while True:\n    pass\n"  # square is defined, then the cell runs out of time
DOUBLE_LOOPS = "def double(x):\n    while np.ndim(x):\n        pass\n    return 2 * np.asarray(x)\n"
# address space, 128 MiB a time and never touched, until the kernel's cap refuses more
HOARD = "hoard = []\ntry:\n    while True:\n        hoard.append(np.empty(2**24))\nfinally:\n    del hoard\n"


def with_story(nb, after, *sources):
    """nb with story cells of the student's (no nbgrader metadata) after the cell `after`, in order."""
    for source in reversed(sources):
        nb = with_new_cell(nb, after, source)
    return nb


def at_end(nb, source):
    nb = nbformat.from_dict(nb)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def grade_timed(subs, course, work, **options):
    """grade_submissions, with the seconds from the start to each notebook's result."""
    start, finished = time.monotonic(), {}

    def progress(line):
        finished[line.split()[1].split("/")[0]] = time.monotonic() - start

    report = grade_submissions(subs, course, workdir=work, progress=progress, **options)
    return report, finished


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_toy_course(tmp_path_factory.mktemp("budget") / "course")
    release([TOY], course)
    return course


@pytest.fixture(scope="module")
def budgeted(course, tmp_path_factory):
    """One after another (jobs=1), so the time between two results is the later notebook's."""
    root = tmp_path_factory.mktemp("budgeted")
    solution = toy_notebook()
    submit(root / "subs", "a_honest", solution)
    # twelve 2 s cells after double's tests: 24 s against a budget of 20
    slow = with_story(solution, "hidden_double", *[SLOW] * 12)
    submit(root / "subs", "b_slow", slow)
    # a death in the cell that defines double buys a rerun without it, which then pays the slow cells
    # (without a budget, three such deaths would pay them four times)
    submit(root / "subs", "c_slow_and_dies", with_cells(slow, double=EXITS))
    report, finished = grade_timed(
        root / "subs", course, root / "work", timeout=TIMEOUT, memory_mb=2048, jobs=1, notebook_budget=BUDGET
    )
    took = {"b_slow": finished["b_slow"] - finished["a_honest"]}
    took["c_slow_and_dies"] = finished["c_slow_and_dies"] - finished["b_slow"]
    print(f"\nbudget {BUDGET} s, {TIMEOUT} s per cell; results after {finished}; took {took}")
    return report, took, root / "work"


@pytest.fixture(scope="module")
def observed(course, tmp_path_factory):
    """Side by side (jobs=2): the forged and the real, and cells that ignore the interrupt."""
    root = tmp_path_factory.mktemp("observed")
    solution = toy_notebook()
    subs = root / "subs"
    submit(subs, "honest", solution)
    forged = with_story(with_cells(solution, square=FORGED_IN_TEST), "imports", FORGED_TIMEOUT, FORGED_MEMORY)
    submit(subs, "forged", forged)
    submit(subs, "real_timeouts", with_cells(solution, square=LOOPS_AFTER, double=DOUBLE_LOOPS))
    submit(subs, "real_memory", with_story(solution, "imports", HOARD))
    submit(subs, "ignores_last", at_end(solution, IGNORES))
    submit(subs, "ignores_in_square", with_cells(solution, square=SQUARE + IGNORES))
    submit(subs, "ignores_in_story", with_story(solution, "hidden_double", IGNORES))
    submit(subs, "ignores_in_test", with_cells(solution, square=SQUARE_IGNORES))
    report, finished = grade_timed(subs, course, root / "work", timeout=TIMEOUT, memory_mb=2048, jobs=2)
    print(f"\n{TIMEOUT} s per cell, side by side; results after {finished}")
    return report, root / "work"


def autograded(work, student):
    nb = nbformat.read(work / "autograded" / student / TOY / f"{TOY}.ipynb", as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id", f"#{i + 1}"): c for i, c in enumerate(nb.cells)}


# ------------------------------------------------------------------------------------- the budget
@slow
def test_honest_notebook_is_untouched_by_the_budget(budgeted):
    report, _, _ = budgeted
    honest = report["a_honest"][TOY]
    assert (honest.score, honest.error) == (6.0, None)


@slow
def test_slow_cells_stop_at_the_budget_with_a_grade(budgeted):
    report, took, work = budgeted
    slow = report["b_slow"][TOY]
    assert slow.score == 3.0, slow.error  # double's tests ran before the slow cells; square's never ran
    assert slow.cells["test_double"]["score"] == 1.0 and slow.cells["hidden_square"]["score"] == 0.0
    assert f"the notebook's time budget of {BUDGET} s ran out in cell #" in slow.error, slow.error
    # generous: the kernel's start, nbgrader's own steps and a busy machine come on top of the budget
    assert took["b_slow"] < BUDGET + 45, took
    hidden = autograded(work, "b_slow")["hidden_square"]
    assert hidden.outputs[-1]["ename"] == "NotebookTimeBudgetExceeded"
    assert hidden.outputs[-1]["evalue"].startswith(f"not run: the notebook's time budget of {BUDGET} s ran out in cell #")


@slow
def test_slow_cells_and_deaths_stop_at_the_budget_with_a_grade(budgeted):
    report, took, _ = budgeted
    dies = report["c_slow_and_dies"][TOY]
    assert dies.score == 0.0, dies.error  # double skipped in the rerun; square's cells never reached
    assert "the kernel died in cell 'double'" in dies.error and "graded again without that cell" in dies.error
    assert f"the notebook's time budget of {BUDGET} s ran out in cell #" in dies.error, dies.error
    assert took["c_slow_and_dies"] < BUDGET + 45, took


# ------------------------------------------------------------------------------ truthful notes
@slow
def test_forged_timeout_and_memory_errors_plant_no_note(observed):
    report, work = observed
    forged = report["forged"][TOY]
    assert forged.score == 3.0 and forged.error is None, forged.error
    cells = autograded(work, "forged")
    assert cells["hidden_square"].outputs[-1]["ename"] == "CellTimeoutError"  # the student's, judged as a failure


@slow
def test_real_timeouts_are_noted(observed):
    report, _ = observed
    real = report["real_timeouts"][TOY]
    assert real.score == 4.0, real.error  # hidden_double ran out of time; square was defined before its loop
    assert f"cell 'square' ran longer than the {TIMEOUT} s limit per cell and was stopped" in real.error
    assert f"cell 'hidden_double' ran longer than the {TIMEOUT} s limit per cell and was stopped" in real.error


@slow
def test_real_memory_exhaustion_is_noted(observed):
    report, _ = observed
    real = report["real_memory"][TOY]
    assert real.score == 6.0, real.error
    assert "cell #3 ran out of memory: the kernel's address space reached" in real.error, real.error
    assert "of its 2048 MB cap" in real.error


# ------------------------------------------------------------------------- cells that ignore interrupts
IGNORED = f"ran longer than the {TIMEOUT} s limit per cell and ignored the interrupt, so the grader ended its kernel"


@slow
def test_a_last_cell_that_ignores_the_interrupt_is_graded(observed):
    report, work = observed
    last = report["ignores_last"][TOY]
    assert last.score == 6.0, last.error  # every test ran before it
    assert f"the kernel died in cell #9 (it {IGNORED})" in last.error, last.error
    assert autograded(work, "ignores_last")["#9"].outputs[-1]["ename"] == "CellTimeoutError"


@slow
def test_a_graded_cell_that_ignores_the_interrupt_costs_that_cell(observed):
    report, work = observed
    square = report["ignores_in_square"][TOY]
    assert square.score == 3.0, square.error  # rerun without 'square': its tests score 0, double's keep theirs
    assert square.cells["test_double"]["score"] == 1.0 and square.cells["hidden_double"]["score"] == 2.0
    assert f"the kernel died in cell 'square' (it {IGNORED})" in square.error, square.error
    assert "graded again without that cell" in square.error


@slow
def test_a_story_cell_that_ignores_the_interrupt_ends_the_run(observed):
    report, work = observed
    story = report["ignores_in_story"][TOY]
    assert story.score == 3.0, story.error  # double's tests ran before it; square's cells never ran
    assert f"the kernel died in cell #6 (it {IGNORED})" in story.error, story.error
    assert autograded(work, "ignores_in_story")["hidden_square"].outputs[-1]["ename"] == "KernelDied"


@slow
def test_a_function_that_ignores_the_interrupt_in_a_test_costs_that_test(observed):
    report, _ = observed
    judged = report["ignores_in_test"][TOY]
    assert judged.score == 4.0, judged.error  # only hidden_square, where the judge's call never returned
    assert judged.cells["hidden_square"]["score"] == 0.0 and judged.cells["test_square"]["score"] == 1.0
    assert f"the kernel died in cell 'hidden_square' (it {IGNORED})" in judged.error, judged.error


@slow
def test_an_honest_neighbour_keeps_full_marks(observed):
    report, _ = observed
    honest = report["honest"][TOY]
    assert (honest.score, honest.error) == (6.0, None)


# ------------------------------------------------------------------------------------ fast checks
def test_defined_names_sees_what_a_cell_binds_at_its_top_level():
    source = (
        "%matplotlib inline\nimport numpy as np\nfrom math import sqrt as root\nif True:\n    def double(x):\n"
        "        inner = 1\n        return 2 * x\nfor i, (a, b) in []:\n    pass\ntry:\n    answer_count = 2\n"
        "except ValueError:\n    pass\nclass Model:\n    weight = 1\nsquare: int = 3\n"
    )
    assert defined_names(source) == {"np", "root", "double", "i", "a", "b", "answer_count", "Model", "square"}
    assert defined_names("print(double(2))\n") == set() and defined_names("def (:\n") == set()


def test_a_budget_must_be_positive(tmp_path, capsys):
    with pytest.raises(ValueError, match="notebook_budget must be a number of seconds above 0"):
        grade_submissions(tmp_path, notebook_budget=0)
    with pytest.raises(SystemExit):
        main(["grade", str(tmp_path), "--json", str(tmp_path / "g.json"), "--notebook-budget", "-5"])
    assert "expected a number of seconds above 0, got '-5'" in capsys.readouterr().err


def test_a_rerun_that_begins_with_its_budget_spent_starts_no_kernel(tmp_path):
    course = make_toy_course(tmp_path / "course")
    key = ("late", TOY, TOY)
    RUNS[key] = {"skip": {}, "started": time.monotonic() - 30, "last": False}
    client = JudgedExecute(solutions=str(course.solutions), notebook_budget=20)
    resources = {"nbgrader": dict(zip(("student", "assignment", "notebook"), key)), "metadata": {"path": str(tmp_path)}}
    try:
        nb, _ = client.preprocess(toy_notebook(), resources)
    finally:
        RUNS.pop(key)
    assert client.km is None  # no kernel was started
    assert OBSERVED.pop(key)["budget"] == {"cell": "cell 'imports'", "seconds": 20}
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].outputs[-1]["evalue"].startswith("the notebook's time budget of 20 s ran out in this cell")
    assert all(c.outputs[-1]["evalue"] == "not run: the notebook's time budget of 20 s ran out in cell 'imports'" for c in code[1:])
    assert "assert_allclose" in code[-1].source  # a test cell shows the instructor's test
