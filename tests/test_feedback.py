"""Feedback pages (autograder/feedback.py): every cell's score, each failure's case with expected
against received, the diagnosis of a known mistake, and nothing of the hidden tests, the oracles or
the catalogue.

The course is a toy one of a single function, 01_linear's `add_constant_feature`, whose hidden cell
calls 01_linear's real hidden test: so a submission with a catalogued mistake is graded and
diagnosed as a real one would be, in seconds.
"""

import ast
import html
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import autograder.hidden.linear
from autograder.catalogue import linear as catalogue
from autograder.course import Course
from autograder.feedback import feedback_facts, write_feedback
from autograder.grade import NotebookGrade, grade_submissions
from toycourse import submit

pytestmark = pytest.mark.slow

TOY = "00_diag"
MISTAKE = next(
    e for e in catalogue.ENTRIES if e.description == "column of ones last instead of first"
)
SOLUTION = (
    "def add_constant_feature(X):\n    ### BEGIN SOLUTION\n"
    "    return np.hstack([np.ones((len(X), 1)), X])\n    ### END SOLUTION\n"
)
VISIBLE = 'assert np.allclose(np.asarray(add_constant_feature(np.zeros((2, 1))))[:, 0], 1), "column 0 must be ones"\n'
HIDDEN = (
    "# Hidden tests of add_constant_feature run when your notebook is graded.\n"
    "### BEGIN HIDDEN TESTS\n"
    "from autograder.hidden import linear as hidden\n"
    "hidden.test_add_constant_feature(add_constant_feature)\n"
    "### END HIDDEN TESTS\n"
)


def _meta(grade_id, solution=False, grade=False, points=None):
    meta = {
        "schema_version": 3,
        "grade_id": grade_id,
        "solution": solution,
        "grade": grade,
        "locked": not solution,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _notebook(function=SOLUTION):
    nb = new_notebook(
        cells=[
            new_markdown_cell("# The constant feature"),
            new_code_cell("import numpy as np", metadata=_meta("imports")),
            new_code_cell(function, metadata=_meta("add_constant_feature", solution=True)),
            new_code_cell(
                VISIBLE, metadata=_meta("test_add_constant_feature", grade=True, points=1)
            ),
            new_code_cell(
                HIDDEN, metadata=_meta("hidden_add_constant_feature", grade=True, points=2)
            ),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("diag")
    course = Course(solutions=root / "solutions", release=root / "notebooks")
    course.solution_path(TOY).parent.mkdir(parents=True)
    nbformat.write(_notebook(), course.solution_path(TOY))
    subs = root / "subs"
    submit(subs, "alice", _notebook(MISTAKE.source), TOY)
    crash = "def add_constant_feature(X):\n    raise ValueError('not yet: ' + str(len(X)))\n"
    submit(subs, "bob", _notebook(crash), TOY)
    work = root / "work"
    report = grade_submissions(subs, course, workdir=work, feedback=True, timeout=20, jobs=1)
    pages = {
        student: (
            (work / "feedback" / student / TOY / f"{TOY}.html").read_text(),
            (work / "feedback" / student / TOY / f"{TOY}.txt").read_text(),
        )
        for student in ("alice", "bob")
    }
    return report, pages


def test_a_known_mistake_is_named_on_the_page(graded):
    report, pages = graded
    assert report["alice"][TOY].score == 0.0
    page, text = pages["alice"]
    assert f"Diagnosis: {MISTAKE.explain}" in text
    assert f"<strong>Diagnosis:</strong> {html.escape(MISTAKE.explain)}" in page
    # the case and the first wrong value, expected against received
    case = re.search(
        r"add_constant_feature\(X\) for X = .* is wrong at index \(0, 0\): expected 1, received \S+",
        text,
    )
    assert case, text
    assert html.escape(case.group(0)) in page
    assert "AssertionError: column 0 must be ones" in text


def test_the_plain_text_page_has_the_facts_of_the_html_one(graded):
    report, pages = graded
    for student, (page, text) in pages.items():
        grade = report[student][TOY]
        assert f"Score: {grade.score} / {grade.max_score}" in text
        assert f"Score: <strong>{grade.score} / {grade.max_score}</strong>" in page
        for cell, score in grade.cells.items():
            line = re.search(rf"^  {cell} +(\S+ / \S+)", text, re.MULTILINE)
            assert line and line.group(1) == f"{score['score']} / {score['max_score']}", text
            assert f"<td>{cell}</td>" in page
    # bob's own code raised: his traceback is shown, and the failure of each test
    page, text = pages["bob"]
    assert "ValueError: not yet: " in text and "In your code:" in text
    assert "raise ValueError(&#x27;not yet: &#x27; + str(len(X)))" in page
    assert "Diagnosis" not in text
    assert "kernelside" not in text  # the grading kernel's own frames are left out


def test_no_hidden_test_oracle_or_catalogue_on_any_page(graded):
    _, pages = graded
    hidden_lines = [
        line.strip() for line in HIDDEN.split("### BEGIN HIDDEN TESTS")[1].splitlines()[1:-1]
    ]
    oracle = Path(autograder.hidden.linear.__file__).read_text()
    oracle_names = [n for n in _defined_names(oracle)]
    oracle_lines = [line.strip() for line in oracle.splitlines() if len(line.strip()) >= 16]
    catalogue_lines = {
        line.strip()
        for e in catalogue.ENTRIES
        for line in e.source.splitlines()[1:]
        if len(line.strip()) >= 12
    }
    catalogue_lines -= {line.strip() for line in MISTAKE.source.splitlines()}  # alice's own code
    for page, text in pages.values():
        for shown in (page, text, html.unescape(page)):
            assert "HIDDEN TESTS" not in shown
            assert not [line for line in hidden_lines if line in shown]
            assert not [name for name in oracle_names if re.search(rf"\b{name}\b", shown)]
            assert not [line for line in oracle_lines if line in shown]
            assert not [line for line in catalogue_lines if line in shown]


def _defined_names(source):
    """The functions and module-level names of a hidden-test module, but its public tests."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("test_"):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name) and len(t.id) > 2}
    return sorted(names - {"__all__"})


def test_a_message_that_would_leak_is_blacked_out(tmp_path):
    """Whatever a test's error says, a line of a hidden test or an oracle's name never reaches the
    page (here a crash of the test itself names both)."""
    nb = _notebook()
    hidden = nb.cells[4]
    hidden.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="TypeError",
            evalue="_responses() got hidden.test_add_constant_feature(add_constant_feature) wrong",
            traceback=[
                "Traceback (the test):",
                "  in the test, line 3: hidden.test_add_constant_feature(add_constant_feature)",
            ],
        )
    ]
    path = tmp_path / f"{TOY}.ipynb"
    nbformat.write(nb, path)
    cells = {
        "test_add_constant_feature": {"score": 1.0, "max_score": 1.0},
        "hidden_add_constant_feature": {"score": 0.0, "max_score": 2.0},
    }
    grade = NotebookGrade(1.0, 3.0, cells)
    page, text = write_feedback(tmp_path / "out", "carol", "01_linear", grade, path)
    for shown in (page.read_text(), text.read_text()):
        assert "_responses" not in shown and "hidden.test_add_constant_feature" not in shown
        assert "TypeError: [...]() got [...] wrong" in html.unescape(shown)
    facts = feedback_facts("carol", "01_linear", grade, path)
    assert [c["score"] for c in facts["cells"]] == [1.0, 0.0]


def test_the_total_counts_the_points_graded_by_hand_as_formgrader_does():
    from autograder.feedback import HAND_GRADED, _total

    def facts(score, by_hand):
        cells = [{"kind": "test", "score": score, "max_score": 38.0}]
        cells += [{"kind": HAND_GRADED, "score": s, "max_score": 1.0} for s in by_hand]
        return {"score": score, "max_score": 38.0, "cells": cells}

    assert _total(facts(38.0, [])) == "38.0 / 38.0"
    assert _total(facts(29.0, [1.0])) == "30.0 / 39.0"
    assert _total(facts(29.0, [None])) == "29.0 / 39.0 (1 point awaits a grader)"
    assert _total(facts(None, [None])) == "not graded / 39.0"
