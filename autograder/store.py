"""Run a solution notebook top to bottom and store its outputs in place (what nbval replays)."""

import os
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
    # one BLAS thread, as in grading kernels and in the test suite's replays (conftest.py): the
    # stored numbers come from the same arithmetic that nbval replays
    # and the notebook's own seed (nn273.claims.notebook_seed): NN273_SEED is for `claims` replays
    env = {k: v for k, v in os.environ.items() if k != "NN273_SEED"}
    client.execute(env={**env, "OMP_NUM_THREADS": "1"})
    seconds = time.perf_counter() - start
    _drop_live_widgets(nb)
    nbformat.write(nb, path)
    return seconds


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _drop_live_widgets(nb):
    """Keep a widget's static picture, not its live view.

    A stored widget view points at a model that exists only in a running kernel (and the saved
    widget state has random ids that change on every run); where a picture was displayed with it, a
    reader of the stored notebook sees the picture instead of "model not found", and the file
    stays the same from run to run.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data:
                del data[WIDGET_VIEW]
