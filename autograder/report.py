"""grades -> reports: the JSON and CSV files, the table and the summary printed after grading."""

import csv
import json
import statistics
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

__all__ = ["as_json", "format_summary", "format_table", "write_csv", "write_json"]


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


def format_summary(report, bins=10, names=4, groups=5, width=30):
    """One screen per assignment, for a class of any size: the score distribution (a text histogram
    of `bins` bars up to `width` characters, mean, median, full marks), the submissions not graded or
    graded with a note (grouped by the first line of the error, at most `groups` groups of at most
    `names` names each, the rest counted), the flags (a graded function where a forbidden library was
    seen), what intake refused (flags, every student named) or did not copy, and what awaits grading
    by hand."""
    by_assignment = defaultdict(dict)
    for student, by_a in report.items():
        for assignment, grade in by_a.items():
            by_assignment[assignment][student] = grade
    blocks = [_summary_block(a, by_assignment[a], bins, names, groups, width) for a in sorted(by_assignment)]
    return "\n\n".join(blocks)


def _summary_block(assignment, grades, bins, names, groups, width):
    scored = {s: g for s, g in grades.items() if g.score is not None}
    failed = {s: g for s, g in grades.items() if g.score is None}
    noted = {s: g for s, g in scored.items() if g.error}
    head = f"{assignment}: {len(grades)} submission(s), {len(scored)} graded"
    if failed:
        head += f", {len(failed)} not graded"
    lines = [head]
    if scored:
        top = max(g.max_score for g in scored.values())
        scores = [g.score for g in scored.values()]
        full = sum(1 for g in scored.values() if g.max_score and g.score >= g.max_score)
        lines.append(
            f"  score out of {top:g}: mean {statistics.fmean(scores):.3g}, median {statistics.median(scores):.3g}, "
            f"full marks {full}, zero {sum(1 for x in scores if x <= 0)}"
        )
        lines += _histogram(scores, top, bins, width)
    for title, chosen in (("not graded", failed), ("graded, with a note", noted)):
        if chosen:
            lines.append(f"  {title} ({len(chosen)}):")
            lines += _grouped({s: _first_line(g.error, s, assignment) for s, g in chosen.items()}, names, groups)
    flagged = {s: g for s, g in grades.items() if g.flags}
    if flagged:
        lines.append(f"  flags, a forbidden library seen ({len(flagged)}; the evidence is in the JSON report):")
        lines += _grouped({s: ", ".join(sorted({f["function"] for f in g.flags})) for s, g in flagged.items()}, names, groups)
    lines += _intake(grades, names)
    lines += _other_paths(grades, names)
    waiting = {s: g.awaiting_manual for s, g in grades.items() if g.awaiting_manual}
    if waiting:
        lines.append(
            f"  to grade by hand: {len(waiting)} submission(s), {sum(waiting.values()):g} points of free-text answers "
            "(nbgrader's formgrader in the workdir)"
        )
    return "\n".join(lines)


def _other_paths(grades, names):
    """What grade found that another path (formgrader's buttons, nbgrader's commands, a hand edit) did
    to the gradebook since it recorded a grade: changed scores or autograded notebooks, graded again;
    test cells whose score a grader overrode by hand, which count as entered."""
    lines = []
    changed = sorted(s for s, g in grades.items() if g.changed_elsewhere)
    if changed:
        lines.append(f"  changed by another path since grade recorded them, graded again ({len(changed)}; the JSON report says what):")
        lines.append(f"    {', '.join(changed[:names])}" + (f" ... and {len(changed) - names} more" if len(changed) > names else ""))
    overridden = {s: g.overrides for s, g in grades.items() if g.overrides}
    if overridden:
        lines.append(f"  test cells overridden by hand in formgrader ({len(overridden)}; the hand-entered score counts):")
        for student in sorted(overridden)[:names]:
            what = ", ".join(f"{o['cell']} {o['auto']} -> {o['by_hand']:g}" for o in overridden[student])
            lines.append(f"    {student}: {what[:200]}")
        if len(overridden) > names:
            lines.append(f"    ... and {len(overridden) - names} more")
    return lines


def _intake(grades, names):
    """What grade refused or left in the submission folders (autograder/intake.py). A refused entry
    (a link, a FIFO, a device, a second name of a file) is a flag: each such student is named, with
    what the entries were; files not copied (code, folders, ...) are only counted per student."""
    lines = []
    refused = {s: g.refused for s, g in grades.items() if g.refused}
    if refused:
        lines.append(
            f"  flags, links or special files refused at intake, never opened ({len(refused)}; the JSON report "
            "lists them):"
        )
        for student in sorted(refused):
            what = ", ".join(f"{r['path']} ({r['reason'].split(': ')[0]})" for r in refused[student])
            lines.append(f"    {student}: {what[:200]}")
    left = {s: g.not_copied for s, g in grades.items() if g.not_copied}
    if left:
        lines.append(f"  files not copied beside the notebook ({len(left)}; the reasons are in the JSON report):")
        texts = {s: ", ".join(e["path"] for e in entries) for s, entries in left.items()}
        lines += [f"    {s}: {texts[s][:100]}" for s in sorted(texts)[:names]]
        if len(texts) > names:
            lines.append(f"    ... and {len(texts) - names} more")
    return lines


def _histogram(scores, top, bins, width):
    """`bins` equal ranges of [0, top], the last one closed; a bar of # per range, scaled to `width`."""
    if top <= 0:
        return []
    counts = [0] * bins
    for x in scores:
        counts[min(bins - 1, max(0, int(x / top * bins)))] += 1
    edges = [top * i / bins for i in range(bins + 1)]
    labels = [f"{edges[i]:.3g}-{edges[i + 1]:.3g}" for i in range(bins)]
    pad = max(len(label) for label in labels)
    most = max(counts)
    rows = []
    for label, count in zip(labels, counts):
        bar = "#" * (round(count / most * width) if count else 0) or ("." if count else "")
        rows.append(f"    {label:>{pad}} | {bar} {count}".rstrip() if count else f"    {label:>{pad}} |")
    return rows


def _grouped(texts, names, groups):
    """{student: text} -> lines: the texts most common first, each with its count and the first
    `names` students; at most `groups` lines, then one that counts the rest."""
    by_text = defaultdict(list)
    for student, text in texts.items():
        by_text[text].append(student)
    ranked = sorted(by_text.items(), key=lambda item: (-len(item[1]), item[0]))
    lines = []
    for text, students in ranked[:groups]:
        who = ", ".join(students[:names]) + (f" and {len(students) - names} more" if len(students) > names else "")
        lines.append(f"    {len(students):>3} x {text[:100]}: {who}")
    rest = ranked[groups:]
    if rest:
        lines.append(f"    ... and {sum(len(s) for _, s in rest)} more in {len(rest)} other kind(s): see the JSON report")
    return lines


def _first_line(error, student, assignment):
    """The error's first line, with the student's name put as <student> so that alike errors group."""
    line = error.strip().splitlines()[0] if error.strip() else "(no message)"
    return line.replace(f"{student}/{assignment}", f"<student>/{assignment}")
