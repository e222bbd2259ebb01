"""One grading path (issue 18): the same batch of 01_linear submissions gets the same scores from
`python -m autograder grade`, from `nbgrader autograde` in grade's workdir and from `nbgrader autograde`
at the repository's root (the course folder its nbgrader_config.py names, here moved to a temporary
folder with --CourseDirectory options); the probe reads nothing; feedback goes through nbgrader's
generate_feedback and release_feedback as the course's page; and a submission that came through the
exchange, collected into grade's workdir and graded there, loses nothing and its student fetches the
course's page with `nbgrader fetch_feedback`. Formgrader's buttons: tests/test_formgrader_browser.py.
"""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.course import ROOT
from autograder.grade import grade_submissions
from autograder.judging.delegate import judged_grade
from one_path import (
    ASSIGNMENT, ONES_LAST_DIAGNOSIS, PROBE_MARK, diagnosed, hidden_lines, honest, write_batch,
)

pytestmark = pytest.mark.slow

SEED = 7
NBGRADER = [sys.executable, "-m", "nbgrader"]


def run(args, cwd, env=None, check=True):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def exported(folder, env, extra=()):
    out = folder / "export.csv"
    run([*NBGRADER, "export", "--to", str(out), *extra], cwd=ROOT if extra else folder, env=env)
    with open(out) as f:
        return {row["student_id"]: float(row["raw_score"]) if row["raw_score"] else None for row in csv.DictReader(f)}


def probe_lines(autograded):
    nb = nbformat.read(autograded, as_version=4)
    return [line for c in nb.cells for o in c.get("outputs", []) for line in o.get("text", "").splitlines() if line.startswith(PROBE_MARK)]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    top = tmp_path_factory.mktemp("one-path")
    env = {**os.environ, "NN273_EXCHANGE": str(top / "exchange")}
    subs, work = top / "subs", top / "work"
    students = write_batch(subs)
    run([sys.executable, "-m", "autograder", "grade", str(subs), "--workdir", str(work), "--json", str(top / "grades.json"),
         "--seed", str(SEED), "--jobs", "2"], cwd=top, env=env)
    grades = json.loads((top / "grades.json").read_text())
    out = {"top": top, "work": work, "env": env, "students": students}
    out["grade"] = {s: grades[s][ASSIGNMENT]["score"] for s in students}

    # nbgrader's own autograde in grade's workdir (its nbgrader_config.py, which formgrader reads too),
    # and at the repository's root, its course folder moved to a temporary one: side by side
    course = top / "root-course"
    folder = [f"--CourseDirectory.root={course}", f"--CourseDirectory.release_directory={course / 'release'}",
              f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"]
    shutil.copytree(subs, course / "submitted")
    (course / "run.json").write_text(json.dumps({"seed": SEED}))

    def at_root():
        run([*NBGRADER, "generate_assignment", ASSIGNMENT, "--force", *folder], cwd=ROOT, env=env)
        return run([*NBGRADER, "autograde", ASSIGNMENT, "--force", *folder], cwd=ROOT, env=env, check=False)

    with ThreadPoolExecutor(2) as pool:
        in_workdir = pool.submit(run, [*NBGRADER, "autograde", ASSIGNMENT, "--force"], work, env, False)
        root_run = pool.submit(at_root)
        out["workdir_run"], out["root_run"] = in_workdir.result(), root_run.result()
    out["workdir"] = exported(work, env)
    out["root"] = exported(course, env, folder)
    out["course"] = course

    # feedback through nbgrader's own commands in the workdir
    out["feedback_run"] = run([*NBGRADER, "generate_feedback", ASSIGNMENT, "--force"], cwd=work, env=env, check=False)
    out["release_run"] = run([*NBGRADER, "release_feedback", ASSIGNMENT], cwd=work, env=env, check=False)
    return out


def test_every_path_gives_the_same_scores(paths):
    graded = {s: score for s, score in paths["grade"].items() if score is not None}
    assert graded == {"cheat": 0.0, "half": pytest.approx(graded["half"]), "honest": 38.0, "probe": 38.0}
    assert 0 < graded["half"] < 38
    assert paths["grade"]["broken"] is None
    for path in ("workdir", "root"):
        # nbgrader's export sums the test cells and the free-text answers (0 until graded by hand)
        scores = {s: v for s, v in paths[path].items() if s != "broken"}
        assert scores == graded, f"nbgrader autograde ({path}) gave {paths[path]}, grade gave {graded}"
    # the broken notebook: never a plain zero. grade left it out of the workdir's submitted/; at the
    # root nbgrader could not read it, said so, and its export leaves the score empty
    assert "broken" not in paths["workdir"]
    assert paths["root"]["broken"] is None
    assert "broken" in paths["root_run"].stdout + paths["root_run"].stderr


def test_the_probe_reads_nothing_on_any_path(paths):
    for autograded in (paths["work"] / "autograded" / "probe", paths["course"] / "autograded" / "probe"):
        lines = probe_lines(autograded / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        assert sum(line.startswith(f"{PROBE_MARK} NOT READ") for line in lines) == 2, lines
        assert not any(line.startswith(f"{PROBE_MARK} READ") for line in lines), lines
        listed = next(line for line in lines if "LISTED" in line)
        assert "honest" not in listed and "cheat" not in listed, listed  # no other student's folder
    assert not list(paths["top"].rglob("probe-was-here.txt"))
    assert not (ROOT / "probe-was-here.txt").exists()


def test_generate_feedback_writes_the_course_page_and_release_feedback_releases_it(paths):
    assert paths["feedback_run"].returncode == 0, paths["feedback_run"].stderr[-2000:]
    assert paths["release_run"].returncode == 0, paths["release_run"].stderr[-2000:]
    secrets_ = hidden_lines()
    for student in ("honest", "half", "cheat", "probe"):
        folder = paths["work"] / "feedback" / student / ASSIGNMENT
        page = (folder / f"{ASSIGNMENT}.html").read_text()
        assert f"Feedback on {ASSIGNMENT} for {student}" in page
        assert not [line for line in secrets_ if line in page]
        assert "BEGIN HIDDEN TESTS" not in page and (folder / f"{ASSIGNMENT}.txt").is_file()
        assert (folder / "timestamp.txt").is_file() and (folder / "submission_secret.txt").is_file()
    released = list((Path(paths["env"]["NN273_EXCHANGE"]) / "nn273" / "feedback").glob("*.html"))
    assert len(released) == 4


def test_without_a_sandbox_nbgraders_autograde_refuses(tmp_path, monkeypatch):
    from autograder import sandbox

    def none(kind="auto"):
        raise sandbox.SandboxUnavailable(kind, "no bwrap or unshare here (test)")

    monkeypatch.setattr(sandbox, "find_sandbox", none)
    grade, executed = judged_grade(tmp_path, "ada", ASSIGNMENT)
    assert executed is None and grade.score is None
    assert grade.error.startswith("refused:") and "python -m autograder grade" in grade.error
    assert not (tmp_path / "judged").exists()


def digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """A student submits through the exchange; the instructor collects into grade's workdir, grades
    that folder in place with --feedback and releases; the student fetches the feedback."""
    top = tmp_path_factory.mktemp("exchange")
    ex, home, work, lms = top / "exchange", top / "home", top / "work", top / "lms"
    env = {**os.environ, "NN273_EXCHANGE": str(ex)}
    student_env = {**env, "HOME": str(home)}
    student_env.pop("JUPYTER_DATA_DIR", None)
    home.mkdir()
    (lms / "early" / ASSIGNMENT).mkdir(parents=True)  # one submission from an LMS makes the workdir
    nbformat.write(honest(), lms / "early" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    grade_cmd = [sys.executable, "-m", "autograder", "grade"]
    run([*grade_cmd, str(lms), "--workdir", str(work), "--json", str(top / "first.json"), "--seed", str(SEED), "--jobs", "1"], cwd=top, env=env)
    run([*NBGRADER, "release_assignment", ASSIGNMENT, "--force"], cwd=work, env=env)

    course = ["--course", "nn273", f"--Exchange.root={ex}"]
    run([*NBGRADER, "fetch_assignment", ASSIGNMENT, *course], cwd=home, env=student_env)
    nbformat.write(diagnosed(), home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    run([*NBGRADER, "submit", ASSIGNMENT, *course], cwd=home, env=student_env)
    run([*NBGRADER, "collect", ASSIGNMENT], cwd=work, env=env)
    before = digests(work / "submitted")
    done = run([*grade_cmd, str(work / "submitted"), "--workdir", str(work), "--json", str(top / "grades.json"), "--feedback", "--jobs", "1"],
               cwd=top, env=env, check=False)
    after = digests(work / "submitted")
    run([*NBGRADER, "release_feedback", ASSIGNMENT], cwd=work, env=env)
    run([*NBGRADER, "fetch_feedback", ASSIGNMENT, *course], cwd=home, env=student_env)
    return {"top": top, "home": home, "work": work, "grade": done, "before": before, "after": after,
            "grades": json.loads((top / "grades.json").read_text()) if done.returncode == 0 else None}


def test_collect_then_grade_in_one_workdir_loses_nothing(exchange):
    assert exchange["grade"].returncode == 0, exchange["grade"].stderr[-3000:]
    assert exchange["before"] == exchange["after"]
    me = next(s for s in exchange["grades"] if s != "early")
    assert any(name.endswith("submission_secret.txt") for name in exchange["before"])
    assert 0 < exchange["grades"][me][ASSIGNMENT]["score"] < 38
    assert exchange["grades"]["early"][ASSIGNMENT]["score"] == 38.0


def test_the_student_fetches_the_courses_page_with_its_diagnosis(exchange):
    pages = list((exchange["home"] / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1, sorted(p.name for p in (exchange["home"] / ASSIGNMENT).rglob("*"))
    page = pages[0].read_text()
    assert f"Feedback on {ASSIGNMENT} for" in page and ONES_LAST_DIAGNOSIS in page
    assert not [line for line in hidden_lines() if line in page]
