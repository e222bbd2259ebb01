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
from .course import ASSIGNMENTS, COURSE, WORKDIR
from .hidden import harness
from .judging.execute import DIED_IN, EXECUTED, FLAGS, OBSERVED, OUTPUT_LOST, RUNS, TrustedNotebook
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

    @property
    def awaiting_manual(self):
        """Points of free-text answers that no one has graded yet."""
        return sum(c["max_score"] for c in self.manual.values() if c["score"] is None)


def scan_submissions(submissions, course=COURSE, assignments=None):
    """Find `<student>/<assignment>/` folders; returns ({student: [assignment, ...]}, problems).

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
):
    """Grade every `<student>/<assignment>/<assignment>.ipynb` under `submissions`.

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
    plan, problems = scan_submissions(submissions, course, assignments)
    box = find_sandbox(sandbox)
    workdir = _open_workdir(Path(workdir), force)
    recorded = _read_run(workdir)
    seed = int(seed) if seed is not None else recorded.get("seed", secrets.randbits(32))
    options = {"seed": seed, "sandbox": box.kind, "timeout": timeout, "memory_mb": memory_mb, "feedback": bool(feedback),
               "notebook_budget": None if notebook_budget is None else float(notebook_budget)}
    config = nbgrader_config(course, workdir=workdir, release=workdir / "release", timeout=timeout)
    _write_formgrader_config(workdir, config)
    # The kernels' connection files and sockets: in a short folder of the temp dir, not the workdir,
    # since a unix socket's path may not pass 107 bytes and a workdir can be deep.
    runtime = Path(tempfile.mkdtemp(prefix="nn273-kernels-"))
    try:
        return _grade_run(submissions, course, workdir, runtime, plan, problems, box, options, recorded, config, progress, jobs, scheduler)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


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
    fingerprints, grades = {}, {}
    for student, names in plan.items():
        for assignment in names:
            key = (student, assignment)
            fingerprints[key] = _fingerprint(submissions, student, assignment, solutions[assignment], tests, options)
            # a changed solution changes the fingerprint: nothing graded against the old one is kept
            kept = _load_result(workdir, db_url, student, assignment, fingerprints[key], layouts[assignment])
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
            layouts, fingerprints, grades, work, pool, trusted,
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _grade_work(submissions, course, workdir, runtime, plan, problems, box, options, progress, scheduler, api, db_url,
                layouts, fingerprints, grades, work, pool, trusted):
    seed, timeout, feedback, budget = options["seed"], options["timeout"], options["feedback"], options["notebook_budget"]

    def finished(student, assignment, grade):
        grades[(student, assignment)] = grade
        _save_result(workdir, student, assignment, fingerprints[(student, assignment)], grade)
        if progress:
            progress(_progress_line(student, assignment, grade))

    # each notebook's hidden inputs come from its own seed, set around its grading (_grade_files)
    if scheduler is None and pool is None:
        for student, assignment in work:
            layout = layouts[assignment]
            finished(student, assignment, _grade_entry(api, db_url, submissions, workdir, student, assignment, layout, timeout, feedback, seed, box, trusted))
        return _report(plan, problems, grades)
    if not work:
        return _report(plan, problems, grades)
    _template_gradebook(workdir)
    recorder = _Recorder(course, workdir, runtime, layouts, timeout, feedback, box)
    if scheduler is not None:  # each worker makes its kernels' runtime folder on its own machine
        shared = (str(submissions), course, str(workdir), None, layouts, timeout, feedback, seed, box.kind, trusted, _environment(), budget)
        _grade_on_cluster(scheduler, work, shared, recorder, layouts, seed, box, finished)
        return _report(plan, problems, grades)
    shared = (str(submissions), course, str(workdir), str(runtime), layouts, timeout, feedback, seed, box.kind, trusted, _environment(), budget)
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


def _grade_entry(api, db_url, submissions, workdir, student, assignment, layout, timeout, feedback, seed, box, trusted):
    """One student's notebook of one assignment, graded in nbgrader's course folder `workdir`, its
    hidden inputs drawn from a seed of its own, made of the run's `seed` and its bytes."""
    try:
        grade = _grade_one(api, db_url, submissions, workdir, student, assignment, layout, timeout, seed, trusted)
        if feedback and grade.score is not None:
            _feedback(api, student, assignment, grade)
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
def _grade_in_scratch(student, assignment, submissions, course, workdir, runtime, layouts, timeout, feedback, seed, sandbox, trusted, environment=None,
                      budget=DEFAULT_NOTEBOOK_BUDGET):
    """In a worker process: grade one notebook in a course folder of its own (a copy of the
    gradebook as it was before grading, a kernel of its own); returns its grade and the graded
    notebook, which the one writer records in the course's gradebook (None: nothing to record).
    `environment`: variables of the grading process that the worker takes (`_environment`)."""
    os.environ.update(environment or {})
    if runtime is None:  # on a cluster's worker: a short folder of this machine's temp dir
        runtime = tempfile.mkdtemp(prefix="nn273-kernels-")
        try:
            return _grade_in_scratch(student, assignment, submissions, course, workdir, runtime, layouts, timeout, feedback, seed, sandbox, trusted,
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
    grade = _grade_entry(api, config.CourseDirectory.db_url, Path(submissions), scratch, student, assignment, layout, timeout, feedback, seed, box, trusted)
    graded = scratch / "autograded" / student / assignment / f"{assignment}.ipynb"
    executed = _read_text(graded) if grade.score is not None else None
    return grade, executed


class _Recorder:
    """The one writer of the course's gradebook: it records what a worker graded by running nbgrader's
    autograde again in the course folder, with the worker's executed notebook in place of a kernel
    (`ReplayExecute`), so that nbgrader's own steps save the grades, and checks that they agree."""

    def __init__(self, course, workdir, runtime, layouts, timeout, feedback, box):
        self.workdir, self.layouts, self.feedback = workdir, layouts, feedback
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
        if self.feedback and (scratch / "feedback" / student / assignment).is_dir():
            target = self.workdir / "feedback" / student / assignment
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(scratch / "feedback" / student / assignment, target)
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
    """[(grade_id, points, manual)] of the graded cells of a solution notebook, in notebook order;
    manual: an answer graded by hand (an nbgrader cell that is both a solution and graded)."""
    nb = nbformat.reads(_read_text(solution, missing=False), as_version=4)
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


def _feedback(api, student, assignment, grade):
    """The student's feedback pages (autograder/feedback.py), in this course folder's feedback/ (a
    worker's scratch folder, which `_Recorder` copies). Not nbgrader's: it shows the hidden tests."""
    from .feedback import write_feedback

    course = api.coursedir
    autograded = Path(course.format_path(course.autograded_directory, student, assignment)) / f"{assignment}.ipynb"
    try:
        write_feedback(course.format_path(course.feedback_directory, student, assignment), student, assignment, grade, autograded)
    except Exception as exc:  # noqa: BLE001 (feedback never costs a grade)
        note = f"feedback could not be written: {type(exc).__name__}: {exc}"
        grade.error = f"{grade.error}; {note}" if grade.error else note


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


def _save_result(workdir, student, assignment, fingerprint, grade):
    """Keep a finished grade for a resumed run; not a run's own failure (a worker lost), which is retried."""
    if grade.error and grade.error.startswith(_FAILED):
        return
    _write_json(workdir / _RESULTS / student / f"{assignment}.json", {"fingerprint": fingerprint, "grade": asdict(grade)})


def _load_result(workdir, db_url, student, assignment, fingerprint, layout):
    """The grade kept by an earlier run for this very submission, or None. Its free-text answers are
    read again from the gradebook, where a grader may have scored them since."""
    try:
        data = json.loads(_read_text(workdir / _RESULTS / student / f"{assignment}.json", missing=False))
        if data["fingerprint"] != fingerprint:
            return None
        grade = NotebookGrade(**{f.name: data["grade"][f.name] for f in fields(NotebookGrade)})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if grade.score is not None:
        grade.manual = _read_grades(db_url, student, assignment, layout)[1]
    return grade


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
        "c = get_config()  # noqa: F821",
        *(f"c.CourseDirectory.{key} = {value!r}" for key, value in settings.items()),
        f"c.Exchange.root = {exchange!r}",
    ]
    (workdir / "nbgrader_config.py").write_text("\n".join(lines) + "\n")


def _progress_line(student, assignment, grade, verb="graded"):
    score = "--" if grade.score is None else f"{grade.score:g}"
    tail = f"  ({grade.error.splitlines()[0]})" if grade.error else ""
    if grade.awaiting_manual:
        tail += f"  [+{grade.awaiting_manual:g} to grade by hand]"
    return f"{verb} {student}/{assignment}: {score}/{grade.max_score:g}{tail}"
