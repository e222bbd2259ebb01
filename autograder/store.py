"""Run a solution notebook top to bottom and store its outputs in place (what nbval replays)."""

import time

import nbformat
from nbclient import NotebookClient

from .course import COURSE

__all__ = ["store_outputs"]


def store_outputs(assignment, course=COURSE, timeout=600):
    """Execute solutions/<id>/<id>.ipynb in its folder and write it back; returns the seconds it took.

    Fails (nbclient's CellExecutionError) on the first cell that raises, so a broken solution is
    never stored.
    """
    path = course.solution_path(assignment)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # timestamps in cell metadata would change on every run
        coalesce_streams=True,  # one print may arrive in pieces; stored outputs must not depend on timing
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds
