"""Every rule that costs points is stated where it applies (issue 20): each released notebook opens
with the same grading paragraph, and each exercise whose hidden test calls it with `forbid=` names
each forbidden library in its own instructions (the markdown between the previous graded cell and its
answer cell). The forbidden libraries are read from the hidden tests' code, not listed here."""

import ast
from pathlib import Path

import nbformat
import pytest

from autograder.course import ASSIGNMENTS, COURSE
from autograder.judging.execute import TrustedNotebook

HIDDEN = Path(__file__).resolve().parent.parent / "autograder" / "hidden"
GRADING = (
    "**How this notebook is graded.** Each exercise has a **visible test** that you can run now (1 point) and a "
    "**hidden test** that runs only when your notebook is graded (2 points), on other inputs drawn then. A "
    "question answered by a value (`answer_... = ...`) is checked when graded (1 point); a question answered in "
    "words is graded by hand (1 point). A test cell that raises an error or prints a warning scores zero, so "
    "make your code run silently. An exercise that must be written without a library says so in its "
    "instructions: its hidden test runs your function where that library cannot be imported, and a call to it "
    "scores zero on that test and is shown to your instructor."
)


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return None


def forbidden_libraries(assignment):
    """{function name: {library, ...}}: the graded functions that a hidden test of `assignment` calls
    with `forbid=`, each library named as the test names it (torch, torch.autograd). A test that
    names several graded functions and forbids a library asks it of each of them."""
    functions = set(defined_functions(assignment))
    found = {}
    tree = ast.parse((HIDDEN / f"{ASSIGNMENTS[assignment]}.py").read_text())
    for test in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        libraries, names = set(), set()
        for node in ast.walk(test):
            if isinstance(node, ast.keyword) and node.arg == "forbid" and isinstance(node.value, (ast.List, ast.Tuple)):
                libraries |= {dotted(e) for e in node.value.elts} - {None}
            elif isinstance(node, ast.Name) and node.id in functions:
                names.add(node.id)
        for name in names if libraries else ():
            found.setdefault(name, set()).update(libraries)
    return found


def defined_functions(assignment):
    """{function name: grade_id} of the answer cells of the solution that define a function."""
    out = {}
    for cell in nbformat.read(COURSE.solution_path(assignment), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    out[node.name] = meta["grade_id"]
    return out


def instructions(nb, grade_id):
    """The markdown between the graded cell before the answer cell `grade_id` and that answer cell."""
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    text = []
    for cell in reversed(nb.cells[:at]):
        if cell.metadata.get("nbgrader", {}).get("grade") or cell.metadata.get("nbgrader", {}).get("solution"):
            break
        if cell.cell_type == "markdown":
            text.append(cell.source)
    return "\n".join(reversed(text))


@pytest.mark.parametrize("assignment", COURSE.available())
def test_every_notebook_opens_with_the_grading_paragraph(assignment):
    nb = nbformat.read(COURSE.release_path(assignment), as_version=4)
    opening = [c.source for c in nb.cells[:3] if c.cell_type == "markdown"]
    assert GRADING in opening, f"{assignment}'s released notebook does not open with the grading paragraph"


@pytest.mark.parametrize("assignment", COURSE.available())
def test_every_forbidden_library_is_named_in_its_exercise(assignment):
    nb = nbformat.read(COURSE.release_path(assignment), as_version=4)
    cells = defined_functions(assignment)
    missing = [
        f"{name} ({library})"
        for name, libraries in sorted(forbidden_libraries(assignment).items())
        for library in sorted(libraries)
        if f"`{library}`" not in instructions(nb, cells[name])
    ]
    assert not missing, f"{assignment}: the instructions of these exercises do not name what their hidden test forbids: {missing}"


def test_the_forbidden_libraries_are_read_from_the_hidden_tests():
    assert forbidden_libraries("04_conv")["conv2d_backward"] == {"torch"}
    assert forbidden_libraries("03_backprop")["mlp_loss_and_grads"] == {"torch.autograd"}
    assert forbidden_libraries("01_linear") == {}
    assert TrustedNotebook  # the judged tests take cells from the same solution notebooks
