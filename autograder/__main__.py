"""The instructors' command line: `python -m autograder {release,store,collect,grade,check,claims,edition} ...`.

    release [ID...]                  regenerate notebooks/ from solutions/
    store [ID...]                    run solution notebooks and store their outputs
    collect ARCHIVE_OR_FOLDER SUBMISSIONS   an LMS's download -> <student>/<id>/<id>.ipynb
    grade SUBMISSIONS --json F       grade <student>/<id>/<id>.ipynb folders; also --csv F, --feedback, --jobs N
    check [ID...] [--jobs N]         the tests of the tests: stub, solution, catalogue
    claims [ID...] [--seeds S,...]   replay solution notebooks under other seeds; which claims hold

No ID means every assignment that has a solution notebook.
"""

import argparse
import os
import sys
from pathlib import Path

from .config import DEFAULT_MEMORY_MB, DEFAULT_NOTEBOOK_BUDGET, DEFAULT_TIMEOUT
from .course import COURSE, WORKDIR


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate notebooks/<id>/<id>.ipynb from solutions/")
    p.add_argument("assignments", nargs="*", metavar="ID")

    p = sub.add_parser("store", help="run solution notebooks top to bottom and store their outputs")
    p.add_argument("assignments", nargs="*", metavar="ID")

    p = sub.add_parser(
        "collect", help="lay out an LMS's download (Canvas or Moodle zip, a folder) as <student>/<id>/<id>.ipynb"
    )
    p.add_argument("source", type=Path, metavar="ARCHIVE_OR_FOLDER", help="a .zip download, or a folder")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="the folder that `grade` reads")
    p.add_argument("--assignment", metavar="ID", help="the assignment of notebooks whose names do not say it")
    p.add_argument(
        "--pattern",
        metavar="REGEX",
        help="in place of the Canvas and Moodle names: a regex with (?P<student>...) and (?P<assignment>...), "
        "optionally (?P<timestamp>...), matched against each file's path in the download (zip_collect's groups work too)",
    )

    p = sub.add_parser("grade", help="grade a folder of submissions laid out <student>/<id>/<id>.ipynb")
    p.add_argument("submissions", type=Path)
    p.add_argument("--json", type=Path, required=True, help="write the grades here")
    p.add_argument("--csv", type=Path, help="also write one row per student and assignment here")
    p.add_argument("--assignment", dest="assignments", action="append", metavar="ID", help="grade only these")
    p.add_argument(
        "--workdir", type=Path, default=WORKDIR, help="nbgrader's working folder; run again, grade resumes there"
    )
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per cell (default %(default)s)")
    p.add_argument(
        "--notebook-budget",
        type=_seconds,
        default=DEFAULT_NOTEBOOK_BUDGET,
        metavar="SECONDS",
        help="seconds for all the runs of one notebook, reruns after a kernel death too; once spent, the cells "
        "not yet run score 0 (default %(default)g)",
    )
    p.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB, help="memory cap per kernel (default %(default)s)")
    p.add_argument("--feedback", action="store_true", help="also write HTML feedback under WORKDIR/feedback")
    p.add_argument("--seed", type=int, help="draw the hidden tests' inputs from this seed (default: fresh, in the report)")
    p.add_argument(
        "--no-sandbox", action="store_true", help="run kernels without a sandbox: no protection (a warning says so)"
    )
    p.add_argument(
        "--jobs", type=_positive, metavar="N", help="notebooks graded side by side, each in its own kernel (default: one per CPU)"
    )
    p.add_argument(
        "--force", action="store_true", help="empty the workdir and grade everything again (default: only what is missing)"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="grade on the workers of this Dask scheduler (tcp://HOST:PORT); not with --jobs"
    )

    p = sub.add_parser("check", help="check that each assignment's tests reject wrong and accept right answers")
    p.add_argument("assignments", nargs="*", metavar="ID")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per cell (default %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every catalogue entry")
    p.add_argument("--seed", type=int, help="draw the hidden tests' inputs from this seed (default: fresh)")
    p.add_argument(
        "--jobs", type=_positive, metavar="N", help="worker processes, each with its own kernel (default: one per CPU)"
    )

    p = sub.add_parser("claims", help="replay solution notebooks under other seeds and report which claims hold")
    p.add_argument("assignments", nargs="*", metavar="ID")
    p.add_argument("--seeds", default="273,1,2,3,4", help="comma-separated NN273_SEED values (default %(default)s)")
    p.add_argument("--jobs", type=_positive, default=2, metavar="N", help="notebooks run side by side (default %(default)s)")

    p = sub.add_parser("edition", help="write a student edition: notebooks up to ID, data, nn273 without answers")
    p.add_argument("out", type=Path, metavar="OUT", help="a new or empty folder")
    p.add_argument("--through", required=True, metavar="ID", help="the assignment students work on now")

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ValueError as exc:  # bad input: say what was expected, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


TABLE_ROWS = 40  # a table of every notebook up to this many; past it, the summary and the CSV/JSON

NO_SANDBOX = (
    "WARNING: --no-sandbox: the kernels ran without a sandbox, so a submission could read the course's "
    "answers, other students' work and the gradebook, write anywhere this user can, and reach the network. "
    'The report says "sandbox": "none" for every notebook.'
)


def _release(args):
    from .release import release

    for path in release(COURSE.check_assignments(args.assignments)):
        print(f"released {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def _store(args):
    from .store import store_outputs

    for assignment in COURSE.check_assignments(args.assignments):
        seconds = store_outputs(assignment)
        print(f"stored outputs of {assignment} ({seconds:.1f} s)")
    return 0


def _collect(args):
    from .collect import collect_submissions, format_collect

    report = collect_submissions(args.source, args.submissions, pattern=args.pattern, assignment=args.assignment)
    print(format_collect(report, args.submissions))
    if not report.collected and not report.older:
        print(
            f"error: no submission in {args.source} could be collected; expected Canvas's or Moodle's file names, "
            "or give --pattern (and --assignment)",
            file=sys.stderr,
        )
        return 1
    return 0


def _unwritable(path, submissions):
    """Why the report cannot be written at `path`, or None: its folder must exist, it must not be a
    folder itself, and nothing is ever written into SUBMISSIONS."""
    folder = path.resolve().parent
    if not folder.is_dir():
        return f"cannot write {path}: its folder {folder} does not exist; make it, or give another path"
    if path.is_dir():
        return f"cannot write {path}: it is a folder; give a file name, e.g. {path / 'grades.json'}"
    if not os.access(folder, os.W_OK):
        return f"cannot write {path}: its folder {folder} is not writable"
    if folder == submissions.resolve() or submissions.resolve() in folder.parents:
        return f"{path} is inside SUBMISSIONS ({submissions}), which grading never writes into; give a path outside it"
    return None


def _grade(args):
    from .grade import grade_submissions, scan_submissions
    from .progress import Progress
    from .report import format_summary, format_table, write_csv, write_json

    for path in filter(None, (args.json, args.csv)):  # before hours of grading, not after
        problem = _unwritable(Path(path), Path(args.submissions))
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    if args.no_sandbox:
        print(NO_SANDBOX, file=sys.stderr)
    plan, _ = scan_submissions(args.submissions, COURSE, args.assignments)  # how long the bar is
    with Progress(sum(len(names) for names in plan.values()), unit="notebook") as progress:
        report = grade_submissions(
            args.submissions,
            workdir=args.workdir,
            assignments=args.assignments,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            feedback=args.feedback,
            progress=progress,
            seed=args.seed,
            sandbox="none" if args.no_sandbox else "auto",
            jobs=args.jobs,
            force=args.force,
            scheduler=args.scheduler,
            notebook_budget=args.notebook_budget,
        )
    write_json(report, args.json)
    if args.csv:
        write_csv(report, args.csv)
    rows = sum(len(by_a) for by_a in report.values())
    if rows <= TABLE_ROWS:
        print()
        print(format_table(report))
    print()
    print(format_summary(report))
    grades = [g for by_a in report.values() for g in by_a.values()]
    seeds = sorted({g.seed for g in grades if g.seed is not None})
    print(f"\nhidden tests drew their inputs from seed {', '.join(map(str, seeds))} (grade --seed reproduces)")
    if args.no_sandbox:
        print(NO_SANDBOX, file=sys.stderr)
    errors = sum(1 for by_a in report.values() for g in by_a.values() if g.error)
    print(f"\nwrote {args.json}" + (f" and {args.csv}" if args.csv else "") + f"; {errors} submission(s) with errors")
    return 0


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _check(args):
    from .check import check_assignment, check_tasks, format_check
    from .progress import Progress

    assignments = COURSE.check_assignments(args.assignments)
    results = []
    with Progress(sum(check_tasks(a) for a in assignments), unit="task") as progress:
        for assignment in assignments:
            results.append(check_assignment(
                assignment,
                timeout=args.timeout,
                progress=progress.line if args.verbose else None,
                seed=args.seed,
                jobs=args.jobs,
                tick=progress.step,
            ))
            progress.line(format_check(results[-1:]))
    return 0 if all(r.ok for r in results) else 1


def _claims(args):
    from .claims import main as claims

    return claims([*args.assignments, "--seeds", args.seeds, "--jobs", str(args.jobs)])


def _edition(args):
    from .edition import build_edition

    build_edition(args.out, args.through, progress=print)
    return 0


COMMANDS = {"release": _release, "store": _store, "collect": _collect, "grade": _grade, "check": _check, "claims": _claims, "edition": _edition}

if __name__ == "__main__":
    sys.exit(main())
