"""Start a grading kernel in its sandbox: `python -m autograder.launch CONNECTION_FILE`.

The `nn273-grader` kernelspec runs this, in the student's notebook folder, with NN273_SANDBOX (bwrap,
unshare or none), NN273_SITE (the folder of packages the kernel may import: kernelside, nn273, data),
NN273_KERNEL_MEMORY_MB, MPLBACKEND and OMP_NUM_THREADS. It is trusted and runs before any sandbox;
it replaces itself with the sandboxed kernel, so its pid is the one `end_strays` takes.
"""

import os
import sys

from .sandbox import find_sandbox

__all__ = ["main"]

_PASSED = ("NN273_KERNEL_MEMORY_MB", "NN273_WITHOUT", "MPLBACKEND", "OMP_NUM_THREADS")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python -m autograder.launch CONNECTION_FILE")
    connection_file = os.path.abspath(argv[0])
    site = os.environ["NN273_SITE"]
    sandbox = find_sandbox(os.environ.get("NN273_SANDBOX", "auto"))
    env = {name: os.environ[name] for name in _PASSED if name in os.environ}
    # -I: the interpreter ignores PYTHON* variables and the user's site, and does not put the
    # working folder (the student's, which may hold a `kernelside/` or `sitecustomize.py` of its
    # own) on sys.path; boot.py puts the site there itself.
    kernel = [sys.executable, "-I", os.path.join(site, "kernelside", "boot.py"), "-f", connection_file]
    if sandbox.isolated:
        # IPython's files go to /tmp, not cwd; JPY_PARENT_PID names the kernel's parent, the reaper.
        env |= {"PYTHONPATH": site, "IPYTHONDIR": "/tmp/ipython", "JPY_PARENT_PID": "1"}
        writable = [_runtime_folder(connection_file)]
        command = sandbox.command(kernel, cwd=os.getcwd(), readonly=[site], writable=writable, env=env)
    else:
        # Unsandboxed, the kernel keeps the grader's environment, as it always did.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH")) if p)
        command = kernel
    os.execvpe(command[0], command, os.environ | env)


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
