"""The tests of the tests: is every assignment's grading trustworthy?

For each assignment:
1. through the whole nbgrader pipeline, the released stub scores 0 on every graded cell and the
   solution scores full marks;
2. in one kernel that ran the solution notebook, every catalogue entry (autograder/catalogue/) takes
   the place of its function: each `Wrong` must fail that function's hidden test, each `Right` must
   pass its visible and hidden tests; the solution is restored after each entry;
3. the catalogue covers the assignment: at least two `Wrong` per graded function, one `Right` at least.
"""

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from .catalogue import entries as catalogue_entries
from .config import DEFAULT_TIMEOUT, install_grader_kernel
from .course import COURSE
from .grade import grade_submissions

__all__ = ["AssignmentCheck", "check_assignment", "format_check"]

MIN_WRONG_PER_FUNCTION = 2
MIN_RIGHT_PER_ASSIGNMENT = 1


@dataclass
class EntryResult:
    function: str
    description: str
    right: bool
    ok: bool
    detail: str  # what the tests said


@dataclass
class AssignmentCheck:
    assignment: str
    stub_score: float | None = None
    solution_score: float | None = None
    max_score: float = 0.0
    entries: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self):
        return not self.failures

    def counts(self, right):
        mine = [e for e in self.entries if e.right == right]
        return sum(e.ok for e in mine), len(mine)


def check_assignment(assignment, course=COURSE, entries=None, timeout=DEFAULT_TIMEOUT, progress=None):
    """Run all three checks on one assignment; returns an AssignmentCheck (failures listed in it)."""
    start = time.perf_counter()
    result = AssignmentCheck(assignment)
    entries = catalogue_entries(assignment) if entries is None else entries
    with tempfile.TemporaryDirectory(prefix="nn273-check-") as tmp:
        tmp = Path(tmp)
        _check_pipeline(result, assignment, course, tmp, timeout, progress)
        _check_catalogue(result, assignment, course, entries, tmp, timeout, progress)
    _check_coverage(result, course.solution_path(assignment), entries)
    result.seconds = time.perf_counter() - start
    return result


def _check_pipeline(result, assignment, course, tmp, timeout, progress):
    submissions = tmp / "submissions"
    released = course.release_path(assignment)
    if not released.is_file():
        result.failures.append(f"no released notebook at {released}: run `python -m autograder release {assignment}`")
        return
    for student, source in (("released-stub", released), ("solution", course.solution_path(assignment))):
        target = submissions / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes(source.read_bytes())
    report = grade_submissions(submissions, course, workdir=tmp / "grading", assignments=[assignment], timeout=timeout)
    stub, solution = report["released-stub"][assignment], report["solution"][assignment]
    result.stub_score, result.solution_score, result.max_score = stub.score, solution.score, solution.max_score
    if progress:
        progress(f"{assignment}: released stub {stub.score}/{stub.max_score:g}, solution {solution.score}/{solution.max_score:g}")
    for name, grade in (("released stub", stub), ("solution", solution)):
        if grade.error:
            result.failures.append(f"the {name} could not be graded: {grade.error}")
    scored = [gid for gid, c in stub.cells.items() if c["score"] != 0]
    if scored:
        result.failures.append(f"the released stub scores points on {', '.join(scored)}: those tests pass without an answer")
    short = [gid for gid, c in solution.cells.items() if c["score"] != c["max_score"]]
    if short:
        result.failures.append(f"the solution loses points on {', '.join(short)}")
    if solution.max_score <= 0:
        result.failures.append("the assignment has no graded cells")


def _check_catalogue(result, assignment, course, entries, tmp, timeout, progress):
    path = course.solution_path(assignment)
    nb = nbformat.read(path, as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: (i, c) for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=install_grader_kernel(tmp / "kernel"),
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        broken = [gid for gid, (_, c) in cells.items() if c.metadata["nbgrader"].get("grade") and _problem(c)]
        if broken:
            result.failures.append(f"in one kernel, the solution fails {', '.join(broken)}; catalogue not checked")
            return
        for entry in entries:
            checked = _check_entry(client, cells, entry)
            result.entries.append(checked)
            if not checked.ok:
                kind = "right" if entry.right else "wrong"
                result.failures.append(f"{kind} {entry.function} ({entry.description}): {checked.detail}")
            if progress:
                progress(f"  {'ok  ' if checked.ok else 'FAIL'} {'right' if entry.right else 'wrong'} {entry.function}: {entry.description}")


def _check_entry(client, cells, entry):
    def run(source, index):
        cell = new_code_cell(source)
        client.execute_cell(cell, index)
        return _problem(cell)

    fn = entry.function
    if fn not in cells or f"hidden_{fn}" not in cells:
        return EntryResult(fn, entry.description, entry.right, False, f"the notebook has no cells '{fn}' and 'hidden_{fn}'")
    index, solution = cells[fn]
    problem = run(entry.source, index)
    if problem:
        run(solution.source, index)
        return EntryResult(fn, entry.description, entry.right, False, f"the entry's own code fails: {problem}")
    outcomes = {}
    for test in (f"test_{fn}", f"hidden_{fn}"):
        if test in cells:
            outcomes[test] = run(cells[test][1].source, cells[test][0])
    run(solution.source, index)  # restore the solution for the next entry
    if entry.right:
        failed = {t: p for t, p in outcomes.items() if p}
        ok = not failed
        detail = "passes " + " and ".join(outcomes) if ok else "; ".join(f"{t} fails: {p}" for t, p in failed.items())
    else:
        hidden = outcomes[f"hidden_{fn}"]
        ok = bool(hidden)
        detail = f"hidden test rejects it: {hidden}" if ok else "the hidden test passes it"
    return EntryResult(fn, entry.description, entry.right, ok, detail)


def _problem(cell):
    """The first line of an error or stderr output of an executed cell ('' if it ran cleanly)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename')}: {value[0] if value else ''}"[:300]
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return f"wrote to stderr: {out.get('text', '').strip().splitlines()[0][:200]}"
    return ""


def _check_coverage(result, solution_path, entries):
    nb = nbformat.read(solution_path, as_version=4)
    graded = [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]
    for fn in graded:
        wrong = sum(1 for e in entries if e.function == fn and not e.right)
        if wrong < MIN_WRONG_PER_FUNCTION:
            result.failures.append(f"catalogue has {wrong} wrong implementation(s) of {fn}; at least {MIN_WRONG_PER_FUNCTION} wanted")
    rights = sum(1 for e in entries if e.right)
    if rights < MIN_RIGHT_PER_ASSIGNMENT:
        result.failures.append(f"catalogue has no different but correct implementation for {result.assignment}")
    unknown = sorted({e.function for e in entries} - set(graded))
    if unknown:
        result.failures.append(f"catalogue names functions the notebook does not grade: {', '.join(unknown)}")


def format_check(results):
    lines = []
    for r in results:
        wrong_ok, wrong_n = r.counts(right=False)
        right_ok, right_n = r.counts(right=True)
        stub = "--" if r.stub_score is None else f"{r.stub_score:g}"
        sol = "--" if r.solution_score is None else f"{r.solution_score:g}"
        lines.append(
            f"{r.assignment}: {'ok' if r.ok else 'FAILED'} in {r.seconds:.0f} s | released stub {stub}/{r.max_score:g} | "
            f"solution {sol}/{r.max_score:g} | wrong rejected {wrong_ok}/{wrong_n} | right kept {right_ok}/{right_n}"
        )
        lines.extend(f"  - {f}" for f in r.failures)
    return "\n".join(lines)
