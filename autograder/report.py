"""grades -> reports: the JSON and CSV files and the table printed after grading."""

import csv
import json
from dataclasses import asdict
from pathlib import Path

__all__ = ["as_json", "format_table", "write_csv", "write_json"]


def as_json(report):
    """{student: {assignment: {"score", "max_score", "cells": {grade_id: {...}}, "manual": {...},
    "awaiting_manual", "error", ...}}}: every field of NotebookGrade."""
    return {
        student: {a: {**asdict(g), "awaiting_manual": g.awaiting_manual} for a, g in by_a.items()}
        for student, by_a in report.items()
    }


def write_json(report, path):
    Path(path).write_text(json.dumps(as_json(report), indent=2) + "\n")


def write_csv(report, path):
    """One row per student and assignment: student, assignment, score, max_score (the automatic
    tests), awaiting_manual (points of free-text answers still to grade by hand), error."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "score", "max_score", "awaiting_manual", "error"])
        for student, by_a in report.items():
            for assignment, g in by_a.items():
                score = "" if g.score is None else f"{g.score:g}"
                error = g.error.splitlines()[0] if g.error else ""
                writer.writerow([student, assignment, score, f"{g.max_score:g}", f"{g.awaiting_manual:g}", error])


def format_table(report):
    rows = [("student", "assignment", "score", "note")]
    for student, by_a in report.items():
        for assignment, g in by_a.items():
            score = f"{'--' if g.score is None else f'{g.score:g}'}/{g.max_score:g}"
            note = g.error.splitlines()[0] if g.error else ""
            if g.awaiting_manual:
                note = f"+{g.awaiting_manual:g} to grade by hand; {note}".rstrip("; ")
            rows.append((student, assignment, score, note[:100]))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip() for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
