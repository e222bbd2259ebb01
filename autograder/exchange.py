"""nbgrader's collect, for an exchange that students write into (a hub's: deploy/).

Every student may write into the course's `inbound/` folder, and nbgrader's own collect trusts what
is there: it takes the student id from a folder's name (it only warns when the folder's owner is
someone else), and copies with `shutil.copytree`, which follows links, with the instructor's rights.
So a student could hand in a link to the instructor's solution, or a folder named as another
student's, later than theirs, which would replace it. `CourseExchangeCollect` refuses, with a
warning that names it, a submission that

- is not a folder (a link to one, say),
- was made by another user than the student its name claims (unless `check_owner` is off: a hub
  where every user has the same uid, such as Zero to JupyterHub's default, cannot tell them apart),
- holds anything but folders and regular files (links, hard links, FIFOs, sockets, devices),
- has a name nbgrader cannot read (nbgrader's collect would stop there, for everyone);

then takes each student's newest remaining submission, as nbgrader does. Copying never follows a link.
"""

import glob
import os
import pwd
import shutil
import stat

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.utils import ignore_patterns, parse_utc

__all__ = ["CourseExchangeCollect", "refusal"]


class CourseExchangeCollect(ExchangeCollect):
    """nbgrader's ExchangeCollect without trusting the inbound folder (see the module's docstring)."""

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not os.access(self.inbound_path, os.R_OK | os.X_OK):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(self.inbound_path, f"{student_id}+{self.coursedir.assignment_id}+*")
        records = []
        for path in sorted(glob.glob(pattern)):
            try:
                record = _record(path)
                why = refusal(path, record["username"], self.check_owner)
            except ValueError as exc:
                why = str(exc)
            if why is not None:
                self.log.warning(f"Not collected: {path}: {why}")
                continue
            records.append(record)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for submissions in groupby(records, lambda item: item["username"]).values():
            newest = sorted(submissions, key=lambda item: item["timestamp"], reverse=True)
            if self.duedate is not None and self.before_duedate:
                newest = [r for r in newest if r["timestamp"] <= self.duedate] or newest
            self.src_records.append(newest[0])

    def do_copy(self, src, dest, log=None):
        """Copy `src` to `dest` as nbgrader does (its ignore, include and size settings), never
        following a link: one made since the check is left out."""
        max_dir_size = self.coursedir.max_dir_size
        if self.get_size(src) > 1000 * max_dir_size:
            raise RuntimeError(f"Directory size is too big (more than {1000 * max_dir_size} bytes): {src}")
        nbgrader_ignores = ignore_patterns(
            exclude=self.coursedir.ignore, include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size, log=self.log,
        )  # fmt: skip

        def ignore(folder, names):
            plain = [n for n in names if _kind(os.path.join(folder, n)) in ("file", "folder")]
            return set(names) - set(plain) | set(nbgrader_ignores(folder, plain))

        shutil.copytree(src, dest, symlinks=True, ignore=ignore)


def refusal(path, name, check_owner=True):
    """Why the inbound entry `path`, a submission of student `name`, is not collected; None if it may be."""
    kind = _kind(path)
    if kind != "folder":
        return f"a {kind}, not a folder"
    if check_owner:
        uid = os.lstat(path).st_uid
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            owner = f"uid {uid}"
        if owner != name:
            return f"made by {owner}, not by {name} (ExchangeCollect.check_owner)"
    for folder, folders, files in os.walk(path):
        for entry in folders + files:
            kind = _kind(os.path.join(folder, entry))
            if kind not in ("file", "folder"):
                return f"it holds a {kind}: {os.path.relpath(os.path.join(folder, entry), path)}"
            if kind == "file" and os.lstat(os.path.join(folder, entry)).st_nlink > 1:
                # another name of a file made elsewhere (where the kernel allows linking a file one
                # does not own); nbgrader's submit writes new files
                return f"it holds a hard link: {os.path.relpath(os.path.join(folder, entry), path)}"
    return None


def _record(path):
    filename = os.path.basename(path)
    parts = filename.rsplit("+", 3)
    if len(parts) < 3:
        raise ValueError(f"not a submission's name (student+assignment+timestamp): {filename}")
    try:
        timestamp = parse_utc(parts[2])
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"its timestamp cannot be read: {parts[2]!r} ({exc})") from None
    return {"username": parts[0], "filename": filename, "timestamp": timestamp}


def _kind(path):
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    return "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
