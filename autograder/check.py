"""The tests of the tests: is every assignment's grading trustworthy?

For each assignment:
1. through the whole nbgrader pipeline, the released stub scores 0 on every graded cell and the
   solution scores full marks;
2. in one sandboxed kernel that ran the solution's imports and answers, every catalogue entry (autograder/
   catalogue/) takes the place of its function and the function's tests are judged in this process,
   as in grading: each `Wrong` must fail the hidden test, each `Right` must pass the visible and hidden
   tests, each `Cheat` (in a kernel of its own) must pass neither; the solution is restored after
   each entry;
3. the catalogue covers the assignment: at least two `Wrong` per graded function, one `Right` at least.

Grading the stub, grading the solution, the catalogue's kernel and each cheat's kernel are
independent tasks, run by worker processes (`jobs`, one per CPU by default) that each start their
own kernels and judge in their own process; their outcomes are plain results merged here. A script
that calls `check_assignment` with jobs > 1 needs the `if __name__ == "__main__":` guard of
multiprocessing's spawn start method.
"""

import multiprocessing
import os
import secrets
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from .catalogue import entries as catalogue_entries
from .config import DEFAULT_TIMEOUT, judged_config, nbgrader_config
from .course import COURSE
from .judging.execute import JudgedExecute
from .grade import grade_submissions
from .hidden import harness
from .sandbox.site import write_site
from .sandbox import find_sandbox
from .sandbox.kernelspec import grader_kernel, install_grader_kernel

__all__ = ["AssignmentCheck", "check_assignment", "check_tasks", "format_check"]

MIN_WRONG_PER_FUNCTION = 2
MIN_RIGHT_PER_ASSIGNMENT = 1
CHEAT_CELL_TIMEOUT = 5  # seconds for the cell that defines a cheat (grading allows the usual limit)


@dataclass
class EntryResult:
    function: str
    description: str
    right: bool
    ok: bool
    detail: str  # what the tests said
    cheat: bool = False


@dataclass
class AssignmentCheck:
    assignment: str
    stub_score: float | None = None
    solution_score: float | None = None
    max_score: float = 0.0
    entries: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    seed: int | None = None

    @property
    def ok(self):
        return not self.failures

    def counts(self, right, cheat=False):
        mine = [e for e in self.entries if e.right == right and e.cheat == cheat]
        return sum(e.ok for e in mine), len(mine)


def check_assignment(
    assignment,
    course=COURSE,
    entries=None,
    timeout=DEFAULT_TIMEOUT,
    progress=None,
    seed=None,
    sandbox="auto",
    jobs=None,
    tick=None,
):
    """Run all three checks on one assignment; returns an AssignmentCheck (failures listed in it).

    Everything goes the way grading goes: kernels in the sandbox, tests judged in this process, on
    inputs drawn from `seed` (default: fresh, and reported, so a failure can be replayed). The work
    is split into independent tasks (grade the stub, grade the solution, the plain entries in one
    kernel, each cheat in its own) run by `jobs` worker processes (default: one per CPU; 1 runs
    them here, one after another). `progress`, if given, is called with a line per catalogue entry;
    `tick`, if given, with a line as each task ends (`check_tasks` says how many there are).
    """
    start = time.perf_counter()
    box = find_sandbox(sandbox)
    seed = secrets.randbits(32) if seed is None else int(seed)
    result = AssignmentCheck(assignment, seed=seed)
    entries = catalogue_entries(assignment) if entries is None else entries
    tasks = _tasks(assignment, course, entries)
    if not course.release_path(assignment).is_file():
        result.failures.append(
            f"no released notebook at {course.release_path(assignment)}: run `python -m autograder release {assignment}`"
        )
    common = (assignment, course, timeout, seed, box.kind)
    outcomes = {}
    for index, outcome in _run(tasks, common, jobs):
        outcomes[index] = outcome
        for line in outcome.get("lines", []):
            if progress:
                progress(line)
        if tick:
            tick(f"{assignment}: {_task_name(*tasks[index])} ({outcome.get('seconds', 0):.0f} s)")
    grades = {o["student"]: o for o in outcomes.values() if "student" in o}
    if len(grades) == 2:
        _judge_pipeline(result, assignment, grades, progress)
    for index in sorted(outcomes):
        outcome = outcomes[index]
        result.entries += outcome.get("entries", [])
        result.failures += outcome.get("failures", [])
    _check_coverage(result, course.solution_path(assignment), entries)
    result.seconds = time.perf_counter() - start
    return result


def check_tasks(assignment, course=COURSE, entries=None):
    """How many tasks `check_assignment` runs for `assignment` (the `tick`s it makes)."""
    return len(_tasks(assignment, course, catalogue_entries(assignment) if entries is None else entries))


def _tasks(assignment, course, entries):
    tasks = []
    if course.release_path(assignment).is_file():
        tasks += [(_grade_task, "solution"), (_grade_task, "released-stub")]
    # the longest first, so that the workers end together
    tasks.insert(1, (_catalogue_task, [e for e in entries if not e.cheat]))
    tasks += [(_catalogue_task, [e]) for e in entries if e.cheat]
    return tasks


def _task_name(task, arg):
    if task is _grade_task:
        return f"graded the {arg.replace('-', ' ')}"
    if len(arg) == 1 and arg[0].cheat:
        return f"cheat on {arg[0].function}: {arg[0].description}"
    return f"catalogue, {len(arg)} {'entry' if len(arg) == 1 else 'entries'}"


def _run(tasks, common, jobs):
    """Yield (index, outcome) of each task, in worker processes when jobs > 1, as they end."""
    jobs = min(len(tasks), max(1, os.cpu_count() or 1) if jobs is None else max(1, int(jobs)))
    if jobs == 1:
        for index, (task, arg) in enumerate(tasks):
            yield index, _guarded(task, arg, *common)
        return
    nbgrader_config()  # asks nbgrader's migration head once, for every worker (config.py)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_guarded, task, arg, *common): index for index, (task, arg) in enumerate(tasks)}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:  # noqa: BLE001 (a worker that died: say so, check the rest)
                yield futures[future], {"failures": [f"a check task could not run: {type(exc).__name__}: {exc}"]}


def _guarded(task, arg, *common):
    start = time.perf_counter()
    try:
        outcome = task(arg, *common)
        outcome["seconds"] = time.perf_counter() - start
        return outcome
    except Exception as exc:  # noqa: BLE001 (one task's trouble is a failure of the check, not a crash)
        return {"failures": [f"{task.__name__[1:-5]} task failed: {type(exc).__name__}: {exc}"]}


def _grade_task(student, assignment, course, timeout, seed, sandbox):
    """Grade one notebook (the solution, or the released stub) through the whole pipeline."""
    source = course.solution_path(assignment) if student == "solution" else course.release_path(assignment)
    with tempfile.TemporaryDirectory(prefix="nn273-check-") as tmp:
        tmp = Path(tmp)
        target = tmp / "submissions" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes(source.read_bytes())
        report = grade_submissions(
            tmp / "submissions", course, workdir=tmp / "grading", assignments=[assignment], timeout=timeout, seed=seed, sandbox=sandbox
        )
        # Test cells run in the grader, not the kernel: a story cell that needs a name a test cell
        # defined fails there, so the solution must grade without an error in any cell.
        failing = []
        graded = tmp / "grading" / "autograded" / student / assignment / f"{assignment}.ipynb"
        if graded.is_file():
            for index, cell in enumerate(nbformat.read(graded, as_version=4).cells):
                problem = _problem([o for o in cell.get("outputs", []) if o.get("output_type") == "error"])
                if problem:
                    failing.append((cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index + 1}", problem))
    return {"student": student, "grade": report[student][assignment], "failing": failing}


def _judge_pipeline(result, assignment, grades, progress):
    stub, solution = grades["released-stub"]["grade"], grades["solution"]["grade"]
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
    for name, problem in grades["solution"]["failing"]:
        result.failures.append(f"graded, the solution's cell {name} fails: {problem}")
    if solution.max_score <= 0:
        result.failures.append("the assignment has no graded cells")


def _catalogue_task(group, assignment, course, timeout, seed, sandbox):
    """The entries of `group` in one sandboxed kernel of the assignment, their tests judged here.

    The kernel runs the imports and the solution's answers only: the story's cells ran when the
    pipeline graded the solution, and tests only call the answers. A cheat has a kernel of its own
    (a group of one): it may have patched anything in the kernel it ran in.
    """
    outcome = {"entries": [], "failures": [], "lines": []}
    box = find_sandbox(sandbox)
    path = course.solution_path(assignment)
    nb = nbformat.read(path, as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: (i, c) for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}
    before = harness.seed()
    harness.set_seed(seed)
    try:
        with tempfile.TemporaryDirectory(prefix="nn273-check-") as tmp:
            tmp = Path(tmp)
            site = write_site(tmp / "site", assignment, course)
            install_grader_kernel(tmp / "kernel", site=site, sandbox=box, name=grader_kernel(assignment))
            config = nbgrader_config(course, workdir=tmp / "kernel", timeout=timeout)  # the settings grading has
            judged_config(config, course, sandboxed=box.isolated, runtime_root=tmp)
            folder = tmp / "notebook"
            folder.mkdir()
            client = JudgedExecute(config=config)
            with client.session(nbformat.from_dict(nb), assignment, folder):
                for index, cell in enumerate(client.nb.cells):
                    if _runs_in_kernel(cell, index == _first_code(nb)):
                        client.preprocess_cell(cell, client.resources, index)
                broken = [
                    gid
                    for gid, (i, c) in cells.items()
                    if c.metadata["nbgrader"].get("solution") and _problem(client.nb.cells[i].get("outputs", []))
                ]
                if broken:
                    outcome["failures"].append(f"in one kernel, the solution fails {', '.join(broken)}; catalogue not checked")
                    return outcome
                for entry in group:
                    checked = _check_entry(client, cells, entry)
                    outcome["entries"].append(checked)
                    kind = "right" if entry.right else "cheat" if entry.cheat else "wrong"
                    if not checked.ok:
                        outcome["failures"].append(f"{kind} {entry.function} ({entry.description}): {checked.detail}")
                    outcome["lines"].append(f"  {'ok  ' if checked.ok else 'FAIL'} {kind} {entry.function}: {entry.description}")
    finally:
        harness.set_seed(before)
    return outcome


def _first_code(nb):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")


def _runs_in_kernel(cell, first):
    """The imports and the answers; neither the story nor the tests (judged here)."""
    meta = cell.metadata.get("nbgrader", {})
    if cell.cell_type != "code" or meta.get("grade"):
        return False
    return first or bool(meta.get("solution"))


def _check_entry(client, cells, entry):
    def run(source, index):
        cell = new_code_cell(source)
        client.preprocess_cell(cell, client.resources, index)
        return _problem(cell.outputs)

    fn = entry.function
    if fn not in cells or f"hidden_{fn}" not in cells:
        return EntryResult(fn, entry.description, entry.right, False, f"the notebook has no cells '{fn}' and 'hidden_{fn}'")
    index, solution = cells[fn]
    if entry.cheat:
        try:
            # A cheat's own cell patches and defines, in milliseconds. One that breaks the kernel's
            # messaging (builtins.isinstance) leaves nbclient waiting out the cell's limit; grading
            # then records no grade, and check need not wait the whole limit to see it.
            with _limit(client, CHEAT_CELL_TIMEOUT):
                problem = run(entry.source, index)
        except Exception as exc:  # noqa: BLE001 (nbgrader records no grade for such a notebook)
            detail = f"earns nothing: grading records no grade for it ({type(exc).__name__}: {str(exc)[:120]})"
            return EntryResult(fn, entry.description, entry.right, True, detail, entry.cheat)
    else:
        problem = run(entry.source, index)
    if problem and not entry.cheat:  # a cheat's own code may fail: grading judges it all the same
        run(solution.source, index)
        return EntryResult(fn, entry.description, entry.right, False, f"the entry's own code fails: {problem}")
    outcomes = {test: _problem(client.judge(test)) for test in (f"test_{fn}", f"hidden_{fn}") if test in cells}
    run(solution.source, index)  # restore the solution for the next entry
    if entry.right:
        failed = {t: p for t, p in outcomes.items() if p}
        ok = not failed
        detail = "passes " + " and ".join(outcomes) if ok else "; ".join(f"{t} fails: {p}" for t, p in failed.items())
    elif entry.cheat:
        # an evasion's answer is right: only the hidden test, which holds the rule, must reject it
        passed = [t for t, p in outcomes.items() if not p and not (entry.evasion and t.startswith("test_"))]
        ok = not passed
        detail = "earns nothing: " + "; ".join(f"{t}: {p}" for t, p in outcomes.items()) if ok else f"earns {' and '.join(passed)}"
    else:
        hidden = outcomes[f"hidden_{fn}"]
        ok = bool(hidden)
        detail = f"hidden test rejects it: {hidden}" if ok else "the hidden test passes it"
    return EntryResult(fn, entry.description, entry.right, ok, detail, entry.cheat)


@contextmanager
def _limit(client, seconds):
    """A cell limit of `seconds`, and nbclient's own wait for output after the kernel replied."""
    before = client.timeout, client.iopub_timeout
    client.timeout = min(seconds, before[0] or seconds)
    client.iopub_timeout = min(seconds, before[1])
    try:
        yield
    finally:
        client.timeout, client.iopub_timeout = before


def _problem(outputs):
    """The first line of an error or stderr output among `outputs` ('' if there is none)."""
    for out in outputs:
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
        wrong = sum(1 for e in entries if e.function == fn and not e.right and not e.cheat)
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
        cheat_ok, cheat_n = r.counts(right=False, cheat=True)
        stub = "--" if r.stub_score is None else f"{r.stub_score:g}"
        sol = "--" if r.solution_score is None else f"{r.solution_score:g}"
        lines.append(
            f"{r.assignment}: {'ok' if r.ok else 'FAILED'} in {r.seconds:.0f} s | released stub {stub}/{r.max_score:g} | "
            f"solution {sol}/{r.max_score:g} | wrong rejected {wrong_ok}/{wrong_n} | right kept {right_ok}/{right_n} | "
            f"cheats earning nothing {cheat_ok}/{cheat_n} | seed {r.seed}"
        )
        lines.extend(f"  - {f}" for f in r.failures)
    return "\n".join(lines)
