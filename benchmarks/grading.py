"""Grading time per submission: plain `nbgrader autograde` against judged and sandboxed `grade`.

    python benchmarks/grading.py [--assignment 03_backprop] [-n 8] [--jobs 1 2]

All grade the same N copies of the solution notebook, one after the other in this run: first
nbgrader's own autograde as the course ran it before judged grading (every test in the student's
kernel, no sandbox, the same memory cap and time limit, one notebook after another), then
`autograder.grade.grade_submissions` with default options and each `--jobs` given. It prints
seconds per submission for each, the cost of judging (grade --jobs 1 against plain, the issue's
target at most 1.3) and the speed-up of side-by-side grading (plain against grade --jobs 2, the
issue's target at least 1.8 on a 2-core machine).
"""

import argparse
import os
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
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="grade --jobs to time (default 1 2)")
    args = parser.parse_args(argv)
    timings = {}
    with tempfile.TemporaryDirectory(prefix="nn273-bench-") as tmp:
        tmp = Path(tmp)
        submissions = tmp / "submissions"
        for i in range(args.n):
            target = submissions / f"student{i + 1}" / args.assignment / f"{args.assignment}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copyfile(COURSE.solution_path(args.assignment), target)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        ok = plain_autograde(submissions, tmp / "plain", args.assignment)
        plain = (time.perf_counter() - start) / args.n
        for jobs in args.jobs:
            start = time.perf_counter()
            report = grade_submissions(submissions, workdir=tmp / f"judged-{jobs}", assignments=[args.assignment], jobs=jobs)
            seconds = (time.perf_counter() - start) / args.n
            grades = [g for by_a in report.values() for g in by_a.values()]
            timings[jobs] = (seconds, sorted({g.score for g in grades}, key=str), {g.sandbox for g in grades})
    print(f"{args.n} submissions of {args.assignment} on {os.cpu_count()} CPUs (load average {load:.2f} at the start)")
    print(f"  nbgrader autograde, tests in the kernel:  {plain:6.2f} s per submission ({sum(ok)}/{args.n} graded)")
    for jobs, (seconds, scores, sandbox) in timings.items():
        label = f"grade --jobs {jobs}, judged, sandbox {'/'.join(sorted(sandbox))}:"
        print(f"  {label:<41} {seconds:6.2f} s per submission (scores {scores})")
    if 1 in timings:
        print(f"  cost of judging, grade --jobs 1 / plain:  {timings[1][0] / plain:.2f} (target <= 1.3)")
    for jobs, (seconds, _, _) in timings.items():
        if jobs > 1:
            print(f"  speed-up, plain / grade --jobs {jobs}:       {plain / seconds:.2f}x (target >= 1.8 with --jobs 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
