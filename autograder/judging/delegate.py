"""`DelegatedExecute`: nbgrader's own autograde (formgrader's Autograde button, `nbgrader autograde`)
grades through the course's grader, `python -m autograder grade`, and nothing else.

nbgrader builds its `Autograde` from the `nbgrader_config.py` where it runs: the repository's (the
course folder grading/nbgrader/) and each one `grade` writes in its workdir. Both put this step in
place of nbgrader's `Execute` (config.py, `course_autograde_config`). It never starts a kernel here:
- it asks `grade_submissions` for the notebook's grade, in the course folder's `judged/` workdir, in a
  process of its own (`python -I`), with the options of the folder's run (run.json: seed, limits),
  so the notebook is graded as `grade` grades it: intake, sandbox, tests judged in the grader,
  reruns after a death, the same seed. A grade that `judged/` already holds for these very files,
  solution, tests and options (its fingerprint) is taken as it is;
- it hands nbgrader the notebook that grade executed and judged, taken only if its cells are those
  nbgrader's sanitizing made here; nbgrader's next steps score it and write the gradebook;
- it keeps the grade in the course folder's results/, as `grade` does, for the feedback pages
  (autograder/feedback.py) and for `grade`'s own check of the gradebook (grade.py, `_changed_elsewhere`).

Without a sandbox it refuses: the notebook is not graded, and the error names `python -m autograder
grade` and why. It never falls back to nbgrader's plain execution.
"""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from traitlets import Float

from nbgrader.preprocessors import NbGraderPreprocessor

from ..course import ROOT

__all__ = ["JUDGED", "DelegatedExecute", "judged_grade"]

JUDGED = "judged"  # the course folder's workdir of the judged grader
STARTUP = 300.0  # seconds a grading process may take beyond the notebook's budget (imports, preparing)


class DelegatedExecute(NbGraderPreprocessor):
    """In place of nbgrader's `Execute`: the notebook as the course's grader executed and judged it."""

    startup = Float(STARTUP, help="seconds a grading process may take beyond the notebook's budget").tag(config=True)

    def preprocess(self, nb, resources):
        from .execute import cells_match

        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        if notebook != assignment:
            raise RuntimeError(f"not graded: the course grades {assignment}.ipynb only, not {notebook}.ipynb")
        root = Path(_course_root(self))
        grade, executed = judged_grade(root, student, assignment, self.startup)
        if grade.score is None:
            record = root / JUDGED / "results" / student / f"{assignment}.json"
            raise RuntimeError(
                f"not graded by the course's grader (python -m autograder grade): {grade.error.splitlines()[0]}"
                + (f" -- the record is {record}" if record.is_file() else "")
            )
        if not cells_match(nb, executed):
            raise RuntimeError(
                f"the notebook the course's grader graded for {student}/{assignment} is not the one nbgrader "
                "prepared here: the course's solution changed since this course folder's generate_assignment; "
                "run it again (nbgrader generate_assignment --force), then autograde"
            )
        return executed, resources


def _course_root(step):
    """The course folder of the nbgrader command that runs `step` (its converter's coursedir)."""
    owner = step
    while owner is not None:
        coursedir = getattr(owner, "coursedir", None)
        if coursedir is not None:
            return coursedir.root
        owner = getattr(owner, "parent", None)
    return step.config.CourseDirectory.get("root") or os.getcwd()


def judged_grade(root, student, assignment, startup=STARTUP):
    """(NotebookGrade, executed notebook or None) of `student`'s `assignment` in the course folder
    `root` (its submitted/ folder), graded by `grade_submissions` in root/judged/, with root's options;
    kept in root/results/ too. In a process of its own unless judged/ already holds this grade."""
    from .. import grade as g
    from ..sandbox import SandboxUnavailable, find_sandbox

    try:
        box = find_sandbox("auto")
    except SandboxUnavailable as exc:
        return g.NotebookGrade(None, 0.0, error=(
            f"refused: nbgrader's autograde in this course folder grades only through the course's grader, in a "
            f"sandbox, and there is none here ({exc}). Grade with `python -m autograder grade` once a sandbox is "
            "installed; nothing falls back to nbgrader's plain execution, which would run the tests in the "
            "student's kernel"
        )), None
    options = g.course_options(root, box)
    kept = g.judged_result(root, student, assignment, options)
    if kept is None:
        budget = options["notebook_budget"] or 3600.0
        request = {"root": str(root), "student": student, "assignment": assignment, "options": options}
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from autograder.judging.delegate import main; main()"
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", code], input=json.dumps(request), capture_output=True, text=True,
                timeout=budget + startup, cwd=str(root),
            )
        except subprocess.TimeoutExpired:
            return g.NotebookGrade(None, 0.0, error=f"grading failed: the course's grader took longer than {budget + startup:g} s"), None
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return g.NotebookGrade(None, 0.0, error=f"grading failed: the course's grader stopped ({tail[0]})"), None
        kept = g.judged_result(root, student, assignment, options)
        if kept is None:  # not kept by grade (a failure of the run): its grade says why
            try:
                return g.NotebookGrade(**json.loads(lines[-1])), None
            except (ValueError, TypeError):
                return g.NotebookGrade(None, 0.0, error=f"grading failed: the course's grader said {lines[-1][:300]!r}"), None
    grade, executed, fingerprint = kept
    if executed is not None:
        g.keep_result(root, student, assignment, grade, executed, fingerprint)
    return grade, executed


def main():
    """In the grading process: grade one notebook of a course folder's submitted/ into its judged/."""
    from ..grade import JUDGED_OPTIONS, grade_submissions

    request = json.loads(sys.stdin.read())
    root, options, student, assignment = Path(request["root"]), request["options"], request["student"], request["assignment"]
    report = grade_submissions(
        root / "submitted", workdir=root / JUDGED, assignments=[assignment], students=[student],
        jobs=1, **{name: options[name] for name in JUDGED_OPTIONS},
    )
    print(json.dumps(asdict(report[student][assignment])))
