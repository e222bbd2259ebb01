"""pytest at the root.

- nbval replays of solutions/ count as slow, like the other notebook runs.
- Every kernel the tests start (nbval's, the browser's JupyterLab, `store`) gets one BLAS thread, as
  grading kernels do (autograder/config.py): the suite runs several processes at once on two
  cores, where two BLAS threads per kernel only fight, and stored outputs are made with one too.
- `autograder check` of every assignment (tests/test_assignments.py::test_check) is the suite's
  longest work and needs nothing from the rest: when those tests are collected, one background
  process checks the assignments one after another from the start of the session, on the core the
  rest of the suite leaves idle most of the time, and the test_check items run last, each taking
  its assignment's result (`checked`). A check that cannot finish is a failure of its own test.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

os.environ["OMP_NUM_THREADS"] = "1"

CHECK_TEST = "tests/test_assignments.py::test_check["


class _Background:
    pool = None
    futures = {}  # assignment -> Future of its AssignmentCheck


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what will not run
def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
    checks = [item for item in items if item.nodeid.startswith(CHECK_TEST)]
    if not checks:
        return
    items[:] = [item for item in items if not item.nodeid.startswith(CHECK_TEST)] + checks
    if config.getoption("collectonly"):
        return
    from autograder.check import check_assignment

    _Background.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    for item in checks:
        assignment = item.callspec.params["assignment"]
        _Background.futures[assignment] = _Background.pool.submit(check_assignment, assignment, jobs=1)


def pytest_sessionfinish(session):
    if _Background.pool is not None:
        _Background.pool.shutdown(wait=False, cancel_futures=True)  # an aborted run: what is queued


@pytest.fixture(scope="session")
def checked():
    """assignment -> its AssignmentCheck (autograder/check.py): from the background when it was
    started there, else made now."""

    def result(assignment):
        future = _Background.futures.pop(assignment, None)
        if future is None:
            from autograder.check import check_assignment

            return check_assignment(assignment)
        return future.result()

    return result
