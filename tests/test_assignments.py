"""Every assignment that has a solution notebook, end to end: its released notebook is what the
release command makes, its tests pass `autograder check`, and a class's submissions grade as they
should. The notebooks' stored outputs are replayed by nbval (pytest collects solutions/)."""

import json

import nbformat
import pytest

from autograder.__main__ import main
from autograder.catalogue import entries
from autograder.course import COURSE
from autograder.release import release
from autograder.check import format_check

pytestmark = pytest.mark.slow

ASSIGNMENTS = COURSE.available()


def _comparable(path):
    nb = nbformat.read(path, as_version=4)
    return json.loads(nbformat.writes(nb))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_is_generated_from_solutions(assignment, tmp_path):
    (fresh,) = release([assignment], release_dir=tmp_path)
    committed = COURSE.release_path(assignment)
    assert committed.is_file(), f"{committed} is missing: run `python -m autograder release {assignment}`"
    assert _comparable(fresh) == _comparable(committed), (
        f"notebooks/{assignment} has drifted from solutions/{assignment}: "
        f"run `python -m autograder release {assignment}` (never edit released notebooks by hand)"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_check(assignment, checked):
    """`autograder check`: made in the background while the suite runs (conftest.py), or here."""
    result = checked(assignment)
    assert result.ok, format_check([result])


def _submit(root, student, nb_or_text, assignment="01_linear"):
    path = root / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    if isinstance(nb_or_text, str):
        path.write_text(nb_or_text)
    else:
        nbformat.write(nb_or_text, path)


def _replace(nb, function, source):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == function:
            cell.source = source
    return nb


@pytest.mark.skipif("01_linear" not in ASSIGNMENTS, reason="01_linear not written yet")
def test_grading_a_class_end_to_end(tmp_path, capsys):
    """A right (but different) answer, a wrong one and a corrupt file, through the command line."""
    solution = nbformat.read(COURSE.solution_path("01_linear"), as_version=4)
    catalogue = entries("01_linear")
    right = next(e for e in catalogue if e.right)
    wrong = next(e for e in catalogue if not e.right)
    subs = tmp_path / "submissions"
    _submit(subs, "ada", _replace(solution, right.function, right.source))
    _submit(subs, "bo", _replace(solution, wrong.function, wrong.source))
    _submit(subs, "cy", nbformat.writes(solution)[:500])
    out = tmp_path / "grades.json"
    argv = ["grade", str(subs), "--json", str(out), "--csv", str(tmp_path / "grades.csv")]
    assert main([*argv, "--workdir", str(tmp_path / "grading")]) == 0
    grades = json.loads(out.read_text())
    ada, bo, cy = (grades[s]["01_linear"] for s in ("ada", "bo", "cy"))
    assert ada["error"] is None and ada["score"] == ada["max_score"] > 0
    assert bo["error"] is None and bo["score"] < bo["max_score"]
    assert bo["cells"][f"hidden_{wrong.function}"]["score"] == 0
    assert cy["score"] is None and "not a readable notebook" in cy["error"]
    printed = capsys.readouterr().out
    assert "1 submission(s) with errors" in printed and "ada" in printed
