"""submissions -> intake -> nbgrader's submitted/: what grade takes from a student's folder, and what not.

A submission folder is the student's, so anything in it may be a trap: a symbolic link named like a
data file that points at the course's solutions or the gradebook, a FIFO or a link to /dev/zero that
hangs or floods whoever reads it, a second name (hard link) of a file elsewhere, or Python code
(`sitecustomize.py`, an `autograder/` package) that would run from the kernel's working folder, where
nbgrader copies every file of a submission. So before anything is read, every entry of the folder is
looked at without following a link (lstat through folder descriptors opened with O_NOFOLLOW):

- refused, never opened, and shown to the instructor as a flag: symbolic links, hard links of files
  (st_nlink > 1), devices, FIFOs and sockets (also a notebook that is one of these);
- copied beside the notebook: plain files whose suffix is in DATA_SUFFIXES, each at most
  MAX_FILE_BYTES and MAX_TOTAL_BYTES in all;
- not copied, with the reason: everything else (code, folders, hidden files, other notebooks, files
  too large).

A file is then read through its folder's descriptor with O_NOFOLLOW | O_NONBLOCK, and only if it is
still the plain file that was looked at (same inode, one name): a link swapped in meanwhile is not
followed either. Nothing in the submission folder is changed.

    found = look(submissions, "ada", "01_linear")     # an Intake: what to take, what is refused, why
    files = take(submissions, found)                    # {name: bytes}, the notebook among them
    write(files, workdir / "submitted" / "ada" / "01_linear")
"""

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DATA_SUFFIXES",
    "MAX_FILE_BYTES",
    "MAX_NOTEBOOK_BYTES",
    "MAX_TOTAL_BYTES",
    "Intake",
    "NotAPlainFile",
    "look",
    "read_regular",
    "take",
    "write",
]

MAX_NOTEBOOK_BYTES = 100 * 2**20  # as collect's limit on a notebook
# Data a notebook may read from its folder. No code of any kind: the kernel's working folder is on its
# import path's doorstep (.py, .pth, .so, packages), and nothing there is needed by the course.
DATA_SUFFIXES = (".csv", ".txt", ".npy", ".npz", ".json", ".png", ".jpg", ".jpeg")
MAX_FILE_BYTES = 10 * 2**20  # per data file
MAX_TOTAL_BYTES = 50 * 2**20  # data files of one submission, all together
MAX_ENTRIES = 1000  # entries looked at per submission, folders' contents included: the rest are not
MAX_DEPTH = 8  # folders inside folders looked into (only to find links and special files)
_CODE = {".py", ".pyc", ".pyo", ".pyd", ".pyx", ".pth", ".so", ".dylib", ".dll", ".egg", ".whl", ".zip", ".sh"}
_BY_PRODUCTS = {".ipynb_checkpoints", "__pycache__"}  # Jupyter's and Python's own: not copied, not listed

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO that slipped through would otherwise wait for a writer
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class NotAPlainFile(OSError):
    """A path that is a link, a special file or a second name of a file, or too large: not read."""


@dataclass
class Intake:
    """What grade takes from one submission folder `<student>/<assignment>/`.

    files: name -> (st_dev, st_ino, st_size) of each file to copy, the notebook first; refused and
    not_copied: [(path in the folder, reason)]; problem: why the notebook cannot be graded at all.
    """

    student: str
    assignment: str
    files: dict = field(default_factory=dict)
    refused: list = field(default_factory=list)
    not_copied: list = field(default_factory=list)
    problem: str | None = None

    @property
    def notebook(self):
        return f"{self.assignment}.ipynb"


def look(submissions, student, assignment):
    """Look at `submissions/student/assignment/` without reading a file or following a link: an Intake."""
    found = Intake(student, assignment)
    where = f"{student}/{assignment}"
    try:
        folder = _open_submission(submissions, student, assignment, found)
    except FileNotFoundError:
        found.problem = f"missing notebook: expected {where}/{found.notebook}; the folder is empty or missing"
        return found
    if folder is None:
        return found
    try:
        budget = [MAX_ENTRIES]
        _look_into(folder, "", 0, budget, found)
    finally:
        os.close(folder)
    if found.notebook not in found.files and found.problem is None:
        present = sorted({path.split("/")[0] for path, _ in found.refused + found.not_copied} | set(found.files))
        holds = f"; the folder holds: {', '.join(present)}" if present else "; the folder is empty or missing"
        found.problem = f"missing notebook: expected {where}/{found.notebook}{holds}"
    return found


def take(submissions, found):
    """{name: bytes} of the files `found` (an Intake) copies, read without following a link; a file
    that is no longer the plain file looked at moves to `found.refused` (and the notebook, to problem)."""
    if found.problem:
        return {}
    folder = _open_submission(submissions, found.student, found.assignment, found)
    if folder is None:
        return {}
    files = {}
    try:
        for name, (device, inode, size) in list(found.files.items()):
            limit = MAX_NOTEBOOK_BYTES if name == found.notebook else MAX_FILE_BYTES
            try:
                data = read_regular(name, limit, dir_fd=folder, identity=(device, inode))
            except (NotAPlainFile, OSError) as exc:
                del found.files[name]
                found.refused.append((name, f"changed while it was read ({exc}): not copied"))
                if name == found.notebook:
                    found.problem = f"the notebook {name} changed while it was read ({exc}): not graded"
                continue
            files[name] = data
    finally:
        os.close(folder)
    return files


def write(files, target):
    """Write {name: bytes} into the new folder `target` (made here, with no file of its own yet)."""
    target = Path(target)
    target.mkdir(parents=True)
    for name, data in files.items():
        # O_EXCL: a fresh file, never one that was there (or a link to elsewhere)
        fd = os.open(target / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def read_regular(path, limit, *, dir_fd=None, single=True, identity=None):
    """The bytes of `path` if it is a plain file, not a link, of at most `limit` bytes; else NotAPlainFile.

    `single`: refuse a file with more than one name (a hard link). `identity`: (st_dev, st_ino) it must
    still have. Never blocks on a FIFO, never reads a device.
    """
    try:
        fd = os.open(path, _FILE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAPlainFile(errno.ELOOP, "a symbolic link: not followed", str(path)) from None
        raise
    try:
        info = os.fstat(fd)
        why = _not_plain(info, single) or (
            "not the file that was looked at" if identity and (info.st_dev, info.st_ino) != tuple(identity) else None
        )
        if why:
            raise NotAPlainFile(errno.EINVAL, why, str(path))
        if info.st_size > limit:
            raise NotAPlainFile(errno.EFBIG, f"larger than {_size(limit)}", str(path))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while read
            raise NotAPlainFile(errno.EFBIG, f"larger than {_size(limit)}", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------- looking


def _open_submission(submissions, student, assignment, found):
    """A descriptor of the submission folder, reached without following a link below SUBMISSIONS
    (the instructor's own folder); None, with the reason in `found`, if a step is a link or no folder."""
    fd = os.open(submissions, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    shown = []
    try:
        for name in (student, assignment):
            shown.append(name)
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            kind = _special(info)
            if kind is not None:
                found.refused.append(("/".join(shown), _described(kind, name, fd, info)))
                found.problem = f"SUBMISSIONS/{'/'.join(shown)} is {found.refused[-1][1]}; nothing in it was read"
                return None
            if not stat.S_ISDIR(info.st_mode):
                found.problem = (
                    f"missing notebook: expected {student}/{assignment}/{found.notebook}, but "
                    f"SUBMISSIONS/{'/'.join(shown)} is a file, not a folder"
                )
                return None
            inner = os.open(name, _DIRECTORY, dir_fd=fd)  # O_NOFOLLOW: a link swapped in since fails
            os.close(fd)
            fd = inner
        inner, fd = fd, None
        return inner
    finally:
        if fd is not None:
            os.close(fd)


def _look_into(folder, prefix, depth, budget, found):
    with os.scandir(folder) as entries:
        listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            path = prefix + entry.name
            if budget[0] <= 0:
                found.not_copied.append((f"{prefix or './'}...", f"more than {MAX_ENTRIES} entries: the rest were not looked at"))
                return
            budget[0] -= 1
            info = entry.stat(follow_symlinks=False)  # fstatat(folder, name, AT_SYMLINK_NOFOLLOW)
            kind = _special(info)
            if kind is None and stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                kind = f"a hard link (one of {info.st_nlink} names of a file that may be anyone's)"
            if kind is not None:
                found.refused.append((_shown(path), _described(kind, entry.name, folder, info)))
                if not prefix and entry.name == found.notebook:
                    found.problem = f"the notebook {found.notebook} is {found.refused[-1][1]}"
                continue
            if stat.S_ISDIR(info.st_mode):
                if not prefix and entry.name == found.notebook:
                    found.problem = f"the notebook {found.notebook} is a folder, not a file"
                elif entry.name not in _BY_PRODUCTS:
                    found.not_copied.append((_shown(path) + "/", _folder_reason(entry.name, folder)))
                if depth < MAX_DEPTH:  # looked into only to find links and special files, never copied
                    try:
                        inner = os.open(entry.name, _DIRECTORY, dir_fd=folder)
                    except OSError as exc:  # swapped for a link since, or unreadable
                        found.refused.append((_shown(path) + "/", f"could not be opened as a folder ({exc.strerror})"))
                        continue
                    try:
                        _look_into(inner, path + "/", depth + 1, budget, found)
                    finally:
                        os.close(inner)
                continue
            if prefix:
                continue  # a plain file inside a folder: the folder is listed as not copied
            reason = _file_reason(entry.name, info.st_size, found)
            if reason:
                found.not_copied.append((_shown(path), reason))
            else:
                found.files[entry.name] = (info.st_dev, info.st_ino, info.st_size)
    if not prefix and found.notebook in found.files:  # the notebook first
        found.files = {found.notebook: found.files[found.notebook], **found.files}


def _special(info):
    """What a non-plain, non-folder entry is, or None."""
    mode = info.st_mode
    for test, kind in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "a special file"
    return None


def _not_plain(info, single):
    """Why a file opened without following a link is not to be read, or None."""
    kind = _special(info) or ("a folder" if stat.S_ISDIR(info.st_mode) else None)
    if kind is None and single and info.st_nlink > 1:
        kind = f"a hard link (one of {info.st_nlink} names of a file)"
    return kind


def _described(kind, name, folder, info):
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(name, dir_fd=folder)  # the link's text; the target is not touched
        except OSError:
            target = "?"
        return f"{kind} to {_shown(target)}: refused, not followed"
    return f"{kind}: refused, never opened"


def _file_reason(name, size, found):
    """Why a plain file beside the notebook is not copied, or None to copy it (counted in the total)."""
    suffix = os.path.splitext(name)[1].lower()
    if name == found.notebook:
        return None if size <= MAX_NOTEBOOK_BYTES else _notebook_too_large(found, size)
    if name.startswith("."):
        return "a hidden file: not copied"
    if suffix in _CODE:
        return "code or a library, which would run in the grading kernel: never copied"
    if suffix == ".ipynb":
        return f"another notebook: only {found.notebook} is graded"
    if suffix not in DATA_SUFFIXES:
        return f"not a data file of a kind the course reads ({', '.join(DATA_SUFFIXES)}): not copied"
    if size > MAX_FILE_BYTES:
        return f"larger than {_size(MAX_FILE_BYTES)} ({_size(size)}): not copied"
    total = sum(s for n, (_, _, s) in found.files.items() if n != found.notebook)
    if total + size > MAX_TOTAL_BYTES:
        return f"the data files would pass {_size(MAX_TOTAL_BYTES)} in all: not copied"
    return None


def _notebook_too_large(found, size):
    found.problem = f"the notebook {found.notebook} is larger than {_size(MAX_NOTEBOOK_BYTES)} ({_size(size)}): not read"
    return found.problem


def _folder_reason(name, folder):
    try:
        package = stat.S_ISREG(os.stat(f"{name}/__init__.py", dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        package = False
    if package:
        return "a Python package, whose code would run in the grading kernel: never copied"
    return "a folder: only files beside the notebook are copied"


def _shown(text):
    return text if text.isprintable() else repr(text)


def _size(n):
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n} bytes"
