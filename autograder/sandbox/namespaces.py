"""The sandbox a grading kernel runs in: it computes, and reaches nothing of the host but what it needs.

Inside, the kernel sees a root of its own holding, read-only, the system (/usr, /lib*, /bin, /sbin, a
few files of /etc), this Python environment and the folders the caller names (the kernel's site);
writable, its working folder (the student's notebook folder) and the folders the caller names (the
runtime folder of its sockets); a private /tmp, a minimal /dev and the /proc of its own pid namespace.
Folders the caller masks are empty there, and paths it hides are absent (a package such as torch).
It has no network but loopback, no capabilities, a cleared environment, and it dies with its launcher.

    sandbox = find_sandbox()            # bwrap, else unshare, whichever works here
    command = sandbox.command(argv, cwd=folder, writable=[runtime], hidden=[torch_folder])
    limits.supervise(command, Limits(memory_mb=4096, pids=256))   # as autograder/sandbox/launch.py does

Two ways to build it, the same view either way: bubblewrap (`bwrap`), or util-linux `unshare` with a
setup step (`_SETUP`) that mounts the view, drops every capability and runs the kernel. In both the
pid namespace's pid 1 is a reaper and the kernel is `KERNEL_PID`; `end_strays` kills everything else.
The tools (bwrap, unshare, setpriv) are taken only from the system's folders (TRUSTED_BIN), by absolute
path, and the setup runs isolated (python -I -S): nothing from the caller's PATH or working folder.
What the sandbox as a whole may use (memory, tasks) is autograder/sandbox/limits.py's; tests/test_sandbox.py
and tests/test_limits.py show each of these on real kernels.
"""
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KERNEL_PID",
    "KINDS",
    "Sandbox",
    "SandboxUnavailable",
    "end_strays",
    "find_sandbox",
    "kernel_manager_config",
    "sandbox_reaper",
    "trusted_binary",
]

KINDS = ("bwrap", "unshare", "none")
KERNEL_PID = 2  # the kernel's pid in its namespace; pid 1 is the reaper, and the kernel its first child

_HOWTO = (
    "Install bubblewrap (`apt-get install bubblewrap`), or allow unprivileged user namespaces for "
    "`unshare` (`sysctl -w kernel.unprivileged_userns_clone=1` on older Debian kernels, "
    "`sysctl -w user.max_user_namespaces=10000` elsewhere). `--no-sandbox` grades without one, but then "
    "a submission can read and change everything the grader can."
)

# The only folders the sandbox's tools (bwrap, unshare, setpriv) are taken from: the system's, never a
# PATH that the grader's environment (or a folder it names, such as ".") could give.
TRUSTED_BIN = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# Each tmpfs (/tmp, /dev/shm) holds at most this much: it is memory that the kernel's cap on its
# address space does not count.
_TMPFS_MB = 512

# Of /etc, only what the dynamic loader, the clock, user names and matplotlib's font lookup read.
# No resolv.conf or hosts: there is no network to resolve names for.
_ETC = ("ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf", "fonts")


class SandboxUnavailable(ValueError):
    """No sandbox of the kind asked for works on this machine."""

    def __init__(self, kind, reason):
        super().__init__(f"No {kind} sandbox on this machine: {reason}. {_HOWTO}")


@dataclass(frozen=True)
class Sandbox:
    """One way to isolate a command: "bwrap", "unshare" or "none" (no isolation at all)."""

    kind: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Sandbox kind must be one of {', '.join(KINDS)}, got {self.kind!r}.")

    @property
    def isolated(self):
        return self.kind != "none"

    def command(self, argv, *, cwd, readonly=(), writable=(), masked=(), hidden=(), env=None):
        """The argv that runs `argv` in the sandbox, in `cwd`, with exactly `env` (plus PATH, HOME=cwd,
        MPLCONFIGDIR and XDG_CACHE_HOME in /tmp). For "none", `argv` itself: the caller sets the env.

        Each folder of `masked` is an empty read-only folder in the sandbox, wherever the sandbox shows
        it. Each path of `hidden` (file or folder) is not there at all: its folder is rebuilt, read-only,
        from everything else it holds. Hide a package rather than mask it: Python imports an empty
        folder on sys.path as a namespace package, so `import torch` would succeed, with nothing in it.
        """
        if not self.isolated:
            if masked or hidden:
                raise ValueError(f"Masking or hiding paths needs a sandbox; kind 'none' shows {[*masked, *hidden]}.")
            return list(argv)
        cwd = _existing(cwd, "cwd")
        env = {
            **(env or {}),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(cwd),
            "MPLCONFIGDIR": "/tmp/mpl",
            "XDG_CACHE_HOME": "/tmp/cache",  # fontconfig and torch cache here, not in the student's folder
        }
        readonly = [_existing(p, "readonly") for p in readonly]
        for path in masked:
            if not _existing(path, "masked").is_dir():
                raise ValueError(f"Sandbox masked paths must be folders, got the file {str(path)!r}; hide it instead.")
        writable = [_existing(p, "writable") for p in writable]
        mounts = _view(cwd, readonly, writable, masked, [_existing(p, "hidden") for p in hidden])
        if self.kind == "bwrap":
            return _bwrap(mounts, list(argv), cwd, env)
        return _unshare(mounts, list(argv), cwd, env)


def find_sandbox(kind="auto"):
    """The sandbox of `kind` ("auto": bwrap, else unshare), tried by running a command in it.

    The answer for a kind and its binary is remembered for the life of the process. "none" is
    always there, and isolates nothing.
    """
    if kind == "none":
        return Sandbox("none")
    if kind not in ("auto", "bwrap", "unshare"):
        raise ValueError(f"Sandbox kind must be auto, bwrap, unshare or none, got {kind!r}.")
    reasons = []
    for candidate in ("bwrap", "unshare") if kind == "auto" else (kind,):
        binary = trusted_binary(candidate)
        reason = _failure(candidate, binary) if binary else f"`{candidate}` is not in {', '.join(TRUSTED_BIN)}"
        if reason is None:
            return Sandbox(candidate)
        reasons.append(reason)
    raise SandboxUnavailable(kind, "; ".join(reasons))


def kernel_manager_config(config, sandbox, runtime_dir=None):
    """Set in a traitlets `config` what jupyter_client needs to reach a kernel in `sandbox`.

    A sandboxed kernel has a network namespace of its own, so TCP on 127.0.0.1 would not reach it:
    client and kernel talk over unix sockets beside the connection file instead. That folder is
    writable in the sandbox, so the connection file goes to `runtime_dir` (default: Jupyter's runtime
    folder, JUPYTER_RUNTIME_DIR, when this is called), which must be the kernel's alone: call this for
    each kernel with a fresh folder. (A KernelManager's own default is the shared temp folder, which
    `autograder.launch` refuses.)
    """
    kind = sandbox.kind if isinstance(sandbox, Sandbox) else sandbox
    if kind not in (*KINDS, "auto"):
        raise ValueError(f"sandbox must be a Sandbox or one of {', '.join(KINDS)}, auto; got {sandbox!r}.")
    if kind != "none":
        from jupyter_core.paths import jupyter_runtime_dir  # the rest of this module needs only the stdlib

        runtime_dir = Path(runtime_dir or jupyter_runtime_dir()).resolve()
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config.KernelManager.transport = "ipc"
        config.KernelManager.connection_file = str(runtime_dir / "kernel.json")
    return config


def end_strays(launcher_pid):
    """SIGKILL every process of the sandbox started by `launcher_pid` but its kernel; their pids.

    The sandbox's processes are those in the pid namespace of the launcher's child (the reaper),
    recognised from the host by their namespace and their pid inside it, which nothing in the
    sandbox can change. Orphans and daemons stay in the namespace, so they are found too.
    """
    namespace = _sandbox_namespace(launcher_pid)
    killed = []
    # Rounds, because a stray may start another between the scan and its death.
    for _ in range(100 if namespace else 0):
        members = _members(namespace)
        strays = [pid for pid, ns_pid in members if ns_pid not in (1, KERNEL_PID) and pid not in killed]
        if not strays:
            break
        killed += [pid for pid in strays if _kill_member(pid, namespace)]
    return killed


# --- the view, shared by both ways of building it ---------------------------------------------------


def _existing(path, what):
    path = Path(path)
    if not path.is_absolute() or not path.exists():
        raise ValueError(f"Sandbox {what} paths must be absolute and exist, got {str(path)!r}.")
    return path


def _view(cwd, readonly, writable, masked=(), hidden=()):
    """The sandbox's root as (operation, destination, source) in mount order."""
    mounts = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            mounts.append(("symlink", top, os.readlink(top)))
        elif os.path.isdir(top):
            mounts.append(("ro", top, top))
    mounts += [("ro", f"/etc/{name}", f"/etc/{name}") for name in _ETC if os.path.exists(f"/etc/{name}")]
    mounts += [("proc", "/proc", ""), ("dev", "/dev", ""), ("tmpfs", "/dev/shm", ""), ("tmpfs", "/tmp", "")]

    python = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    python.add(str(Path(sys.executable).resolve().parent.parent))
    python |= {os.path.realpath(p) for p in python}
    binds = [("ro", p, os.path.realpath(p)) for p in python if not Path(p).is_relative_to("/usr")]
    binds += [("ro", str(p), str(p.resolve())) for p in readonly]
    binds += [("rw", str(p), str(p.resolve())) for p in [cwd, *writable]]
    bound = [(dest, source) for op, dest, source in mounts + binds if op in ("ro", "rw")]
    last = []  # read-only once everything below them is mounted
    for path in masked:
        for place in _shown_at(path, bound):
            binds.append(("emptydir", place, ""))
            last.append(("remount-ro", place, ""))
    without = {}  # folder in the sandbox -> (its folder on the host, names it must not show)
    for path in hidden:
        real = Path(os.path.realpath(path))
        for place in _shown_at(real.parent, bound):
            without.setdefault(place, (real.parent, set()))[1].add(real.name)
    for place, (real, names) in without.items():
        binds.append(("emptydir", place, ""))
        for name in sorted(set(os.listdir(real)) - names):
            if os.path.islink(real / name):
                binds.append(("symlink", f"{place}/{name}", os.readlink(real / name)))
            else:
                binds.append(("ro", f"{place}/{name}", str(real / name)))
        last.append(("remount-ro", place, ""))
    # Parents before children, so that a folder inside another is mounted on top of it.
    binds.sort(key=lambda m: len(Path(m[1]).parts))
    return mounts + binds + last


def _shown_at(path, bound):
    """Where the sandbox shows host `path`: below each (destination, source) bind that holds it."""
    real = Path(os.path.realpath(path))
    places = []
    for dest, source in bound:
        if real.is_relative_to(os.path.realpath(source)):
            place = str(Path(dest) / real.relative_to(os.path.realpath(source)))
            if place not in places:
                places.append(place)
    return places


def trusted_binary(name):
    """The absolute path of the program `name` in one of TRUSTED_BIN, owned by root or this user and
    writable by no one else; None if there is none."""
    for folder in TRUSTED_BIN:
        path = os.path.join(folder, name)
        try:
            info = os.stat(path)
        except OSError:
            continue
        if info.st_uid in (0, os.getuid()) and not info.st_mode & 0o022 and os.access(path, os.X_OK):
            return path
    return None


def _tool(name):
    path = trusted_binary(name)
    if path is None:
        raise SandboxUnavailable(name, f"`{name}` is not in {', '.join(TRUSTED_BIN)}")
    return path


def _bwrap(mounts, argv, cwd, env):
    flags = {"ro": "--ro-bind", "rw": "--bind", "symlink": "--symlink"}  # the others take a destination only
    command = [
        _tool("bwrap"),
        *("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"),
        *("--unshare-cgroup-try", "--disable-userns", "--cap-drop", "ALL", "--hostname", "sandbox"),
        *("--die-with-parent", "--new-session", "--clearenv"),
    ]
    for op, dest, source in mounts:
        if op == "tmpfs":
            command += ["--size", str(_TMPFS_MB * 2**20)]
        if op == "emptydir":  # a small tmpfs, made read-only by a "remount-ro" at the end
            command += ["--size", str(2**20), "--tmpfs", dest]
        else:
            command += [flags[op], source, dest] if op in flags else [f"--{op}", dest]
    command += ["--remount-ro", "/", "--chdir", str(cwd)]
    for name, value in env.items():
        command += ["--setenv", name, value]
    return [*command, "--", *argv]


def _unshare(mounts, argv, cwd, env):
    python = os.path.realpath(sys.executable)
    plan = json.dumps({"mounts": mounts, "cwd": str(cwd), "env": env, "tmpfs_mb": _TMPFS_MB})
    return [
        *(_tool("setpriv"), "--pdeathsig", "KILL"),  # the sandbox dies when the launcher does
        *(_tool("unshare"), "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"),
        *("--mount", "--mount-proc", "--ipc", "--uts", "--propagation", "private"),
        *(python, "-I", "-S", "-c", _SETUP, plan, *argv),
    ]


# The unshare sandbox's pid 1, run by the host's interpreter in the new namespaces with every
# capability of its user namespace: builds the view on a tmpfs, pivots into it, drops every
# capability for good, then starts the kernel as its first child and reaps orphans until the kernel
# exits. Sources are opened before the tmpfs goes on /tmp, so a source under /tmp is still reachable.
_SETUP = r"""
import ctypes, fcntl, json, os, resource, signal, socket, stat, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 2, 4, 8, 4096, 16384
ATTR_RDONLY, ATTR_NOSUID, ATTR_NODEV = 1, 2, 4
PIVOT_ROOT, MOUNT_SETATTR = {"x86_64": (155, 442), "aarch64": (41, 442)}[os.uname().machine]  # syscalls


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"sandbox setup: {what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    encoded = [s.encode() if s else None for s in (source, target, fstype, data)]
    check(libc.mount(*encoded[:3], ctypes.c_ulong(flags), encoded[3]), f"mount {target}")


def setattr_(target, attrs, recursive=True):
    attr = (ctypes.c_uint64 * 4)(attrs, 0, 0, 0)
    check(libc.syscall(MOUNT_SETATTR, -100, target.encode(), 0x8000 if recursive else 0,
                       attr, ctypes.sizeof(attr)), f"read-only {target}")


def bind(fd, target, attrs):
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    setattr_(target, attrs)


plan = json.loads(sys.argv[1])
argv = sys.argv[2:]
mounts = plan["mounts"]
files = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (files[1], files[1]))  # a folder rebuilt entry by entry
sources = {src: os.open(src, os.O_PATH) for op, dest, src in mounts if op in ("ro", "rw")}
devices = {name: os.open(f"/dev/{name}", os.O_PATH) for name in ("null", "zero", "full", "random", "urandom")}

root = "/tmp"
mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
for op, dest, src in mounts:
    target = root + dest
    if op == "symlink":
        os.symlink(src, target)
    elif op in ("ro", "rw"):
        attrs = ATTR_NOSUID | ATTR_NODEV | (ATTR_RDONLY if op == "ro" else 0)
        bind(sources[src], target, attrs)
    elif op == "tmpfs":
        os.makedirs(target, exist_ok=True)
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={plan['tmpfs_mb']}m")
    elif op == "emptydir":  # a folder rebuilt from binds, or left empty; read-only at "remount-ro"
        os.makedirs(target, exist_ok=True)
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    elif op == "remount-ro":
        setattr_(target, ATTR_RDONLY, recursive=False)
    elif op == "proc":
        os.makedirs(target, exist_ok=True)
        mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    elif op == "dev":
        os.makedirs(target, exist_ok=True)
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755")
        for name, fd in devices.items():
            bind(fd, f"{target}/{name}", ATTR_NOSUID)
        os.symlink("/proc/self/fd", f"{target}/fd")
        for fd, name in enumerate(("stdin", "stdout", "stderr")):
            os.symlink(f"/proc/self/fd/{fd}", f"{target}/{name}")
for fd in [*sources.values(), *devices.values()]:
    os.close(fd)
resource.setrlimit(resource.RLIMIT_NOFILE, files)

os.chdir(root)
check(libc.syscall(PIVOT_ROOT, b".", b"."), "pivot_root")
check(libc.umount2(b".", 2), "detach the old root")  # MNT_DETACH
setattr_("/", ATTR_RDONLY, recursive=False)
os.chdir(plan["cwd"])
check(libc.sethostname(b"sandbox", 7), "hostname")
with socket.socket() as s:  # loopback up, as in bwrap: the only network there is
    flags = fcntl.ioctl(s, 0x8913, struct.pack("16sh22x", b"lo", 0))  # SIOCGIFFLAGS
    fcntl.ioctl(s, 0x8914, struct.pack("16sh22x", b"lo", struct.unpack("16sh22x", flags)[1] | 1))  # IFF_UP
# No user namespaces below this one (as bwrap's --disable-userns): with one, the kernel could make a
# pid namespace of its own, whose processes `end_strays` would not see.
with open("/proc/sys/user/max_user_namespaces", "w") as f:
    f.write("0")

# No capability from here on, for this process and all it starts: nothing can remount or undo the view.
with open("/proc/sys/kernel/cap_last_cap") as f:
    last_cap = int(f.read())
for cap in range(last_cap + 1):
    check(libc.prctl(24, cap, 0, 0, 0), "drop the bounding set")  # PR_CAPBSET_DROP
check(libc.prctl(38, 1, 0, 0, 0), "no new privileges")  # PR_SET_NO_NEW_PRIVS
check(libc.capset((ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()), "drop capabilities")
check(libc.prctl(4, 0, 0, 0, 0), "not dumpable")  # PR_SET_DUMPABLE: the kernel cannot ptrace its reaper

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
for sig in STOPPING:
    signal.signal(sig, signal.SIG_IGN)
kernel = os.fork()
if kernel == 0:
    for sig in (*STOPPING, signal.SIGPIPE, signal.SIGXFSZ):  # ignored signals would stay ignored after exec
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()
    try:
        os.execvpe(argv[0], argv, plan["env"])
    finally:
        os._exit(127)
while True:
    pid, status = os.wait()
    if pid == kernel:
        code = os.waitstatus_to_exitcode(status)
        sys.exit(code if code >= 0 else 128 - code)  # killed by signal N: 128 + N, as a shell says
"""


# --- trying a sandbox, and finding its processes from the host ----------------------------------


@functools.cache
def _failure(kind, binary):
    """None if a trivial command runs in a `kind` sandbox (with `binary`), else why not."""
    with tempfile.TemporaryDirectory() as folder:
        argv = Sandbox(kind).command([sys.executable, "-I", "-S", "-c", "pass"], cwd=folder)
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=30, start_new_session=True)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{kind} failed: {error}"
    if run.returncode != 0:
        detail = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        return f"{kind} cannot create its namespaces here ({detail})"
    return None


def _sandbox_namespace(launcher_pid):
    """The pid namespace of the sandbox started by `launcher_pid`, if it has one, else None.

    Its pid 1 is the launcher's nearest descendant in another pid namespace: the launcher's grandchild
    (the launcher forks the sandbox's tool, bwrap or unshare, which forks the namespace's pid 1), or
    its child when the launcher replaced itself with the tool. Every process between them is a
    trusted tool outside the sandbox, so nothing in it can stand in the way.
    """
    reaper = sandbox_reaper(launcher_pid)
    return _namespace(reaper) if reaper else None


def sandbox_reaper(launcher_pid):
    """The host pid of the pid 1 of the sandbox that `launcher_pid` started, or None."""
    own = _namespace(launcher_pid)
    generation = [launcher_pid]
    for _ in range(3):
        generation = [child for pid in generation for child in _children(pid)]
        for pid in generation:
            namespace = _namespace(pid)
            if namespace and namespace != own:
                return pid
    return None


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _ns_pid(pid):
    """The pid of host process `pid` in its innermost pid namespace; None if gone or a zombie."""
    try:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except OSError:
        return None
    return None if status["State"].split()[0] in ("Z", "X") else int(status["NSpid"].split()[-1])


def _members(namespace):
    """(host pid, pid in the namespace) of every live process in `namespace`."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and _namespace(entry.name) == namespace:
            ns_pid = _ns_pid(entry.name)
            if ns_pid is not None:
                yield int(entry.name), ns_pid


def _kill_member(pid, namespace):
    """SIGKILL `pid` if it is still a stray of `namespace`; a pidfd makes sure it is the same process."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if _namespace(pid) != namespace or _ns_pid(pid) in (None, 1, KERNEL_PID):
            return False
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(pidfd)
