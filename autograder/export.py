"""nbgrader's export (`nbgrader export`, formgrader's course data) in the course's configuration: a
submission that nbgrader holds but could not grade (its autograde failed: a notebook that is not a
notebook, a refusal) is exported with no score and the reason, never as a plain 0 that looks like a
wrong answer. The record of why is the course folder's results/ (and grade's JSON report)."""

import csv
import json
from pathlib import Path

from nbgrader.plugins import CsvExportPlugin

__all__ = ["CourseExport"]

NOT_GRADED = "not_graded"  # the column that says why a row has no score


class CourseExport(CsvExportPlugin):
    """nbgrader's CSV, with the scores of submissions that have no autograded notebook left empty."""

    def export(self, gradebook):
        super().export(gradebook)
        dest = Path(self.to or "grades.csv")
        coursedir = self.parent.coursedir
        with open(dest, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            return
        for row in rows:
            row[NOT_GRADED] = ""
            if not row["timestamp"] and not _submitted(coursedir, row):
                continue  # no submission at all: nbgrader's 0 stands
            notebook = Path(coursedir.format_path(coursedir.autograded_directory, row["student_id"], row["assignment"]))
            if not (notebook / f"{row['assignment']}.ipynb").is_file():
                row["raw_score"] = row["score"] = ""
                row[NOT_GRADED] = _why(coursedir.root, row["student_id"], row["assignment"])
        with open(dest, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=[*rows[0].keys()])
            writer.writeheader()
            writer.writerows(rows)


def _submitted(coursedir, row):
    folder = Path(coursedir.format_path(coursedir.submitted_directory, row["student_id"], row["assignment"]))
    return folder.is_dir()


def _why(root, student, assignment):
    """The first line of the error that the course's grader recorded for this notebook: in the course
    folder's results/ (grade's own runs) or judged/results/ (nbgrader's autograde, judging/delegate.py)."""
    for folder in (Path(root) / "results", Path(root) / "judged" / "results"):
        try:
            error = json.loads((folder / student / f"{assignment}.json").read_text())["grade"]["error"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if error:
            return error.splitlines()[0][:300]
    return "not graded: nbgrader's autograde failed for it (see its log)"
