"""Limits on a whole sandbox, however many processes it forks: its memory and its number of tasks.

The kernel's cap on its address space (RLIMIT_AS, kernelside/boot.py) turns one allocation that is too
big into a MemoryError in the cell that asked, but every forked child gets a cap of its own, and
nothing there counts processes. `supervise`, run by the launcher OUTSIDE the sandbox, holds the sandbox
as a whole to `Limits`, in one of two ways, chosen per resource when it starts (`Guard`):

- a cgroup, where this machine lets us make one: cgroup v2 where the memory and pids controllers can
  be given to a cgroup of ours, else cgroup v1 where the memory and pids hierarchies are writable. The
  system enforces it: the sandbox's memory (its processes, its tmpfs, its kernel memory) never passes
  the cap, and a fork past pids.max fails.
- else a watchdog in the launcher: every 0.1 s (every 0.02 s near a limit) it walks the sandbox's
  processes from its pid 1 and adds up their memory (resident set; proportional set to confirm, so
  that pages shared after a fork count once) and that of its tmpfs folders, and counts their tasks.
  It samples: between two looks, the sandbox can pass its cap by what it allocates in 0.02 s, and a
  fork bomb can start a few hundred processes (all killed with the namespace's pid 1). It does not
  see memory held only by a file descriptor (memfd_create, an unlinked file of a tmpfs not mapped);
  a cgroup counts that too.

Either way, the first sign of a limit reached (an OOM kill or a refused fork in the cgroup, or the
watchdog's count) makes the launcher kill the whole sandbox: SIGKILL to its pid 1 ends every process
of its pid namespace. The kernel is dead and the cell that did it costs what any dead kernel costs.
The launcher then writes a report (JSON, `read_report`) to $NN273_LIMITS_REPORT, a path outside the
sandbox that the grader chose, and exits with 137 (128 + SIGKILL), as the sandbox does when the system
kills its kernel for memory. Nothing in the sandbox can write the report or make the launcher write it.
"""

import ctypes
import errno
import json
import os
import select
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .namespaces import _TMPFS_MB, sandbox_reaper

__all__ = [
    "HOW",
    "KILLED_STATUS",
    "REPORT_VARIABLE",
    "Guard",
    "Limits",
    "cgroups_unavailable",
    "read_report",
    "supervise",
    "sweep_cgroups",
    "verdict",
]

KILLED_STATUS = 128 + signal.SIGKILL  # the launcher's exit status when it killed the sandbox for a limit
REPORT_VARIABLE = "NN273_LIMITS_REPORT"
HOW = ("auto", "watchdog")  # auto: a cgroup where one can be made, else the watchdog
_PREFIX = "nn273-"  # our cgroups are nn273-<launcher pid>
_SLOW, _FAST, _CGROUP_TICK = 0.1, 0.02, 0.2  # seconds between looks


@dataclass(frozen=True)
class Limits:
    """What a whole sandbox may use: `memory_mb` MiB of memory, `pids` tasks (processes and threads)
    at once; 0 is no limit. `how`: "auto" (a cgroup where possible) or "watchdog" (never a cgroup)."""

    memory_mb: int = 0
    pids: int = 0
    how: str = "auto"

    def __post_init__(self):
        if self.how not in HOW:
            raise ValueError(f"Limits.how must be one of {', '.join(HOW)}, got {self.how!r}.")
        if self.memory_mb < 0 or self.pids < 0:
            raise ValueError(f"Limits must be 0 (none) or more, got memory_mb={self.memory_mb}, pids={self.pids}.")

    @property
    def wanted(self):
        return [name for name, value in (("memory", self.memory_mb), ("pids", self.pids)) if value]


def supervise(command, limits, report=None):
    """Run `command` (a sandbox's argv, its first item an absolute path) held to `limits`; the exit
    status for the launcher: the sandbox's (128 + N if a signal N ended it), or KILLED_STATUS if it was
    killed for a limit. Writes the report to `report` (a path outside the sandbox) if given.

    The sandbox is this process's child, which enters the cgroups before it execs `command` and dies
    with this process (PR_SET_PDEATHSIG; bwrap's --die-with-parent and setpriv --pdeathsig take it on
    from there), so SIGKILL to the launcher still ends the sandbox. SIGTERM, SIGINT, SIGHUP and SIGQUIT
    are passed on to it.
    """
    guard = Guard(limits)
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        _start(command, guard, parent)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda number, frame: _signal(child, number))
    reason = None
    try:
        with _pidfd(child) as done:
            while not select.select([done], [], [], guard.interval)[0]:
                if reason is None:
                    reason = guard.exceeded(parent)
                    if reason is not None:
                        guard.kill(parent, child)
        _, status = os.waitpid(child, 0)
        reason = reason or guard.exceeded(parent, ended=True)
        summary = {"killed_for": reason, **guard.summary()}
    finally:
        guard.close()
    code = os.waitstatus_to_exitcode(status)
    code = KILLED_STATUS if reason else code if code >= 0 else 128 - code
    if report:
        _write_report(report, {**summary, "status": code})
    return code


def read_report(path):
    """The report a launcher wrote to `path`, or None if there is none (or it is not one)."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def verdict(report):
    """Why the sandbox was killed, in words, if the report says it was killed for a limit; else None."""
    reason = (report or {}).get("killed_for")
    how = (report or {}).get("enforced_by", {})
    if reason == "memory":
        return (
            f"the sandbox was killed: its processes together held more than its {report.get('memory_mb')} MiB "
            f"of memory (measured by {how.get('memory', 'the launcher')})"
        )
    if reason == "processes":
        return (
            f"the sandbox was killed: it ran more than {report.get('pids')} processes and threads at once "
            f"(measured by {how.get('pids', 'the launcher')}), as a fork bomb does"
        )
    return None


def cgroups_unavailable(resources=("memory", "pids")):
    """None if this machine lets the launcher make a cgroup for each of `resources`, else why not."""
    guard = Guard(Limits(memory_mb=1 << 20 if "memory" in resources else 0, pids=1 << 20 if "pids" in resources else 0))
    try:
        made = {controller for group in guard.cgroups for controller in group.controllers}
        missing = [r for r in resources if r not in made]
        return f"no cgroup can be made here for {', '.join(missing)} ({guard.why})" if missing else None
    finally:
        guard.close()


class Guard:
    """The cgroups made for one sandbox, and the watchdog for what they cannot enforce."""

    def __init__(self, limits):
        self.limits = limits
        self.cgroups, self.why = [], "the watchdog was asked for"
        if limits.how == "auto" and limits.wanted:
            self.cgroups, self.why = _make_cgroups(limits)
        self.enforced_by = {}
        for group in self.cgroups:
            self.enforced_by |= dict.fromkeys(group.controllers, group.kind)
        self.watched = [r for r in limits.wanted if r not in self.enforced_by]
        self.enforced_by |= dict.fromkeys(self.watched, "the launcher's watchdog")
        self.reaper, self.peak, self.near = None, {}, False

    @property
    def interval(self):
        if self.watched:
            return _FAST if self.near else _SLOW
        return _CGROUP_TICK

    def enter(self, pid):
        """Put `pid` (the sandbox's first process, before it execs) in every cgroup."""
        for group in self.cgroups:
            group.enter(pid)

    def exceeded(self, launcher, ended=False):
        """"memory" or "processes" if the sandbox reached a limit, else None."""
        for group in self.cgroups:
            reason = group.exceeded()
            if reason:
                return reason
        if ended or not self.watched:
            return None
        self.reaper = self.reaper or sandbox_reaper(launcher)
        if self.reaper is None:
            return None  # not started yet
        tasks, memory = _usage(self.reaper, "memory" in self.watched, self.limits.memory_mb * 2**20)
        self.near = False
        if "pids" in self.watched:
            self.peak["pids"] = max(self.peak.get("pids", 0), tasks)
            self.near |= tasks > self.limits.pids // 2
            if tasks > self.limits.pids:
                return "processes"
        if "memory" in self.watched:
            cap = self.limits.memory_mb * 2**20
            self.peak["memory"] = max(self.peak.get("memory", 0), memory)
            self.near |= memory > cap // 2
            if memory > cap:
                return "memory"
        return None

    def kill(self, launcher, child):
        """End the whole sandbox: SIGKILL to its pid 1 takes every process of its namespace with it; then
        to the sandbox's tool (bwrap, unshare), the launcher's child."""
        reaper = self.reaper or sandbox_reaper(launcher)
        for pid in (reaper, child):
            if pid is None:
                continue
            try:
                with _pidfd(pid) as fd:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass

    def summary(self):
        peaks = dict(self.peak)
        for group in self.cgroups:
            peaks |= group.peaks()
        return {
            "memory_mb": self.limits.memory_mb,
            "pids": self.limits.pids,
            "enforced_by": self.enforced_by,
            "memory_peak": peaks.get("memory"),
            "pids_peak": peaks.get("pids"),
        }

    def close(self):
        for group in self.cgroups:
            group.remove()
        self.cgroups = []


# --- cgroups -------------------------------------------------------------------------------------


class _Cgroup:
    """A cgroup folder we made, enforcing `controllers` (a subset of memory, pids)."""

    def __init__(self, folder, version, controllers):
        self.folder, self.version, self.controllers = Path(folder), version, tuple(controllers)
        self.kind = f"a cgroup v{version} ({self.folder})"

    def write(self, name, value):
        (self.folder / name).write_text(str(value))

    def read(self, name):
        try:
            return (self.folder / name).read_text()
        except OSError:
            return ""

    def enter(self, pid):
        self.write("cgroup.procs", pid)

    def exceeded(self):
        if "memory" in self.controllers:
            oom = _field(self.read("memory.oom_control" if self.version == 1 else "memory.events"), "oom_kill")
            if oom:
                return "memory"
        if "pids" in self.controllers and _field(self.read("pids.events"), "max"):
            return "processes"
        return None

    def peaks(self):
        peaks = {}
        if "memory" in self.controllers:
            value = self.read("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak").strip()
            peaks["memory"] = int(value) if value.isdigit() else None
        if "pids" in self.controllers:
            value = self.read("pids.peak").strip()
            peaks["pids"] = int(value) if value.isdigit() else None
        return peaks

    def remove(self):
        # Its processes were killed, but may take a moment to be gone: until then rmdir says EBUSY.
        for _ in range(100):
            try:
                self.folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as error:
                if error.errno != errno.EBUSY:
                    return
                time.sleep(0.02)


def _make_cgroups(limits):
    """The cgroups that enforce what they can of `limits` here, and why not the others."""
    wanted = limits.wanted
    found = _hierarchies()
    name = f"{_PREFIX}{os.getpid()}"
    why = []
    if "" in found:  # cgroup v2: one cgroup for both, if the controllers can be had
        group, reason = _make_v2(found[""], wanted, name, limits)
        if group:
            return [group], ""
        why.append(reason)
    made = []
    for controller in wanted:
        if controller not in found:
            why.append(f"no cgroup v1 hierarchy for {controller}")
            continue
        folder = found[controller]
        sweep_cgroups(folder)
        try:
            (folder / name).mkdir()
        except OSError as error:
            why.append(f"cannot make a cgroup v1 for {controller} in {folder}: {error.strerror}")
            continue
        group = _Cgroup(folder / name, 1, [controller])
        try:
            if controller == "memory":
                cap = limits.memory_mb * 2**20
                group.write("memory.limit_in_bytes", cap)
                if (group.folder / "memory.memsw.limit_in_bytes").exists():  # swap counts too
                    group.write("memory.memsw.limit_in_bytes", cap)
            else:
                group.write("pids.max", limits.pids)
        except OSError as error:
            group.remove()
            why.append(f"cannot set the cgroup v1 {controller} limit in {folder}: {error.strerror}")
            continue
        made.append(group)
    return made, "; ".join(why)


def _make_v2(folder, wanted, name, limits):
    """A cgroup v2 beside or below ours with `wanted` controllers; (group, "") or (None, why not)."""
    mount = _v2_mount()
    # A cgroup with processes (ours) cannot give controllers to children, unless it is the root: the
    # new cgroup is a child of the root, or a sibling of ours whose parent gives them already.
    parent = folder if folder == mount else folder.parent
    try:
        given = parent.joinpath("cgroup.subtree_control").read_text().split()
        if parent == mount and not set(wanted) <= set(given):
            parent.joinpath("cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
            given = parent.joinpath("cgroup.subtree_control").read_text().split()
    except OSError as error:
        return None, f"cgroup v2 controllers at {parent}: {error.strerror}"
    if not set(wanted) <= set(given):
        missing = ", ".join(sorted(set(wanted) - set(given)))
        return None, f"cgroup v2 at {parent} does not give {missing} to its children"
    sweep_cgroups(parent)
    try:
        (parent / name).mkdir()
    except OSError as error:
        return None, f"cannot make a cgroup v2 in {parent}: {error.strerror}"
    group = _Cgroup(parent / name, 2, wanted)
    try:
        if "memory" in wanted:
            group.write("memory.max", limits.memory_mb * 2**20)
            if (group.folder / "memory.swap.max").exists():
                group.write("memory.swap.max", 0)
            group.write("memory.oom.group", 1)  # an OOM kill takes every process of the cgroup
        if "pids" in wanted:
            group.write("pids.max", limits.pids)
    except OSError as error:
        group.remove()
        return None, f"cannot set the limits of a cgroup v2 in {parent}: {error.strerror}"
    return group, ""


def _hierarchies():
    """{controller ("memory", "pids"; "" for cgroup v2): the folder of this process's cgroup there}."""
    mounts = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        rest = fields[fields.index("-") + 1 :]
        root, point = fields[3], fields[4].replace("\\040", " ")
        if rest[0] == "cgroup2":
            mounts.setdefault("", (root, point))
        elif rest[0] == "cgroup":
            for option in rest[2].split(","):
                if option in ("memory", "pids"):
                    mounts.setdefault(option, (root, point))
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            if controller in mounts and Path(path).is_relative_to(mounts[controller][0]):
                root, point = mounts[controller]
                found[controller] = Path(point) / Path(path).relative_to(root)
    return found


def _v2_mount():
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return Path(fields[4])
    return None


def sweep_cgroups(folder=None):
    """Remove the empty cgroups left in `folder` (default: where ours are made) by launchers that were
    killed before they could remove their own (a SIGKILL to the kernel's process group does that)."""
    folders = [folder] if folder is not None else _sweep_folders()
    for place in folders:
        try:
            entries = list(Path(place).glob(f"{_PREFIX}*"))
        except OSError:
            continue
        for entry in entries:
            owner = entry.name[len(_PREFIX) :]
            if owner.isdigit() and not _alive(int(owner)):
                try:
                    entry.rmdir()  # refused (EBUSY) while a process is still in it
                except OSError:
                    pass


def _sweep_folders():
    try:
        found = _hierarchies()
    except OSError:
        return []
    folders = [found[c] for c in ("memory", "pids") if c in found]
    if "" in found:
        folders += [found[""], found[""].parent]
    return folders


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _field(text, name):
    """The number after `name` in a cgroup's "key value" file; 0 if absent."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return 0


# --- the watchdog --------------------------------------------------------------------------------


def _usage(reaper, memory, cap):
    """(tasks, bytes of memory) of the sandbox whose pid 1 is host pid `reaper`: its processes and every
    descendant, and its tmpfs folders. Resident sets first, cheap but counting a page shared by a fork
    once per process; above `cap`, proportional sets, which count it once."""
    pids, tasks, resident = [], 0, 0
    for pid in _tree(reaper):
        status = _status(pid)
        if status:
            pids.append(pid)
            tasks += status.get("Threads", 1)
            resident += status.get("VmRSS", 0) * 1024
    if not memory:
        return tasks, 0
    files = _tmpfs_used(reaper)
    if resident + files <= cap:
        return tasks, resident + files
    return tasks, sum(_pss(pid) for pid in pids) + files


def _tree(reaper):
    """Host pids of `reaper` and its descendants. Orphans of a pid namespace go to its pid 1, so every
    process of the sandbox is found, but for one that changes parent while the tree is read."""
    found, todo = [], [reaper]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo += [int(child) for child in f.read().split()]
            except (OSError, ValueError):
                pass
    return found


def _status(pid):
    """{"Threads": n, "VmRSS": kB} of a live process; {} if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "State" and value.split()[0] in ("Z", "X"):
            return {}
        if key in ("Threads", "VmRSS"):
            found[key] = int(value.split()[0])
    return found


def _pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _tmpfs_used(reaper):
    """Bytes held by files in the sandbox's /tmp and /dev/shm, once it has its own root."""
    root = f"/proc/{reaper}/root"
    try:
        mine, host = os.stat(root), os.stat("/")
    except OSError:
        return 0
    if (mine.st_dev, mine.st_ino) == (host.st_dev, host.st_ino):
        return 0  # its view is not built yet: /tmp there is still the host's
    used = 0
    for folder in ("tmp", "dev/shm"):
        try:
            info = os.statvfs(f"{root}/{folder}")
        except OSError:
            continue
        if info.f_blocks * info.f_frsize <= 2 * _TMPFS_MB * 2**20:  # the sandbox's tmpfs, nothing bigger
            used += (info.f_blocks - info.f_bfree) * info.f_frsize
    return used


# --- the sandbox's first process ------------------------------------------------------------------


def _start(command, guard, parent):
    """In the forked child: die with the launcher, enter the cgroups, become the sandbox. Never returns."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
            raise OSError(ctypes.get_errno(), "PR_SET_PDEATHSIG")
        if os.getppid() != parent:  # the launcher died before that: nothing to run for
            os._exit(KILLED_STATUS)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        guard.enter(os.getpid())
        os.execv(command[0], command)
    except BaseException as error:  # noqa: BLE001 (nothing may return into the launcher's code)
        os.write(2, f"autograder.launch: the sandbox could not start: {error}\n".encode())
    finally:
        os._exit(127)


def _signal(pid, number):
    try:
        os.kill(pid, number)
    except OSError:
        pass


class _pidfd:
    """A pidfd of `pid`, closed at the end of the block: signals sent through it reach that process,
    never one that took its pid after it died."""

    def __init__(self, pid):
        self.fd = os.pidfd_open(pid)

    def __enter__(self):
        return self.fd

    def __exit__(self, *exc):
        os.close(self.fd)


def _write_report(path, report):
    """Write `report` to `path` at once (a reader sees all of it or nothing), never through a link."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(report, f)
        os.replace(temporary, path)
    except OSError as error:
        print(f"autograder.launch: could not write the limits report {path}: {error}", file=sys.stderr)
