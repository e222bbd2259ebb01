"""pytest at the root: nbval replays of solutions/ count as slow, like the other notebook runs."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
