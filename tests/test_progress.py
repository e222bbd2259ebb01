"""Progress of `grade` and `check`: a bar with an ETA on a terminal, plain lines elsewhere; the
command line's glue, with grading and checking replaced by fakes (no kernel starts)."""

import io
import re

import pytest

import autograder.check
import autograder.grade
from autograder.__main__ import TABLE_ROWS, main
from autograder.check import check_tasks
from autograder.grade import NotebookGrade
from autograder.progress import Progress
from autograder.sandbox import find_sandbox

LINEAR = "01_linear"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_the_output_is_not_a_terminal():
    out = io.StringIO()
    with Progress(12, file=out) as progress:
        progress.line("grading 01_linear")
        progress("graded ada/01_linear: 4/4")
        for _ in range(10):
            progress.step()  # a unit without a line prints nothing
        progress.step("graded cy/01_linear: --/4  (missing notebook)")
    assert out.getvalue() == (
        "grading 01_linear\n[ 1/12] graded ada/01_linear: 4/4\n[12/12] graded cy/01_linear: --/4  (missing notebook)\n"
    )


def test_a_bar_with_an_eta_on_a_terminal_and_the_lines_above_it():
    out = Terminal()
    with Progress(3, unit="notebook", file=out) as progress:
        assert progress.bar is not None
        progress("graded ada/01_linear: 4/4")
        progress("graded bo/01_linear: 2/4")
        screen = out.getvalue()
        progress.line("01_linear: done")
    assert "graded ada/01_linear: 4/4\n" in screen and "graded bo/01_linear: 2/4\n" in screen
    assert "[1/" not in screen  # no counted lines: the bar counts
    bar = screen.split("\r")[-1]  # the bar as drawn last, below the lines
    assert re.search(r"\| 2/3 \[\d\d:\d\d<\d\d:\d\d, .*notebook", bar), bar  # [elapsed<remaining, rate]
    assert "| 2/3 [" in out.getvalue().split("\r")[-1]  # a line is not a unit of work


def test_progress_refuses_a_negative_total():
    with pytest.raises(ValueError, match="total must be 0 or more"):
        Progress(-1, file=io.StringIO())


def _submissions(tmp_path, students):
    for student in students:
        (tmp_path / "subs" / student / LINEAR).mkdir(parents=True)
    return tmp_path / "subs"


def _fake_grading(monkeypatch, calls):
    def grade_submissions(submissions, progress=None, **options):
        report = {}
        for student in sorted(p.name for p in submissions.iterdir()):
            grade = NotebookGrade(4.0, 4.0, seed=7) if student != "cy" else NotebookGrade(None, 4.0, error="missing notebook", seed=7)
            report[student] = {LINEAR: grade}
            progress(f"graded {student}/{LINEAR}")
        calls.append(options)
        return report

    monkeypatch.setattr(autograder.grade, "grade_submissions", grade_submissions)


def test_grade_counts_the_notebooks_then_prints_the_table_and_the_summary(tmp_path, monkeypatch, capsys):
    calls = []
    _fake_grading(monkeypatch, calls)
    subs = _submissions(tmp_path, ["ada", "bo", "cy"])
    assert main(["grade", str(subs), "--json", str(tmp_path / "g.json"), "--workdir", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert "[1/3] graded ada/01_linear\n[2/3] graded bo/01_linear\n[3/3] graded cy/01_linear\n" in out
    assert "student  assignment  score  note" in out  # three rows: the table too
    assert "01_linear: 3 submission(s), 2 graded, 1 not graded" in out
    assert "1 x missing notebook: cy" in out
    assert out.rstrip().endswith("1 submission(s) with errors")
    assert calls[0]["assignments"] is None


def test_a_large_class_gets_the_summary_without_the_table(tmp_path, monkeypatch, capsys):
    _fake_grading(monkeypatch, [])
    subs = _submissions(tmp_path, [f"s{i:02d}" for i in range(TABLE_ROWS + 1)])
    assert main(["grade", str(subs), "--json", str(tmp_path / "g.json"), "--workdir", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert f"[{TABLE_ROWS + 1}/{TABLE_ROWS + 1}] graded s{TABLE_ROWS}/01_linear" in out
    assert "student  assignment" not in out
    assert f"01_linear: {TABLE_ROWS + 1} submission(s), {TABLE_ROWS + 1} graded" in out


def test_check_ticks_once_per_task_and_check_tasks_counts_them(monkeypatch, capsys):
    """The tasks themselves replaced by fakes: each grade task scores its notebook, the catalogue
    task reports one line per entry."""

    def grade_task(student, assignment, *common):
        score = 0.0 if student == "released-stub" else 4.0
        return {"student": student, "grade": NotebookGrade(score, 4.0, cells={}), "failing": []}

    def catalogue_task(group, assignment, *common):
        return {"entries": [], "lines": [f"  ok   {e.function}" for e in group]}

    monkeypatch.setattr(autograder.check, "_grade_task", grade_task)
    monkeypatch.setattr(autograder.check, "_catalogue_task", catalogue_task)
    monkeypatch.setattr(autograder.check, "_check_coverage", lambda *args: None)
    monkeypatch.setattr(autograder.check, "find_sandbox", lambda kind: find_sandbox("none"))  # no kernel starts
    assert main(["check", LINEAR, "--jobs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    total = check_tasks(LINEAR)
    ticks = [line for line in out if line.startswith("[")]
    assert len(ticks) == total >= 3
    assert ticks[0] == f"[1/{total}] {LINEAR}: graded the solution (0 s)"
    assert ticks[1].startswith(f"[2/{total}] {LINEAR}: catalogue, ")
    assert ticks[2] == f"[3/{total}] {LINEAR}: graded the released stub (0 s)"
    assert all(": cheat on " in line for line in ticks[3:])
    assert not any(line.startswith("  ok ") for line in out)  # entries only with --verbose
    assert out[-1].startswith(f"{LINEAR}: ok in ")
