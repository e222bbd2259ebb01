"""Resumable grading on the toy course: a run stopped after its first notebook, then the same call
again, grades only what is missing; a changed submission or another seed is graded again; hand-entered
scores survive a resumed run, and --force, which empties the workdir, refuses to erase them."""

import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.grade import grade_submissions
from autograder.release import release
from autograder.report import format_summary
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells

pytestmark = pytest.mark.slow

WRONG_DOUBLE = "def double(x):\n    return x\n"


class Stop(KeyboardInterrupt):
    """Ctrl-C, pressed once the first notebook is graded."""


def lines_of(calls):
    def progress(text):
        calls.append(text)

    return progress


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    course = make_toy_course(root / "course", questions=True)
    release([TOY], course)
    subs, work = root / "subs", root / "work" / "grading"
    solution = toy_notebook(questions=True)
    submit(subs, "alice", solution)
    submit(subs, "bob", nbformat.read(course.release_path(TOY), as_version=4))
    submit(subs, "carol", with_cells(solution, double=WRONG_DOUBLE))
    options = dict(course=course, workdir=work, timeout=10, memory_mb=2048)
    out = {"work": work}

    def interrupt(text):
        out.setdefault("first", []).append(text)
        raise Stop()

    with pytest.raises(Stop):
        grade_submissions(subs, progress=interrupt, jobs=1, **options)
    out["seed"] = json.loads((work / "run.json").read_text())["seed"]
    out["alice_file"] = (work / "results" / "alice" / f"{TOY}.json").read_text()
    out["results_after_stop"] = sorted(p.parent.name for p in (work / "results").glob("*/*.json"))

    # the same call again, side by side this time: only bob and carol are graded
    out["resumed"] = grade_submissions(subs, progress=lines_of(out.setdefault("resumed_lines", [])), jobs=2, **options)
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        out["recorded"] = {s: gb.find_submission(TOY, s).score for s in ("alice", "bob", "carol")}
        gb.find_grade("question_why", TOY, TOY, "alice").manual_score = 1.0  # a grader, in formgrader
        gb.db.commit()

    submit(subs, "carol", solution)  # carol hands in again
    out["changed"] = grade_submissions(subs, progress=lines_of(out.setdefault("changed_lines", [])), jobs=1, **options)
    with pytest.raises(ValueError) as refused:
        grade_submissions(subs, force=True, jobs=1, **options)
    out["force_refused"] = str(refused.value)
    out["files_after_refusal"] = sorted(p.parent.name for p in (work / "results").glob("*/*.json"))

    out["reseeded"] = grade_submissions(subs, seed=out["seed"] + 1, progress=lines_of(out.setdefault("reseeded_lines", [])), jobs=1, **options)
    out["again"] = grade_submissions(subs, progress=lines_of(out.setdefault("again_lines", [])), jobs=2, **options)

    # another path writes the gradebook: bob's test passes there; a grader overrides carol's test by hand
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        gb.find_grade("test_double", TOY, TOY, "bob").auto_score = 1.0
        gb.find_grade("test_double", TOY, TOY, "carol").manual_score = 0.0
        gb.db.commit()
    out["elsewhere"] = grade_submissions(subs, progress=lines_of(out.setdefault("elsewhere_lines", [])), jobs=1, **options)
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        out["bob_after"] = gb.find_grade("test_double", TOY, TOY, "bob").auto_score
        gb.find_grade("test_double", TOY, TOY, "carol").manual_score = None
        gb.db.commit()

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        gb.find_grade("question_why", TOY, TOY, "alice").manual_score = None
        gb.db.commit()
    only_alice = root / "only_alice"
    submit(only_alice, "alice", solution)
    out["forced"] = grade_submissions(only_alice, force=True, progress=lines_of(out.setdefault("forced_lines", [])), jobs=1, **options)
    out["results_after_force"] = sorted(p.parent.name for p in (work / "results").glob("*/*.json"))
    return out


def verbs(lines):
    """{student: "graded" or "kept"} from the progress lines."""
    found = {}
    for line in lines:
        verb, rest = line.split(" ", 1)
        if verb in ("graded", "kept"):
            found[rest.split("/", 1)[0]] = verb
    return found


def test_a_stopped_run_resumes_with_only_what_is_missing(runs):
    assert len(runs["first"]) == 1 and runs["first"][0].startswith("graded alice/")
    assert runs["results_after_stop"] == ["alice"]  # written as soon as known
    assert verbs(runs["resumed_lines"]) == {"alice": "kept", "bob": "graded", "carol": "graded"}
    report = runs["resumed"]
    assert {s: report[s][TOY].score for s in report} == {"alice": 7.0, "bob": 0.0, "carol": 4.0}
    assert {report[s][TOY].seed for s in report} == {runs["seed"]}  # the recorded seed, reused
    # the one writer recorded bob and carol beside alice: generate_assignment did not drop her
    assert runs["recorded"] == {"alice": 7.0, "bob": 0.0, "carol": 4.0}
    stored = json.loads(runs["alice_file"])
    assert stored["grade"]["score"] == 7.0 and len(stored["fingerprint"]) == 64
    assert not list(runs["work"].glob("results/*/.*.tmp"))


def test_a_changed_submission_is_graded_again_and_hand_scores_show(runs):
    assert verbs(runs["changed_lines"]) == {"alice": "kept", "bob": "kept", "carol": "graded"}
    report = runs["changed"]
    assert report["carol"][TOY].score == 7.0
    # alice's kept result shows the score a grader entered in formgrader since
    assert report["alice"][TOY].manual["question_why"] == {"score": 1.0, "max_score": 1.0}


def test_force_refuses_to_erase_hand_entered_scores(runs):
    assert "entered by hand in formgrader, which --force would erase" in runs["force_refused"]
    assert runs["files_after_refusal"] == ["alice", "bob", "carol"]


def test_another_seed_grades_everything_again_and_keeps_hand_scores(runs):
    assert verbs(runs["reseeded_lines"]) == dict.fromkeys(("alice", "bob", "carol"), "graded")
    report = runs["reseeded"]
    assert {report[s][TOY].seed for s in report} == {runs["seed"] + 1}
    assert {s: report[s][TOY].score for s in report} == {"alice": 7.0, "bob": 0.0, "carol": 7.0}
    assert report["alice"][TOY].manual["question_why"]["score"] == 1.0  # nbgrader keeps a manual score
    # run again without --seed: the new seed is the recorded one, nothing to grade
    assert verbs(runs["again_lines"]) == dict.fromkeys(("alice", "bob", "carol"), "kept")
    assert {runs["again"][s][TOY].seed for s in runs["again"]} == {runs["seed"] + 1}


def test_force_empties_the_workdir_and_grades_everything(runs):
    assert verbs(runs["forced_lines"]) == {"alice": "graded"}
    assert runs["results_after_force"] == ["alice"]
    assert runs["forced"]["alice"][TOY].score == 7.0


def test_a_gradebook_changed_by_another_path_is_noticed_and_graded_again(runs):
    assert verbs(runs["elsewhere_lines"]) == {"alice": "kept", "bob": "graded", "carol": "kept"}
    bob = runs["elsewhere"]["bob"][TOY]
    assert "changed by another path" in bob.changed_elsewhere and "test_double: 0.0 -> 1.0" in bob.changed_elsewhere
    assert bob.score == 0.0 and runs["bob_after"] == 0.0  # graded again: the gradebook holds grade's score
    assert runs["again"]["bob"][TOY].changed_elsewhere is None
    summary = format_summary(runs["elsewhere"])
    assert "changed by another path since grade recorded them, graded again (1" in summary and "    bob" in summary


def test_a_hand_override_of_a_test_cell_is_reported_and_counted(runs):
    carol = runs["elsewhere"]["carol"][TOY]
    assert carol.overrides == [{"cell": "test_double", "auto": 1.0, "by_hand": 0.0}]
    assert carol.score == runs["again"]["carol"][TOY].score - 1.0 and carol.changed_elsewhere is None
    assert "    carol: test_double 1.0 -> 0" in format_summary(runs["elsewhere"])
