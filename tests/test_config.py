"""nbgrader's configuration for the course (autograder/config.py)."""

import subprocess
import sys
from pathlib import Path

import nbgrader
import pytest
from nbgrader.dbutil import _temp_alembic_ini

from autograder.config import _alembic_head

pytestmark = pytest.mark.filterwarnings("error")

VERSIONS = Path(nbgrader.__file__).parent / "alembic" / "versions"


def test_the_migration_head_read_from_the_scripts_is_the_one_alembic_gives():
    alembic = Path(sys.executable).parent / "alembic"
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        output = subprocess.run([str(alembic), "-c", ini, "heads"], capture_output=True, text=True, check=True).stdout
    assert _alembic_head(VERSIONS) == output.split()[0]


def _script(folder, revision, down):
    (folder / f"{revision}_step.py").write_text(f"revision = {revision!r}\ndown_revision = {down!r}\n\ndef upgrade():\n    pass\n")


def test_an_unclear_head_leaves_the_answer_to_alembic(tmp_path):
    _script(tmp_path, "aaa", None)
    _script(tmp_path, "bbb", "aaa")
    assert _alembic_head(tmp_path) == "bbb"
    _script(tmp_path, "ccc", "aaa")  # two branches: two heads
    assert _alembic_head(tmp_path) is None
    _script(tmp_path, "ddd", ("bbb", "ccc"))  # merged again
    assert _alembic_head(tmp_path) == "ddd"
    (tmp_path / "eee_odd.py").write_text("revision = make_revision()\n")
    assert _alembic_head(tmp_path) is None

