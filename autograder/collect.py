"""An LMS's download -> `<student>/<assignment>/<assignment>.ipynb`, the layout `grade` reads.

The download is a zip (Canvas, Moodle) or a folder. Each file's path in it is matched, as nbgrader's
`zip_collect` does, by nbgrader's `FileNameCollectorPlugin` with a regex of named groups:
`student_id` (or `student`), `file_id` (or `assignment`), optionally `timestamp`. Built in:

    Canvas   lastnamefirstname_12345_67890_01_linear.ipynb   (late: lastnamefirstname_late_12345_...)
    Moodle   Full Name_12345_assignsubmission_file_/01_linear.ipynb

Per (student, assignment) the newest file is kept: the archive's or folder's time (zip member
date_time, taken as UTC; file mtime), or the pattern's `timestamp`; on a tie, Canvas's attachment id
or a resubmission suffix (`01_linear-2.ipynb`). It lands only if it is newer than what SUBMISSIONS
holds, whose time is in `timestamp.txt` as nbgrader's `collect` writes it. Nothing is extracted by its
own path: a notebook is written to `<student>/<assignment>/<assignment>.ipynb` under SUBMISSIONS and
nowhere else, and every file that is not collected is listed with the reason.
"""

import contextlib
import datetime
import functools
import errno
import logging
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import parse_utc

from .course import COURSE
from .intake import NotAPlainFile, read_regular

__all__ = ["PATTERNS", "CollectReport", "collect_submissions", "format_collect", "safe_student"]

PATTERNS = {
    "Moodle": r"(?:.*/)?(?P<student_id>[^/]+?)_(?P<uid>\d+)_assignsubmission_file_/(?:.*/)?(?P<file_id>[^/]+)$",
    "Canvas": (
        r"(?:.*/)?(?P<student_id>[^_/]+)_(?:(?i:late)_)?(?P<uid>\d+)_(?P<attachment>\d+)_(?P<file_id>[^/]+)$"
    ),
}
MAX_BYTES = 100 * 2**20  # a notebook larger than this is refused (a zip bomb is not decompressed)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp.txt, read back with its parse_utc
_RESUBMITTED = re.compile(r"^(?P<base>.+?)(?:-(?P<n>\d+)| \((?P<m>\d+)\))$")  # 01_linear-2, 01_linear (2)

# FileNameCollectorPlugin logs every file a pattern does not match; the report lists them instead.
_QUIET = logging.getLogger(__name__)
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass
class CollectReport:
    """What a collect did. collected: (student, assignment, source, time, action) with action "new",
    "replaced" or "unchanged"; older and not_collected: (source, reason)."""

    collected: list = field(default_factory=list)
    older: list = field(default_factory=list)
    not_collected: list = field(default_factory=list)


@dataclass
class _File:
    name: str  # its path in the archive or folder, with "/"
    time: datetime.datetime  # naive UTC
    size: int
    read: object  # () -> bytes, or None if the file is refused unread
    refused: str | None = None  # why it is not read (a link, a FIFO, a device...)

    _data: bytes | None = None

    def data(self):
        if self._data is None:
            self._data = self.read()
        return self._data


@dataclass
class _Candidate:
    file: _File
    student: str
    assignment: str
    time: datetime.datetime
    order: tuple  # (time, attachment id, resubmission number): the largest is the newest
    uid: str | None


def safe_student(name):
    """`name` as a folder name: letters, digits, `_`, `-` and `.` kept (spaces and the rest become
    `_`), none of `.`, `_` or `-` first or last (no hidden folder, no shell option); None if nothing
    usable is left (`..`, `/`, empty)."""
    text = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", str(name)).strip()).strip("._-")
    return text[:100] or None


def collect_submissions(source, submissions, course=COURSE, pattern=None, assignment=None):
    """Collect the notebooks of `source` (a zip or a folder) into `submissions`; returns a CollectReport.

    `pattern` (a regex with the named groups of nbgrader's zip_collect) replaces the built-in Canvas
    and Moodle patterns; it is matched against each file's path in the source, then its name alone.
    `assignment` is the id of every notebook whose name does not carry one.
    """
    source, submissions = Path(source), Path(submissions)
    known = course.available()
    if assignment is not None:
        course.check_assignments([assignment])
    patterns = [_check_pattern(pattern, assignment)] if pattern else list(PATTERNS.values())
    plugins = [FileNameCollectorPlugin(named_regexp=p, valid_ext=[".ipynb"], log=_QUIET) for p in patterns]
    report = CollectReport()
    with contextlib.ExitStack() as stack:
        candidates = []
        for file in _files(source, submissions, stack):
            found = _match(file, plugins, bool(pattern), known, assignment)
            if isinstance(found, str):
                report.not_collected.append((file.name, found))
            else:
                candidates.append(found)
        candidates = _one_lms_user_per_folder(candidates, report)

        by_key = {}
        for cand in candidates:
            by_key.setdefault((cand.student, cand.assignment), []).append(cand)
        submissions.mkdir(parents=True, exist_ok=True)
        for key in sorted(by_key):
            group = sorted(by_key[key], key=lambda c: c.order, reverse=True)
            for other in group[1:]:
                _report_loser(other, group[0], report)
            _place(group[0], submissions, report)
    return report


def _files(source, submissions, stack):
    if source.is_dir():
        if submissions.resolve().is_relative_to(source.resolve()):
            raise ValueError(
                f"SUBMISSIONS ({submissions}) is inside the folder collected from ({source}); "
                "give a folder outside it"
            )
        return list(_folder_files(source))
    if source.is_file() and zipfile.is_zipfile(source):
        try:
            archive = stack.enter_context(zipfile.ZipFile(source))
        except (zipfile.BadZipFile, OSError) as exc:
            raise ValueError(f"cannot read the zip archive {source}: {exc}") from None
        return list(_zip_files(archive))
    if source.exists():
        raise ValueError(f"{source} is neither a zip archive nor a folder; expected an LMS's download (.zip) or a folder")
    raise ValueError(f"{source} does not exist; expected an LMS's download (.zip) or a folder of submissions")


def _zip_files(archive):
    for info in archive.infolist():
        if info.is_dir():
            continue

        def read(info=info):
            with archive.open(info) as member:
                data = member.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise _TooLarge
            return data

        time = datetime.datetime(*info.date_time)
        yield _File(info.filename.replace("\\", "/"), time, info.file_size, read)


def _folder_files(folder):
    """Every file of the folder, looked at without following a link: a link (to a file or a folder)
    or a special file (FIFO, socket, device) is listed, refused, and never opened."""
    for root, dirs, names in os.walk(folder):  # followlinks=False: a link to a folder is not entered
        dirs.sort()
        for name in sorted(names + [d for d in dirs if os.path.islink(os.path.join(root, d))]):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                yield _File(rel, datetime.datetime.min, 0, None, "a symbolic link: not followed")
                continue
            if not stat.S_ISREG(info.st_mode):
                yield _File(rel, datetime.datetime.min, 0, None, "not a plain file (a FIFO, socket or device): not opened")
                continue
            time = datetime.datetime.fromtimestamp(info.st_mtime, datetime.timezone.utc).replace(tzinfo=None)
            yield _File(rel, time, info.st_size, functools.partial(_read_plain, path, (info.st_dev, info.st_ino)))


def _read_plain(path, identity):
    """The bytes of `path`, still the plain file looked at (a link swapped in since is not followed)."""
    try:
        return read_regular(path, MAX_BYTES, single=False, identity=identity)
    except NotAPlainFile as exc:
        if exc.errno == errno.EFBIG:
            raise _TooLarge from None
        raise ValueError(f"{path} changed while collect read it ({exc.strerror}); collect again") from None


class _TooLarge(Exception):
    pass


def _check_pattern(pattern, assignment):
    try:
        groups = re.compile(pattern).groupindex
    except re.error as exc:
        raise ValueError(f"--pattern is not a regular expression ({exc}): {pattern!r}") from None
    if not {"student", "student_id"} & set(groups):
        raise ValueError(
            f"--pattern needs a named group (?P<student>...) (or zip_collect's student_id); got {pattern!r}"
        )
    if not {"assignment", "file_id"} & set(groups) and assignment is None:
        raise ValueError(
            "--pattern has no (?P<assignment>...) (or file_id) group; add one, or give --assignment ID"
        )
    return pattern


def _match(file, plugins, custom, known, given):
    """A _Candidate for `file`, or the reason it is not collected."""
    parts = file.name.split("/")
    if file.name.startswith("/") or re.match(r"^[A-Za-z]:", file.name) or ".." in parts:
        return "unsafe path (absolute, or with ..): not extracted"
    if file.read is None:
        return file.refused or "a symbolic link: not followed"
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return "a hidden or system file (__MACOSX, .DS_Store, .ipynb_checkpoints)"
    if PurePosixPath(file.name).suffix.lower() != ".ipynb":
        return "not a notebook (.ipynb)"
    if file.size > MAX_BYTES:
        return f"larger than {MAX_BYTES // 2**20} MB"
    found = None
    for plugin in plugins:
        found = plugin.collect(file.name)
        if found is None and custom and "/" in file.name:
            found = plugin.collect(parts[-1])
        if found:
            break
    if not found:
        expected = "--pattern" if custom else "Canvas's name_12345_67890_<id>.ipynb or Moodle's Name_12345_assignsubmission_file_/<id>.ipynb"
        return f"its name matches no pattern (expected {expected}); give --pattern with (?P<student>...)"
    raw_student = found.get("student") or found.get("student_id") or ""
    student = safe_student(raw_student)
    if student is None:
        return f"student id {raw_student!r} is not a usable folder name"

    named = found.get("assignment") or found.get("file_id") or ""
    stem = PurePosixPath(named).name.removesuffix(".ipynb")
    number = 0
    resubmitted = _RESUBMITTED.match(stem)
    if stem not in known and resubmitted and resubmitted["base"] in known:
        stem, number = resubmitted["base"], int(resubmitted["n"] or resubmitted["m"])
    if given is not None:
        if stem in known and stem != given:
            return f"its name says assignment {stem}, not {given} (--assignment)"
        assignment = given
    elif stem in known:
        assignment = stem
    else:
        return f"no assignment id in its name ({stem!r}); expected one of {', '.join(known)}, or give --assignment"

    time = file.time
    if found.get("timestamp"):
        try:
            time = parse_utc(found["timestamp"])
        except (ValueError, OverflowError):
            return f"its timestamp {found['timestamp']!r} is not a date and time"
    attachment = int(found.get("attachment") or 0)
    return _Candidate(file, student, assignment, time, (time, attachment, number), found.get("uid"))


def _one_lms_user_per_folder(candidates, report):
    # Two students of the same name would share a folder, and the older notebook would be dropped as
    # a resubmission: refuse both when the LMS's ids say they are different people.
    uids = {}
    for cand in candidates:
        if cand.uid is not None:
            uids.setdefault(cand.student, set()).add(cand.uid)
    clashes = {s: ids for s, ids in uids.items() if len(ids) > 1}
    for cand in candidates:
        if cand.student in clashes:
            ids = ", ".join(sorted(clashes[cand.student]))
            report.not_collected.append((
                cand.file.name,
                f"LMS users {ids} would share the student folder {cand.student}: collect them with a "
                "--pattern that tells them apart",
            ))
    return [c for c in candidates if c.student not in clashes]


def _report_loser(other, best, report):
    if other.order < best.order:
        report.older.append((other.file.name, f"older than {best.file.name} ({_when(other.time)} < {_when(best.time)})"))
    elif _same(other, best):
        report.older.append((other.file.name, f"a copy of {best.file.name}"))
    else:
        report.not_collected.append((
            other.file.name,
            f"as new as {best.file.name} ({_when(best.time)}) but different; {best.file.name} was kept: check by hand",
        ))


def _same(a, b):
    try:
        return a.file.data() == b.file.data()
    except _TooLarge:
        return False


def _place(cand, submissions, report):
    folder = submissions / cand.student / cand.assignment
    target = folder / f"{cand.assignment}.ipynb"
    stamp = folder / "timestamp.txt"
    partial = folder / f".{cand.assignment}.ipynb.partial"
    trap = _not_plain_in(submissions, folder, (target, stamp, partial))
    if trap:  # writing or reading there would go through a link, or block on a FIFO
        report.not_collected.append((cand.file.name, f"{trap} in SUBMISSIONS: nothing written there, check by hand"))
        return
    action = "new"
    if target.exists():
        held = _held_time(stamp)
        if held is None:
            report.not_collected.append((
                cand.file.name,
                f"SUBMISSIONS holds {cand.student}/{cand.assignment} without a readable timestamp.txt, so which "
                "is newer is unknown: it was left as it is (move it away to collect this one)",
            ))
            return
        if held > cand.time:
            report.older.append((
                cand.file.name,
                f"older than the {cand.student}/{cand.assignment} SUBMISSIONS holds "
                f"({_when(cand.time)} < {_when(held)})",
            ))
            return
        try:
            data = cand.file.data()
        except _TooLarge:
            report.not_collected.append((cand.file.name, f"larger than {MAX_BYTES // 2**20} MB"))
            return
        if held == cand.time:
            if _read_held(target) == data:
                report.collected.append((cand.student, cand.assignment, cand.file.name, cand.time, "unchanged"))
            else:
                report.not_collected.append((
                    cand.file.name,
                    f"as new as the {cand.student}/{cand.assignment} SUBMISSIONS holds ({_when(held)}) but "
                    "different; that one was kept: check by hand",
                ))
            return
        action = "replaced"
    try:
        data = cand.file.data()
    except _TooLarge:
        report.not_collected.append((cand.file.name, f"larger than {MAX_BYTES // 2**20} MB"))
        return
    folder.mkdir(parents=True, exist_ok=True)
    _write_new(partial, data)
    os.replace(partial, target)  # replaces the name: a link there would be replaced, not followed
    _write_new(partial, (cand.time.strftime(TIME_FORMAT) + "\n").encode())
    os.replace(partial, stamp)
    report.collected.append((cand.student, cand.assignment, cand.file.name, cand.time, action))


def _held_time(stamp):
    try:
        return parse_utc(_read_held(stamp).decode().strip())
    except (OSError, ValueError, OverflowError):
        return None


def _read_held(path):
    return read_regular(path, MAX_BYTES, single=False)


def _not_plain_in(submissions, folder, files):
    """The first of the student's and assignment's folders and `files` that is a link or not what it
    should be (a folder, a plain file), in words; None if all are absent or as they should be."""
    for path in (folder.parent, folder):
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            return f"{path.relative_to(submissions)} is a symbolic link or not a folder"
    for path in files:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return f"{path.relative_to(submissions)} is a symbolic link or a special file"
    return None


def _write_new(path, data):
    """Write `path` afresh: what was there (a stale partial file) goes first; O_EXCL never follows a link."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _when(time):
    return time.strftime("%Y-%m-%d %H:%M:%S")


def format_collect(report, submissions):
    """The summary `collect` prints: what was kept, what was older, what was not collected and why."""
    lines = [f"collected into {submissions}: {len(report.collected)} notebook(s)"]
    for student, assignment, name, time, action in report.collected:
        lines.append(f"  {student}/{assignment}  {action:9}  {_when(time)}  from {name}")
    if report.older:
        lines.append(f"older, skipped: {len(report.older)}")
        lines.extend(f"  {name}: {reason}" for name, reason in report.older)
    if report.not_collected:
        lines.append(f"not collected: {len(report.not_collected)}")
        lines.extend(f"  {name}: {reason}" for name, reason in report.not_collected)
    return "\n".join(lines)
