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
- The replays of tests/test_replay.py (each solution notebook under another machine's numerical
  kernels, autograder/replay.py) start there too, one after another in a thread of their own whose
  work is a new nbval process each; their items also run last (`replayed`).
- So do the claims replays of tests/test_claims.py (each solution notebook under another seed,
  autograder/claims.py), queued after them in the same thread (`claims_replayed`).
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

os.environ["OMP_NUM_THREADS"] = "1"

CHECK_TEST = "tests/test_assignments.py::test_check["
REPLAY_TEST = "tests/test_replay.py::test_replays_under_other_kernels["
CLAIMS_TEST = "tests/test_claims.py::test_claims_hold_under_another_seed["


class _Background:
    pool = None
    futures = {}  # assignment -> Future of its AssignmentCheck
    replay_pool = None
    replays = {}  # assignment -> Future of its autograder.replay.Replay
    claims = {}  # assignment -> Future of its autograder.claims.Replay


class _NotebooksAreSlow:
    # a plugin of its own, as a conftest has one pytest_collection_modifyitems: this one runs
    # before -m deselects (pytest's own hook), so that `pytest -m "not slow"` leaves nbval's
    # replays out; the one below runs after it
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            if str(item.fspath).endswith(".ipynb"):
                item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    config.pluginmanager.register(_NotebooksAreSlow(), "nn273-notebooks-are-slow")


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what will not run
def pytest_collection_modifyitems(config, items):
    checks = [item for item in items if item.nodeid.startswith(CHECK_TEST)]
    replays = [item for item in items if item.nodeid.startswith(REPLAY_TEST)]
    claims = [item for item in items if item.nodeid.startswith(CLAIMS_TEST)]
    if not checks and not replays and not claims:
        return
    last = set(checks + replays + claims)
    items[:] = [item for item in items if item not in last] + checks + replays + claims
    if config.getoption("collectonly"):
        return
    if replays or claims:
        _start_replays(
            [item.callspec.params["assignment"] for item in replays],
            [item.callspec.params["assignment"] for item in claims],
        )
    if not checks:
        return
    from autograder.check import check_assignment

    _Background.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    for item in checks:
        assignment = item.callspec.params["assignment"]
        _Background.futures[assignment] = _Background.pool.submit(check_assignment, assignment, jobs=1)


def _start_replays(assignments, claim_assignments=()):
    # a thread is enough: each replay is a new process (the kernels are chosen when the libraries
    # load, the seed when the notebook starts), and the thread only waits for it; one at a time,
    # as the checks, on two cores
    from autograder.claims import replay_claims, seed_for
    from autograder.course import COURSE
    from autograder.replay import replay, setting_for

    order = COURSE.available()
    _Background.replay_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay")
    for assignment in assignments:
        setting = setting_for(order.index(assignment))
        _Background.replays[assignment] = _Background.replay_pool.submit(replay, assignment, setting)
    for assignment in claim_assignments:
        seed = seed_for(order.index(assignment))
        _Background.claims[assignment] = _Background.replay_pool.submit(replay_claims, assignment, seed)


def pytest_sessionfinish(session):
    for pool in (_Background.pool, _Background.replay_pool):
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)  # an aborted run: what is queued


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


@pytest.fixture(scope="session")
def replayed():
    """assignment -> its autograder.replay.Replay under its setting: from the background when it
    was started there, else made now."""

    def result(assignment):
        future = _Background.replays.pop(assignment, None)
        if future is None:
            from autograder.course import COURSE
            from autograder.replay import replay, setting_for

            return replay(assignment, setting_for(COURSE.available().index(assignment)))
        return future.result()

    return result


@pytest.fixture(scope="session")
def claims_replayed():
    """assignment -> its autograder.claims.Replay under its other seed: from the background when
    it was started there, else made now."""

    def result(assignment):
        future = _Background.claims.pop(assignment, None)
        if future is None:
            from autograder.claims import replay_claims, seed_for
            from autograder.course import COURSE

            return replay_claims(assignment, seed_for(COURSE.available().index(assignment)))
        return future.result()

    return result
