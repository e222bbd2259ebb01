"""grades -> feedback: one page per student and assignment that teaches, without leaking.

`write_feedback` writes `<assignment>.html` and `<assignment>.txt` (the same facts in plain text)
into a student's feedback folder, from the grade (`grade.NotebookGrade`: the score of every cell)
and the autograded notebook's outputs: for every failed test, its error's one-line message (which
case it was, expected against received at the first wrong index, and the diagnosis of a known
mistake, see autograder/hidden/harness.py) and the traceback of the student's own code in the kernel.

It never shows a test cell's source, the lines of the test in a traceback, or what a test printed:
nbgrader's feedback shows the test cells, hidden tests included, by design, and an autograded
notebook holds them. As a last guard, any line of a hidden test and any private name of the hidden
tests' modules (their oracles) that a message might still hold is blacked out.

The file names are nbgrader's (`<notebook>.html`), so `nbgrader release_feedback` hands the page to
the student through the exchange, as it would its own. `FeedbackPage` is the exporter of nbgrader's
generate_feedback in the course's configuration (config.py): formgrader's Generate Feedback, `nbgrader
generate_feedback` and `grade --feedback` all write these pages, from the gradebook as it is then (a
score entered by hand included) and the notes of the grade's record (results/), with the
`timestamp.txt` and `submission_secret.txt` that release_feedback reads.
"""

import ast
import html
import json
import re
import secrets as _tokens
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbconvert.exporters import Exporter
from traitlets import default

from .course import ASSIGNMENTS

__all__ = ["FeedbackPage", "feedback_facts", "write_feedback"]

HAND_GRADED = "answer graded by hand"  # the kind of a free-text answer's row

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
YOUR_CODE = (
    "In your code (in the kernel):"  # autograder/judging/judge.py's heading of the kernel's traceback
)
MAX_MESSAGE = 4000  # characters of one message shown
MAX_TRACEBACK = 3000
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_REDACTED = "[...]"


def write_feedback(folder, student, assignment, grade, autograded):
    """Write `folder`/<assignment>.html and .txt for `student`'s `grade` (a NotebookGrade) of
    `assignment`, whose graded notebook is `autograded`; returns the two paths."""
    facts = feedback_facts(student, assignment, grade, autograded)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    page, text = folder / f"{assignment}.html", folder / f"{assignment}.txt"
    page.write_text(_html(facts), encoding="utf-8")
    text.write_text(_text(facts), encoding="utf-8")
    return page, text


def feedback_facts(student, assignment, grade, autograded, solution=None):
    """What the pages say, as data: {"student", "assignment", "score", "max_score", "cells", "notes",
    "errors", "explanations"}; cells: [{"id", "kind", "score", "max_score", "message", "diagnosis",
    "your_code"}] in notebook order; errors: [(cell, message)] of the student's own cells that raised;
    explanations: [{"id", "yours", "text"}], from the solution notebook `solution` (if given): what
    it says of each graded question, beside the student's answer (autograder/explanations.py)."""
    if isinstance(autograded, nbformat.NotebookNode):
        nb = autograded
    else:
        nb = nbformat.read(autograded, as_version=4) if Path(autograded).is_file() else nbformat.v4.new_notebook()
    secrets = _Secrets(nb, assignment)
    outputs, kinds, errors = {}, {}, []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        failure = next(
            (o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None
        )
        if meta.get("grade") and not meta.get("solution"):
            kinds[grade_id] = "hidden test" if HIDDEN_BEGIN in cell.source else "test"
            outputs[grade_id] = failure
        elif failure is not None:
            errors.append((grade_id or f"cell {index + 1}", secrets.clean(_one_line(failure))))
    cells = []
    for grade_id, score in grade.cells.items():
        failure = outputs.get(grade_id)
        message, diagnosis = (
            _split_diagnosis(secrets.clean(_one_line(failure))) if failure else ("", "")
        )
        cells.append(
            {
                "id": grade_id,
                "kind": kinds.get(grade_id, "test"),
                "score": score["score"],
                "max_score": score["max_score"],
                "message": message if score["score"] < score["max_score"] else "",
                "diagnosis": diagnosis if score["score"] < score["max_score"] else "",
                "your_code": secrets.clean(_your_code(failure))
                if failure and score["score"] < score["max_score"]
                else "",
            }
        )
    for grade_id, score in grade.manual.items():
        cells.append(
            {
                "id": grade_id,
                "kind": HAND_GRADED,
                "score": score["score"],
                "max_score": score["max_score"],
                "message": "",
                "diagnosis": "",
                "your_code": "",
            }
        )
    return {
        "student": student,
        "assignment": assignment,
        "score": grade.score,
        "max_score": grade.max_score,
        "cells": cells,
        "notes": [secrets.clean(line) for line in (grade.error or "").split("; ") if line],
        "errors": errors,
        "explanations": _explanations(nb, solution, secrets),
    }


def _explanations(nb, solution, secrets):
    """[{"id", "yours", "text"}] for each question the solution explains, in its order."""
    if solution is None or not Path(solution).is_file():
        return []
    from .explanations import explanations

    answers = {
        c.metadata.get("nbgrader", {}).get("grade_id"): c.source
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    return [
        {"id": question, "yours": (answers.get(question) or "")[:MAX_MESSAGE], "text": secrets.clean("\n\n".join(texts))}
        for question, texts in explanations(solution).items()
    ]


class _Secrets:
    """What a student must never read: the lines of the hidden tests and the private names (oracles,
    helpers) of the hidden tests' modules; `clean` blacks them out of a text."""

    def __init__(self, nb, assignment):
        self.lines = set()
        for cell in nb.cells:
            inside = False
            for line in cell.source.splitlines():
                stripped = line.strip()
                if stripped.startswith(HIDDEN_BEGIN) or stripped.startswith(HIDDEN_END):
                    inside = stripped.startswith(HIDDEN_BEGIN)
                elif inside and len(stripped) >= 8:
                    self.lines.add(stripped)
        names = set()
        for module in ("harness", ASSIGNMENTS.get(assignment)):
            path = Path(__file__).parent / "hidden" / f"{module}.py"
            if module and path.is_file():
                names |= _private_names(path.read_text())
        self.names = (
            re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b") if names else None
        )

    def clean(self, text):
        for line in self.lines:
            text = text.replace(line, _REDACTED)
        return self.names.sub(_REDACTED, text) if self.names else text


def _private_names(source):
    """Top-level names of a module that start with an underscore (its oracles and helpers)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return {n for n in names if n.startswith("_") and not n.startswith("__") and len(n) > 2}


def _one_line(output):
    """An error output as `Type: message`, without the test's lines."""
    if output is None:
        return ""
    ename, evalue = output.get("ename", "Error"), _ANSI.sub("", str(output.get("evalue", "")))
    text = f"{ename}: {evalue}" if evalue else ename
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " [...]"


def _your_code(output):
    """The traceback of the student's code in the kernel, which autograder/judging/judge.py puts after
    YOUR_CODE (a test's own lines come before it and are left out)."""
    lines = [_ANSI.sub("", line) for line in output.get("traceback", [])]
    if YOUR_CODE not in lines:
        return ""
    kept, skipping = [], False
    for line in "\n".join(lines[lines.index(YOUR_CODE) + 1 :]).strip("\n").splitlines():
        if line.startswith('  File "'):
            skipping = (
                "/kernelside/" in line
            )  # the grading kernel's own frames: not the student's code
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    text = "\n".join(kept)
    return text if len(text) <= MAX_TRACEBACK else "[...]\n" + text[-MAX_TRACEBACK:]


def _split_diagnosis(message):
    head, found, diagnosis = message.partition(" Diagnosis: ")
    return (head, diagnosis) if found else (message, "")


def _points(value):
    return "awaiting grading" if value is None else str(float(value))


def _total(facts):
    """The whole score, as formgrader shows it: the tests' points plus those of answers graded by
    hand, out of both maxima; points still awaiting a grader are said, not counted."""
    by_hand = [c for c in facts["cells"] if c["kind"] == HAND_GRADED]
    max_score = float(facts["max_score"]) + sum(float(c["max_score"]) for c in by_hand)
    if facts["score"] is None:
        return f"not graded / {max_score}"
    score = float(facts["score"]) + sum(float(c["score"]) for c in by_hand if c["score"] is not None)
    waiting = sum(float(c["max_score"]) for c in by_hand if c["score"] is None)
    if not waiting:
        return f"{score} / {max_score}"
    return f"{score} / {max_score} ({waiting:g} {'point awaits' if waiting == 1 else 'points await'} a grader)"


def _text(facts):
    out = [
        f"Feedback on {facts['assignment']} for {facts['student']}",
        "",
        f"Score: {_total(facts)}",
        "",
    ]
    width = max([len(c["id"]) for c in facts["cells"]] + [4])
    for c in facts["cells"]:
        out.append(
            f"  {c['id']:<{width}}  {_points(c['score'])} / {float(c['max_score'])}  ({c['kind']})"
        )
    failed = [c for c in facts["cells"] if c["message"] or c["diagnosis"]]
    if failed:
        out += ["", "What went wrong", ""]
    for c in failed:
        out.append(f"{c['id']} ({_points(c['score'])} / {float(c['max_score'])}):")
        out.append(f"  {c['message']}")
        if c["diagnosis"]:
            out.append(f"  Diagnosis: {c['diagnosis']}")
        if c["your_code"]:
            out.append("  In your code:")
            out += [f"    {line}" for line in c["your_code"].splitlines()]
        out.append("")
    if facts["errors"]:
        out += ["Errors in your own cells", ""]
        out += [f"  {cell}: {message}" for cell, message in facts["errors"]]
        out.append("")
    if facts["explanations"]:
        out += ["The questions, explained", ""]
        for item in facts["explanations"]:
            out.append(f"{item['id']}:")
            out += [f"  your answer: {line}" for line in (item["yours"] or "(none)").splitlines()]
            out += [f"  {line}" for line in item["text"].splitlines()]
            out.append("")
    if facts["notes"]:
        out += ["Notes", ""] + [f"  {note}" for note in facts["notes"]] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.4; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
.full { color: #1a7f37; } .lost { color: #b42318; }
pre { background: #f6f8fa; padding: 0.6em; white-space: pre-wrap; }
.diagnosis { background: #fff8c5; padding: 0.6em; }
"""


def _html(facts):
    e = html.escape
    rows = []
    for c in facts["cells"]:
        full = c["score"] is not None and c["score"] >= c["max_score"]
        mark = "" if c["score"] is None else (' class="full"' if full else ' class="lost"')
        rows.append(
            f"<tr><td>{e(c['id'])}</td><td>{e(c['kind'])}</td>"
            f"<td{mark}>{e(_points(c['score']))} / {float(c['max_score'])}</td></tr>"
        )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{e(facts["assignment"])}: feedback</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Feedback on {e(facts['assignment'])} for {e(facts['student'])}</h1>",
        f"<p>Score: <strong>{e(_total(facts))}</strong></p>",
        "<table><tr><th>cell</th><th>kind</th><th>score</th></tr>",
        *rows,
        "</table>",
    ]
    failed = [c for c in facts["cells"] if c["message"] or c["diagnosis"]]
    if failed:
        parts.append("<h2>What went wrong</h2>")
    for c in failed:
        parts.append(f"<h3>{e(c['id'])} ({e(_points(c['score']))} / {float(c['max_score'])})</h3>")
        parts.append(f"<pre>{e(c['message'])}</pre>")
        if c["diagnosis"]:
            parts.append(
                f'<p class="diagnosis"><strong>Diagnosis:</strong> {e(c["diagnosis"])}</p>'
            )
        if c["your_code"]:
            parts.append(f"<p>In your code:</p><pre>{e(c['your_code'])}</pre>")
    if facts["errors"]:
        parts.append("<h2>Errors in your own cells</h2><ul>")
        parts += [
            f"<li>{e(cell)}: <code>{e(message)}</code></li>" for cell, message in facts["errors"]
        ]
        parts.append("</ul>")
    if facts["explanations"]:
        parts.append("<h2>The questions, explained</h2>")
        for item in facts["explanations"]:
            parts.append(f"<h3>{e(item['id'])}</h3><p>Your answer:</p><pre>{e(item['yours'] or '(none)')}</pre>")
            parts.append(f"<pre>{e(item['text'])}</pre>")
    if facts["notes"]:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f"<li>{e(note)}</li>" for note in facts["notes"]]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class FeedbackPage(Exporter):
    """nbgrader's generate_feedback, in the course's configuration: the course's page for an
    autograded notebook (`<notebook>.html`, with `<notebook>.txt` beside it), never nbgrader's own."""

    output_mimetype = "text/html"

    @default("file_extension")
    def _file_extension_default(self):
        return ".html"

    def from_notebook_node(self, nb, resources=None, **kw):
        from .grade import feedback_grade

        nb, resources = super().from_notebook_node(nb, resources, **kw)
        info = resources["nbgrader"]
        student, assignment = info["student"], info["assignment"]
        coursedir = self.parent.coursedir
        grade = feedback_grade(coursedir.root, coursedir.db_url, student, assignment, nb)
        solution = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{info['notebook']}.ipynb"
        facts = feedback_facts(student, assignment, grade, nb, solution)
        outputs = resources.setdefault("outputs", {})
        outputs[f"{info['notebook']}.txt"] = _text(facts).encode("utf-8")
        # What release_feedback reads beside the page. A submission that came through the exchange
        # brought both (generate_feedback copies them from the autograded folder); for one that did
        # not, the time of this page and a secret no student holds, so the release goes through and
        # the page is for the instructor to hand out.
        autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        if not (autograded / "timestamp.txt").is_file():
            outputs["timestamp.txt"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z").encode()
        if not (autograded / "submission_secret.txt").is_file():
            outputs["submission_secret.txt"] = _tokens.token_hex(64).encode()
        return _html(facts), resources


def recorded_notes(root, student, assignment, digest):
    """The notes (`NotebookGrade.error`) of the grade recorded in the course folder `root` for this
    submission, if that record is of the notebook whose outputs have `digest`; else None."""
    path = Path(root) / "results" / student / f"{assignment}.json"
    try:
        record = json.loads(path.read_text())
        if record.get("outputs") == digest:
            return record["grade"].get("error")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None
