"""One batch of 01_linear submissions graded by every path an instructor can reach (issue 18): an
honest one, a cheat that patches numpy in its first answer cell, a probe that tries to read the
course's answers and hidden tests, a half-done one and a broken one (not a notebook).

`write_batch(folder)` lays them out as <student>/01_linear/01_linear.ipynb; `PROBE_MARK` starts each
line the probe prints, so a test can read what it got from the autograded notebook.
"""

import nbformat

from autograder.course import ANSWER_PREFIX, COURSE, ROOT
from hostile import return_zero, strip_story, with_answers

ASSIGNMENT = "01_linear"
PROBE_MARK = "PROBE"
PROBE = f'''\
# Try to read the course's answers and hidden tests, and look around.
import os
for path in ({str(COURSE.solution_path(ASSIGNMENT))!r}, {str(ROOT / "autograder" / "hidden" / "linear.py")!r}):
    try:
        with open(path) as f:
            print("{PROBE_MARK} READ", path, len(f.read()))
    except OSError as exc:
        print("{PROBE_MARK} NOT READ", path, type(exc).__name__)
try:
    with open(os.path.join("..", "..", "probe-was-here.txt"), "w") as f:
        f.write("escaped")
    print("{PROBE_MARK} WROTE outside its folder")
except OSError as exc:
    print("{PROBE_MARK} NOT WRITTEN", type(exc).__name__)
try:
    print("{PROBE_MARK} LISTED", sorted(os.listdir(os.path.join("..", ".."))))
except OSError as exc:
    print("{PROBE_MARK} NOT LISTED", type(exc).__name__)
'''
PATCH = "np.allclose = lambda *args, **kwargs: True\nnp.testing.assert_allclose = lambda *args, **kwargs: None\n"


def _answers(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def honest():
    """The solution's answers; the story cells left out (tests/hostile.py) to keep grading fast."""
    return strip_story(nbformat.read(COURSE.solution_path(ASSIGNMENT), as_version=4))


def released():
    return strip_story(nbformat.read(COURSE.release_path(ASSIGNMENT), as_version=4))


def cheat():
    """Every function answered `return 0`, and numpy's comparisons patched in the first answer: on
    nbgrader's plain path (tests in the student's kernel) that passes a visible test."""
    nb = with_answers(released(), return_zero)
    first = _answers(nb)[0]
    first.source = PATCH + first.source
    return nb


def probe():
    """Honest answers, and a cell after the imports that tries to read what it must not."""
    nb = honest()
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code") + 1
    nb.cells.insert(at, nbformat.v4.new_code_cell(PROBE))
    return nb


def half_done():
    """The first half of the functions answered, the rest left as released."""
    nb, stubs = honest(), {c.metadata["nbgrader"]["grade_id"]: c.source for c in _answers(released())}
    functions = [c for c in _answers(nb) if not c.metadata["nbgrader"]["grade_id"].startswith(ANSWER_PREFIX)]
    for cell in functions[len(functions) // 2:]:
        cell.source = stubs[cell.metadata["nbgrader"]["grade_id"]]
    return nb


BATCH = {"honest": honest, "cheat": cheat, "probe": probe, "half": half_done}


def write_batch(folder):
    """The batch in `folder`/<student>/01_linear/01_linear.ipynb; the student 'broken' sent no notebook."""
    for student, build in BATCH.items():
        target = folder / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(build(), target / f"{ASSIGNMENT}.ipynb")
    broken = folder / "broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [ this is not JSON')
    return sorted([*BATCH, "broken"])


ONES_LAST = "def add_constant_feature(X):\n    return np.hstack([X, np.ones((X.shape[0], 1))])\n"
ONES_LAST_DIAGNOSIS = "your column of ones comes last"  # autograder/catalogue/linear.py's explanation


def diagnosed():
    """Honest answers but one known mistake, which the hidden tests diagnose: ones as the last column."""
    nb = honest()
    cell = next(c for c in _answers(nb) if "def add_constant_feature" in c.source)
    cell.source = ONES_LAST
    return nb


def hidden_lines():
    """The lines of the solution's hidden tests (8 characters or more): no page may show one."""
    lines, inside = set(), False
    for cell in nbformat.read(COURSE.solution_path(ASSIGNMENT), as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif inside and len(line.strip()) >= 8:
                lines.add(line.strip())
    return lines
