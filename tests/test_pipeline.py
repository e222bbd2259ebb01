"""The grading pipeline on a two-function toy course: release, grade (with every kind of broken
submission), report, check and the command line. Seconds, not minutes: the real assignments are
covered by tests/test_assignments.py."""

import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.__main__ import main
from autograder.catalogue import Right, Wrong
from autograder.check import check_assignment, format_check
from autograder.judging.execute import EXECUTED, ReplayExecute
from autograder.grade import grade_submissions
from autograder.release import release
from autograder.report import as_json, format_table, write_csv
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_toy_course(tmp_path_factory.mktemp("toy"))
    release([TOY], course)
    return course


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """One grading run over a class of eight, most of them broken in some way."""
    subs = tmp_path_factory.mktemp("submissions")
    solution = toy_notebook()
    submit(subs, "alice", solution)
    submit(subs, "bob", nbformat.read(course.release_path(TOY), as_version=4))
    submit(subs, "carol", with_cells(solution, double="def double(x):\n    return x\n"))
    submit(subs, "dave", with_cells(solution, square="import os\nos._exit(1)\n"))
    submit(subs, "erin", with_cells(solution, square="def square(x):\n    return np.asarray(x) ** 2\nwhile True:\n    pass\n"))
    # address space 128 MiB at a time until the cap refuses more: the grader sees the kernel's peak
    # reach its cap (one 128 GiB request, refused at once, would leave no trace outside the kernel)
    submit(subs, "frank", with_cells(solution, square="big = [np.empty(2**24) for _ in range(2**10)]\n"))
    corrupt = subs / "gina" / TOY / f"{TOY}.ipynb"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"cells": [')
    misnamed = subs / "hal" / TOY / "Copy of 00_toy.ipynb"
    misnamed.parent.mkdir(parents=True)
    misnamed.write_text("{}")
    # a student who deleted the hidden test cell gets it back, and fails it
    cut = with_cells(solution, double="def double(x):\n    return 2 * x if np.ndim(x) == 0 else x\n")
    cut.cells = [c for c in cut.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "hidden_double"]
    submit(subs, "ivan", cut)
    (subs / "jo" / "99_unknown").mkdir(parents=True)
    # side by side: worker processes grade, this process alone writes the gradebook
    report = grade_submissions(subs, course, workdir=tmp_path_factory.mktemp("work") / "grading", timeout=5, memory_mb=2048, jobs=2)
    return report


def test_release_removes_solutions_and_hidden_tests(course):
    released = nbformat.read(course.release_path(TOY), as_version=4)
    text = "\n".join(c.source for c in released.cells)
    assert "BEGIN SOLUTION" not in text and "2 * np.asarray" not in text
    assert "HIDDEN TESTS" not in text and "assert_allclose" not in text
    assert "raise NotImplementedError()" in text
    assert all(not c.get("outputs") for c in released.cells if c.cell_type == "code")


def test_correct_submission_gets_full_marks(graded):
    alice = graded["alice"][TOY]
    assert (alice.score, alice.max_score, alice.error) == (6.0, 6.0, None)
    assert alice.cells == {
        "test_double": {"score": 1.0, "max_score": 1.0},
        "hidden_double": {"score": 2.0, "max_score": 2.0},
        "test_square": {"score": 1.0, "max_score": 1.0},
        "hidden_square": {"score": 2.0, "max_score": 2.0},
    }


def test_unanswered_and_wrong_answers_lose_points(graded):
    assert graded["bob"][TOY].score == 0.0 and graded["bob"][TOY].error is None
    carol = graded["carol"][TOY]
    assert carol.score == 3.0 and carol.cells["test_double"]["score"] == 0.0


def test_deleted_test_cell_is_restored_and_graded(graded):
    ivan = graded["ivan"][TOY]
    assert ivan.cells["hidden_double"] == {"score": 0.0, "max_score": 2.0}
    assert ivan.score == 4.0


def test_kernel_death_costs_only_its_cell_and_is_named(graded):
    dave = graded["dave"][TOY]  # os._exit in the cell that defines square: double keeps its points
    assert dave.score == 3.0 and dave.max_score == 6.0
    assert "the kernel died in cell 'square'" in dave.error


def test_timeout_names_the_cell_and_keeps_the_other_grades(graded):
    erin = graded["erin"][TOY]
    assert erin.score == 6.0
    assert "cell 'square' ran longer than the 5 s limit" in erin.error


def test_memory_cap_turns_a_memory_bomb_into_an_error_in_one_cell(graded):
    frank = graded["frank"][TOY]
    assert frank.score == 3.0  # double still graded; square never defined
    assert "cell 'square' ran out of memory" in frank.error


def test_corrupt_and_missing_notebooks_are_reported(graded):
    gina, hal = graded["gina"][TOY], graded["hal"][TOY]
    assert gina.score is None and "not a readable notebook" in gina.error
    assert hal.score is None and "missing notebook" in hal.error and "Copy of 00_toy.ipynb" in hal.error
    assert "unknown assignment folder '99_unknown'" in graded["jo"]["99_unknown"].error


def test_reports(graded, tmp_path):
    data = json.loads(json.dumps(as_json(graded)))
    assert set(data["alice"][TOY]) == {
        "score", "max_score", "cells", "error", "flags", "seed", "sandbox", "warning", "manual", "awaiting_manual",
        "notebook_seed", "refused", "not_copied", "changed_elsewhere", "overrides",
    }
    assert data["alice"][TOY]["sandbox"] in ("bwrap", "unshare") and isinstance(data["alice"][TOY]["seed"], int)
    assert data["gina"][TOY]["score"] is None  # not graded: None, never a zero
    write_csv(graded, tmp_path / "grades.csv")
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0] == "student,assignment,score,max_score,awaiting_manual,error" and len(rows) == 1 + 11
    table = format_table(graded)
    assert "alice" in table and "--/6" in table


def test_grade_refuses_a_workdir_it_did_not_make(course, tmp_path):
    subs = tmp_path / "subs"
    submit(subs, "alice", toy_notebook())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="did not make"):
        grade_submissions(subs, course, workdir=tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_grade_rejects_a_missing_submissions_folder(course, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        grade_submissions(tmp_path / "nowhere", course, workdir=tmp_path / "w")


def test_check_reports_stub_solution_and_catalogue(course):
    entries = [
        Wrong("double", "identity", "def double(x):\n    return x\n"),
        Wrong("double", "adds one", "def double(x):\n    return np.asarray(x) + 2\n"),
        Wrong("square", "abs", "def square(x):\n    return np.abs(x)\n"),
        Wrong("square", "cube", "def square(x):\n    return np.asarray(x) ** 3\n"),
        Right("square", "product", "def square(x):\n    x = np.asarray(x)\n    return x * x\n"),
    ]
    result = check_assignment(TOY, course, entries=entries, timeout=10)
    assert result.ok, format_check([result])
    assert (result.stub_score, result.solution_score, result.max_score) == (0.0, 6.0, 6.0)
    assert result.counts(right=False) == (4, 4) and result.counts(right=True) == (1, 1)


def test_check_catches_a_test_that_cannot_fail(course):
    entries = [
        Wrong("double", "correct, yet filed as wrong", "def double(x):\n    return 2 * np.asarray(x)\n"),
        Wrong("double", "identity", "def double(x):\n    return x\n"),
        Right("square", "cube, filed as right", "def square(x):\n    return np.asarray(x) ** 3\n"),
    ]
    result = check_assignment(TOY, course, entries=entries, timeout=10)
    assert not result.ok
    text = format_check([result])
    assert "wrong double (correct, yet filed as wrong): the hidden test passes it" in text
    assert "right square (cube, filed as right)" in text
    assert "1 wrong implementation(s) of square" not in text and "0 wrong implementation(s) of square" in text


def test_cli_rejects_unknown_assignments(capsys):
    assert main(["check", "99_nothing"]) == 2
    assert "unknown assignment 99_nothing" in capsys.readouterr().err


def test_cli_refuses_report_paths_it_could_not_write_before_grading(tmp_path, capsys):
    subs = tmp_path / "subs"
    submit(subs, "alice", toy_notebook())
    for json_path, said in [
        (tmp_path / "missing" / "grades.json", "does not exist"),
        (tmp_path, "it is a folder"),
        (subs / "grades.json", "inside SUBMISSIONS"),
    ]:
        assert main(["grade", str(subs), "--json", str(json_path), "--workdir", str(tmp_path / "work")]) == 2
        assert said in capsys.readouterr().err
    assert not (tmp_path / "work").exists()  # refused before anything was graded


def test_feedback_is_written_per_student(course, tmp_path):
    subs = tmp_path / "subs"
    submit(subs, "alice", toy_notebook())
    submit(subs, "bob", with_cells(toy_notebook(), double="def double(x):\n    return x\n"))
    report = grade_submissions(subs, course, workdir=tmp_path / "work", feedback=True, jobs=2)
    assert report["alice"][TOY].error is None and report["bob"][TOY].score == 3.0
    html = (tmp_path / "work" / "feedback" / "alice" / TOY / f"{TOY}.html").read_text()
    assert "6.0" in html and "hidden_double" in html
    assert "3.0" in (tmp_path / "work" / "feedback" / "bob" / TOY / f"{TOY}.html").read_text()
    # the one writer recorded both in the course's gradebook; the workers' folders are gone
    with Gradebook(f"sqlite:///{tmp_path / 'work' / 'gradebook.db'}") as gb:
        recorded = {s: gb.find_submission(TOY, s).score for s in ("alice", "bob")}
    assert recorded == {"alice": 6.0, "bob": 3.0}
    assert not any((tmp_path / "work" / "scratch").iterdir())


def test_one_job_grades_as_two_do(course, graded, tmp_path):
    """Graded one after another in this process, the class gets the grades it got side by side."""
    subs = tmp_path / "subs"
    solution = toy_notebook()
    submit(subs, "alice", solution)
    submit(subs, "carol", with_cells(solution, double="def double(x):\n    return x\n"))
    submit(subs, "dave", with_cells(solution, square="import os\nos._exit(1)\n"))
    report = grade_submissions(subs, course, workdir=tmp_path / "one", timeout=5, memory_mb=2048, jobs=1)
    for student in report:
        one, two = report[student][TOY], graded[student][TOY]
        assert (one.score, one.cells, one.error is None) == (two.score, two.cells, two.error is None), student


def test_the_writer_records_only_the_notebook_that_was_submitted():
    solution = toy_notebook()
    altered = with_cells(solution, double="def double(x):\n    return 2 * x  # full marks, graded elsewhere\n")
    EXECUTED[("mallory", TOY, TOY)] = altered
    try:
        with pytest.raises(RuntimeError, match="is not the one submitted"):
            ReplayExecute().preprocess(solution, {"nbgrader": {"student": "mallory", "assignment": TOY, "notebook": TOY}})
    finally:
        EXECUTED.clear()


def test_a_library_the_exercise_forbids_is_flagged_with_its_evidence(tmp_path):
    """A hidden test that asks for an exercise without a library (here: json) fails a submission
    that uses it, and the report carries a flag for the instructor: the call the kernel saw and the
    line of the submitted source."""
    course = make_toy_course(tmp_path / "course")
    nb = nbformat.read(course.solution_path(TOY), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "hidden_double":
            cell.source = (
                "### BEGIN HIDDEN TESTS\nimport json\nfrom autograder.hidden.harness import Harness\n"
                "got = Harness().call(double, np.arange(3.0), forbid=[json])\n"
                "np.testing.assert_allclose(np.asarray(got, dtype=float), [0.0, 2.0, 4.0])\n### END HIDDEN TESTS\n"
            )
    nbformat.write(nb, course.solution_path(TOY))
    release([TOY], course)
    subs = tmp_path / "submissions"
    submit(subs, "honest", nb)
    uses_json = "def double(x):\n    import json\n    return np.asarray(json.loads(json.dumps((2 * np.asarray(x, dtype=float)).tolist())))\n"
    submit(subs, "lib", with_cells(nb, double=uses_json))
    report = grade_submissions(subs, course, workdir=tmp_path / "grading", timeout=10)
    honest, lib = report["honest"][TOY], report["lib"][TOY]
    assert (honest.score, honest.flags) == (6.0, [])
    assert lib.cells["hidden_double"]["score"] == 0.0 and lib.cells["test_double"]["score"] == 1.0
    evidence = " | ".join(f["evidence"] for f in lib.flags)
    assert {f["cell"] for f in lib.flags} == {"hidden_double"} and {f["function"] for f in lib.flags} == {"double"}
    assert "while the test ran, the code called" in evidence and "json" in evidence, evidence
    assert "the submitted code of double uses line 2: import json" in evidence, evidence
