"""Grading time per submission: plain `nbgrader autograde` against judged and sandboxed `grade`.

    python benchmarks/grading.py [--assignment 03_backprop] [-n 8] [--jobs 1 2]

All grade the same N copies of the solution notebook, one after the other in this run, with the
same time limit per cell:
- plain nbgrader: `nbgrader autograde` as nbgrader runs it, one notebook after another, every test
  in the student's kernel, ipykernel's own `python3` kernel (figures drawn inline as PNG, torch's
  default threads);
- plain, course kernel: the same with the course's grading kernel (autograder.launch and
  kernelside/boot.py, unsandboxed: no figures drawn, one thread, the memory cap), as the course ran
  before judged grading;
- `autograder.grade.grade_submissions` with default options and each `--jobs` given.
It prints seconds per submission for each, the cost of judging (grade --jobs 1 against plain with
the course kernel, the issue's target at most 1.3) and the speed-ups of side-by-side grading against
both plain runs (the issue's target: plain nbgrader against grade --jobs 2 at least 1.8 on a
2-core machine).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from autograder.config import nbgrader_config
from autograder.sandbox.kernelspec import install_grader_kernel
from autograder.course import COURSE
from autograder.grade import grade_submissions


def plain_autograde(submissions, workdir, assignment, kernel=None):
    """nbgrader autograde, every test cell in the student's kernel: `kernel` (default: the course's
    grading kernel, unsandboxed, as the course ran before judging)."""
    workdir.mkdir(parents=True, exist_ok=True)
    kernel = kernel or install_grader_kernel(workdir)
    config = nbgrader_config(COURSE, workdir=workdir, release=workdir / "release", kernel_name=kernel)
    api = NbGraderAPI(config=config)
    api.generate_assignment(assignment, force=True, create=True)
    scores = []
    for student in sorted(p.name for p in submissions.iterdir()):
        target = workdir / "submitted" / student / assignment
        shutil.copytree(submissions / student / assignment, target)
        result = api.autograde(assignment, student, force=True, create=True)
        scores.append(result["success"])
    with Gradebook(config.CourseDirectory.db_url) as gb:
        points = sorted({gb.find_submission(assignment, s).score for s in sorted(p.name for p in submissions.iterdir())})
    return scores, points


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
        plain = {}
        for label, kernel in (("plain nbgrader", "python3"), ("plain, course kernel", None)):
            start = time.perf_counter()
            ok, points = plain_autograde(submissions, tmp / label.replace(" ", "-").replace(",", ""), args.assignment, kernel)
            plain[label] = ((time.perf_counter() - start) / args.n, sum(ok), points)
        for jobs in args.jobs:
            start = time.perf_counter()
            report = grade_submissions(submissions, workdir=tmp / f"judged-{jobs}", assignments=[args.assignment], jobs=jobs)
            seconds = (time.perf_counter() - start) / args.n
            grades = [g for by_a in report.values() for g in by_a.values()]
            timings[jobs] = (seconds, sorted({g.score for g in grades}, key=str), {g.sandbox for g in grades})
    print(f"{args.n} submissions of {args.assignment} on {os.cpu_count()} CPUs (load average {load:.2f} at the start)")
    print(f"  plain nbgrader (python3 kernel):          {plain['plain nbgrader'][0]:6.2f} s per submission ({plain['plain nbgrader'][1]}/{args.n} graded, scores {plain['plain nbgrader'][2]})")
    print(f"  plain, course kernel:                     {plain['plain, course kernel'][0]:6.2f} s per submission ({plain['plain, course kernel'][1]}/{args.n} graded, scores {plain['plain, course kernel'][2]})")
    for jobs, (seconds, scores, sandbox) in timings.items():
        label = f"grade --jobs {jobs}, judged, sandbox {'/'.join(sorted(sandbox))}:"
        print(f"  {label:<41} {seconds:6.2f} s per submission (scores {scores})")
    course = plain["plain, course kernel"][0]
    if 1 in timings:
        print(f"  cost of judging, grade --jobs 1 / plain with the course kernel:  {timings[1][0] / course:.2f} (target <= 1.3)")
    for jobs, (seconds, _, _) in timings.items():
        if jobs > 1:
            print(f"  speed-up, plain nbgrader / grade --jobs {jobs}:       {plain['plain nbgrader'][0] / seconds:.2f}x (target >= 1.8 with --jobs 2)")
            print(f"  speed-up, plain course kernel / grade --jobs {jobs}:  {course / seconds:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
