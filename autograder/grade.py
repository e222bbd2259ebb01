"""submissions -> autograde -> grades: every student's notebooks through nbgrader, side by side.

Each notebook runs in a fresh kernel in a sandbox (autograder/sandbox/namespaces.py) that imports the student
edition of nn273 for its assignment (autograder/sandbox/site.py); its test cells are judged in this
process (autograder/judging/execute.py), on inputs drawn from a seed of the run's seed (fresh unless given)
and the notebook's bytes. Only what autograder/intake.py allows is taken from a submission folder
(never through a link); the tests come from a snapshot of the solutions made as the run begins, and
before and after each notebook that snapshot and the hidden tests' code are checked against the
run's sha256: a change stops that notebook ("grading failed: Tampered").

One broken submission never stops the others. What nbgrader cannot grade (a missing or corrupt
notebook) is reported with an error text and a score of None, never as a zero that looks like a wrong
answer; a cell that ran out of time scores zero and is named in the error, and a kernel that died or
a notebook whose time budget ran out costs the cells that did not run (execute.py).

With jobs > 1, worker processes grade in scratch course folders of their own and this process,
the gradebook's one writer, records each result (`_Recorder`, `execute.ReplayExecute`).

Resumable: the workdir keeps a record of the run (`run.json`: seed, sandbox, options, each
solution's fingerprint) and one result file per submission (`results/<student>/<assignment>.json`),
written atomically once the gradebook holds its grades. A later run in the same workdir grades only
the submissions without a result of the same fingerprint (the files intake takes, the solution, the
hidden tests, the seed and the options), reusing the recorded seed unless given another; `force`
empties the workdir first.
"""

import hashlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import nbformat
from nbgrader.api import Grade, Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config

from . import intake
from .config import (
    ALEMBIC_HEAD_VARIABLE,
    DEFAULT_MEMORY_MB,
    DEFAULT_NOTEBOOK_BUDGET,
    DEFAULT_TIMEOUT,
    exchange_config,
    judged_config,
    nbgrader_config,
    replay_config,
)
from .course import ASSIGNMENTS, COURSE, ROOT, WORKDIR
from .hidden import harness
from .judging.execute import DIED_IN, EXECUTED, FLAGS, OBSERVED, OUTPUT_LOST, RUNS, TrustedNotebook, outputs_digest
from .judging.metadata import tamper_notes
from .sandbox import find_sandbox
from .sandbox.kernelspec import grader_kernel, install_grader_kernel
from .sandbox.site import write_site

# nbgrader's gradebook trips SQLAlchemy's autoflush warning when it records a new submission
# (nbgrader/api.py); it is harmless and would bury the grading output.
warnings.filterwarnings("ignore", message=".*not in session, add operation along.*")

__all__ = ["NotebookGrade", "grade_submissions", "scan_submissions"]

MAX_RERUNS = 3  # runs of a notebook after its kernel died, each without one more cell
_MARKER = ".nn273-workdir"
_TEMPLATE = "gradebook-before-grading.db"  # what each worker's course folder starts from
_RUN = "run.json"  # the run record: seed, sandbox, options and the solutions' fingerprints
_RESULTS = "results"  # results/<student>/<assignment>.json: one finished grade each, with its fingerprint
_HIDDEN = Path(__file__).parent / "hidden"  # the hidden tests' code: a change grades again
# The solutions as this run read them, in the workdir, where no sandbox reaches: every process that
# grades takes its tests from here, checked against the run's sha256 before and after each notebook.
_SNAPSHOT = "solutions-snapshot"
UNPROTECTED = (
    "graded without a sandbox (--no-sandbox): this submission could read and change the course's answers, "
    "other students' work and the gradebook, so its grade cannot be trusted"
)


@dataclass
class NotebookGrade:
    """One student's result on one assignment, as written to the JSON report."""

    score: float | None
    max_score: float
    cells: dict = field(default_factory=dict)  # grade_id -> {"score": float, "max_score": float}
    error: str | None = None
    # Free-text answers, graded by hand in nbgrader's formgrader, apart from the automatic score:
    # grade_id -> {"score": float, or None while it awaits a grader, "max_score": float}
    manual: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)  # [{"cell", "function", "evidence"}]: for the instructor
    seed: int | None = None  # the run's seed (grade --seed reproduces the run)
    # the hidden tests' inputs were drawn from this, made of the run's seed and the notebook's bytes:
    # a resubmission that changed gets other inputs than those its feedback showed
    notebook_seed: int | None = None
    sandbox: str | None = None  # how the kernel was isolated: bwrap, unshare, or none (no protection)
    warning: str | None = None  # about the run rather than the submission (e.g. graded without a sandbox)
    # What grade took from the submission folder (autograder/intake.py): [{"path", "reason"}] of links
    # and special files, refused and never opened (a flag for the instructor), and of files not copied.
    refused: list = field(default_factory=list)
    not_copied: list = field(default_factory=list)
    # Another path (formgrader, nbgrader's own commands, a hand edit) changed this submission's grades
    # or autograded notebook in the workdir since grade recorded it: what it found; graded again.
    changed_elsewhere: str | None = None
    # Test cells whose score a grader overrode by hand in formgrader: [{"cell", "auto", "by_hand"}];
    # the score counts the hand-entered value, as nbgrader's does.
    overrides: list = field(default_factory=list)

    @property
    def awaiting_manual(self):
        """Points of free-text answers that no one has graded yet."""
        return sum(c["max_score"] for c in self.manual.values() if c["score"] is None)


def scan_submissions(submissions, course=COURSE, assignments=None, students=None):
    """Find `<student>/<assignment>/` folders; returns ({student: [assignment, ...]}, problems).
    `students`, if given, keeps only those students' folders.

    problems maps (student, name) to an error text for folders that are not a known assignment.
    Nothing is followed: a student's or assignment's entry that is a symbolic link is planned like a
    folder, and refused when graded (autograder/intake.py), so the report names it.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ValueError(
            f"submissions folder {submissions} does not exist; expected <student>/<assignment>/<assignment>.ipynb inside it"
        )
    known = course.available()
    wanted = course.check_assignments(assignments) if assignments else None
    found, problems = {}, {}
    for student in _entries(submissions):
        if students is not None and student not in students:
            continue
        names = sorted(_entries(submissions / student)) if not (submissions / student).is_symlink() else []
        found[student] = [n for n in names if n in known and (wanted is None or n in wanted)]
        for name in names:
            if name not in known:
                problems[(student, name)] = (
                    f"unknown assignment folder '{name}'; expected one of {', '.join(known)}"
                )
    if not found:
        raise ValueError(
            f"no student folders in {submissions}; expected <student>/<assignment>/<assignment>.ipynb inside it"
        )
    graded = wanted or sorted({a for names in found.values() for a in names})
    return {s: graded for s in found}, problems


def _entries(folder):
    """Names of the folders and symbolic links in `folder` (not looked through), hidden ones left out."""
    with os.scandir(folder) as entries:
        return sorted(
            e.name for e in entries
            if not e.name.startswith(".") and (e.is_symlink() or e.is_dir(follow_symlinks=False))
        )


def grade_submissions(
    submissions,
    course=COURSE,
    workdir=WORKDIR,
    assignments=None,
    timeout=DEFAULT_TIMEOUT,
    memory_mb=DEFAULT_MEMORY_MB,
    feedback=False,
    progress=None,
    seed=None,
    sandbox="auto",
    jobs=None,
    force=False,
    scheduler=None,
    notebook_budget=DEFAULT_NOTEBOOK_BUDGET,
    students=None,
):
    """Grade every `<student>/<assignment>/<assignment>.ipynb` under `submissions` (of `students`
    only, if given).

    Returns {student: {assignment: NotebookGrade}}, every submission of the plan. `workdir` becomes
    nbgrader's course directory (gradebook, submitted/, autograded/, feedback/) and keeps the run's
    record and results: run again in the same workdir (after a crash, Ctrl-C, or new submissions),
    this grades only what has no result yet; `force` empties it first and grades everything.
    `progress`, if given, is called with a line of text per notebook graded. `seed` (default: the
    workdir's recorded seed, else fresh) seeds the hidden tests' inputs. `sandbox` is a kind of
    autograder.sandbox ("auto" finds one or raises SandboxUnavailable, which says how to get one;
    "none" grades without protection). `jobs` worker processes grade submissions side by side
    (default: one per CPU; 1 grades them here, one after another); this process alone writes the
    gradebook (`_Recorder`). A script that calls this with jobs > 1 needs the
    `if __name__ == "__main__":` guard of multiprocessing's spawn start method. `scheduler`, a Dask
    scheduler's address (tcp://HOST:PORT), sends each submission to that cluster's workers instead,
    which must see the repository, its Python, SUBMISSIONS and the workdir at the same paths.
    `timeout` is each cell's limit in seconds; `notebook_budget` the seconds all the runs of one
    notebook may take (reruns after a kernel death too; None: no budget): once spent, the kernel is
    ended and the cells not yet run score zero.
    """
    if scheduler is not None and jobs is not None:
        raise ValueError(
            "give --scheduler and --jobs apart: with --scheduler the cluster's workers grade, as many at once "
            "as they have threads (dask worker --nthreads)"
        )
    jobs = max(1, os.cpu_count() or 1) if jobs is None else int(jobs)
    if jobs < 1:  # before anything is touched
        raise ValueError(f"jobs must be 1 or more (worker processes grading side by side); got {jobs}")
    if notebook_budget is not None and not float(notebook_budget) > 0:
        raise ValueError(
            f"notebook_budget must be a number of seconds above 0 (or None for no budget); got {notebook_budget}"
        )
    submissions = Path(submissions)
    collected = _collected_here(submissions, Path(workdir))  # before anything is touched
    plan, problems = scan_submissions(submissions, course, assignments, students)
    box = find_sandbox(sandbox)
    if collected:
        return _grade_collected(
            submissions, course, Path(workdir), assignments, students, timeout, memory_mb, feedback, progress, seed, box,
            jobs, force, scheduler, notebook_budget,
        )
    workdir = _open_workdir(Path(workdir), force)
    recorded = _read_run(workdir)
    seed = int(seed) if seed is not None else recorded.get("seed", secrets.randbits(32))
    options = _options(seed, box, timeout, memory_mb, notebook_budget)
    config = nbgrader_config(course, workdir=workdir, release=workdir / "release", timeout=timeout)
    _write_formgrader_config(workdir, config)
    # The kernels' connection files and sockets: in a short folder of the temp dir, not the workdir,
    # since a unix socket's path may not pass 107 bytes and a workdir can be deep.
    runtime = Path(tempfile.mkdtemp(prefix="nn273-kernels-"))
    try:
        report = _grade_run(submissions, course, workdir, runtime, plan, problems, box, options, recorded, config, progress, jobs, scheduler)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    if feedback:
        feedback_pages(course, workdir, report, timeout)
    return report


def _options(seed, box, timeout, memory_mb, notebook_budget):
    """What a grade depends on besides the files: part of each result's fingerprint, in one form
    whichever path grades (a command line's 30.0 and a record's 30 are the same limit)."""
    return {"seed": int(seed), "sandbox": box.kind, "timeout": float(timeout), "memory_mb": int(memory_mb),
            "notebook_budget": None if notebook_budget is None else float(notebook_budget)}


def _collected_here(submissions, workdir):
    """True if `submissions` is the workdir's own submitted/ folder, where nbgrader's collect (and
    formgrader's Collect) put submissions: grade then grades them without writing there
    (`_grade_collected`). Any other overlap of the two folders is refused before anything is touched:
    grade would write into the submissions, or read its own folders as students'."""
    s, w = submissions.resolve(), workdir.resolve()
    if s == w / "submitted":
        return True
    if s == w or s.is_relative_to(w) or w.is_relative_to(s):
        raise ValueError(
            f"SUBMISSIONS ({s}) and the workdir ({w}) overlap: grade writes nbgrader's folders in the workdir. "
            f"Give a workdir outside SUBMISSIONS, and SUBMISSIONS outside the workdir; the one exception is the "
            f"workdir's own submitted/ folder, as nbgrader's collect fills it ({w / 'submitted'})"
        )
    return False


def _grade_collected(submissions, course, workdir, assignments, students, timeout, memory_mb, feedback, progress, seed, box,
                     jobs, force, scheduler, notebook_budget):
    """Grade WORKDIR/submitted/ (nbgrader's collect put it there) into WORKDIR's gradebook without
    writing into it: the course's grader grades it in WORKDIR/judged/, as formgrader's Autograde button
    does (autograder/judging/delegate.py), then nbgrader's autograde records each grade in WORKDIR
    through that same step, which finds it kept. `force` grades everything again in judged/; the
    workdir itself, which holds the submissions, is never emptied."""
    from .config import course_autograde_config
    from .judging.delegate import JUDGED

    if not (workdir / _MARKER).exists():
        raise ValueError(
            f"{workdir} was not made by `python -m autograder grade`: grade its submitted/ folder into a new --workdir, "
            "or use nbgrader's autograde there (formgrader's Autograde button), which runs the same grader"
        )
    recorded = _read_run(workdir)
    seed = int(seed) if seed is not None else recorded.get("seed", secrets.randbits(32))
    options = _options(seed, box, timeout, memory_mb, notebook_budget)
    report = grade_submissions(
        submissions, course, workdir / JUDGED, assignments, timeout, memory_mb, False, progress, seed, box.kind,
        None if scheduler else jobs, force, scheduler, notebook_budget, students,
    )
    graded = sorted({a for by_a in report.values() for a, g in by_a.items() if g.score is not None})
    solutions = {a: _digest(intake.read_regular(course.solution_path(a), intake.MAX_NOTEBOOK_BYTES, single=False)) for a in graded}
    before = dict(recorded.get("solutions", {}))
    _write_json(workdir / _RUN, {**recorded, **options, "solutions": {**before, **solutions}})
    config = course_autograde_config(nbgrader_config(course, workdir=workdir, release=workdir / "release", timeout=timeout))
    _write_formgrader_config(workdir, config)
    api = NbGraderAPI(config=config)
    for assignment in graded:
        _prepare_assignment(api, config.CourseDirectory.db_url, workdir, assignment, unchanged=before.get(assignment) == solutions[assignment])
    for student, by_a in report.items():
        for assignment, grade in by_a.items():
            if grade.score is None:
                continue
            result = api.autograde(assignment, student, force=True, create=True)
            if not result["success"]:
                note = f"graded, but not recorded in {workdir}'s gradebook: {_explain_failure(result)}"
                grade.error = f"{grade.error}; {note}" if grade.error else note
    if feedback:
        feedback_pages(course, workdir, report, timeout)
    return report


def _grade_run(submissions, course, workdir, runtime, plan, problems, box, options, recorded, config, progress, jobs, scheduler):
    assignments = sorted({a for names in plan.values() for a in names})
    trusted = _snapshot(course, assignments, workdir)
    judged_config(config, course, sandboxed=box.isolated, runtime_root=runtime, notebook_budget=options["notebook_budget"])
    config.JudgedExecute.solutions = trusted.snapshot  # the tests are judged from the snapshot
    api = NbGraderAPI(config=config)
    db_url = config.CourseDirectory.db_url

    before = dict(recorded.get("solutions", {}))
    solutions, tests = trusted.solutions, trusted.hidden
    layouts = {a: _layout(trusted.path(a)) for a in assignments}
    fingerprints, grades, changed = {}, {}, {}
    for student, names in plan.items():
        for assignment in names:
            key = (student, assignment)
            fingerprints[key] = _fingerprint(submissions, student, assignment, solutions[assignment], tests, options)
            # a changed solution changes the fingerprint: nothing graded against the old one is kept
            kept, changed[key] = _load_result(workdir, db_url, student, assignment, fingerprints[key], layouts[assignment])
            if kept is not None:
                grades[key] = kept
    work = [key for key in fingerprints if key not in grades]
    side_by_side = scheduler is None and jobs > 1 and len(work) > 1
    # The workers start first: they import while this process prepares the assignments.
    pool = _start_pool(min(jobs, len(work)), sorted({a for _, a in work})) if side_by_side else None
    try:
        for assignment in assignments:
            _prepare_assignment(api, db_url, workdir, assignment, unchanged=before.get(assignment) == solutions[assignment])
            shutil.rmtree(workdir / "sites" / assignment, ignore_errors=True)
            site = write_site(workdir / "sites" / assignment, assignment, course)
            install_grader_kernel(workdir, options["memory_mb"], site=site, sandbox=box, name=grader_kernel(assignment))
        _write_json(workdir / _RUN, {**options, "solutions": {**before, **solutions}})
        if progress:
            for (student, assignment), grade in grades.items():
                progress(_progress_line(student, assignment, grade, "kept") + "  (graded by an earlier run here)")
        return _grade_work(
            submissions, course, workdir, runtime, plan, problems, box, options, progress, scheduler, api, db_url,
            layouts, fingerprints, grades, work, pool, trusted, changed,
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _grade_work(submissions, course, workdir, runtime, plan, problems, box, options, progress, scheduler, api, db_url,
                layouts, fingerprints, grades, work, pool, trusted, changed):
    seed, timeout, budget = options["seed"], options["timeout"], options["notebook_budget"]

    def finished(student, assignment, grade):
        grades[(student, assignment)] = grade
        grade.changed_elsewhere = changed.get((student, assignment))
        if grade.score is not None:
            grade.overrides = _overrides(db_url, student, assignment, layouts[assignment])
        _save_result(workdir, db_url, student, assignment, fingerprints[(student, assignment)], grade)
        if progress:
            progress(_progress_line(student, assignment, grade))

    # each notebook's hidden inputs come from its own seed, set around its grading (_grade_files)
    if scheduler is None and pool is None:
        for student, assignment in work:
            layout = layouts[assignment]
            finished(student, assignment, _grade_entry(api, db_url, submissions, workdir, student, assignment, layout, timeout, seed, box, trusted))
        return _report(plan, problems, grades)
    if not work:
        return _report(plan, problems, grades)
    _template_gradebook(workdir)
    recorder = _Recorder(course, workdir, runtime, layouts, timeout, box)
    if scheduler is not None:  # each worker makes its kernels' runtime folder on its own machine
        shared = (str(submissions), course, str(workdir), None, layouts, timeout, seed, box.kind, trusted, _environment(), budget)
        _grade_on_cluster(scheduler, work, shared, recorder, layouts, seed, box, finished)
        return _report(plan, problems, grades)
    shared = (str(submissions), course, str(workdir), str(runtime), layouts, timeout, seed, box.kind, trusted, _environment(), budget)
    futures = {pool.submit(_grade_in_scratch, student, assignment, *shared): (student, assignment) for student, assignment in work}
    _gather(futures, as_completed, recorder, layouts, seed, box, finished)
    return _report(plan, problems, grades)


def _start_pool(workers, assignments):
    """`workers` processes, started now, each importing what grading `assignments` needs (nbgrader,
    the kernel client, the hidden tests and torch): 2-3 s each, spent while this process prepares."""
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm, initargs=(assignments,)
    )
    for _ in range(workers):  # a spawning pool starts a worker per task it cannot hand to an idle one
        pool.submit(int)
    return pool


def _warm(assignments):
    import importlib

    names = ["nbgrader.converters.autograde", "nbclient", "jupyter_client.manager", "torch"]
    names += [f"autograder.hidden.{ASSIGNMENTS[a]}" for a in assignments if a in ASSIGNMENTS]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (only a head start: grading imports it again and says what fails)
            pass


def _grade_on_cluster(address, work, shared, recorder, layouts, seed, box, finished):
    """Each submission a task of the Dask cluster at `address` (one key per student and assignment,
    never taken for another's result); a task whose worker dies runs again on another."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise ValueError(f"--scheduler needs dask's distributed ({exc}): pip install -r requirements.txt") from exc
    try:
        client = Client(address, timeout="30s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(
            f"no Dask scheduler answered at {address} ({type(exc).__name__}: {exc}); start one with `dask scheduler` "
            "and workers with `dask worker ADDRESS`, or grade without --scheduler"
        ) from exc
    run = secrets.token_hex(4)
    try:
        futures = {
            client.submit(_grade_in_scratch, student, assignment, *shared, key=f"nn273-grade-{student}/{assignment}-{run}", pure=False): (student, assignment)
            for student, assignment in work
        }
        _gather(futures, lambda fs: as_completed(list(fs), loop=client.loop), recorder, layouts, seed, box, finished)
    finally:
        client.close()


def _gather(futures, as_completed, recorder, layouts, seed, box, finished):
    """Record each worker's grade as it comes (this process is the gradebook's one writer)."""
    for future in as_completed(futures):
        student, assignment = futures[future]
        try:
            grade, executed = future.result()
            if executed is not None:
                recorder.record(student, assignment, grade, executed)
        except Exception as exc:  # noqa: BLE001 (a worker that died, or a record that failed)
            grade = _failed(layouts[assignment], exc, seed, box)
        finished(student, assignment, grade)


def _report(plan, problems, grades):
    report = {}
    for student, names in plan.items():
        report[student] = {assignment: grades[(student, assignment)] for assignment in names}
        for (who, name), error in problems.items():
            if who == student:
                report[student][name] = NotebookGrade(None, 0.0, error=error)
    return report


def _grade_entry(api, db_url, submissions, workdir, student, assignment, layout, timeout, seed, box, trusted):
    """One student's notebook of one assignment, graded in nbgrader's course folder `workdir`, its
    hidden inputs drawn from a seed of its own, made of the run's `seed` and its bytes."""
    try:
        grade = _grade_one(api, db_url, submissions, workdir, student, assignment, layout, timeout, seed, trusted)
    except Exception as exc:  # one broken submission never stops the others
        grade = _failed(layout, exc, seed, box)
    grade.seed, grade.sandbox = seed, box.kind
    if not box.isolated:
        grade.warning = UNPROTECTED
    grade.flags = [
        {"cell": cell, "function": function, "evidence": evidence}
        for cell, function, evidence in FLAGS.pop((student, assignment, assignment), [])
    ]
    return grade


_FAILED = "grading failed: "  # an error of the grading run, not of the submission: graded again on resume


def _failed(layout, exc, seed, box):
    grade = NotebookGrade(None, _max_score(layout), error=f"{_FAILED}{type(exc).__name__}: {exc}")
    grade.error += "\n" + traceback.format_exc(limit=3)
    grade.seed, grade.sandbox = seed, box.kind
    if not box.isolated:
        grade.warning = UNPROTECTED
    return grade


# ------------------------------------------------------------------- side by side: workers, one writer
def _grade_in_scratch(student, assignment, submissions, course, workdir, runtime, layouts, timeout, seed, sandbox, trusted, environment=None,
                      budget=DEFAULT_NOTEBOOK_BUDGET):
    """In a worker process: grade one notebook in a course folder of its own (a copy of the
    gradebook as it was before grading, a kernel of its own); returns its grade and the graded
    notebook, which the one writer records in the course's gradebook (None: nothing to record).
    `environment`: variables of the grading process that the worker takes (`_environment`)."""
    os.environ.update(environment or {})
    if runtime is None:  # on a cluster's worker: a short folder of this machine's temp dir
        runtime = tempfile.mkdtemp(prefix="nn273-kernels-")
        try:
            return _grade_in_scratch(student, assignment, submissions, course, workdir, runtime, layouts, timeout, seed, sandbox, trusted,
                                     budget=budget)
        finally:
            shutil.rmtree(runtime, ignore_errors=True)
    workdir = Path(workdir)
    scratch = workdir / "scratch" / f"{student}--{assignment}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    shutil.copy(workdir / _TEMPLATE, scratch / "gradebook.db")
    box = find_sandbox(sandbox)
    config = nbgrader_config(course, workdir=scratch, release=workdir / "release", timeout=timeout)
    judged_config(config, course, sandboxed=box.isolated, runtime_root=runtime, notebook_budget=budget)
    config.JudgedExecute.solutions = trusted.snapshot  # checked in this process too (_check_trusted)
    api = NbGraderAPI(config=config)
    layout = layouts[assignment]
    grade = _grade_entry(api, config.CourseDirectory.db_url, Path(submissions), scratch, student, assignment, layout, timeout, seed, box, trusted)
    graded = scratch / "autograded" / student / assignment / f"{assignment}.ipynb"
    executed = _read_text(graded) if grade.score is not None else None
    return grade, executed


class _Recorder:
    """The one writer of the course's gradebook: it records what a worker graded by running nbgrader's
    autograde again in the course folder, with the worker's executed notebook in place of a kernel
    (`ReplayExecute`), so that nbgrader's own steps save the grades, and checks that they agree."""

    def __init__(self, course, workdir, runtime, layouts, timeout, box):
        self.workdir, self.layouts = workdir, layouts
        config = nbgrader_config(course, workdir=workdir, release=workdir / "release", timeout=timeout)
        judged_config(config, course, sandboxed=box.isolated, runtime_root=runtime)
        replay_config(config)
        self.api = NbGraderAPI(config=config)
        self.db_url = config.CourseDirectory.db_url

    def record(self, student, assignment, grade, executed):
        scratch = self.workdir / "scratch" / f"{student}--{assignment}"
        submitted = self.workdir / "submitted" / student / assignment
        shutil.rmtree(submitted, ignore_errors=True)
        shutil.copytree(scratch / "submitted" / student / assignment, submitted)
        EXECUTED[(student, assignment, assignment)] = nbformat.reads(executed, as_version=4)
        try:
            result = self.api.autograde(assignment, student, force=True, create=True)
        finally:
            EXECUTED.pop((student, assignment, assignment), None)
        if not result["success"]:
            raise RuntimeError(f"the gradebook could not record the grades: {_explain_failure(result)}")
        cells, manual = _read_grades(self.db_url, student, assignment, self.layouts[assignment])
        if cells != grade.cells:
            raise RuntimeError(f"the gradebook recorded {cells}, the worker graded {grade.cells}")
        grade.manual = manual
        shutil.rmtree(scratch, ignore_errors=True)


def _grade_one(api, db_url, submissions, workdir, student, assignment, layout, timeout, seed, trusted):
    """Check that the run's tests are unchanged, take what intake allows from the submission folder
    (autograder/intake.py), grade it, and check the tests again: they may have been imported meanwhile."""
    _check_trusted(trusted, assignment)
    found = intake.look(submissions, student, assignment)
    files = intake.take(submissions, found)
    grade = _grade_files(api, db_url, workdir, found, files, layout, timeout, seed)
    grade.refused = [{"path": path, "reason": reason} for path, reason in found.refused]
    grade.not_copied = [{"path": path, "reason": reason} for path, reason in found.not_copied]
    _check_trusted(trusted, assignment)
    return grade


def _grade_files(api, db_url, workdir, found, files, layout, timeout, seed):
    student, assignment = found.student, found.assignment
    max_score = _max_score(layout)
    if found.problem:
        return NotebookGrade(None, max_score, error=found.problem)
    notebook = files[found.notebook]
    problem = _unreadable(notebook)
    if problem:
        return NotebookGrade(None, max_score, error=f"not a readable notebook ({found.notebook}): {problem}")

    target = workdir / "submitted" / student / assignment
    shutil.rmtree(target, ignore_errors=True)  # graded before, by an earlier run in this workdir
    intake.write(files, target)  # nbgrader copies them beside the notebook, the kernel's working folder
    own_seed = _notebook_seed(seed, notebook)
    # Every run of the notebook shares one time budget, from the first run's start (JudgedExecute
    # reads RUNS); a death in a cell that matters is rerun without that cell, at most MAX_RERUNS
    # times, and the last run ends at any death with the grades it has.
    key, deaths, started = (student, assignment, assignment), [], time.monotonic()
    while True:
        skip = {death["index"]: death["why"] for death in deaths}
        RUNS[key] = {"skip": skip, "started": started, "last": len(deaths) == MAX_RERUNS}
        before = harness.seed()
        harness.set_seed(own_seed)  # the hidden tests run in this process
        try:
            result = api.autograde(assignment, student, force=True, create=True)
        finally:
            harness.set_seed(before)
            RUNS.pop(key, None)
        death = DIED_IN.pop(key, None)
        observed = OBSERVED.pop(key, {})
        if result["success"] or death is None or len(deaths) == MAX_RERUNS:
            break
        deaths.append(death)  # run it again without that cell
    if not result["success"]:
        error = _explain_failure(result)
        if death and error.startswith("the kernel died"):
            error = (
                f"the kernel died in {_deaths(deaths + [death])}, and in {len(deaths) + 1} run(s) of this notebook, each "
                "without the cells that killed the kernel before, so nbgrader recorded no grades for it"
            )
        return NotebookGrade(None, max_score, error=error, notebook_seed=own_seed)

    cells, manual = _read_grades(db_url, student, assignment, layout)
    score = round(sum(c["score"] for c in cells.values()), 6)
    problems = tamper_notes_of(workdir / "autograded" / student / assignment / found.notebook) + _resource_problems(observed)
    if deaths:
        problems.insert(0, (
            f"the kernel died in {_deaths(deaths)}: graded again without {'that cell' if len(deaths) == 1 else 'those cells'}"
            ", which score 0, while every other cell kept its points"
        ))
    return NotebookGrade(score, max_score, cells, "; ".join(problems) or None, manual=manual, notebook_seed=own_seed)


def _notebook_seed(seed, notebook):
    """A notebook's own seed: 32 bits of sha256 of the run's seed and the notebook's bytes. The same
    run seed gives the same notebook the same inputs (--seed reproduces a run); a changed notebook,
    other inputs than its feedback showed."""
    digest = hashlib.sha256(b"nn273 notebook seed\0" + str(int(seed)).encode() + b"\0" + notebook)
    return int.from_bytes(digest.digest()[:4], "big")


class Tampered(RuntimeError):
    """The run's tests changed on disk while it graded: a notebook is never judged by other tests."""


def _check_trusted(trusted, assignment):
    """In the process that grades a notebook, before and after it: the solution's snapshot and the
    hidden tests' code must still be what the run began with; `TrustedNotebook` then takes that
    snapshot only if its bytes have the run's sha256, and keeps it in memory."""
    path = trusted.path(assignment)
    expected = trusted.solutions[assignment]
    try:
        digest = _digest(intake.read_regular(path, intake.MAX_NOTEBOOK_BYTES, single=False))
    except OSError as exc:
        digest = f"unreadable ({exc})"
    if digest != expected:
        raise Tampered(
            f"the run's snapshot of the {assignment} solution ({path}) changed while the run graded (sha256 "
            f"{digest[:16]}..., the run began with {expected[:16]}...), so this notebook is not graded with other "
            "tests. Something wrote into the workdir: look for a submission that escaped its sandbox, then "
            "grade again (a new run snapshots solutions/ afresh)"
        )
    TrustedNotebook.expect(path, expected)
    try:
        hidden = _hidden_tests_digest()
    except (OSError, ValueError) as exc:
        hidden = f"unreadable ({exc})"
    if hidden != trusted.hidden:
        raise Tampered(
            f"the hidden tests' code ({_HIDDEN}) changed while the run graded (sha256 {hidden[:16]}..., the run "
            f"began with {trusted.hidden[:16]}...), so this notebook is not graded with other tests. If you "
            "changed them, grade again; if not, look for a submission that escaped its sandbox"
        )


def _deaths(deaths):
    return ", then in ".join(f"{death['cell']} ({death['why']})" for death in deaths)


def _layout(solution):
    """[(grade_id, points, manual)] of the graded cells of a solution notebook (a path, or a notebook
    already read), in notebook order; manual: an answer graded by hand (an nbgrader cell that is both
    a solution and graded)."""
    nb = solution if isinstance(solution, nbformat.NotebookNode) else nbformat.reads(_read_text(solution, missing=False), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cells.append((meta["grade_id"], float(meta.get("points", 0)), bool(meta.get("solution"))))
    return cells


def _max_score(layout):
    """The points the automatic tests give; free-text answers are counted apart."""
    return sum(points for _, points, manual in layout if not manual)


def _unreadable(data):
    """Why the notebook's bytes `data` are not a notebook nbgrader can grade, or None."""
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # JSON errors, wrong format version, binary files...
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    if not isinstance(nb.get("cells"), list):
        return "it has no list of cells"
    return None


def _explain_failure(result):
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    if "DeadKernelError" in text or "Kernel died" in text:
        return (
            "the kernel died while running this notebook, before its first cell (the process exited, crashed, "
            "or was killed for memory), so nbgrader recorded no grades"
        )
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # the exception that stopped nbgrader, the last line of its traceback in the log
    raised = [line for line in lines if _EXCEPTION.match(line)]
    last = raised[-1:] or lines[-3:]
    return "nbgrader could not grade this notebook: " + " | ".join(last)


_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt)\b(?::|$)")


def _read_grades(db_url, student, assignment, layout):
    """({grade_id: score} of the automatic tests, {grade_id: score} of the free-text answers).

    A free-text answer left as released scores 0 (nbgrader's rule); any other awaits a grader
    (score None) until one enters a score in formgrader.
    """
    by_id = {}
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return {}, {}
        for grade in notebook.grades:
            by_id[grade.name] = grade.manual_score if grade.manual_score is not None else grade.auto_score
    cells, manual = {}, {}
    for gid, points, by_hand in layout:
        score = by_id.get(gid, None if by_hand else 0.0)
        if by_hand:
            manual[gid] = {"score": None if score is None else float(score), "max_score": points}
        else:
            cells[gid] = {"score": float(score or 0.0), "max_score": points}
    return cells, manual


def tamper_notes_of(autograded):
    """The cells whose nbgrader metadata the submission changed (metadata.py), from the autograded
    notebook (read in the kernel's folder: not through a link it may have left)."""
    text = _read_text(autograded)
    return tamper_notes(nbformat.reads(text, as_version=4)) if text is not None else []


def _resource_problems(observed):
    """What the grader itself saw go wrong in the notebook's last run (execute.OBSERVED): cells its
    timer stopped, memory near the kernel's cap, a death that ended the run, the time budget running
    out. Never the names of errors in the notebook, which a submission can raise as it likes. No note
    holds "; ", which joins them (feedback.py splits there)."""
    problems = [
        f"{t['cell']} ran longer than the {t['limit']:g} s limit per cell and was stopped"
        for t in observed.get("timeouts", [])
    ]
    problems += [f"{m['cell']} ran out of memory: {m['evidence']}" for m in observed.get("memory", [])]
    problems += [f"{cell}'s output was cut: {OUTPUT_LOST}" for cell in observed.get("cut", [])]
    ended, budget = observed.get("ended"), observed.get("budget")
    if ended:
        problems.append(
            f"the kernel died in {ended['cell']} ({ended['why']}), so that cell and every later one did not run "
            f"(their tests score 0) and no rerun followed: {ended['no_rerun']}"
        )
    if budget:
        problems.append(
            f"the notebook's time budget of {budget['seconds']:g} s ran out in {budget['cell']}: that cell was "
            "stopped and the cells after it did not run (their tests score 0)"
        )
    return problems


def _open_workdir(workdir, force):
    """The workdir, made if new; kept as it is to resume, emptied with `force`. A folder that grade did
    not make is refused, and so is emptying one that holds scores entered by hand in formgrader."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / _MARKER).exists():
        raise ValueError(
            f"workdir {workdir} holds files that autograder did not make; choose an empty or new folder with --workdir"
        )
    if force and workdir.exists():
        graded_by_hand = _manual_scores(workdir / "gradebook.db")
        if graded_by_hand:
            raise ValueError(
                f"workdir {workdir} holds {graded_by_hand} score(s) entered by hand in formgrader, which --force "
                "would erase: grade without --force (a resumed run keeps them), or choose a new folder with "
                "--workdir (or export them first with `nbgrader export` in that folder, then delete it)"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / _MARKER).write_text("made by `python -m autograder grade`: a later run resumes here, --force empties it\n")
    return workdir.resolve()


def _prepare_assignment(api, db_url, workdir, assignment, unchanged):
    """nbgrader's generate_assignment, unless an earlier run in this workdir prepared the same solution.

    Run again, it keeps the grades of earlier submissions as long as the solution has the same cells;
    nbgrader refuses a solution that gained or lost cells once submissions are recorded.
    """
    with Gradebook(db_url) as gb:
        try:
            graded = len(gb.find_assignment(assignment).submissions)
        except MissingEntry:
            graded = None
    if unchanged and graded is not None and (workdir / "release" / assignment).is_dir():
        return
    result = api.generate_assignment(assignment, force=True, create=True)
    if result["success"]:
        return
    if graded:
        raise ValueError(
            f"the solution of {assignment} changed since {workdir} graded {graded} submission(s) of it, and "
            "nbgrader cannot change an assignment's cells under recorded grades: grade again with --force, "
            "or in a new --workdir"
        )
    raise RuntimeError(f"nbgrader could not prepare {assignment}:\n{result.get('error', '')}")


def _template_gradebook(workdir):
    """WORKDIR/gradebook-before-grading.db: the gradebook with its assignments and no submission,
    which each worker's course folder starts from (small, even when resuming a large run)."""
    template = workdir / _TEMPLATE
    shutil.copy(workdir / "gradebook.db", template)
    with Gradebook(f"sqlite:///{template}") as gb:
        for assignment in gb.assignments:
            for submission in list(assignment.submissions):
                gb.remove_submission(assignment.name, submission.student.id)
    return template


def _environment():
    """What a worker takes from this process's environment: where the grading kernels' specs are, and
    nbgrader's migration head (asked once here, not once per worker: 5 s each)."""
    names = ("JUPYTER_PATH", ALEMBIC_HEAD_VARIABLE)
    return {name: os.environ[name] for name in names if name in os.environ}


# ------------------------------------------------------------------------- resuming: record and results
def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _hidden_tests_digest():
    """The grader's side of the hidden tests (autograder/hidden/): a fix there grades again. A link
    there is refused, not followed: each notebook's check (`_check_trusted`) reads these files."""
    digest = hashlib.sha256()
    for root, dirs, names in os.walk(_HIDDEN):  # links to folders are listed among dirs, not entered
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names + [d for d in dirs if os.path.islink(os.path.join(root, d))]):
            path = Path(root) / name
            if path.is_symlink() or name.endswith(".py"):
                data = intake.read_regular(path, intake.MAX_NOTEBOOK_BYTES, single=False)  # refuses a link
                digest.update(str(path.relative_to(_HIDDEN)).encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class _Trusted:
    """What a run grades with, fixed at its start: the folder of its snapshot of the solutions (in
    the workdir, which no sandbox sees), each snapshot's sha256, and the hidden tests' digest."""

    snapshot: str
    solutions: dict
    hidden: str

    def path(self, assignment):
        return os.path.join(self.snapshot, assignment, f"{assignment}.ipynb")


def _snapshot(course, assignments, workdir):
    """Copy each assignment's solution into WORKDIR/solutions-snapshot/ as read now (not through a
    link), for every process of the run to judge with; a _Trusted of it."""
    folder = Path(workdir) / _SNAPSHOT
    shutil.rmtree(folder, ignore_errors=True)
    solutions = {}
    for assignment in assignments:
        data = intake.read_regular(course.solution_path(assignment), intake.MAX_NOTEBOOK_BYTES, single=False)
        intake.write({f"{assignment}.ipynb": data}, folder / assignment)
        solutions[assignment] = _digest(data)
    return _Trusted(str(folder), solutions, _hidden_tests_digest())


def _fingerprint(submissions, student, assignment, solution, tests, options):
    """What a submission's grade depends on: the files intake takes from it (autograder/intake.py)
    and what it refused or left, the solution, the hidden tests, the seed and the options."""
    found = intake.look(submissions, student, assignment)
    files = intake.take(submissions, found)
    listed = [found.refused, found.not_copied, found.problem]
    digest = hashlib.sha256(json.dumps([solution, tests, options, listed], sort_keys=True).encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + _digest(files[name]).encode())
    return digest.hexdigest()


def _read_text(path, missing=True):
    """The text of the plain file `path`, read without following a link; None if there is none
    (`missing`), or the error raised."""
    try:
        return intake.read_regular(path, intake.MAX_NOTEBOOK_BYTES, single=False).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        if missing:
            return None
        raise


def _read_run(workdir):
    try:
        record = json.loads(_read_text(workdir / _RUN, missing=False))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_json(path, data):
    """Write `path` whole or not at all: a temp file beside it, flushed to disk, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _save_result(workdir, db_url, student, assignment, fingerprint, grade):
    """Keep a finished grade for a resumed run, with what it was given for: the gradebook's automatic
    scores and the autograded notebook's digest (`_changed_elsewhere` compares them). Not a run's own
    failure (a worker lost), which is retried."""
    if grade.error and grade.error.startswith(_FAILED):
        return
    record = {"fingerprint": fingerprint, "grade": asdict(grade)}
    if grade.score is not None:
        record["auto"] = _auto_scores(db_url, student, assignment)
        record["outputs"] = _autograded_digest(workdir, student, assignment)
    _write_json(workdir / _RESULTS / student / f"{assignment}.json", record)


def _load_result(workdir, db_url, student, assignment, fingerprint, layout):
    """(the grade kept by an earlier run for this very submission, or None; what another path changed
    since, or None). Its free-text answers and hand overrides are read again from the gradebook, where
    a grader may have scored them since; a changed automatic score or autograded notebook is another
    path's grading (formgrader's buttons, nbgrader's commands): the submission is graded again."""
    try:
        data = json.loads(_read_text(workdir / _RESULTS / student / f"{assignment}.json", missing=False))
        if data["fingerprint"] != fingerprint:
            return None, None
        grade = NotebookGrade(**{f.name: data["grade"][f.name] for f in fields(NotebookGrade) if f.name in data["grade"]})
    except (OSError, ValueError, KeyError, TypeError):
        return None, None
    if grade.score is None:
        return grade, None
    changed = _changed_elsewhere(workdir, db_url, student, assignment, data)
    if changed:
        return None, changed
    grade.cells, grade.manual = _read_grades(db_url, student, assignment, layout)
    grade.score = round(sum(c["score"] for c in grade.cells.values()), 6)
    grade.overrides = _overrides(db_url, student, assignment, layout)
    return grade, None


def _changed_elsewhere(workdir, db_url, student, assignment, record):
    """What differs between the gradebook (and autograded notebook) and what grade recorded, or None."""
    if "auto" not in record:  # a record of an older grade: nothing to compare with
        return None
    now = _auto_scores(db_url, student, assignment)
    if now != record["auto"]:
        cells = sorted(k for k in set(now) | set(record["auto"]) if now.get(k) != record["auto"].get(k))
        shown = ", ".join(f"{k}: {record['auto'].get(k)} -> {now.get(k)}" for k in cells[:3])
        return (
            f"the gradebook's automatic scores were changed by another path since grade recorded them ({shown}"
            f"{', ...' if len(cells) > 3 else ''}): graded again"
        )
    if record.get("outputs") and _autograded_digest(workdir, student, assignment) != record["outputs"]:
        return "the autograded notebook was rewritten by another path since grade recorded it: graded again"
    return None


def _auto_scores(db_url, student, assignment):
    """{grade_id: automatic score} of a submission's test cells in the gradebook ({} if none); the
    free-text answers (a cell both graded and a solution) are left out."""
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return {}
        answers = {cell.name for cell in notebook.notebook.solution_cells}
        return {
            g.name: None if g.auto_score is None else float(g.auto_score) for g in notebook.grades if g.name not in answers
        }


def _overrides(db_url, student, assignment, layout):
    """[{"cell", "auto", "by_hand"}] of test cells whose score a grader entered by hand."""
    tests = {gid for gid, _, manual in layout if not manual}
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return []
        return [
            {"cell": g.name, "auto": g.auto_score, "by_hand": float(g.manual_score)}
            for g in sorted(notebook.grades, key=lambda g: g.name)
            if g.name in tests and g.manual_score is not None
        ]


def _autograded_digest(workdir, student, assignment):
    text = _read_text(Path(workdir) / "autograded" / student / assignment / f"{assignment}.ipynb")
    return None if text is None else outputs_digest(nbformat.reads(text, as_version=4))


def _manual_scores(gradebook):
    """How many scores a grader entered by hand in the gradebook at `gradebook` (0 if none)."""
    if not gradebook.is_file():
        return 0
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        return gb.db.query(Grade).filter(Grade.manual_score.isnot(None)).count()


def _write_formgrader_config(workdir, config):
    """An nbgrader_config.py in `workdir`, so that nbgrader's formgrader started there (`jupyter lab`
    in that folder, then Nbgrader > Formgrader) shows this run's submissions to grade by hand."""
    course = config.CourseDirectory
    settings = {
        "course_id": course.course_id,
        "root": course.root,
        "source_directory": course.source_directory,
        "release_directory": course.release_directory,
        "submitted_directory": course.submitted_directory,
        "autograded_directory": course.autograded_directory,
        "feedback_directory": course.feedback_directory,
        "db_url": course.db_url,
    }
    # the course's exchange, as the repository's nbgrader_config.py sets it, so that formgrader started
    # here offers release and collect too (it warns when the folder is missing: that config makes it)
    exchange = exchange_config(Config()).Exchange.root  # made if missing, as the root configuration makes it
    lines = [
        "# Written by `python -m autograder grade` for nbgrader's formgrader: run `jupyter lab` in this",
        "# folder and open Nbgrader > Formgrader to grade the free-text answers by hand.",
        "# Its Autograde button and `nbgrader autograde` here grade only through the course's grader, sandboxed,",
        "# with this run's seed and limits (run.json), in judged/ (autograder/judging/delegate.py); they refuse",
        "# where there is no sandbox. Generate Feedback writes the course's pages (autograder/feedback.py).",
        "import sys",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "from autograder.config import course_autograde_config",
        "",
        "c = get_config()  # noqa: F821",
        *(f"c.CourseDirectory.{key} = {value!r}" for key, value in settings.items()),
        f"c.Exchange.root = {exchange!r}",
        "course_autograde_config(c)",
    ]
    (workdir / "nbgrader_config.py").write_text("\n".join(lines) + "\n")


def _progress_line(student, assignment, grade, verb="graded"):
    score = "--" if grade.score is None else f"{grade.score:g}"
    tail = f"  ({grade.error.splitlines()[0]})" if grade.error else ""
    if grade.awaiting_manual:
        tail += f"  [+{grade.awaiting_manual:g} to grade by hand]"
    return f"{verb} {student}/{assignment}: {score}/{grade.max_score:g}{tail}"


# ------------------------------------------------- nbgrader's own autograde: the same grader, elsewhere
# grade_submissions' arguments that a course folder's run.json fixes for nbgrader's autograde there
JUDGED_OPTIONS = ("seed", "timeout", "memory_mb", "notebook_budget")


def course_options(root, box):
    """The options nbgrader's autograde grades with in the course folder `root` (judging/delegate.py):
    those of grade's run there (root/run.json), else the course's defaults and a seed drawn now and
    written to root/run.json, so that every later autograde there draws the same inputs."""
    record = _read_run(Path(root))
    if "seed" not in record:
        record["seed"] = secrets.randbits(32)
        _write_json(Path(root) / _RUN, record)
    return _options(
        record["seed"], box, record.get("timeout", DEFAULT_TIMEOUT), record.get("memory_mb", DEFAULT_MEMORY_MB),
        record.get("notebook_budget", DEFAULT_NOTEBOOK_BUDGET),
    )


def judged_result(root, student, assignment, options, course=COURSE):
    """(grade, executed notebook or None, fingerprint) that grade kept in root/judged/ for the files of
    root/submitted/<student>/<assignment>/ as they are now, the course's solution and hidden tests as
    they are now, and `options`; None if it holds none."""
    from .judging.delegate import JUDGED

    root = Path(root)
    solution = _digest(intake.read_regular(course.solution_path(assignment), intake.MAX_NOTEBOOK_BYTES, single=False))
    fingerprint = _fingerprint(root / "submitted", student, assignment, solution, _hidden_tests_digest(), options)
    kept, _ = _load_result(root / JUDGED, f"sqlite:///{root / JUDGED / 'gradebook.db'}", student, assignment, fingerprint,
                           _layout(course.solution_path(assignment)))
    if kept is None:
        return None
    if kept.score is None:
        return kept, None, fingerprint
    text = _read_text(root / JUDGED / "autograded" / student / assignment / f"{assignment}.ipynb")
    return (kept, nbformat.reads(text, as_version=4), fingerprint) if text is not None else None


def keep_result(root, student, assignment, grade, executed, fingerprint):
    """Record in the course folder `root` the grade that nbgrader's autograde is about to write there
    (from judged/), as grade records its own: for the feedback pages and grade's `_changed_elsewhere`."""
    record = {"fingerprint": fingerprint, "grade": asdict(grade), "by": "nbgrader's autograde (the course's grader)"}
    record["auto"] = {gid: float(c["score"]) for gid, c in grade.cells.items()}
    record["outputs"] = outputs_digest(executed)
    _write_json(Path(root) / _RESULTS / student / f"{assignment}.json", record)


def feedback_pages(course, workdir, report, timeout=DEFAULT_TIMEOUT):
    """Each graded submission's feedback through nbgrader's generate_feedback, configured to write the
    course's pages (autograder/feedback.py), with what release_feedback needs beside them. A page that
    cannot be written is a note on that grade, never a lost grade."""
    from .config import course_autograde_config

    config = course_autograde_config(nbgrader_config(course, workdir=workdir, release=Path(workdir) / "release", timeout=timeout))
    api = NbGraderAPI(config=config)
    for student, by_a in report.items():
        for assignment, grade in by_a.items():
            if grade.score is None:
                continue
            result = api.generate_feedback(assignment, student, force=True)
            if not result["success"]:
                note = f"feedback could not be written: {_explain_failure(result)}"
                grade.error = f"{grade.error}; {note}" if grade.error else note


def feedback_grade(root, db_url, student, assignment, autograded):
    """The grade a feedback page shows for the autograded notebook `autograded`: every cell's score as
    the gradebook holds it now (scores entered by hand included), and the notes of the grade recorded
    for this very notebook in root/results/."""
    from .feedback import recorded_notes

    layout = _layout(autograded)
    cells, manual = _read_grades(db_url, student, assignment, layout)
    score = round(sum(c["score"] for c in cells.values()), 6)
    notes = recorded_notes(root, student, assignment, outputs_digest(autograded))
    return NotebookGrade(score, _max_score(layout), cells, notes, manual=manual)
