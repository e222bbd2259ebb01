"""Questions in a notebook: an answer by number or letter is judged like any test, in the grader on
the value fetched from the kernel; an answer in words awaits a grader in nbgrader's formgrader,
reported apart from the automatic score, and no later grading run erases what the grader entered."""

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import nbformat
import pytest

from autograder.catalogue import Cheat, Right, Wrong
from autograder.check import check_assignment, format_check
from autograder.config import exchange_root
from autograder.grade import grade_submissions
from autograder.hidden.harness import Harness, HiddenTestFailure
from autograder.release import release
from autograder.report import as_json, format_table, write_csv
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader
from toycourse import TOY, make_toy_course, submit, with_cells

H = Harness()


# ------------------------------------------------------------------------------ the harness
@pytest.mark.parametrize("answer", [7, 7.0, "7", True, None, [7], float("nan"), 8])
def test_a_number_must_be_the_number(answer):
    if type(answer) in (int, float) and answer == 7:
        H.number(answer, 7, "how many")
        return
    with pytest.raises(HiddenTestFailure, match="how many") as failure:
        H.number(answer, 7, "how many")
    assert "7" not in str(failure.value).replace(repr(answer), ""), "the failure must not tell the answer"


def test_a_number_with_a_tolerance():
    H.number(0.2501, 0.25, "a rate", rtol=1e-3)
    with pytest.raises(HiddenTestFailure, match="is not the answer"):
        H.number(0.26, 0.25, "a rate", rtol=1e-3)


@pytest.mark.parametrize("answer, ok", [("b", True), (" B ", True), ("a", False), ("d", False), (1, False), (None, False)])
def test_a_choice_must_be_the_letter(answer, ok):
    if ok:
        H.choice(answer, "b", "abc", "which rule")
        return
    with pytest.raises(HiddenTestFailure, match="which rule") as failure:
        H.choice(answer, "b", "abc", "which rule")
    assert '"b" is' not in str(failure.value)


# ------------------------------------------------------------------------------ grading
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_toy_course(tmp_path_factory.mktemp("toy"), questions=True)
    release([TOY], course)
    return course


ALWAYS_EQUAL = (
    "class Anything:\n    def __eq__(self, other):\n        return True\n    def __float__(self):\n        return 2.0\n"
    "answer_count = Anything()\n"
)


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    solution = nbformat.read(course.solution_path(TOY), as_version=4)
    submit(subs, "alice", solution)
    submit(subs, "bob", nbformat.read(course.release_path(TOY), as_version=4))
    submit(subs, "carol", with_cells(solution, answer_count="answer_count = 3\n"))
    submit(subs, "dave", with_cells(solution, answer_count='answer_count = "2"\n'))
    submit(subs, "erin", with_cells(solution, answer_count=ALWAYS_EQUAL))
    workdir = tmp_path_factory.mktemp("work") / "grading"
    return grade_submissions(subs, course, workdir=workdir, timeout=10), workdir, subs


def test_a_right_answer_earns_its_point_and_the_words_await_a_grader(graded):
    alice = graded[0]["alice"][TOY]
    assert (alice.score, alice.max_score, alice.error) == (7.0, 7.0, None)
    assert alice.cells["hidden_answer_count"] == {"score": 1.0, "max_score": 1.0}
    assert alice.manual == {"question_why": {"score": None, "max_score": 1.0}}
    assert alice.awaiting_manual == 1.0


def test_no_answer_scores_zero_and_awaits_nothing(graded):
    bob = graded[0]["bob"][TOY]
    assert bob.score == 0.0 and bob.error is None
    assert bob.manual == {"question_why": {"score": 0.0, "max_score": 1.0}} and bob.awaiting_manual == 0


@pytest.mark.parametrize("student", ["carol", "dave", "erin"])
def test_a_wrong_answer_a_string_or_an_object_equal_to_anything_loses_the_point(graded, student):
    grade = graded[0][student][TOY]
    assert grade.cells["hidden_answer_count"]["score"] == 0.0 and grade.score == 6.0


def test_reports_show_the_points_to_grade_by_hand(graded, tmp_path):
    report = graded[0]
    assert as_json(report)["alice"][TOY]["awaiting_manual"] == 1.0
    assert "+1 to grade by hand" in format_table(report)
    write_csv(report, tmp_path / "grades.csv")
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0] == "student,assignment,score,max_score,awaiting_manual,error"
    assert "alice,00_toy,7,7,1," in rows


def test_formgrader_grades_the_words_and_grading_again_does_not_erase_its_score(graded, course):
    """nbgrader's formgrader, started in the workdir as docs/grade.md says, lists the answer to grade
    and saves the grader's score; a later `grade` into that folder keeps it, and `--force`, which
    would erase it, is refused."""
    report, workdir, subs = graded
    written = PyFileConfigLoader("nbgrader_config.py", path=str(workdir)).load_config()
    assert written.CourseDirectory.db_url == f"sqlite:///{workdir.resolve() / 'gradebook.db'}"
    assert written.Exchange.root == str(exchange_root()) and exchange_root().is_dir()  # made, as formgrader needs it
    with formgrader(workdir) as ask:
        notebooks = {n["student"]: n for n in ask("GET", f"submitted_notebooks/{TOY}/{TOY}")}
        assert notebooks["alice"]["needs_manual_grade"] and not notebooks["bob"]["needs_manual_grade"]
        grades = ask("GET", f"grades?submission_id={notebooks['alice']['id']}")
        (why,) = [g for g in grades if g["name"] == "question_why"]
        assert (why["auto_score"], why["max_score"]) == (None, 1.0)
        assert ask("PUT", f"grade/{why['id']}", {"manual_score": 1.0})["manual_score"] == 1.0
    # the same grade again resumes: nothing to regrade, and the report shows the grader's score
    again = grade_submissions(subs, course, workdir=workdir, timeout=10, jobs=1)
    assert again["alice"][TOY].manual["question_why"] == {"score": 1.0, "max_score": 1.0}
    with pytest.raises(ValueError, match="1 score.*entered by hand.*--force"):
        grade_submissions(subs, course, workdir=workdir, timeout=10, jobs=1, force=True)
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        assert gb.find_grade("question_why", TOY, TOY, "alice").manual_score == 1.0


@contextmanager
def formgrader(folder):
    """A Jupyter server started in `folder` (with nbgrader's formgrader extension, as installed), on
    127.0.0.1; yields ask(method, path, body=None) -> the JSON answer of formgrader's API."""
    token = secrets.token_hex(16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}"]
    server = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ask(method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/formgrader/api/{path}", data=data, method=method,
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (loopback only)
            return json.loads(answer.read())

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ask("GET", "status")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the Jupyter server with formgrader did not start") from None
                time.sleep(0.3)
        yield ask
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ------------------------------------------------------------------------------ check
def test_check_holds_answers_to_the_catalogue(course):
    entries = [
        Wrong("answer_count", "one too many", "answer_count = 3\n"),
        Wrong("answer_count", "as text", 'answer_count = "2"\n'),
        Wrong("double", "identity", "def double(x):\n    return x\n"),
        Wrong("double", "triple", "def double(x):\n    return 3 * np.asarray(x)\n"),
        Wrong("square", "double", "def square(x):\n    return 2 * np.asarray(x)\n"),
        Wrong("square", "identity", "def square(x):\n    return x\n"),
        Right("answer_count", "a float", "answer_count = 2.0\n"),
        Cheat("answer_count", "equal to anything", ALWAYS_EQUAL),
    ]
    result = check_assignment(TOY, course, entries=entries, timeout=10)
    assert result.ok, format_check([result])
    assert result.counts(right=False) == (6, 6) and result.counts(right=False, cheat=True) == (1, 1)
    assert (result.stub_score, result.solution_score, result.max_score) == (0.0, 7.0, 7.0)
