"""Start a grading kernel in its sandbox: `python -I /abs/path/autograder/sandbox/launch.py CONNECTION_FILE`.

The `nn273-grader` kernelspec runs this with NN273_SANDBOX (bwrap, unshare or none), NN273_SITE (the
folder of packages the kernel may import: kernelside, nn273, data), NN273_KERNEL_MEMORY_MB (each
process's address space), NN273_SANDBOX_MEMORY_MB and NN273_SANDBOX_PIDS (the whole sandbox's memory
and tasks), NN273_SANDBOX_LIMITS (auto or watchdog), NN273_WITHOUT (packages the kernel must not
have), MPLBACKEND and OMP_NUM_THREADS; `kernel_manager.SandboxKernelManager` adds NN273_KERNEL_CWD
(the notebook's folder) and NN273_LIMITS_REPORT (where the report of a kill for a limit goes).

This runs as the grader, before any sandbox, so nothing of the student's may run in it or steer it:
- `-I` and a path: the interpreter does not put the working folder (the notebook's, which a
  submission fills: an `autograder/` package, `sitecustomize.py`, `numpy.py`, ...) on sys.path, nor
  read PYTHON* variables or the user's site; sys.path[0] is this file's folder, which the next lines
  replace with the package's parent, so `autograder` is this one.
- It leaves the working folder at once for "/", and passes the notebook's folder to the sandbox only
  as the folder it starts in (bwrap --chdir, the unshare setup's chdir); "none" changes into it just
  before it replaces itself with the kernel. `SandboxKernelManager` starts it in "/" already.
- bwrap, unshare and setpriv are taken from the system's folders (`sandbox.TRUSTED_BIN`), never PATH.

It stays, outside the sandbox, as its supervisor (`limits.supervise`): it makes the sandbox's cgroups,
forks the sandbox, watches it, kills all of it at a limit, reports why and exits with its status. Its
pid is the kernel's for jupyter_client and the one `end_strays` takes; SIGKILL to it ends the sandbox.
"""

import os
import sys

if __name__ == "__main__" and not __package__:  # run by path, as the kernelspec does
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "autograder.sandbox"  # noqa: A001 (so that the relative imports below find this package)

from .limits import HOW, REPORT_VARIABLE, Limits, supervise  # noqa: E402
from .namespaces import find_sandbox  # noqa: E402

__all__ = ["CWD_VARIABLE", "main", "package_paths"]

CWD_VARIABLE = "NN273_KERNEL_CWD"
_PASSED = ("NN273_KERNEL_MEMORY_MB", "NN273_WITHOUT", "MPLBACKEND", "OMP_NUM_THREADS")
# A package hidden by NN273_WITHOUT takes with it what ships with it and could stand in for it.
SHIPS_WITH = {"torch": ("functorch", "torchgen")}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python -I .../autograder/sandbox/launch.py CONNECTION_FILE")
    connection_file = os.path.abspath(argv[0])
    folder = os.path.abspath(os.environ.get(CWD_VARIABLE) or os.getcwd())
    os.chdir("/")  # nothing below reads the notebook's folder by a relative path
    site = os.environ["NN273_SITE"]
    sandbox = find_sandbox(os.environ.get("NN273_SANDBOX", "auto"))
    without = [name for name in os.environ.get("NN273_WITHOUT", "").split(",") if name]
    env = {name: os.environ[name] for name in _PASSED if name in os.environ}
    # -I: the interpreter ignores PYTHON* variables and the user's site, and does not put the
    # working folder (the student's, which may hold a `kernelside/` or `sitecustomize.py` of its
    # own) on sys.path; boot.py puts the site there itself.
    kernel = [sys.executable, "-I", os.path.join(site, "kernelside", "boot.py"), "-f", connection_file]
    if not sandbox.isolated:
        if without:
            sys.exit(f"autograder.launch: NN273_WITHOUT={','.join(without)} needs a sandbox; NN273_SANDBOX is none.")
        # Unsandboxed, the kernel keeps the grader's environment, as it always did.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH")) if p)
        os.chdir(folder)
        os.execve(sys.executable, kernel, os.environ | env)
    # IPython's files go to /tmp, not cwd; JPY_PARENT_PID names the kernel's parent, the reaper.
    env |= {"PYTHONPATH": site, "IPYTHONDIR": "/tmp/ipython", "JPY_PARENT_PID": "1"}
    runtime = _runtime_folder(connection_file)
    report = _report_path(os.environ.get(REPORT_VARIABLE), [folder, runtime])
    hidden = package_paths(without, [site])
    command = sandbox.command(kernel, cwd=folder, readonly=[site], writable=[runtime], hidden=hidden, env=env)
    sys.exit(supervise(command, _limits(), report))


def package_paths(names, extra=()):
    """Every file and folder of the packages `names` (and what ships with them, SHIPS_WITH) in this
    interpreter's sys.path and `extra` folders: the package, its module files, its dist-info."""
    names = [n for name in names for n in (name, *SHIPS_WITH.get(name, ()))]
    found = []
    for entry in [*sys.path, *extra]:
        if not entry or not os.path.isdir(entry):
            continue
        for child in os.listdir(entry):
            if child.split(".")[0].split("-")[0] in names:  # torch, torch.py, torch-2.1.dist-info, ...
                found.append(os.path.join(entry, child))
    return sorted(set(found))


def _limits():
    how = os.environ.get("NN273_SANDBOX_LIMITS", "auto") or "auto"
    if how not in HOW:
        sys.exit(f"autograder.launch: NN273_SANDBOX_LIMITS must be one of {', '.join(HOW)}, got {how!r}.")
    memory = os.environ.get("NN273_SANDBOX_MEMORY_MB") or os.environ.get("NN273_KERNEL_MEMORY_MB") or "0"
    return Limits(memory_mb=int(memory), pids=int(os.environ.get("NN273_SANDBOX_PIDS") or 0), how=how)


def _report_path(path, writable):
    """`path` if the sandbox cannot write there (it is in none of the folders `writable` in the
    sandbox), else exit: a report the sandbox could write would be a report it could forge."""
    if not path:
        return None
    path = os.path.abspath(path)
    real = os.path.realpath(os.path.dirname(path))
    for folder in writable:
        if os.path.commonpath([real, os.path.realpath(folder)]) == os.path.realpath(folder):
            sys.exit(f"autograder.launch: {REPORT_VARIABLE}={path} is inside {folder}, which the sandbox can write.")
    return path


def _runtime_folder(connection_file):
    """The connection file's folder, where the kernel binds its unix sockets. It is writable in the
    sandbox, so it must be this kernel's alone: a KernelManager's default is the shared temp folder."""
    folder, name = os.path.split(connection_file)
    others = sorted(set(os.listdir(folder)) - {name})
    if others:
        sys.exit(
            f"autograder.launch: the folder of the connection file, {folder}, would be writable in the "
            f"sandbox, so it must hold only that file, but it also holds {len(others)} others "
            f"({', '.join(others[:3])}). Give each kernel a folder of its own: "
            "autograder.sandbox.kernel_manager_config(config, sandbox, runtime_dir)."
        )
    return folder


if __name__ == "__main__":
    main()
