"""A two-function course built in a temporary folder, for testing the grading pipeline in seconds.

`00_toy` has `double(x)` and `square(x)`, each with a visible test (1 point) and a hidden test
(2 points), laid out as docs/authoring.md says; with `questions=True`, also a question answered by a
number (`answer_count`, hidden test 1 point) and one answered in words (`question_why`, 1 point
graded by hand).
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course import Course

TOY = "00_toy"

SOLUTIONS = {
    "double": "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * np.asarray(x)\n    ### END SOLUTION\n",
    "square": "def square(x):\n    ### BEGIN SOLUTION\n    return np.asarray(x) ** 2\n    ### END SOLUTION\n",
}
VISIBLE = {
    "double": 'assert np.asarray(double(2), dtype=float) == 4, "double(2) should be 4"\n',
    "square": 'assert np.asarray(square(3), dtype=float) == 9, "square(3) should be 9"\n',
}
HIDDEN = {
    "double": "np.testing.assert_allclose(np.asarray(double(np.arange(5.0)), dtype=float), 2 * np.arange(5.0))\n",
    "square": "np.testing.assert_allclose(np.asarray(square(-np.arange(5.0)), dtype=float), np.arange(5.0) ** 2)\n",
}


def _meta(grade_id, solution=False, grade=False, points=None):
    meta = {"schema_version": 3, "grade_id": grade_id, "solution": solution, "grade": grade, "locked": not solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


QUESTIONS = [
    new_markdown_cell("How many functions does this notebook grade? Assign `answer_count` a whole number."),
    new_code_cell("### BEGIN SOLUTION\nanswer_count = 2\n### END SOLUTION\n", metadata=_meta("answer_count", solution=True)),
    new_code_cell(
        "# Your answer is checked when your notebook is graded.\n### BEGIN HIDDEN TESTS\n"
        "from autograder.hidden.harness import Harness\n"
        'Harness().number(answer_count, 2, "how many functions this notebook grades")\n### END HIDDEN TESTS\n',
        metadata=_meta("hidden_answer_count", grade=True, points=1),
    ),
    new_markdown_cell("Why is squaring not linear? Answer in a sentence."),
    new_markdown_cell(
        "Because (a + b)² = a² + 2ab + b², not a² + b².",
        metadata=_meta("question_why", solution=True, grade=True, points=1),
    ),
]


def toy_notebook(questions=False):
    cells = [
        new_markdown_cell("# A toy assignment"),
        new_code_cell("import numpy as np", metadata=_meta("imports")),
    ]
    for name in SOLUTIONS:
        cells.append(new_code_cell(SOLUTIONS[name], metadata=_meta(name, solution=True)))
        cells.append(new_code_cell(VISIBLE[name], metadata=_meta(f"test_{name}", grade=True, points=1)))
        hidden = f"# Hidden tests of {name}\n### BEGIN HIDDEN TESTS\n{HIDDEN[name]}### END HIDDEN TESTS\n"
        cells.append(new_code_cell(hidden, metadata=_meta(f"hidden_{name}", grade=True, points=2)))
    if questions:
        cells.extend(nbformat.from_dict(cell) for cell in QUESTIONS)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_toy_course(root, questions=False):
    """Write solutions/00_toy/00_toy.ipynb under root; returns its Course."""
    course = Course(solutions=root / "solutions", release=root / "notebooks")
    path = course.solution_path(TOY)
    path.parent.mkdir(parents=True)
    nbformat.write(toy_notebook(questions), path)
    return course


def with_cells(nb, **sources):
    """A copy of nb with the cells of the given grade_ids given new sources."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return nb


def submit(submissions, student, nb, assignment=TOY):
    path = submissions / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def with_new_cell(nb, after, source):
    """A copy of nb with a code cell of the student's own (no nbgrader metadata, a story cell)
    right after the cell whose grade_id is `after`."""
    nb = nbformat.from_dict(nb)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after)
    nb.cells.insert(index + 1, new_code_cell(source))
    return nb
