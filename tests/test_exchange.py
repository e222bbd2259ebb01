"""autograder/exchange.py: what the course's collect refuses in an exchange's inbound folder, without
root (tests/test_hub.py plays it with real users, as root)."""

import getpass
import os

import pytest

from autograder.exchange import _record, refusal

ME = getpass.getuser()


@pytest.fixture
def submission(tmp_path):
    folder = tmp_path / f"{ME}+01_linear+2026-12-06 05:00:00.000000 UTC+abc"
    folder.mkdir()
    (folder / "01_linear.ipynb").write_text("{}")
    return folder


def test_a_plain_submission_of_its_owner_is_collected(submission):
    assert refusal(submission, ME) is None


def test_a_submission_under_another_student_s_name_is_refused(submission):
    assert refusal(submission, "ada") == f"made by {ME}, not by ada (ExchangeCollect.check_owner)"
    assert refusal(submission, "ada", check_owner=False) is None  # a hub where every uid is the same


def test_a_link_in_place_of_the_folder_is_refused(submission, tmp_path):
    link = tmp_path / f"{ME}+01_linear+2026-12-06 06:00:00.000000 UTC+def"
    link.symlink_to(submission)
    assert refusal(link, ME) == "a link, not a folder"


@pytest.mark.parametrize("plant", ["link", "hard link", "FIFO"])
def test_a_folder_holding_anything_but_files_and_folders_is_refused(submission, tmp_path, plant):
    secret = tmp_path / "solution.ipynb"
    secret.write_text("the answers")
    target = submission / "sub" / "extra.ipynb"
    target.parent.mkdir()
    {"link": lambda: target.symlink_to(secret), "hard link": lambda: os.link(secret, target),
     "FIFO": lambda: os.mkfifo(target)}[plant]()
    assert refusal(submission, ME) == f"it holds a {plant}: sub/extra.ipynb"


def test_a_name_nbgrader_cannot_read_is_refused_not_fatal(tmp_path):
    with pytest.raises(ValueError, match="timestamp cannot be read"):
        _record(str(tmp_path / f"{ME}+01_linear+not a time"))
    with pytest.raises(ValueError, match="not a submission's name"):
        _record(str(tmp_path / "just-a-folder"))
    assert _record(str(tmp_path / f"{ME}+01_linear+2026-12-06 05:00:00.000000 UTC+abc"))["username"] == ME
