"""Grading time per submission: judged and sandboxed `grade` against plain `nbgrader autograde`.

    python benchmarks/grading.py [--assignment 03_backprop] [-n 8]

Both grade the same N copies of the solution notebook in this process, one after the other: first
nbgrader's own autograde as the course ran it before judged grading (every test in the student's
kernel, no sandbox, the same memory cap and time limit), then `autograder.grade.grade_submissions`
with default options. It prints seconds per submission for each and their ratio; the issue's target
is a ratio of at most 1.3.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.apps import NbGraderAPI

from autograder.config import install_grader_kernel, nbgrader_config
from autograder.course import COURSE
from autograder.grade import grade_submissions


def plain_autograde(submissions, workdir, assignment):
    """nbgrader autograde, every test cell in the student's kernel (the course before judging)."""
    kernel = install_grader_kernel(workdir)
    config = nbgrader_config(COURSE, workdir=workdir, release=workdir / "release", kernel_name=kernel)
    api = NbGraderAPI(config=config)
    api.generate_assignment(assignment, force=True, create=True)
    scores = []
    for student in sorted(p.name for p in submissions.iterdir()):
        target = workdir / "submitted" / student / assignment
        shutil.copytree(submissions / student / assignment, target)
        result = api.autograde(assignment, student, force=True, create=True)
        scores.append(result["success"])
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="03_backprop")
    parser.add_argument("-n", type=int, default=8, help="submissions (default 8)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nn273-bench-") as tmp:
        tmp = Path(tmp)
        submissions = tmp / "submissions"
        for i in range(args.n):
            target = submissions / f"student{i + 1}" / args.assignment / f"{args.assignment}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copyfile(COURSE.solution_path(args.assignment), target)
        start = time.perf_counter()
        ok = plain_autograde(submissions, tmp / "plain", args.assignment)
        plain = (time.perf_counter() - start) / args.n
        start = time.perf_counter()
        report = grade_submissions(submissions, workdir=tmp / "judged", assignments=[args.assignment])
        judged = (time.perf_counter() - start) / args.n
    scores = sorted({g.score for by_a in report.values() for g in by_a.values()})
    sandbox = {g.sandbox for by_a in report.values() for g in by_a.values()}
    print(f"{args.n} submissions of {args.assignment}")
    print(f"  nbgrader autograde, tests in the kernel: {plain:6.1f} s per submission ({sum(ok)}/{args.n} graded)")
    print(f"  grade, judged, sandbox {'/'.join(sandbox)}:      {judged:6.1f} s per submission (scores {scores})")
    print(f"  ratio judged / plain: {judged / plain:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
