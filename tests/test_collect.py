"""`python -m autograder collect`: an LMS's download -> <student>/<id>/<id>.ipynb; and nbgrader's exchange
(release_assignment, fetch, submit, collect) in a local exchange folder. No kernels: seconds."""

import datetime
import functools
import os
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.__main__ import main
from autograder.collect import collect_submissions, safe_student
from autograder.course import ROOT
from autograder.grade import scan_submissions
from toycourse import TOY, make_toy_course

OTHER = "01_other"
LINEAR = "01_linear"  # through the command line, the course's own assignments


@pytest.fixture
def course(tmp_path):
    """Two assignments: 00_toy and 01_other (only their names matter to collect)."""
    course = make_toy_course(tmp_path / "course")
    path = course.solution_path(OTHER)
    path.parent.mkdir(parents=True)
    nbformat.write(new_notebook(), path)
    return course


@functools.cache  # nbformat gives every new cell a random id
def notebook(text):
    """A notebook's bytes, told apart by `text`."""
    return nbformat.writes(new_notebook(cells=[new_code_cell(f"answer = {text!r}")])).encode()


def make_zip(path, members):
    """members: [(name, date_time, bytes)] in that order."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, when, data in members:
            archive.writestr(zipfile.ZipInfo(name, when), data)
    return path


def held(submissions, student, assignment):
    folder = submissions / student / assignment
    return (folder / f"{assignment}.ipynb").read_bytes(), (folder / "timestamp.txt").read_text().strip()


MARCH_1, MARCH_2, MARCH_3 = (2024, 3, 1, 9, 0, 0), (2024, 3, 2, 9, 0, 0), (2024, 3, 3, 9, 0, 0)


def test_canvas_zip_lands_in_the_layout_grade_reads(tmp_path, course):
    download = make_zip(tmp_path / "submissions.zip", [
        ("lovelaceada_12345_67890_00_toy.ipynb", MARCH_1, notebook("ada first")),
        ("lovelaceada_LATE_12345_67999_00_toy-1.ipynb", MARCH_2, notebook("ada resubmitted, late")),
        ("turingalan_late_22222_68000_00_toy.ipynb", MARCH_1, notebook("alan")),
        ("turingalan_22222_68001_01_other.ipynb", MARCH_1, notebook("alan other")),
    ])
    out = tmp_path / "submitted"
    report = collect_submissions(download, out, course)

    assert scan_submissions(out, course) == ({"lovelaceada": [TOY, OTHER], "turingalan": [TOY, OTHER]}, {})
    assert held(out, "lovelaceada", TOY) == (notebook("ada resubmitted, late"), "2024-03-02 09:00:00.000000 UTC")
    assert held(out, "turingalan", OTHER)[0] == notebook("alan other")
    assert not (out / "lovelaceada" / OTHER).exists()
    assert [(s, a, action) for s, a, _, _, action in report.collected] == [
        ("lovelaceada", TOY, "new"), ("turingalan", TOY, "new"), ("turingalan", OTHER, "new"),
    ]
    assert [name for name, _ in report.older] == ["lovelaceada_12345_67890_00_toy.ipynb"]
    assert report.not_collected == []


def test_moodle_zip_with_spaces_and_other_files(tmp_path, course):
    download = make_zip(tmp_path / "moodle.zip", [
        ("Ada Lovelace_12345_assignsubmission_file_/00_toy.ipynb", MARCH_1, notebook("ada")),
        ("Ada Lovelace_12345_assignsubmission_onlinetext_/onlinetext.html", MARCH_1, b"<p>hi</p>"),
        ("José Núñez_777_assignsubmission_file_/work/00_toy (2).ipynb", MARCH_2, notebook("jose")),
        ("__MACOSX/Ada Lovelace_12345_assignsubmission_file_/._00_toy.ipynb", MARCH_1, b"\0"),
    ])
    out = tmp_path / "submitted"
    report = collect_submissions(download, out, course)

    assert scan_submissions(out, course)[0] == {"Ada_Lovelace": [TOY], "José_Núñez": [TOY]}
    assert held(out, "José_Núñez", TOY)[0] == notebook("jose")
    assert dict(report.not_collected) == {
        "Ada Lovelace_12345_assignsubmission_onlinetext_/onlinetext.html": "not a notebook (.ipynb)",
        "__MACOSX/Ada Lovelace_12345_assignsubmission_file_/._00_toy.ipynb":
            "a hidden or system file (__MACOSX, .DS_Store, .ipynb_checkpoints)",
    }


def test_a_folder_with_mtimes_a_pattern_and_a_given_assignment(tmp_path, capsys):
    folder = tmp_path / "download"
    folder.mkdir()
    for name, day, text in [
        ("ada-01_linear.ipynb", 2, "ada newer"),
        ("ada-01_linear-1.ipynb", 1, "ada older"),  # its resubmission number is higher, its time older
        ("grace-mywork.ipynb", 1, "grace"),
        ("-01_linear.ipynb", 1, "no one"),
        ("readme.txt", 1, "not a notebook"),
    ]:
        (folder / name).write_bytes(notebook(text))
        when = datetime.datetime(2024, 3, day, 9, tzinfo=datetime.timezone.utc).timestamp()
        os.utime(folder / name, (when, when))
    out = tmp_path / "submitted"

    # Canvas's and Moodle's names do not fit: everything is listed, nothing is written, exit 1.
    assert main(["collect", str(folder), str(out)]) == 1
    printed = capsys.readouterr()
    assert "not collected: 5" in printed.out and "matches no pattern" in printed.out
    assert "error: no submission" in printed.err
    assert not list(out.glob("*/*"))

    pattern = r"(?P<student>[a-z]*)-(?P<assignment>.+)"
    assert main(["collect", str(folder), str(out), "--pattern", pattern, "--assignment", LINEAR]) == 0
    printed = capsys.readouterr().out
    assert held(out, "ada", LINEAR) == (notebook("ada newer"), "2024-03-02 09:00:00.000000 UTC")
    assert held(out, "grace", LINEAR)[0] == notebook("grace")
    assert "ada-01_linear-1.ipynb: older than ada-01_linear.ipynb" in printed
    assert "-01_linear.ipynb: student id '' is not a usable folder name" in printed
    assert "readme.txt: not a notebook (.ipynb)" in printed

    # SUBMISSIONS inside the folder collected from would be read back as submissions: refused.
    assert main(["collect", str(folder), str(folder / "out"), "--pattern", pattern]) == 2


def test_every_file_not_collected_is_listed_with_its_reason(tmp_path, capsys):
    download = make_zip(tmp_path / "mixed.zip", [
        ("lovelaceada_1_2_01_linear.ipynb", MARCH_1, notebook("ada")),
        ("lovelaceada_1_3_09_unknown.ipynb", MARCH_1, notebook("?")),
        ("feedback.pdf", MARCH_1, b"%PDF"),
        ("random name.ipynb", MARCH_1, notebook("who?")),
        ("folder/.ipynb_checkpoints/x_1_2_01_linear-checkpoint.ipynb", MARCH_1, notebook("checkpoint")),
        ("smithjohn_10_1_01_linear.ipynb", MARCH_1, notebook("john smith, user 10")),
        ("smithjohn_11_2_01_linear.ipynb", MARCH_2, notebook("another john smith, user 11")),
    ])
    out = tmp_path / "submitted"
    assert main(["collect", str(download), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "collected into" in printed and "lovelaceada/01_linear" in printed
    reasons = {
        "lovelaceada_1_3_09_unknown.ipynb": "no assignment id in its name ('09_unknown')",
        "feedback.pdf": "not a notebook (.ipynb)",
        "random name.ipynb": "its name matches no pattern",
        "folder/.ipynb_checkpoints/x_1_2_01_linear-checkpoint.ipynb": "a hidden or system file",
        "smithjohn_10_1_01_linear.ipynb": "LMS users 10, 11 would share the student folder smithjohn",
        "smithjohn_11_2_01_linear.ipynb": "LMS users 10, 11 would share the student folder smithjohn",
    }
    assert "not collected: 6" in printed
    for name, reason in reasons.items():
        assert f"  {name}: {reason}" in printed
    assert sorted(p.name for p in out.iterdir()) == ["lovelaceada"]


def test_student_ids_are_safe_folder_names():
    assert safe_student("Ada Lovelace") == "Ada_Lovelace"
    assert safe_student("../../etc") == "etc"
    assert safe_student("a/b\\c") == "a_b_c"
    assert safe_student("-rf") == "rf"
    assert [safe_student(s) for s in ("..", "/", "", "  ", ".")] == [None] * 5


@pytest.mark.parametrize("order", ["older first", "newer first"])
def test_newer_is_never_overwritten_by_older(tmp_path, course, order):
    old = ("lovelaceada_1_100_00_toy.ipynb", MARCH_1, notebook("old"))
    new = ("lovelaceada_1_200_00_toy.ipynb", MARCH_3, notebook("new"))
    out = tmp_path / "submitted"

    # In one archive, in either order of its members.
    members = [old, new] if order == "older first" else [new, old]
    report = collect_submissions(make_zip(tmp_path / "one.zip", members), out, course)
    assert held(out, "lovelaceada", TOY)[0] == notebook("new")
    assert [name for name, _ in report.older] == [old[0]]

    # Across two downloads, in either order, against what SUBMISSIONS holds (its timestamp.txt).
    out = tmp_path / "across"
    first, second = (old, new) if order == "older first" else (new, old)
    collect_submissions(make_zip(tmp_path / "first.zip", [first]), out, course)
    report = collect_submissions(make_zip(tmp_path / "second.zip", [second]), out, course)
    assert held(out, "lovelaceada", TOY) == (notebook("new"), "2024-03-03 09:00:00.000000 UTC")
    if order == "older first":
        assert [c[4] for c in report.collected] == ["replaced"] and report.older == []
    else:
        assert report.collected == [] and "older than the lovelaceada/00_toy SUBMISSIONS holds" in report.older[0][1]

    # The same download again changes nothing; a notebook held without timestamp.txt is never replaced.
    report = collect_submissions(tmp_path / "first.zip", out, course)
    assert held(out, "lovelaceada", TOY)[0] == notebook("new")
    (out / "lovelaceada" / TOY / "timestamp.txt").unlink()
    report = collect_submissions(make_zip(tmp_path / "newest.zip", [
        ("lovelaceada_1_300_00_toy.ipynb", (2025, 1, 1, 0, 0, 0), notebook("newest")),
    ]), out, course)
    assert (out / "lovelaceada" / TOY / f"{TOY}.ipynb").read_bytes() == notebook("new")
    assert "without a readable timestamp.txt" in report.not_collected[0][1]


def test_zip_slip_and_absolute_paths_are_refused(tmp_path, course):
    before = sorted(tmp_path.rglob("*"))
    download = make_zip(tmp_path / "evil.zip", [
        ("../../evil_1_2_00_toy.ipynb", MARCH_1, notebook("evil")),
        ("/tmp/abs_1_2_00_toy.ipynb", MARCH_1, notebook("evil")),
        ("ok/../../up_1_2_00_toy.ipynb", MARCH_1, notebook("evil")),
        ("..\\..\\win_1_2_00_toy.ipynb", MARCH_1, notebook("evil")),
        ("honest_1_2_00_toy.ipynb", MARCH_1, notebook("honest")),
    ])
    out = tmp_path / "deep" / "submitted"
    report = collect_submissions(download, out, course)

    assert [c[0] for c in report.collected] == ["honest"]
    assert len(report.not_collected) == 4
    assert all(reason == "unsafe path (absolute, or with ..): not extracted" for _, reason in report.not_collected)
    written = sorted(set(tmp_path.rglob("*")) - set(before) - {download})
    assert all(p == tmp_path / "deep" or p.is_relative_to(out) for p in written)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        f"honest/{TOY}/{TOY}.ipynb", f"honest/{TOY}/timestamp.txt",
    ]


def test_input_errors_exit_2_and_say_what_was_expected(tmp_path, capsys):
    (tmp_path / "grades.csv").write_text("not a zip")
    assert main(["collect", str(tmp_path / "grades.csv"), str(tmp_path / "out")]) == 2
    assert "neither a zip archive nor a folder" in capsys.readouterr().err
    assert main(["collect", str(tmp_path), str(tmp_path.parent / "out"), "--pattern", "(?P<name>.*)"]) == 2
    assert "needs a named group (?P<student>...)" in capsys.readouterr().err
    assert main(["collect", str(tmp_path), str(tmp_path.parent / "out"), "--pattern", "("]) == 2
    assert "not a regular expression" in capsys.readouterr().err


# nbgrader's exchange -----------------------------------------------------------------------------


def test_the_root_config_sets_up_an_exchange(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("NN273_EXCHANGE", str(tmp_path / "exchange"))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.Exchange.root == str(tmp_path / "exchange")
    assert config.CourseDirectory.course_id == "nn273"
    assert (tmp_path / "exchange").is_dir() and (tmp_path / "exchange").stat().st_mode & 0o777 == 0o777


def test_exchange_release_fetch_submit_collect_then_the_layout_grade_reads(tmp_path, monkeypatch):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory
    from traitlets.config import Config

    from autograder.config import exchange_config, nbgrader_config
    from autograder.release import release

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "home" / "data"))
    exchange = tmp_path / "exchange"
    course = make_toy_course(tmp_path / "course")
    release([TOY], course)

    # The instructor: formgrader's NbGraderAPI finds the exchange, then releases the assignment.
    workdir = tmp_path / "grading"
    workdir.mkdir()  # the root nbgrader_config.py makes grading/nbgrader/
    instructor = exchange_config(nbgrader_config(course, workdir=workdir), root=exchange)
    api = NbGraderAPI(config=instructor)
    assert api.exchange_is_functional  # formgrader offers release and collect
    result = api.release_assignment(TOY)
    assert result["success"], result

    # A student, on a server of her own: fetch, answer, submit.
    home = tmp_path / "ada"
    student = Config()
    student.CourseDirectory.course_id = "nn273"
    student.CourseDirectory.student_id = "ada"  # on a JupyterHub: her user name
    student.Exchange.root = str(exchange)
    student.Exchange.assignment_dir = str(home)
    student.Exchange.cache = str(home / "cache")
    exchange_apps = ExchangeFactory(config=student)

    def run(kind):
        coursedir = CourseDirectory(config=student)
        coursedir.assignment_id = TOY
        getattr(exchange_apps, kind)(coursedir=coursedir, authenticator=Authenticator(config=student), config=student).start()

    run("FetchAssignment")
    fetched = home / TOY / f"{TOY}.ipynb"
    nb = nbformat.read(fetched, as_version=4)
    assert "BEGIN HIDDEN TESTS" not in nbformat.writes(nb)  # the released version, not the solution
    nb.cells[2].source = "def double(x):\n    return 2 * np.asarray(x)  # ada's answer\n"
    nbformat.write(nb, fetched)
    run("Submit")

    # The instructor collects; `grade` reads what nbgrader collected. One Unix user plays both
    # here, so the course's collect cannot check that ada made her folder (tests/test_hub.py does).
    instructor.ExchangeCollect.check_owner = False
    api = NbGraderAPI(config=instructor)
    result = api.collect(TOY)
    assert result["success"], result
    submitted = workdir / "submitted"
    assert scan_submissions(submitted, course) == ({"ada": [TOY]}, {})
    collected = nbformat.read(submitted / "ada" / TOY / f"{TOY}.ipynb", as_version=4)
    assert "ada's answer" in collected.cells[2].source
    assert (submitted / "ada" / TOY / "timestamp.txt").is_file()
