"""The summary printed at the end of `grade`, on synthetic reports: no grading needed."""

import re

from autograder.grade import NotebookGrade
from autograder.report import format_summary

BACKPROP = "03_backprop"


def _class(n=300):
    """n students of BACKPROP: scores i % 18 out of 17, and every 25th student not graded."""
    report = {}
    for i in range(n):
        student = f"s{i:03d}"
        if i % 25 == 0:
            error = f"missing notebook: expected {student}/{BACKPROP}/{BACKPROP}.ipynb; the folder is empty or missing"
            grade = NotebookGrade(None, 17.0, error=error)
        else:
            grade = NotebookGrade(float(i % 18), 17.0, manual={"answer_why": {"score": None, "max_score": 2.0}})
        report[student] = {BACKPROP: grade}
    return report


def test_the_summary_of_300_students_fits_one_screen():
    report = _class()
    died = "the kernel died in cell 'hidden_mlp' (the process exited)\ntraceback..."
    report["s001"][BACKPROP] = NotebookGrade(None, 17.0, error=died)
    for i in range(2, 14):  # 12 kinds of note: 5 shown, the rest counted
        report[f"s{i:03d}"][BACKPROP].error = f"cell 'hidden_{i}' ran longer than the 30 s limit per cell and was stopped"
    lines = format_summary(report).splitlines()
    assert len(lines) <= 30 and max(map(len, lines)) <= 240
    text = "\n".join(lines)
    assert lines[0] == f"{BACKPROP}: 300 submission(s), 287 graded, 13 not graded"
    # 12 missing notebooks, with the student's name taken out so that they group; 4 names shown
    assert "   12 x missing notebook: expected <student>/03_backprop/03_backprop.ipynb" in text
    assert "s000, s025, s050, s075 and 8 more" in text
    assert "    1 x the kernel died in cell 'hidden_mlp' (the process exited): s001" in text
    assert "traceback" not in text
    assert "graded, with a note (12):" in text
    assert "... and 7 more in 7 other kind(s)" in text
    assert "to grade by hand: 287 submission(s), 574 points" in text


def test_the_histogram_counts_every_graded_score_once():
    report = _class()
    graded = [g.score for by_a in report.values() for g in by_a.values() if g.score is not None]
    text = format_summary(report, bins=10)
    bars = re.findall(r"^ +([\d.]+)-([\d.]+) \|(?: (#*|\.) (\d+))?$", text, flags=re.MULTILINE)
    assert len(bars) == 10
    assert sum(int(count or 0) for *_, count in bars) == len(graded) == 288
    low, high = float(bars[-1][0]), float(bars[-1][1])
    assert (low, high) == (15.3, 17.0)
    assert int(bars[-1][3]) == sum(1 for x in graded if x >= 15.3)  # full marks fall in the last bar
    assert int(bars[0][3]) == sum(1 for x in graded if x < 1.7)
    longest = max(bars, key=lambda b: int(b[3] or 0))
    assert len(longest[2]) == 30  # the tallest bar has the full width
    mean = sum(graded) / len(graded)
    assert f"mean {mean:.3g}, median {sorted(graded)[143]:.3g}" in text  # 288 scores: the median is a mid-point
    assert f"full marks {graded.count(17.0)}, zero {graded.count(0.0)}" in text


def test_flags_are_grouped_by_function_and_assignments_get_blocks_of_their_own():
    report = {
        "ada": {"01_linear": NotebookGrade(3.0, 4.0), BACKPROP: NotebookGrade(17.0, 17.0)},
        "bo": {"01_linear": NotebookGrade(4.0, 4.0), BACKPROP: NotebookGrade(10.0, 17.0)},
        "cy": {"01_linear": NotebookGrade(None, 4.0, error="not a readable notebook (01_linear.ipynb): JSONDecodeError")},
    }
    evidence = {"cell": "hidden_mlp_loss_and_grads", "function": "mlp_loss_and_grads", "evidence": "torch.autograd"}
    report["ada"][BACKPROP].flags = [evidence, {**evidence, "cell": "test_mlp_loss_and_grads"}]
    report["bo"][BACKPROP].flags = [evidence, {**evidence, "function": "linear_backward"}]
    blocks = format_summary(report).split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "01_linear: 3 submission(s), 2 graded, 1 not graded",
        f"{BACKPROP}: 2 submission(s), 2 graded",
    ]
    assert "    1 x not a readable notebook (01_linear.ipynb): JSONDecodeError: cy" in blocks[0]
    assert "flags" not in blocks[0] and "to grade by hand" not in blocks[0]
    assert "flags, a forbidden library seen (2;" in blocks[1]
    assert "    1 x linear_backward, mlp_loss_and_grads: bo" in blocks[1]
    assert "    1 x mlp_loss_and_grads: ada" in blocks[1]
    assert "mean 13.5, median 13.5, full marks 1, zero 0" in blocks[1]


def test_a_run_where_nothing_could_be_graded_has_no_histogram():
    report = {"ada": {BACKPROP: NotebookGrade(None, 17.0, error="grading failed: RuntimeError: no kernel")}}
    text = format_summary(report)
    assert text.splitlines()[0] == f"{BACKPROP}: 1 submission(s), 0 graded, 1 not graded"
    assert "|" not in text and "mean" not in text
    assert "1 x grading failed: RuntimeError: no kernel: ada" in text
