"""Grading on a Dask cluster: a real `dask scheduler` and two `dask worker` processes on loopback
grade the toy course's class as `--jobs 1` does; one worker is killed (SIGKILL) mid-run, and the
task it held runs again on the other, with every submission in the report once, graded right."""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.grade import grade_submissions
from autograder.release import release
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")

LOOPBACK = "127.0.0.1"  # the cluster never listens on any other address


def dask(*args, log):
    command = [sys.executable, "-m", "dask", *args, "--host", LOOPBACK, "--no-dashboard"]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, {worker address: its process}); every process is ended afterwards."""
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "dask.log", "w")
    processes = [dask("scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), log=log)]
    try:
        for _ in range(300):
            if scheduler_file.is_file() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith(f"tcp://{LOOPBACK}:"), address
        for name in ("w1", "w2"):
            # no nanny: killing the worker's process kills the worker, not one the nanny restarts
            processes.append(dask("worker", address, "--name", name, "--nthreads", "1", "--no-nanny", log=log))
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            workers = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
        yield address, {workers[name]: process for name, process in zip(("w1", "w2"), processes[1:])}
    finally:
        for process in reversed(processes):  # the workers, then the scheduler
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def test_a_cluster_grades_as_one_job_does_and_survives_a_killed_worker(cluster, tmp_path):
    address, workers = cluster
    course = make_toy_course(tmp_path / "course")
    release([TOY], course)
    subs = tmp_path / "subs"
    solution = toy_notebook()
    submit(subs, "alice", solution)
    submit(subs, "bob", nbformat.read(course.release_path(TOY), as_version=4))
    submit(subs, "carol", with_cells(solution, double="def double(x):\n    return x\n"))
    submit(subs, "erin", with_cells(solution, square="def square(x):\n    return np.abs(x)\n"))
    options = dict(course=course, timeout=10, memory_mb=2048, seed=1234)
    here = grade_submissions(subs, workdir=tmp_path / "here", jobs=1, **options)

    lines, killed = [], {}

    def progress(text):
        lines.append(text)
        if not killed:  # after the first result: kill a worker that holds a task
            with distributed.Client(address, timeout=30) as client:
                busy = {w: keys for w, keys in client.processing().items() if keys}
            victim = next(iter(busy))
            os.kill(workers[victim].pid, signal.SIGKILL)
            killed[victim] = busy[victim]

    work = tmp_path / "cluster"
    there = grade_submissions(subs, workdir=work, scheduler=address, progress=progress, **options)

    (victim, keys), = killed.items()
    assert workers[victim].wait(timeout=10) == -signal.SIGKILL and keys  # it died holding a task
    graded = [line.split()[1].split("/")[0] for line in lines]
    assert sorted(graded) == ["alice", "bob", "carol", "erin"]  # none lost, none twice
    for student in here:
        one, many = here[student][TOY], there[student][TOY]
        assert (many.score, many.cells, many.error) == (one.score, one.cells, one.error), student
    assert [there[s][TOY].score for s in ("alice", "bob", "carol", "erin")] == [6.0, 0.0, 3.0, 3.0]
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:  # the one writer recorded each once
        assert sorted(s.student.id for s in gb.find_assignment(TOY).submissions) == sorted(graded)
    assert sorted(p.parent.name for p in (work / "results").glob(f"*/{TOY}.json")) == sorted(graded)


def test_scheduler_and_jobs_are_refused_together(tmp_path):
    subs = tmp_path / "subs"
    submit(subs, "alice", toy_notebook())
    course = make_toy_course(tmp_path / "course")
    with pytest.raises(ValueError, match="--scheduler and --jobs"):
        grade_submissions(subs, course, workdir=tmp_path / "w", scheduler=f"tcp://{LOOPBACK}:1", jobs=2)
