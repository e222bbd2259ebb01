"""The grading kernels' kernelspecs: how a kernel is started (autograder/sandbox/launch.py, isolated,
by path), in which sandbox, with which limits, seeing which site.

Each assignment has its grading kernel, `nn273-grader-<id>`, and beside it a companion without torch
(`nn273-grader-<id>-numpy`, autograder/judging/numpy_kernel.py) for the calls of NumPy exercises.
"""

import json
import os
import shutil
import sys
from pathlib import Path

from .limits import HOW
from .namespaces import KINDS, Sandbox

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_PIDS",
    "GRADER_KERNEL",
    "NUMPY_SUFFIX",
    "WITHOUT",
    "grader_kernel",
    "install_grader_kernel",
]

DEFAULT_MEMORY_MB = 4096  # address-space cap of each process of a grading kernel, and of its sandbox's memory
# Tasks (processes and threads) of a grading kernel's sandbox at once: an honest kernel runs about 10.
DEFAULT_PIDS = 256
GRADER_KERNEL = "nn273-grader"
# Each grading kernel has a companion without these packages on its file system, for the calls of
# NumPy exercises (autograder/judging/numpy_kernel.py); its kernelspec's name ends with NUMPY_SUFFIX.
WITHOUT = ("torch",)
NUMPY_SUFFIX = "-numpy"


def grader_kernel(assignment):
    """The kernelspec name of `assignment`'s grading kernel (its site holds that assignment's edition)."""
    return f"{GRADER_KERNEL}-{assignment}"


def install_grader_kernel(
    workdir,
    memory_mb=DEFAULT_MEMORY_MB,
    site=None,
    sandbox="none",
    name=GRADER_KERNEL,
    sandbox_memory_mb=None,
    pids=DEFAULT_PIDS,
    without=(),
    limits="auto",
):
    """Write the kernelspec `name` (default `nn273-grader`) under workdir and put it on JUPYTER_PATH.

    The kernel runs in `sandbox` (a kind of `autograder.sandbox`: "bwrap", "unshare", "auto" or
    "none"), started by `autograder/sandbox/launch.py`, and imports only from `site` (a folder with
    `kernelside/`, and `nn273/` and `data/` for a student edition). Without a site, a folder holding
    only `kernelside` is made under workdir, so an unsandboxed kernel imports the installed nn273.
    Each of its processes has `memory_mb` MiB of address space, so a submission that allocates too
    much gets a MemoryError in the cell that did it instead of taking the grading run down; a
    sandbox as a whole holds at most `sandbox_memory_mb` MiB (default: `memory_mb`) and `pids` tasks,
    or is killed (`autograder.sandbox.limits`; `limits="watchdog"` never uses a cgroup). `without`: packages
    (e.g. ("torch",)) that the sandbox hides, with what ships with them: their files are not there, so
    `import torch` fails by any path (Sandbox.command's `hidden`). Sandboxed kernels need the ipc transport: see
    `autograder.sandbox.kernel_manager_config`.
    """
    spec_dir = Path(workdir).resolve() / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    if site is None:
        site = Path(workdir).resolve() / "jupyter" / "site"
        shutil.rmtree(site / "kernelside", ignore_errors=True)
        kernelside = Path(__file__).resolve().parent.parent / "kernelside"
        shutil.copytree(kernelside, site / "kernelside", ignore=shutil.ignore_patterns("__pycache__"))
    if not (Path(site) / "kernelside" / "boot.py").is_file():
        raise ValueError(f"A kernel site must hold kernelside/ (a copy of autograder/kernelside): {site} does not.")
    kind = sandbox.kind if isinstance(sandbox, Sandbox) else sandbox
    if kind not in (*KINDS, "auto"):
        raise ValueError(f"sandbox must be a Sandbox or one of {', '.join(KINDS)}, auto; got {sandbox!r}.")
    if isinstance(without, str):
        raise TypeError(f"without must be a list of package names, e.g. ('torch',); got the string {without!r}.")
    if without and kind == "none":
        raise ValueError(f"A kernel without {', '.join(without)} needs a sandbox to hide them; sandbox is 'none'.")
    if limits not in HOW:
        raise ValueError(f"limits must be one of {', '.join(HOW)}; got {limits!r}.")
    sandbox_memory_mb = memory_mb if sandbox_memory_mb is None else sandbox_memory_mb
    spec = {
        # -I and a path: the launcher runs as the grader, in whatever folder it is started in (nbclient
        # starts it in the notebook's), so nothing there may be importable (autograder/sandbox/launch.py).
        "argv": [sys.executable, "-I", str(Path(__file__).resolve().parent / "launch.py"), "{connection_file}"],
        "display_name": "nn273 grader (Python 3)",
        "language": "python",
        # Signals would reach the sandbox's wrapper, not the kernel: interrupt with a message.
        "interrupt_mode": "message",
        "env": {
            "NN273_SANDBOX": kind,
            "NN273_SITE": str(Path(site).resolve()),
            "NN273_KERNEL_MEMORY_MB": str(int(memory_mb)),
            "NN273_SANDBOX_MEMORY_MB": str(int(sandbox_memory_mb)),
            "NN273_SANDBOX_PIDS": str(int(pids)),
            "NN273_SANDBOX_LIMITS": limits,
            "NN273_WITHOUT": ",".join(without),
            "MPLBACKEND": "Agg",
            # One thread: kernels run one after another, and torch's thread pool on a busy 2-core
            # machine made an epoch 25 times slower.
            "OMP_NUM_THREADS": "1",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    # A sandboxed grading kernel has a companion for the calls of NumPy exercises: the same kernel
    # with no torch on its file system (autograder/judging/numpy_kernel.py). Unsandboxed, nothing can be
    # hidden, and every call is made in the one kernel.
    numpy_dir = spec_dir.parent / (name + NUMPY_SUFFIX)
    shutil.rmtree(numpy_dir, ignore_errors=True)
    if kind != "none" and not without:
        numpy_dir.mkdir()
        numpy_spec = {**spec, "display_name": "nn273 grader without torch (Python 3)"}
        numpy_spec["env"] = {**spec["env"], "NN273_WITHOUT": ",".join(WITHOUT)}
        (numpy_dir / "kernel.json").write_text(json.dumps(numpy_spec, indent=1))
    path = str(spec_dir.parent.parent)
    current = os.environ.get("JUPYTER_PATH", "")
    if path not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (path, current) if p)
    return name
