"""Every solution notebook replays with nbval under another machine's numerical kernels.

nbval in `pytest` replays solutions/ with this machine's kernels; here each notebook is replayed
once more in a new process under one of autograder.replay's SETTINGS (OpenBLAS, torch and MKL
forced to other CPUs' code), the settings taken in turn across the notebooks. The replays run in
the background from the start of the session (conftest.py, `replayed`), and these items run last,
each taking its notebook's result. `python -m autograder.replay` replays every notebook under every
setting.
"""

import pytest

from autograder.course import COURSE
from autograder.replay import SETTINGS, setting_for

ASSIGNMENTS = COURSE.available()


def test_the_settings_take_turns():
    used = {setting_for(i).name for i in range(len(ASSIGNMENTS))}
    assert len(used) >= 3 and len(SETTINGS) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_replays_under_other_kernels(assignment, replayed):
    result = replayed(assignment)
    if result.skipped:
        pytest.skip(result.summary())
    assert result.passed, result.summary()
