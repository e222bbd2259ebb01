"""What grade takes from SUBMISSIONS, and what it judges with.

A submission folder can hold traps: symbolic links named like data files (to the solution, the hidden
tests' code, the gradebook), a hard link to a file outside, a FIFO, a link to /dev/zero, a socket, a
device, Python code that would run in the kernel's folder (an `autograder/` package,
`sitecustomize.py`). Graded beside an honest submission on the toy course, none of them is copied
or read, the report names each, the honest one keeps full marks and SUBMISSIONS is unchanged.
The solutions' snapshot and the hidden tests' code are checked before each notebook, in the process
that grades it; each notebook's hidden inputs come from a seed of the run's seed and its bytes.
"""

import dataclasses
import os
import socket
import stat
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import grade as grading
from autograder import intake
from autograder.collect import collect_submissions
from autograder.course import ROOT
from autograder.judging.execute import TrustedNotebook
from autograder.grade import grade_submissions, scan_submissions
from autograder.hidden import harness
from autograder.release import release
from toycourse import TOY, make_toy_course, submit, toy_notebook, with_new_cell

NB = f"{TOY}.ipynb"
LISTS = "import os\nprint('LISTED', sorted(os.listdir('.')))\n"  # a story cell: what the kernel's folder holds
HIDDEN_LINEAR = ROOT / "autograder" / "hidden" / "linear.py"
SOLUTION_LINEAR = ROOT / "solutions" / "01_linear" / "01_linear.ipynb"


def lay_traps(folder, outside, gradebook):
    """Every kind of entry intake must refuse or leave, in `folder` (beside a notebook); their names.
    Returns {name: kind} of what must be refused (never opened) and the names never copied."""
    refused = {
        "solution.json": "a symbolic link to " + str(SOLUTION_LINEAR),
        "linear.py": "a symbolic link to " + str(HIDDEN_LINEAR),
        "grades.db": "a symbolic link to " + str(gradebook),
        "zero.npy": "a symbolic link to /dev/zero",
        "hard.txt": "a hard link",
        "fifo.csv": "a FIFO",
        "sock.txt": "a socket",
    }
    os.symlink(SOLUTION_LINEAR, folder / "solution.json")
    os.symlink(HIDDEN_LINEAR, folder / "linear.py")
    os.symlink(gradebook, folder / "grades.db")
    os.symlink("/dev/zero", folder / "zero.npy")
    os.link(outside, folder / "hard.txt")
    os.mkfifo(folder / "fifo.csv")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(folder / "sock.txt"))
    if os.geteuid() == 0:  # a copy of /dev/null's device (1, 3)
        os.mknod(folder / "null.npy", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        refused["null.npy"] = "a character device"
    (folder / "autograder").mkdir()
    (folder / "autograder" / "__init__.py").write_text("")
    (folder / "autograder" / "launch.py").write_text("import os\nos.system('touch /tmp/escaped')\n")
    (folder / "sitecustomize.py").write_text("print('ran at start-up')\n")
    (folder / "data").mkdir()
    os.symlink("/etc", folder / "data" / "etc.csv")  # inside a folder: never copied, still a flag
    refused["data/etc.csv"] = "a symbolic link to /etc"
    return refused, ["autograder/", "sitecustomize.py", "data/"]


def tree(folder):
    """Every entry under `folder`, as lstat sees it: (path, mode, size, mtime, link text)."""
    found = []
    for root, dirs, names in os.walk(folder):
        for name in sorted(dirs + names):
            path = Path(root) / name
            info = path.lstat()
            link = os.readlink(path) if path.is_symlink() else None
            found.append((str(path.relative_to(folder)), info.st_mode, info.st_size, info.st_mtime_ns, link))
    return sorted(found)


# ------------------------------------------------------------------------------ no kernel: seconds


def test_look_refuses_links_and_special_files_and_take_reads_only_what_it_copies(tmp_path):
    folder = tmp_path / "subs" / "mallory" / TOY
    folder.mkdir(parents=True)
    nbformat.write(toy_notebook(), folder / NB)
    (folder / "points.csv").write_text("1,2\n")
    (folder / "notes.md").write_text("mine\n")
    (folder / "big.npy").write_bytes(b"\0" * (intake.MAX_FILE_BYTES + 1))
    (folder / ".hidden.txt").write_text("x")
    (tmp_path / "outside.txt").write_text("someone else's\n")
    refused, left = lay_traps(folder, tmp_path / "outside.txt", tmp_path / "gradebook.db")
    before = tree(tmp_path / "subs")

    found = intake.look(tmp_path / "subs", "mallory", TOY)
    assert found.problem is None
    assert list(found.files) == [NB, "points.csv"]
    reasons = dict(found.refused)
    assert sorted(reasons) == sorted(refused)
    for name, kind in refused.items():
        assert reasons[name].startswith(kind), (name, reasons[name])
    not_copied = dict(found.not_copied)
    assert set(not_copied) == {*left, "notes.md", "big.npy", ".hidden.txt"}
    assert "never copied" in not_copied["autograder/"] and "Python package" in not_copied["autograder/"]
    assert "never copied" in not_copied["sitecustomize.py"]
    files = intake.take(tmp_path / "subs", found)
    assert set(files) == {NB, "points.csv"} and files["points.csv"] == b"1,2\n"
    assert tree(tmp_path / "subs") == before  # nothing changed, the FIFO never opened


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "folder", "dev-zero"])
def test_a_notebook_that_is_not_a_plain_file_is_refused_unread(tmp_path, kind):
    folder = tmp_path / "subs" / "eve" / TOY
    folder.mkdir(parents=True)
    solution = tmp_path / "solution.ipynb"
    nbformat.write(toy_notebook(), solution)
    make = {
        "symlink": lambda p: os.symlink(solution, p),
        "hardlink": lambda p: os.link(solution, p),
        "fifo": os.mkfifo,
        "folder": os.mkdir,
        "dev-zero": lambda p: os.symlink("/dev/zero", p),
    }
    make[kind](folder / NB)
    found = intake.look(tmp_path / "subs", "eve", TOY)
    assert found.problem and found.problem.startswith(f"the notebook {NB} is a"), found.problem
    assert intake.take(tmp_path / "subs", found) == {}


def test_a_student_or_assignment_folder_that_is_a_link_is_refused(tmp_path):
    course = make_toy_course(tmp_path / "course")
    subs = tmp_path / "subs"
    submit(subs, "alice", toy_notebook())
    os.symlink(subs / "alice", subs / "bob")  # bob hands in alice's folder
    (subs / "carol").mkdir()
    os.symlink(course.solution_path(TOY).parent, subs / "carol" / TOY)  # carol, the solution's
    plan, problems = scan_submissions(subs, course)
    assert plan == {"alice": [TOY], "bob": [TOY], "carol": [TOY]} and problems == {}
    for student, where in (("bob", "bob"), ("carol", f"carol/{TOY}")):
        found = intake.look(subs, student, TOY)
        assert found.problem.startswith(f"SUBMISSIONS/{where} is a symbolic link to "), found.problem
        assert [path for path, _ in found.refused] == [where]
        assert not found.files


def test_collect_from_a_folder_refuses_links_and_special_files_unread(tmp_path):
    course = make_toy_course(tmp_path / "course")
    download = tmp_path / "download"
    download.mkdir()
    nb = nbformat.writes(toy_notebook()).encode()
    (download / f"ada_1_2_{TOY}.ipynb").write_bytes(nb)
    os.symlink(course.solution_path(TOY), download / f"bob_3_4_{TOY}.ipynb")
    os.mkfifo(download / f"cy_5_6_{TOY}.ipynb")
    os.symlink("/dev/zero", download / f"dan_7_8_{TOY}.ipynb")
    os.symlink(course.solution_path(TOY).parent, download / "linked")
    out = tmp_path / "submissions"
    done = []
    worker = threading.Thread(target=lambda: done.append(collect_submissions(download, out, course)), daemon=True)
    worker.start()
    worker.join(60)  # a FIFO that were opened would wait for a writer forever
    assert done, "collect hung on a FIFO or a device"
    report = done[0]
    assert [c[0] for c in report.collected] == ["ada"]
    reasons = dict(report.not_collected)
    assert reasons[f"bob_3_4_{TOY}.ipynb"] == reasons[f"dan_7_8_{TOY}.ipynb"] == reasons["linked"]
    assert reasons["linked"] == "a symbolic link: not followed"
    assert reasons[f"cy_5_6_{TOY}.ipynb"].startswith("not a plain file")


def test_collect_never_writes_through_a_link_in_submissions(tmp_path):
    course = make_toy_course(tmp_path / "course")
    download = tmp_path / "download"
    download.mkdir()
    (download / f"ada_1_2_{TOY}.ipynb").write_bytes(nbformat.writes(toy_notebook()).encode())
    out = tmp_path / "submissions"
    (out / "ada" / TOY).mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink(victim, out / "ada" / TOY / "timestamp.txt")
    report = collect_submissions(download, out, course)
    assert not report.collected
    assert "timestamp.txt is a symbolic link" in report.not_collected[0][1]
    assert victim.read_text() == "keep me\n"


def test_a_changed_snapshot_or_hidden_module_stops_the_notebook(tmp_path, monkeypatch):
    course = make_toy_course(tmp_path / "course")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "linear.py").write_text("CASES = 3\n")
    monkeypatch.setattr(grading, "_HIDDEN", hidden)
    trusted = grading._snapshot(course, [TOY], tmp_path / "work")
    grading._check_trusted(trusted, TOY)  # as the run began: fine
    tests = TrustedNotebook.load(trusted.path(TOY)).tests
    assert "hidden_double" in tests

    snapshot = Path(trusted.path(TOY))
    snapshot.write_text(snapshot.read_text().replace("2 * np.arange(5.0)", "np.arange(5.0)"))
    with pytest.raises(grading.Tampered, match="snapshot of the 00_toy solution .* changed while the run graded"):
        grading._check_trusted(trusted, TOY)
    # what the grader judges with stays the run's: read once, held in memory
    assert TrustedNotebook.load(trusted.path(TOY)).tests == tests
    TrustedNotebook._loaded.clear()
    with pytest.raises(ValueError, match="changed since the grading run began"):
        TrustedNotebook.load(trusted.path(TOY))

    trusted = grading._snapshot(course, [TOY], tmp_path / "work")  # a new run: a new snapshot
    (hidden / "linear.py").write_text("CASES = 0\n")
    with pytest.raises(grading.Tampered, match="hidden tests' code .* changed while the run graded"):
        grading._check_trusted(trusted, TOY)
    os.symlink(tmp_path / "elsewhere.py", hidden / "linear.py.bak")
    with pytest.raises(OSError, match="symbolic link"):
        grading._hidden_tests_digest()


def test_each_notebook_draws_from_a_seed_of_the_run_seed_and_its_bytes(tmp_path):
    a, b = b'{"cells": []}', b'{"cells": [] }'
    assert grading._notebook_seed(1234, a) == grading._notebook_seed(1234, a)
    assert grading._notebook_seed(1234, a) != grading._notebook_seed(1234, b)
    assert grading._notebook_seed(1234, a) != grading._notebook_seed(1235, a)

    seen = []

    class Api:  # nbgrader's autograde, as grade calls it: the hidden tests would run now
        def autograde(self, *args, **kwargs):
            seen.append(harness.seed())
            return {"success": False, "error": "stopped here", "log": ""}

    subs = tmp_path / "subs"
    submit(subs, "ada", toy_notebook())
    found = intake.look(subs, "ada", TOY)
    files = intake.take(subs, found)
    grade = grading._grade_files(Api(), None, tmp_path / "work", found, files, [("x", 1.0, False)], 5, 1234)
    assert seen == [grading._notebook_seed(1234, files[NB])] == [grade.notebook_seed]
    assert harness.seed() is None  # put back


# ------------------------------------------------------------------------------ grading: kernels


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("intake")
    course = make_toy_course(root / "course")
    release([TOY], course)
    subs, work = root / "subs", root / "work"
    solution = toy_notebook()
    alice = submit(subs, "alice", solution)
    (alice.parent / "points.csv").write_text("1,2\n")
    mallory = submit(subs, "mallory", with_new_cell(solution, "imports", LISTS))
    (root / "outside.txt").write_text("someone else's\n")
    refused, left = lay_traps(mallory.parent, root / "outside.txt", work / "gradebook.db")
    (subs / "linker" / TOY).mkdir(parents=True)
    os.symlink(course.solution_path(TOY), subs / "linker" / TOY / NB)
    (subs / "piper" / TOY).mkdir(parents=True)
    os.mkfifo(subs / "piper" / TOY / NB)
    os.symlink(subs / "alice", subs / "copycat")
    before = tree(subs)
    report = grade_submissions(subs, course, workdir=work, timeout=10, memory_mb=2048, jobs=1, seed=1234)
    return dict(course=course, subs=subs, work=work, report=report, refused=refused, left=left, before=before, root=root)


@pytest.mark.slow
def test_nothing_refused_is_copied_or_read_and_the_report_names_each(graded):
    report, work = graded["report"], graded["work"]
    assert report["alice"][TOY].score == 6.0, report["alice"][TOY].error
    assert report["alice"][TOY].refused == [] and report["alice"][TOY].not_copied == []
    mallory = report["mallory"][TOY]
    assert mallory.score == 6.0, mallory.error
    named = {entry["path"]: entry["reason"] for entry in mallory.refused}
    assert sorted(named) == sorted(graded["refused"])
    assert {entry["path"] for entry in mallory.not_copied} == set(graded["left"])
    for folder in (work / "submitted" / "mallory" / TOY, work / "autograded" / "mallory" / TOY):
        assert sorted(p.name for p in folder.iterdir()) == [NB], folder
    assert sorted(p.name for p in (work / "autograded" / "alice" / TOY).iterdir()) == [NB, "points.csv"]
    # what the kernel's folder held, as the student's own cell saw it
    nb = nbformat.read(work / "autograded" / "mallory" / TOY / NB, as_version=4)
    listed = [o["text"] for c in nb.cells for o in c.get("outputs", []) if "LISTED" in o.get("text", "")]
    assert listed == [f"LISTED {[NB]!r}\n"]
    assert not Path("/tmp/escaped").exists()
    # the tests were judged from the run's snapshot, not from solutions/
    assert any(path.startswith(str(work / grading._SNAPSHOT)) for path, _ in TrustedNotebook._loaded)


@pytest.mark.slow
def test_a_notebook_or_folder_that_is_a_link_or_fifo_is_not_graded(graded):
    report = graded["report"]
    for student, start in (
        ("linker", f"the notebook {NB} is a symbolic link to "),
        ("piper", f"the notebook {NB} is a FIFO"),
        ("copycat", "SUBMISSIONS/copycat is a symbolic link to "),
    ):
        grade = report[student][TOY]
        assert grade.score is None and grade.error.startswith(start), grade.error
        assert grade.refused, student


@pytest.mark.slow
def test_submissions_are_unchanged_and_the_summary_flags_the_refused(graded):
    from autograder.report import as_json, format_summary

    assert tree(graded["subs"]) == graded["before"]
    assert (graded["root"] / "outside.txt").read_text() == "someone else's\n"
    summary = format_summary(graded["report"])
    assert "flags, links or special files refused at intake, never opened (4;" in summary
    assert "mallory: data/etc.csv (a symbolic link to /etc)" in summary
    assert "files not copied beside the notebook (1;" in summary
    data = as_json(graded["report"])
    assert data["mallory"][TOY]["refused"] and data["mallory"][TOY]["notebook_seed"] is not None


@pytest.mark.slow
def test_a_resubmission_gets_another_seed_and_the_same_seed_reproduces(graded):
    report, subs, course = graded["report"], graded["subs"], graded["course"]
    first = report["alice"][TOY].notebook_seed
    submit(subs, "alice", with_new_cell(toy_notebook(), "imports", "# second try\n"))
    again = grade_submissions(subs, course, workdir=graded["work"], timeout=10, memory_mb=2048, jobs=1, seed=1234)
    assert again["alice"][TOY].seed == 1234 and again["alice"][TOY].notebook_seed != first
    assert again["mallory"][TOY].notebook_seed == report["mallory"][TOY].notebook_seed  # kept
    # same content, same --seed, another workdir: the same seeds and scores
    fresh = grade_submissions(subs, course, workdir=graded["root"] / "fresh", timeout=10, memory_mb=2048, jobs=1, seed=1234)
    for student in ("alice", "mallory"):
        assert fresh[student][TOY].notebook_seed == again[student][TOY].notebook_seed
        assert fresh[student][TOY].cells == again[student][TOY].cells


@pytest.mark.slow
def test_a_snapshot_changed_between_notebooks_stops_the_next(tmp_path):
    course = make_toy_course(tmp_path / "course")
    release([TOY], course)
    subs, work = tmp_path / "subs", tmp_path / "work"
    for student in ("ann", "ben"):
        submit(subs, student, toy_notebook())

    def tamper(line):  # escaped code, after the first notebook
        snapshot = work / grading._SNAPSHOT / TOY / NB
        snapshot.write_text(snapshot.read_text().replace("2 * np.arange(5.0)", "np.arange(5.0)"))

    report = grade_submissions(subs, course, workdir=work, timeout=10, memory_mb=2048, jobs=1, progress=tamper)
    assert report["ann"][TOY].score == 6.0
    ben = report["ben"][TOY]
    assert ben.score is None and ben.error.startswith("grading failed: Tampered: the run's snapshot"), ben.error


@pytest.mark.slow
def test_workers_check_the_tests_in_their_own_processes(tmp_path, monkeypatch):
    course = make_toy_course(tmp_path / "course")
    release([TOY], course)
    subs = tmp_path / "subs"
    for student in ("ann", "ben"):
        submit(subs, student, toy_notebook())
    real = grading._snapshot

    def changed_since(*args):  # the hidden tests as the workers will find them differ from the run's
        return dataclasses.replace(real(*args), hidden="0" * 64)

    monkeypatch.setattr(grading, "_snapshot", changed_since)
    report = grade_submissions(subs, course, workdir=tmp_path / "work", timeout=10, memory_mb=2048, jobs=2)
    for student in ("ann", "ben"):
        error = report[student][TOY].error
        assert error.startswith("grading failed: Tampered: the hidden tests' code"), error
